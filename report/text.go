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
// Findings are grouped by source file in sorted order. One source line
// that several targets render into the same finding (a Kustomize base
// shared by overlays, a chart that several Applications deploy) is one
// entry naming them: "[Deployment/shop/api in 3 targets: overlays/dev,
// ...]"; JSON keeps one finding per target. The header names the target
// of a Helm source rendered by one target only; entries of files that
// several targets render name theirs ("in overlays/prod"). Findings whose
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

// textGroup is the findings printed under one header: those of one
// source file, or those of unknown source.
type textGroup struct {
	file string
	// target names the one target of every finding of the group, when
	// the header names it (a Helm template's line depends on the
	// target's values); "" when the entries name their targets.
	target  string
	unknown bool
	entries []*textEntry
}

// textEntry is one printed finding: the findings of several targets that
// one source line produces with the same rule and message (a base shared
// by overlays, a chart deployed by several Applications) are one entry.
type textEntry struct {
	finding
	// resources are the distinct objects, targets the distinct targets
	// (with the GitOps object that deploys each), in order.
	resources, targets []string
	// all are the findings folded into the entry.
	all []finding
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
			if g.target != "" {
				header += " (target " + clean(g.target) + ")"
			}
		}
		buf.WriteString(paint(ansiBold, header))
		buf.WriteByte('\n')
		indent := strings.Repeat(" ", 2+wPos+2)
		for j, e := range g.entries {
			f := e.finding
			sev := f.Severity.String()
			what := e.what(g.target != "")
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
			if next := j + 1; !g.unknown && (next == len(g.entries) || g.entries[next].loc.Line != f.loc.Line || g.entries[next].loc.Column != f.loc.Column) {
				if text, ok := src.line(g.file, f.loc.Line); ok {
					text = maskSecrets(text, f.loc.Line, g.findings())
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
			line := paint(ansiBoldRed, "error:") + " " + clean(e.Error()) + ErrorContext(e)
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

// groupFindings splits sorted findings into one group per source file,
// with unknown sources in one final group, and folds the findings of
// several targets at one position with one rule, severity, field and
// message into one entry. Within a file, entries are in position order
// (then as the findings are sorted). The header names the target when
// every finding of a Helm source has the same one; otherwise an entry
// names its targets whenever the file's findings come from more than
// one, or the source is unknown.
func groupFindings(fs []finding) []*textGroup {
	var groups []*textGroup
	var cur *textGroup
	var run []finding
	flush := func() {
		if cur != nil {
			cur.entries, cur.target = foldEntries(run, cur.unknown)
		}
	}
	for _, f := range fs {
		unknown := f.loc.Origin == lint.OriginUnknown
		if cur == nil || cur.unknown != unknown || (!unknown && cur.file != f.loc.File) {
			flush()
			cur = &textGroup{file: f.loc.File, unknown: unknown}
			if unknown {
				cur.file = ""
			}
			groups = append(groups, cur)
			run = nil
		}
		run = append(run, f)
	}
	flush()
	return groups
}

// foldEntries folds the findings of one group into entries, and returns
// the target the header names ("" when the entries name theirs).
func foldEntries(fs []finding, unknown bool) ([]*textEntry, string) {
	sorted := slices.Clone(fs)
	slices.SortStableFunc(sorted, func(a, b finding) int {
		return cmp.Or(cmp.Compare(a.loc.Line, b.loc.Line), cmp.Compare(a.loc.Column, b.loc.Column))
	})
	var entries []*textEntry
	byKey := map[string]*textEntry{}
	targets := map[string]bool{}
	helm := false
	for _, f := range sorted {
		label := targetLabel(f)
		targets[label] = true
		helm = helm || f.loc.Origin == lint.OriginHelmTemplate || f.loc.Origin == lint.OriginHelmValues
		key := fmt.Sprintf("%d\x00%d\x00%s\x00%d\x00%s\x00%s", f.loc.Line, f.loc.Column, f.Rule.ID, f.Severity, f.Field.String(), f.Message)
		e := byKey[key]
		if e == nil || slices.Contains(e.targets, label) && slices.Contains(e.resources, f.Object.Resource.String()) {
			// A second finding of one target at one key is its own entry
			// (two containers reported at their pod's field).
			e = &textEntry{finding: f}
			byKey[key] = e
			entries = append(entries, e)
		}
		if r := f.Object.Resource.String(); !slices.Contains(e.resources, r) {
			e.resources = append(e.resources, r)
		}
		if !slices.Contains(e.targets, label) {
			e.targets = append(e.targets, label)
		}
		e.all = append(e.all, f)
	}
	if !unknown && helm && len(targets) == 1 {
		for t := range targets {
			return entries, t
		}
	}
	if !unknown && len(targets) == 1 {
		for _, e := range entries {
			e.targets = nil // the one target of a manifest is its file
		}
	}
	return entries, ""
}

// what is the bracketed part of an entry: the object, and the targets
// unless the header names the one: "Deployment/shop/api in 3 targets:
// overlays/dev, ...", or each object with its target when they differ.
func (e *textEntry) what(headerTarget bool) string {
	switch {
	case headerTarget || len(e.targets) == 0:
		return strings.Join(e.resources, ", ")
	case len(e.targets) == 1:
		return strings.Join(e.resources, ", ") + " in " + e.targets[0]
	case len(e.resources) == 1:
		return fmt.Sprintf("%s in %d targets: %s", e.resources[0], len(e.targets), strings.Join(e.targets, ", "))
	}
	var parts []string
	for _, f := range e.all {
		if p := f.Object.Resource.String() + " (" + targetLabel(f) + ")"; !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	return fmt.Sprintf("in %d targets: %s", len(e.targets), strings.Join(parts, ", "))
}

// targetLabel names the target of a finding as error entries do: its
// path, with the GitOps object that deploys it, so that two Applications
// deploying one chart are told apart.
func targetLabel(f finding) string {
	t := f.Object.Target
	if v := f.Object.Via; v != nil {
		t += " (" + v.Kind + " " + v.Name + ")"
	}
	return t
}

// findings are all the findings of the group's entries.
func (g *textGroup) findings() []finding {
	var out []finding
	for _, e := range g.entries {
		out = append(out, e.all...)
	}
	return out
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
// ErrorContext is what text output adds after an error: " (target T)",
// or for an error without a target, which discovery met while reading
// the repository's files, folders and GitOps objects before any target
// rendered them, " (found while discovering targets)". JSON keeps the
// target "" instead.
func ErrorContext(e lint.Error) string {
	if e.Target == "" {
		return " (found while discovering targets)"
	}
	return " (target " + clean(e.Target) + ")"
}

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
