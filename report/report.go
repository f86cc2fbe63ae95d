// Package report prints the result of a lint run for people ("text"),
// for programs ("json"), for code scanning ("sarif"), for CI systems
// ("github" workflow annotations, "junit" XML) and for pull-request
// comments ("markdown").
//
// The JSON layout is a contract: it carries schemaVersion 1, is described
// by the JSON Schema returned by Schema (report/schema/report.v1.json),
// and is written from output structs of this package, never from lint's
// internal types, so that refactoring lint cannot silently change it.
//
// Every format is deterministic: findings and errors are ordered the same
// way on every run whatever order the caller passes them in, and the
// caller's slices are never modified. No format writes a line number it
// does not know.
package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/lint"
)

// Report is everything a run produced. Targets and Objects count what was
// discovered and rendered, so "no findings" can say how much was checked.
type Report struct {
	Findings []lint.Finding
	// Suppressed are findings an exemption silences (with Exemption set);
	// they are printed only with Options.ShowExempt, by the JSON format.
	Suppressed []lint.Finding
	Errors     []lint.Error
	// Skipped are the files under the linted paths that no target
	// renders, each with the reason (JSON "skipped", a count by reason in
	// text); they may be in any order.
	Skipped []loc.Skipped
	// Notes say what the run assumed or did beyond its targets (JSON
	// "notes", "note:" lines in text), in order.
	Notes []string
	// Targets is the number of charts, overlays and directories rendered.
	Targets int
	// Objects is the number of rendered objects the rules inspected.
	Objects int
	// Rendered describes the rendered targets with the digests of their
	// inputs (JSON "targets", SARIF artifacts and run properties); it may
	// be nil, and it does not change the Targets count.
	Rendered []Target
	// Fixes holds, by finding fingerprint, the file changes of each
	// finding's own automatic fix, for formats that carry fixes (SARIF);
	// it may be nil.
	Fixes map[string][]fix.FileChange
	// Source returns the content of a root-relative file, for the text
	// format to quote the line of each finding; nil quotes nothing.
	Source func(file string) ([]byte, error)
	Tool   Tool
}

// Tool names the program that produced a report. An empty Name is written
// as "kubeharden".
type Tool struct {
	Name    string
	Version string
}

// Options change how a report is printed, never what it contains.
type Options struct {
	// Color enables ANSI colours in the text format. The caller decides:
	// stdout is a terminal and NO_COLOR is unset. Other formats ignore it.
	Color bool
	// ShowExempt lists the findings silenced by an exemption, each with
	// its exemption, after the other findings (JSON format only; they are
	// not counted in the summary).
	ShowExempt bool
}

// The output formats, in the order Formats lists them.
const (
	FormatText     = "text"
	FormatJSON     = "json"
	FormatSARIF    = "sarif"
	FormatGitHub   = "github"
	FormatJUnit    = "junit"
	FormatMarkdown = "markdown"
)

// Formats lists the accepted values of Write's format argument. The
// returned slice is the caller's to modify.
func Formats() []string {
	return []string{FormatText, FormatJSON, FormatSARIF, FormatGitHub, FormatJUnit, FormatMarkdown}
}

// Write prints r to w in the named format. An unknown format is an error
// (never a fallback to text), as is a finding without a rule or object or
// with a severity or origin outside the documented lists. Nothing is
// written when an error is returned before output starts: the whole
// report is built in memory and written with a single call.
func Write(w io.Writer, format string, r *Report, opts Options) error {
	var render func(*bytes.Buffer, *view, Options) error
	switch format {
	case FormatText:
		render = writeText
	case FormatJSON:
		render = writeJSON
	case FormatSARIF:
		render = writeSARIF
	case FormatGitHub:
		render = writeGitHub
	case FormatJUnit:
		render = writeJUnit
	case FormatMarkdown:
		render = writeMarkdown
	default:
		return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
	}
	if r == nil {
		r = &Report{}
	}
	v, err := newView(r, opts)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := render(&buf, v, opts); err != nil {
		return err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write %s report: %w", format, err)
	}
	return nil
}

// view is a report checked, normalised and put in output order; every
// format prints from it so they agree on order and on what "unknown" is.
type view struct {
	tool     Tool
	findings []finding
	// exempt are the findings exemptions silence, when they are shown.
	exempt  []finding
	errors  []lint.Error
	skipped []loc.Skipped // by file, then line, then reason
	notes   []string
	targets int
	objects int
	// fixes are the findings' own fixes by fingerprint (may be nil).
	fixes map[string][]fix.FileChange
	// source reads the files findings are in (may be nil).
	source func(string) ([]byte, error)
	// rendered are the described targets, in output order.
	rendered []Target
	// bySeverity counts findings, indexed by lint.Severity.
	bySeverity [len(severityOrder)]int
}

// finding is a lint.Finding with its location normalised.
type finding struct {
	*lint.Finding
	loc lint.Location
}

// severityOrder lists severities most severe first, as summaries show them.
var severityOrder = [...]lint.Severity{lint.Critical, lint.High, lint.Medium, lint.Low, lint.Info}

// These mirror the schema's patterns and enums, so that Write refuses a
// report the schema would reject instead of printing it.
var (
	ruleIDPattern     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	pssVersionPattern = regexp.MustCompile(`^(latest|v[0-9]+\.[0-9]+)$`)
	pssLevels         = []string{"privileged", "baseline", "restricted"}
)

func newView(r *Report, opts Options) (*view, error) {
	v := &view{tool: r.Tool, targets: r.Targets, objects: r.Objects}
	if v.tool.Name == "" {
		v.tool.Name = "kubeharden"
	}
	var err error
	if v.findings, err = v.check(r.Findings, true); err != nil {
		return nil, err
	}
	if opts.ShowExempt {
		if v.exempt, err = v.check(r.Suppressed, false); err != nil {
			return nil, err
		}
	}
	v.errors = slices.Clone(r.Errors)
	lint.SortErrors(v.errors)
	v.skipped = slices.Clone(r.Skipped)
	slices.SortFunc(v.skipped, func(a, b loc.Skipped) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Detail, b.Detail))
	})
	v.notes = r.Notes
	if v.rendered, err = checkTargets(r.Rendered); err != nil {
		return nil, err
	}
	v.fixes = r.Fixes
	v.source = r.Source
	return v, nil
}

// check validates and normalises findings, in output order; count adds
// them to the summary.
func (v *view) check(in []lint.Finding, count bool) ([]finding, error) {
	out := make([]finding, len(in))
	for i := range in {
		f := &in[i]
		switch {
		case f.Rule == nil:
			return nil, fmt.Errorf("finding %d (%q) has no rule", i, f.Message)
		case f.Object == nil:
			return nil, fmt.Errorf("finding %d (%s) has no object", i, f.Rule.ID)
		case !ruleIDPattern.MatchString(f.Rule.ID):
			return nil, fmt.Errorf("finding %d has invalid rule ID %q (want kebab-case)", i, f.Rule.ID)
		case f.Severity < lint.Info || f.Severity > lint.Critical:
			return nil, fmt.Errorf("finding %d (%s) has invalid %v", i, f.Rule.ID, f.Severity)
		case f.Message == "":
			return nil, fmt.Errorf("finding %d (%s) has no message", i, f.Rule.ID)
		case f.PSS != nil && !slices.Contains(pssLevels, f.PSS.Level):
			return nil, fmt.Errorf("finding %d (%s) has unknown Pod Security level %q", i, f.Rule.ID, f.PSS.Level)
		case f.PSS != nil && !pssVersionPattern.MatchString(f.PSS.Version):
			return nil, fmt.Errorf("finding %d (%s) has invalid Pod Security version %q", i, f.Rule.ID, f.PSS.Version)
		case f.PSS != nil && f.PSS.Check == "":
			return nil, fmt.Errorf("finding %d (%s) has no Pod Security check", i, f.Rule.ID)
		}
		loc, err := normalize(f.Location)
		if err != nil {
			return nil, fmt.Errorf("finding %d (%s): %w", i, f.Rule.ID, err)
		}
		out[i] = finding{Finding: f, loc: loc}
		if count {
			v.bySeverity[f.Severity]++
		}
	}
	slices.SortStableFunc(out, compareFindings)
	return out, nil
}

// normalize makes an unknown location say so: origin "unknown", no file,
// line and column 0. An empty origin means unknown (the zero Location);
// any other origin outside the documented list is a programming error.
func normalize(l lint.Location) (lint.Location, error) {
	if l.Origin != "" && !slices.Contains(loc.Origins, l.Origin) {
		return lint.Location{}, fmt.Errorf("unknown source origin %q", l.Origin)
	}
	if l.Origin == "" || !l.Known() {
		return lint.Location{Origin: lint.OriginUnknown}, nil
	}
	if l.Line <= 0 {
		l.Line, l.Column = 0, 0
	}
	if l.Column < 0 {
		l.Column = 0
	}
	return l, nil
}

// CompareFindings is the one finding order: by source file, target,
// line, column, rule, resource, field and message, most severe first on a
// tie, with unknown sources last. Target comes before line so that the
// text format can group a file rendered by several targets (a Kustomize
// base, a shared chart) per target. Every output and the driver's
// snapshots use it.
func CompareFindings(a, b lint.Finding) int {
	return compareAt(a, b, known(a.Location), known(b.Location))
}

// SortFindings puts findings in the one finding order (CompareFindings).
func SortFindings(fs []lint.Finding) { slices.SortStableFunc(fs, CompareFindings) }

// known is l as output shows it: an unknown location has no file or line.
func known(l lint.Location) lint.Location {
	if n, err := normalize(l); err == nil {
		return n
	}
	return l
}

func compareFindings(a, b finding) int { return compareAt(*a.Finding, *b.Finding, a.loc, b.loc) }

func compareAt(a, b lint.Finding, al, bl lint.Location) int {
	ak, bk := al.Origin != lint.OriginUnknown, bl.Origin != lint.OriginUnknown
	if ak != bk {
		if ak {
			return -1
		}
		return 1
	}
	return cmp.Or(
		cmp.Compare(al.File, bl.File),
		cmp.Compare(a.Object.Target, b.Object.Target),
		cmp.Compare(al.Line, bl.Line),
		cmp.Compare(al.Column, bl.Column),
		cmp.Compare(a.Rule.ID, b.Rule.ID),
		cmp.Compare(a.Object.Resource.String(), b.Object.Resource.String()),
		cmp.Compare(a.Field.String(), b.Field.String()),
		cmp.Compare(a.Message, b.Message),
		cmp.Compare(b.Severity, a.Severity),
	)
}
