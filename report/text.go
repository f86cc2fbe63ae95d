package report

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/lint"
)

// The text format, for people:
//
//	deploy/web/deployment.yaml
//	  12:7  high    pss-run-as-non-root  container "web" must set ...  [Deployment/prod/web]
//
//	charts/api/templates/deployment.yaml (target charts/api)
//	  -     medium  resources-limits     container "api" has no ...  [Deployment/prod/api]
//
//	(unknown source)
//	  -     low     latest-tag           ...  [ConfigMap/prod/x in overlays/prod]
//
//	error: charts/bad/values.yaml:3: ... (target charts/bad)
//
//	3 findings (1 high, 1 medium, 1 low) in 4 targets (9 objects), 1 error
//
// Findings are grouped by source file in sorted order, one group per
// (file, target) pair; the header names the target for Helm sources and
// for files that several targets render (a Kustomize base shared by
// overlays), where the line alone would be ambiguous. Findings whose
// source is unknown come last in one group and name their target inline.
// The position is line:column, the line alone when the column is
// unknown, and "-" when the line is. Columns are aligned across the whole
// report. Every string that comes from the repository is printed with
// control characters escaped, so a hostile object name cannot drive the
// terminal.

// ANSI SGR sequences used when Options.Color is set.
const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiBoldRed = "\x1b[1;31m"
	ansiRed     = "\x1b[31m"
	ansiYellow  = "\x1b[33m"
	ansiCyan    = "\x1b[36m"
	ansiDim     = "\x1b[2m"
)

var severityColor = [...]string{
	lint.Info:     ansiDim,
	lint.Low:      ansiCyan,
	lint.Medium:   ansiYellow,
	lint.High:     ansiRed,
	lint.Critical: ansiBoldRed,
}

// textGroup is a run of findings printed under one header.
type textGroup struct {
	file, target string
	unknown      bool
	helm         bool
	findings     []finding
}

func writeText(buf *bytes.Buffer, v *view, opts Options) error {
	paint := func(code, s string) string {
		if !opts.Color || s == "" {
			return s
		}
		return code + s + ansiReset
	}

	src := &sourceLines{read: v.source, files: map[string][]string{}}
	groups := groupFindings(v.findings)
	groupsPerFile := map[string]int{}
	for _, g := range groups {
		if !g.unknown {
			groupsPerFile[g.file]++
		}
	}

	var wPos, wSev, wRule int
	for _, f := range v.findings {
		wPos = max(wPos, len(position(f.loc)))
		wSev = max(wSev, len(f.Severity.String()))
		wRule = max(wRule, len(f.Rule.ID))
	}

	for i, g := range groups {
		if i > 0 {
			buf.WriteByte('\n')
		}
		header := "(unknown source)"
		if !g.unknown {
			header = clean(g.file)
			if g.target != "" && (g.helm || groupsPerFile[g.file] > 1) {
				header += " (target " + clean(g.target) + ")"
			}
		}
		buf.WriteString(paint(ansiBold, header))
		buf.WriteByte('\n')
		indent := strings.Repeat(" ", 2+wPos+2)
		for j, f := range g.findings {
			sev := f.Severity.String()
			what := f.Object.Resource.String()
			if g.unknown && f.Object.Target != "" {
				what += " in " + f.Object.Target
			}
			fmt.Fprintf(buf, "  %-*s  %s%s  %-*s  %s  [%s]\n",
				wPos, position(f.loc),
				paint(severityColor[f.Severity], sev), strings.Repeat(" ", wSev-len(sev)),
				wRule, f.Rule.ID,
				clean(f.Message),
				clean(what))
			if f.Fix != nil && f.Fix.Description != "" {
				fmt.Fprintf(buf, "%s%s %s (kubeharden fix, %s)\n", indent, paint(ansiDim, "fix:"), clean(f.Fix.Description), clean(FixRisk(f.Fix)))
			}
			// The source line once after the last finding at a position.
			if next := j + 1; !g.unknown && (next == len(g.findings) || g.findings[next].loc.Line != f.loc.Line || g.findings[next].loc.Column != f.loc.Column) {
				if text, ok := src.line(g.file, f.loc.Line); ok {
					text = maskSecrets(text, f.loc.Line, g.findings)
					num := strconv.Itoa(f.loc.Line)
					fmt.Fprintf(buf, "%s%s %s\n", indent, paint(ansiDim, num+" |"), text)
					if f.loc.Column > 0 {
						fmt.Fprintf(buf, "%s%s %s%s\n", indent, paint(ansiDim, strings.Repeat(" ", len(num))+" |"),
							caretPad(text, f.loc.Column), paint(ansiBold, "^"))
					}
				}
			}
		}
	}

	if len(v.errors) > 0 {
		if len(groups) > 0 {
			buf.WriteByte('\n')
		}
		for _, e := range v.errors {
			line := paint(ansiBoldRed, "error:") + " " + clean(e.Error())
			if e.Target != "" {
				line += " (target " + clean(e.Target) + ")"
			}
			buf.WriteString(line)
			buf.WriteByte('\n')
		}
	}

	if len(groups) > 0 || len(v.errors) > 0 {
		buf.WriteByte('\n')
	}
	buf.WriteString(summaryLine(v))
	buf.WriteByte('\n')
	if line := skippedLine(v.skipped); line != "" {
		buf.WriteString(line)
		buf.WriteByte('\n')
	}
	for _, n := range v.notes {
		buf.WriteString(paint(ansiDim, "note:") + " " + clean(n) + "\n")
	}
	return nil
}

// skippedLine is "3 files skipped: 2 not Kubernetes (...), 1 GitHub
// configuration (.github/) (--format json lists them)", the counts by
// reason, most first; "" when nothing was skipped.
func skippedLine(skipped []loc.Skipped) string {
	if len(skipped) == 0 {
		return ""
	}
	count := map[string]int{}
	var reasons []string
	for _, s := range skipped {
		if count[s.Reason]++; count[s.Reason] == 1 {
			reasons = append(reasons, s.Reason)
		}
	}
	slices.SortStableFunc(reasons, func(a, b string) int { return cmp.Or(count[b]-count[a], strings.Compare(a, b)) })
	parts := make([]string, len(reasons))
	for i, r := range reasons {
		parts[i] = fmt.Sprintf("%d %s", count[r], clean(r))
	}
	return fmt.Sprintf("%s skipped: %s (--format json lists them)", plural(len(skipped), "file"), strings.Join(parts, ", "))
}

// groupFindings splits sorted findings into runs of equal (file, target),
// with unknown sources in one final group.
func groupFindings(fs []finding) []*textGroup {
	var groups []*textGroup
	var cur *textGroup
	for _, f := range fs {
		unknown := f.loc.Origin == lint.OriginUnknown
		target := f.Object.Target
		if unknown {
			target = ""
		}
		if cur == nil || cur.unknown != unknown || cur.file != f.loc.File || cur.target != target {
			cur = &textGroup{file: f.loc.File, target: target, unknown: unknown}
			groups = append(groups, cur)
		}
		if f.loc.Origin == lint.OriginHelmTemplate || f.loc.Origin == lint.OriginHelmValues {
			cur.helm = true
		}
		cur.findings = append(cur.findings, f)
	}
	return groups
}

// position is "line:column", "line" when the column is unknown and "-"
// when the line is.
func position(l lint.Location) string {
	switch {
	case l.Line <= 0:
		return "-"
	case l.Column <= 0:
		return strconv.Itoa(l.Line)
	default:
		return strconv.Itoa(l.Line) + ":" + strconv.Itoa(l.Column)
	}
}

// summaryLine is "3 findings (1 high, 2 medium) in 4 targets (9 objects), 1 error",
// or "no findings in 4 targets (9 objects)".
func summaryLine(v *view) string {
	var b strings.Builder
	if len(v.findings) == 0 {
		b.WriteString("no findings")
	} else {
		b.WriteString(plural(len(v.findings), "finding"))
		var parts []string
		for _, s := range severityOrder {
			if n := v.bySeverity[s]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, s))
			}
		}
		b.WriteString(" (" + strings.Join(parts, ", ") + ")")
	}
	fmt.Fprintf(&b, " in %s (%s)", plural(v.targets, "target"), plural(v.objects, "object"))
	if len(v.errors) > 0 {
		b.WriteString(", " + plural(len(v.errors), "error"))
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// clean escapes repository text for the terminal (loc.Escape), so
// that it stays on its line and cannot inject escape sequences.
func clean(s string) string { return loc.Escape(s) }

// sourceLines reads and splits the files findings are in, once each.
type sourceLines struct {
	read  func(string) ([]byte, error)
	files map[string][]string
}

// line returns the 1-based line of file, escaped for the terminal, with
// tabs shown as one space each so that the caret lines up.
func (s *sourceLines) line(file string, n int) (string, bool) {
	if s.read == nil || n <= 0 {
		return "", false
	}
	lines, ok := s.files[file]
	if !ok {
		if b, err := s.read(file); err == nil {
			lines = strings.Split(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
		}
		s.files[file] = lines
	}
	if n > len(lines) {
		return "", false
	}
	const max = 160
	text := strings.ReplaceAll(lines[n-1], "\t", " ")
	if utf8.RuneCountInString(text) > max {
		text = string([]rune(text)[:max]) + "…"
	}
	return clean(text), true
}

// maskSecrets masks the value of a quoted source line on which Secret
// findings are, from the first of their columns on.
func maskSecrets(text string, line int, fs []finding) string {
	col, secret := 0, false
	for _, o := range fs {
		if o.Secret && o.loc.Line == line {
			if !secret || o.loc.Column < col {
				col = o.loc.Column
			}
			secret = true
		}
	}
	if !secret {
		return text
	}
	return lint.MaskSecretLine(text, col)
}

// caretPad is the space before a caret under column col (1-based, in
// code points) of text.
func caretPad(text string, col int) string {
	return strings.Repeat(" ", min(col-1, utf8.RuneCountInString(text)))
}
