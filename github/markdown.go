package github

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/kubeharden/kubeharden/lint"
)

// marker is the hidden fingerprint every comment of the bot ends with,
// so that a re-run knows what it has already said.
func marker(fp string) string { return "<!-- kubeharden:fp=" + fp + " -->" }

var markerRE = regexp.MustCompile(`<!-- kubeharden:fp=([0-9a-f]{1,128}) -->`)

// markers returns the fingerprints marked in a text.
func markers(body string) []string {
	var fps []string
	for _, m := range markerRE.FindAllStringSubmatch(body, -1) {
		fps = append(fps, m[1])
	}
	return fps
}

// resolvedPrefix starts a comment whose finding the pull request fixed.
const resolvedPrefix = "**Resolved** in "

// maxBody keeps bodies under GitHub's 65,536-character limit.
const maxBody = 60000

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;",
	"|", `\|`, "#", `\#`, "~", `\~`, "!", `\!`, "&", "&amp;", "\r", " ", "\n", " ")

// text escapes repository-controlled text (object names in messages) so
// it renders as itself: no link, HTML, emphasis, table cell end or fake
// marker.
func text(s string) string { return mdEscaper.Replace(s) }

// code puts text in a code span whose fence no backtick run inside can
// end; newlines become spaces. A code span renders HTML literally, so
// it cannot hide a marker either.
func code(s string) string {
	s = strings.NewReplacer("\r", " ", "\n", " ", "|", `\|`).Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// fileLink is a link to a line of a file at a commit on the web server.
func (c *Client) fileLink(owner, repo, sha, file string, line int) string {
	segs := strings.Split(file, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := fmt.Sprintf("%s/%s/%s/blob/%s/%s", c.web, url.PathEscape(owner), url.PathEscape(repo), sha, strings.Join(segs, "/"))
	if line > 0 {
		u += fmt.Sprintf("#L%d", line)
	}
	return u
}

// where is "file:line" (or the file, or "unknown source").
func where(f Finding) string {
	switch {
	case f.File == "":
		return "unknown source"
	case f.Line > 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

// commentBody is a review comment on a finding's line. A Secret
// finding's comment carries no suggestion: its lines could hold the value.
func commentBody(f Finding, s *Suggestion) string {
	if f.Secret {
		s = nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** · [%s](%s) · kubeharden\n\n%s\n\n%s\n", f.Severity, code(f.Rule), f.URL, text(f.Message), code(f.Resource))
	if s != nil {
		if f.FixRisk != "" {
			fmt.Fprintf(&b, "\nFix risk: %s\n", riskText(f.FixRisk, f.FixRiskReason))
		}
		b.WriteString("\n" + s.Block())
	}
	b.WriteString("\n" + marker(f.Fingerprint))
	return b.String()
}

// riskText is a fix's risk class in bold, with its reason.
func riskText(risk lint.FixRisk, reason string) string {
	s := "**" + string(risk.Class()) + "**"
	if reason != "" {
		s += " — " + text(reason)
	}
	return s
}

// truncate cuts a body at a line boundary under maxBody and says so.
func truncate(body string, limit int) string {
	if len(body) <= limit {
		return body
	}
	cut := strings.LastIndex(body[:limit], "\n")
	if cut < 0 {
		cut = limit
	}
	return body[:cut] + "\n\n… (cut: the rest is over GitHub's size limit; run kubeharden lint for the full list)\n"
}
