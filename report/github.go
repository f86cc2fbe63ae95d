package report

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/lint"
)

// The "github" format is GitHub Actions workflow commands, which the
// runner turns into annotations on the pull request's files:
//
//	::error file=deploy/web/deployment.yaml,line=12,col=7,title=pss-run-as-non-root (high)::container "web" must ... [Deployment/prod/web in deploy/web]%0Ahttps://...
//	::warning file=charts/worker/templates/deployment.yaml,title=resources-limits (medium)::...
//	::error file=charts/broken/values.yaml,line=3,title=kubeharden error::yaml: ... (target charts/broken)
//	8 findings (1 critical, 2 high, 3 medium, 1 low, 1 info) in 4 targets (9 objects), 2 errors
//
// Critical and high findings are errors, medium and low warnings, info
// notices. line and col are omitted when unknown (never written as 1),
// and file too when the source is unknown, which makes a workflow-level
// annotation. GitHub shows only the first few annotations of each kind
// per step, so findings are printed most severe first; the last line is
// the plain-text summary.
//
// Repository strings are first made printable as in the text format (a
// newline in an object name becomes the two characters \n), then escaped
// as the runner requires: in the message % CR LF become %25 %0D %0A, and
// in property values : and , also become %3A and %2C, so no content can
// end the properties early, start another command, or add a line.

// githubCommand maps a severity to its workflow command.
var githubCommand = [...]string{
	lint.Info:     "notice",
	lint.Low:      "warning",
	lint.Medium:   "warning",
	lint.High:     "error",
	lint.Critical: "error",
}

func writeGitHub(buf *bytes.Buffer, v *view, _ Options) error {
	for _, f := range bySeverity(v.findings) {
		var props []string
		if f.loc.Origin != lint.OriginUnknown {
			props = append(props, "file="+githubProperty(clean(f.loc.File)))
			if f.loc.Line > 0 {
				props = append(props, "line="+strconv.Itoa(f.loc.Line))
				if f.loc.Column > 0 {
					props = append(props, "col="+strconv.Itoa(f.loc.Column))
				}
			}
		}
		props = append(props, "title="+githubProperty(f.Rule.ID+" ("+f.Severity.String()+")"))
		msg := clean(f.Message) + " [" + clean(resourceIn(f)) + "]\n" + f.Rule.URL()
		writeCommand(buf, githubCommand[f.Severity], props, msg)
	}
	for _, e := range v.errors {
		var props []string
		if e.File != "" {
			props = append(props, "file="+githubProperty(clean(e.File)))
			if e.Line > 0 {
				props = append(props, "line="+strconv.Itoa(e.Line))
			}
		}
		props = append(props, "title="+githubProperty(v.tool.Name+" error"))
		msg := clean(e.Message)
		if e.Target != "" {
			msg += " (target " + clean(e.Target) + ")"
		}
		writeCommand(buf, "error", props, msg)
	}
	buf.WriteString(summaryLine(v))
	buf.WriteByte('\n')
	return nil
}

// writeCommand writes "::cmd props::msg"; props are already escaped.
func writeCommand(buf *bytes.Buffer, cmd string, props []string, msg string) {
	buf.WriteString("::" + cmd)
	if len(props) > 0 {
		buf.WriteString(" " + strings.Join(props, ","))
	}
	buf.WriteString("::" + githubData(msg) + "\n")
}

var (
	githubDataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	githubPropertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// githubData escapes a workflow command's message.
func githubData(s string) string { return githubDataEscaper.Replace(s) }

// githubProperty escapes a workflow command's property value.
func githubProperty(s string) string { return githubPropertyEscaper.Replace(s) }

// resourceIn names a finding's object and its target:
// "Deployment/prod/web in deploy/web".
func resourceIn(f finding) string {
	s := f.Object.Resource.String()
	if f.Object.Target != "" {
		s += " in " + f.Object.Target
	}
	return s
}

// bySeverity returns the findings most severe first, keeping the report
// order among equals, for formats where attention is limited.
func bySeverity(fs []finding) []finding {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b finding) int { return int(b.Severity) - int(a.Severity) })
	return out
}
