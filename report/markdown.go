package report

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/lint"
)

// The "markdown" format is a summary for a pull-request comment or a job
// summary ($GITHUB_STEP_SUMMARY):
//
//	## kubeharden: 8 findings, 2 errors
//
//	8 findings (1 critical, 2 high, 3 medium, 1 low, 1 info) in 4 targets (9 objects), 2 errors
//
//	| Severity | Rule | Resource | Location | Message |
//	| --- | --- | --- | --- | --- |
//	| critical | [pss-host-network](https://...) | `Deployment/staging/api` in `overlays/staging` | `overlays/staging/patch-api.yaml:9` | pod of deployment "api" must not set hostNetwork=true |
//
//	### Errors
//
//	- `charts/broken/values.yaml:3`: yaml: line 3: did not find expected key (target `charts/broken`)
//
// Rows are most severe first. A clean report is the heading "no findings"
// and the summary line. Output stays under markdownLimit bytes, with a
// line saying how much was left out, because GitHub refuses comments over
// 65,536 characters; the errors get at most a quarter of it, so a long
// table never hides them.
//
// Repository strings are made printable as in the text format, then
// either put in code spans (paths, resources) or escaped (messages), so
// that no content can end a table cell or row, or turn into a link, an
// image, HTML or emphasis.

// markdownLimit bounds the output, leaving room under GitHub's comment
// limit for the truncation note and for text a bot wraps around it.
const markdownLimit = 60000

func writeMarkdown(buf *bytes.Buffer, v *view, _ Options) error {
	name := mdText(v.tool.Name)
	if len(v.findings) == 0 && len(v.errors) == 0 {
		fmt.Fprintf(buf, "## %s: no findings\n\n%s\n", name, summaryLine(v))
		return nil
	}
	var counts []string
	if len(v.findings) > 0 || len(v.errors) == 0 {
		counts = append(counts, plural(len(v.findings), "finding"))
	}
	if len(v.errors) > 0 {
		counts = append(counts, plural(len(v.errors), "error"))
	}
	fmt.Fprintf(buf, "## %s: %s\n\n%s\n", name, strings.Join(counts, ", "), summaryLine(v))

	// The errors are built first so that a long table cannot push them
	// out: a target that failed to render matters more than one more row.
	var errs strings.Builder
	leftErrors := 0
	if len(v.errors) > 0 {
		errs.WriteString("\n### Errors\n\n")
		for i, e := range v.errors {
			line := "- " + mdError(e) + "\n"
			if errs.Len()+len(line) > markdownLimit/4 {
				leftErrors = len(v.errors) - i
				break
			}
			errs.WriteString(line)
		}
	}

	leftFindings := 0
	if len(v.findings) > 0 {
		buf.WriteString("\n| Severity | Rule | Resource | Location | Message |\n| --- | --- | --- | --- | --- |\n")
		for i, f := range bySeverity(v.findings) {
			row := fmt.Sprintf("| %s | [%s](%s) | %s | %s | %s |\n",
				f.Severity, f.Rule.ID, f.Rule.URL(), mdResource(f), mdLocation(f.loc), mdText(f.Message))
			if buf.Len()+len(row)+errs.Len() > markdownLimit {
				leftFindings = len(v.findings) - i
				break
			}
			buf.WriteString(row)
		}
	}
	buf.WriteString(errs.String())

	if leftFindings > 0 || leftErrors > 0 {
		var left []string
		if leftFindings > 0 {
			left = append(left, plural(leftFindings, "more finding"))
		}
		if leftErrors > 0 {
			left = append(left, plural(leftErrors, "more error"))
		}
		fmt.Fprintf(buf, "\n%s not shown: the comment would be too long. Run `kubeharden lint` for the full report.\n",
			strings.Join(left, " and "))
	}
	return nil
}

func mdResource(f finding) string {
	s := mdCode(f.Object.Resource.String(), true)
	if f.Object.Target != "" {
		s += " in " + mdCode(f.Object.Target, true)
	}
	return s
}

// mdLocation is `file:line`, `file` when the line is unknown, and an
// italic "unknown source" when the file is.
func mdLocation(l lint.Location) string {
	switch {
	case l.Origin == lint.OriginUnknown:
		return "_unknown source_"
	case l.Line > 0:
		return mdCode(l.File+":"+strconv.Itoa(l.Line), true)
	default:
		return mdCode(l.File, true)
	}
}

func mdError(e lint.Error) string {
	var s string
	switch {
	case e.File != "" && e.Line > 0:
		s = mdCode(e.File+":"+strconv.Itoa(e.Line), false) + ": "
	case e.File != "":
		s = mdCode(e.File, false) + ": "
	}
	s += mdText(e.Message)
	if e.Target != "" {
		s += " (target " + mdCode(e.Target, false) + ")"
	}
	return s
}

// mdEscaper backslash-escapes the ASCII punctuation that can start
// Markdown or GFM syntax inside a table cell: emphasis, code, links,
// images, HTML, entities, strikethrough and the cell separator.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`,
	`<`, `\<`, `>`, `\>`, `&`, `\&`, `~`, `\~`, `|`, `\|`, `!`, `\!`,
)

// mdText is s as literal Markdown text on one line.
func mdText(s string) string { return mdEscaper.Replace(clean(s)) }

// mdCode is s as a code span: a fence longer than any run of backticks
// in s. In a table cell | is escaped, which GFM requires even inside code
// spans (and removes again); elsewhere a backslash would show.
func mdCode(s string, inTable bool) string {
	s = clean(s)
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	run, longest := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
