package github

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/lint"
)

// Hidden is a finding that the base's policy reports in the head and the
// head's own policy would not: what the pull request's policy change
// hides.
type Hidden struct {
	Finding
	// Why names the change that hides it: "the pull request turns rule
	// pss-privileged off".
	Why string
}

// hiddenBy compares the head judged by the base's policy with the head
// judged by its own and returns what the own policy hides: findings it
// does not report (a rule turned off, an exemption added to the config,
// an object left out by include or exclude, or any other setting), or
// reports at a severity lowered below failOn (any lowering, with no
// failOn); and errors it does not report (raised limits).
func hiddenBy(judged, own *LintResult, failOn *lint.Severity) ([]Hidden, []string) {
	reported := map[string]Finding{}
	for _, f := range own.Findings {
		reported[f.Fingerprint] = f
	}
	suppressed := map[string]Finding{}
	for _, f := range own.Suppressed {
		suppressed[f.Fingerprint] = f
	}
	var out []Hidden
	for _, f := range judged.Findings {
		var why string
		g, ok := reported[f.Fingerprint]
		switch {
		case ok && g.Severity < f.Severity && (failOn == nil || f.Severity >= *failOn && g.Severity < *failOn):
			why = fmt.Sprintf("the pull request lowers the severity of %s from %s to %s", f.Rule, f.Severity, g.Severity)
		case ok:
			continue
		case suppressed[f.Fingerprint].Exemption != "":
			why = "the pull request's policy exempts it: " + suppressed[f.Fingerprint].Exemption
		case slices.Contains(own.Disabled, f.Rule) && !slices.Contains(judged.Disabled, f.Rule):
			why = fmt.Sprintf("the pull request turns rule %s off", f.Rule)
		case !slices.Contains(own.Objects, f.Resource) && slices.Contains(judged.Objects, f.Resource):
			why = fmt.Sprintf("the pull request's include or exclude leaves %s out", f.Resource)
		default:
			why = "the pull request's policy does not report it"
		}
		out = append(out, Hidden{Finding: f, Why: why})
	}
	slices.SortStableFunc(out, func(a, b Hidden) int { return compareFindings(a.Finding, b.Finding) })
	var errs []string
	for _, e := range judged.Errors {
		if !slices.Contains(own.Errors, e) {
			errs = append(errs, e)
		}
	}
	return out, errs
}

// hiddenMarker marks a hidden finding listed in a review body; it
// differs from marker, so that listing a finding as hidden does not
// count as reviewing it as new, and the other way round.
func hiddenMarker(fp string) string { return "<!-- kubeharden:hidden=" + fp + " -->" }

var hiddenMarkerRE = regexp.MustCompile(`<!-- kubeharden:hidden=([0-9a-f]{1,128}) -->`)

// writeHidden writes the review body's section on what the pull
// request's policy change hides.
func (c *Client) writeHidden(b *strings.Builder, o ReviewOptions, hidden []Hidden, errs []string) {
	if len(hidden) == 0 && len(errs) == 0 {
		return
	}
	fmt.Fprintf(b, "#### This pull request's policy change hides %s\n\n", plural(len(hidden)+len(errs), "finding"))
	fmt.Fprintf(b, "This review judges the pull request by the base branch's `%s`. Under the pull request's own, these would not be reported:\n\n", configFile)
	for _, h := range hidden {
		f := h.Finding
		loc := code(where(f))
		if f.File != "" {
			loc = fmt.Sprintf("[%s](%s)", code(where(f)), c.fileLink(o.Owner, o.Repo, o.HeadSHA, f.File, f.Line))
		}
		fmt.Fprintf(b, "- **%s** [%s](%s) at %s: %s (%s): %s %s\n", f.Severity, code(f.Rule), f.URL, loc, text(f.Message), code(f.Resource), text(h.Why), hiddenMarker(f.Fingerprint))
	}
	for _, e := range errs {
		fmt.Fprintf(b, "- error %s: the pull request's limits would hide it\n", code(e))
	}
	b.WriteString("\n")
}
