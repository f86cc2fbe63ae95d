package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/driver"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/rules"
)

func newLintCmd(e env) *cobra.Command {
	wd := e.wd
	var formats []string
	var failOn, baselineFile, changed, auditLog string
	var showExempt bool
	cmd := &cobra.Command{
		Use:   "lint [PATH...]",
		Short: "Render the repository and report hardening findings",
		Long: `Render every target the repository deploys and report findings at the source
file and line that produced them.

PATH defaults to the current directory. The repository root is the git top
level of the first PATH, or the nearest folder below it with a .kubeharden.yaml
(the PATH itself outside git). "-" lints the YAML or JSON documents read from
stdin (helm template ... | kubeharden lint -), shown as the file <stdin>. A directory or file
PATH lints only the targets it affects: a values file lints the charts that
use it, a base resource the overlays that reach it, an Argo CD Application or
Flux object what it deploys.

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it;
2 usage error, bad config, or a target that could not be rendered (all other
targets are still linted and reported).`,
		Example: `  kubeharden lint
  kubeharden lint --changed=origin/main
  kubeharden lint --format json testdata/demo
  kubeharden lint --fail-on high apps/prod/values.yaml
  helm template charts/api | kubeharden lint -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			threshold, err := parseFailOn(failOn)
			if err != nil {
				return err
			}
			outputs, err := parseFormats(wd, formats)
			if err != nil {
				return err
			}
			opts := driver.Options{AuditLog: auditLog, Now: e.now,
				Digests: slices.ContainsFunc(outputs, func(o output) bool {
					return o.format == report.FormatJSON || o.format == report.FormatSARIF
				})}
			if cmd.Flags().Changed("changed") {
				opts.ChangedSince = changed
			}
			if opts.Stdin, args, err = stdinArg(cmd, args, "linted"); err != nil {
				return err
			}
			r, err := openRepo(cmd.Context(), wd, args, opts)
			if err != nil {
				return err
			}
			stop := startProgress(r, cmd.ErrOrStderr(), quiet(cmd))
			snap, err := r.Lint(cmd.Context())
			stop()
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			res := &snap.Outcome
			printWarnings(cmd, res.Warnings)
			findings, errs := res.Findings, res.Errors
			var stale []lint.BaselineEntry
			if baselineFile != "" {
				b, err := readBaseline(wd, baselineFile)
				if err != nil {
					return usageError("--baseline: %v", err)
				}
				findings, stale = b.Filter(findings)
			}
			rep := &report.Report{Findings: findings, Suppressed: res.Suppressed, Errors: errs, Skipped: res.Skipped, Notes: res.Notes,
				Targets: res.Targets, Objects: res.Objects, Rendered: res.Rendered,
				Tool: report.Tool{Name: "kubeharden", Version: version()}, Source: r.FS().ReadFile}
			if slices.ContainsFunc(outputs, func(o output) bool { return o.format == report.FormatSARIF }) {
				// SARIF carries each finding's own fix as replacements.
				rep.Fixes = r.SingleFixes(cmd.Context(), snap)
			}
			if err := writeReports(cmd.OutOrStdout(), outputs, rep, showExempt); err != nil {
				return &codeError{code: exitError, err: err}
			}
			if len(stale) > 0 {
				printStale(cmd.ErrOrStderr(), baselineFile, stale)
			}
			switch {
			case len(errs) > 0:
				return &codeError{code: exitError}
			case threshold != nil && anyAtLeast(findings, *threshold):
				return &codeError{code: exitFindings}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&formats, "format", "f", []string{"text"},
		"output format: "+strings.Join(report.Formats(), ", ")+"; FORMAT=FILE writes to a file; repeat for several")
	cmd.Flags().BoolVar(&showExempt, "show-exempt", false, "also list findings silenced by exemptions, with their exemption (json)")
	cmd.Flags().StringVar(&changed, "changed", "", "lint only the targets affected by files changed since this git ref (default HEAD: uncommitted changes)")
	cmd.Flags().Lookup("changed").NoOptDefVal = "HEAD"
	cmd.Flags().StringVar(&baselineFile, "baseline", "", "report only findings not recorded in this baseline file (see kubeharden baseline)")
	cmd.Flags().StringVar(&failOn, "fail-on", "low", "exit 1 when a finding has this severity or higher (info, low, medium, high, critical, or none)")
	cmd.Flags().StringVar(&auditLog, "audit-log", "", "Kubernetes audit log (audit.k8s.io/v1 Event JSON lines) used as evidence by the RBAC rules' fixes")
	cmd.RegisterFlagCompletionFunc("format", completeFormats)
	cmd.RegisterFlagCompletionFunc("fail-on", completeFailOn)
	return cmd
}

// completeFormats completes lint's --format: a format name, then after
// "FORMAT=" a file name.
func completeFormats(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.Contains(toComplete, "=") {
		return nil, cobra.ShellCompDirectiveDefault
	}
	return report.Formats(), cobra.ShellCompDirectiveNoFileComp
}

// completeFailOn completes --fail-on with the severities and "none".
var completeFailOn = cobra.FixedCompletions([]string{"info", "low", "medium", "high", "critical", "none"}, cobra.ShellCompDirectiveNoFileComp)

// completeRuleIDs completes rule IDs, each described by its title.
func completeRuleIDs(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, r := range rules.All() {
		if strings.HasPrefix(r.ID, toComplete) {
			out = append(out, cobra.CompletionWithDesc(r.ID, r.Title))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// output is one requested report: a format, written to a file or stdout.
type output struct {
	format string
	file   string // absolute; "" for stdout
}

// parseFormats reads --format values "json" or "sarif=out.sarif". At most
// one output may go to stdout; unknown formats are usage errors.
func parseFormats(wd string, specs []string) ([]output, error) {
	var outs []output
	stdout := 0
	for _, spec := range specs {
		name, file, toFile := strings.Cut(spec, "=")
		if !slices.Contains(report.Formats(), name) {
			return nil, usageError("unknown format %q (want one of %s)", name, strings.Join(report.Formats(), ", "))
		}
		if !toFile {
			stdout++
			outs = append(outs, output{format: name})
			continue
		}
		if file == "" {
			return nil, usageError("--format %s: empty file name", spec)
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(wd, file)
		}
		outs = append(outs, output{format: name, file: file})
	}
	if stdout > 1 {
		return nil, usageError("only one --format may write to stdout; give the others a file (FORMAT=FILE)")
	}
	return outs, nil
}

// writeReports writes the report in every requested format. Files are
// written whole: to a temporary file first, then renamed.
func writeReports(stdout io.Writer, outs []output, rep *report.Report, showExempt bool) error {
	for _, o := range outs {
		if o.file == "" {
			if err := report.Write(stdout, o.format, rep, report.Options{Color: useColor(stdout), ShowExempt: showExempt}); err != nil {
				return err
			}
			continue
		}
		var buf bytes.Buffer
		if err := report.Write(&buf, o.format, rep, report.Options{ShowExempt: showExempt}); err != nil {
			return err
		}
		if err := driver.WriteFileAtomic(o.file, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// readBaseline reads a baseline file named relative to wd.
func readBaseline(wd, name string) (*lint.Baseline, error) {
	if !filepath.IsAbs(name) {
		name = filepath.Join(wd, name)
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return lint.ParseBaseline(data)
}

// printStale lists baseline entries that no longer occur, so the
// baseline is regenerated and only ever shrinks.
func printStale(w io.Writer, file string, stale []lint.BaselineEntry) {
	fmt.Fprintf(w, "baseline %s: %d recorded findings no longer occur; regenerate it with kubeharden baseline:\n", file, len(stale))
	for _, e := range stale {
		fmt.Fprintf(w, "  %s %s %s %s\n", e.Rule, e.Target, e.Resource, e.Field)
	}
}

func newBaselineCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "baseline [PATH...]",
		Short: "Record the current findings so that lint --baseline reports only new ones",
		Long: `Lint PATH (default: the whole repository) and print a baseline of the findings
as JSON. A finding is recorded by a fingerprint of its rule, target, resource
and field path, not its line, so moving or reformatting code does not make
recorded findings new. kubeharden lint --baseline FILE reports only findings
that are not in FILE and lists recorded findings that no longer occur.`,
		Example: `  kubeharden baseline > .kubeharden-baseline.json
  kubeharden lint --baseline .kubeharden-baseline.json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			stdin, args, err := stdinArg(cmd, args, "rendered")
			if err != nil {
				return err
			}
			r, err := openRepo(cmd.Context(), e.wd, args, driver.Options{Now: e.now, Stdin: stdin})
			if err != nil {
				return err
			}
			stop := startProgress(r, cmd.ErrOrStderr(), quiet(cmd))
			res, err := r.Lint(cmd.Context())
			stop()
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			printWarnings(cmd, res.Warnings)
			for _, e := range res.Errors {
				fmt.Fprintf(cmd.ErrOrStderr(), "error: %s\n", describeError(e))
			}
			b, err := lint.NewBaseline(res.Findings).Marshal()
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			if _, err := cmd.OutOrStdout().Write(b); err != nil {
				return &codeError{code: exitError, err: err}
			}
			if len(res.Errors) > 0 {
				return &codeError{code: exitError}
			}
			return nil
		},
	}
}

// parseFailOn returns the severity threshold, or nil for "none".
func parseFailOn(s string) (*lint.Severity, error) {
	if s == "none" {
		return nil, nil
	}
	sev, err := lint.ParseSeverity(s)
	if err != nil {
		return nil, usageError("--fail-on: %v", err)
	}
	return &sev, nil
}

func anyAtLeast(fs []lint.Finding, min lint.Severity) bool {
	for _, f := range fs {
		if f.Severity >= min {
			return true
		}
	}
	return false
}

// useColor reports whether w is a terminal and NO_COLOR is unset.
func useColor(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func newRenderCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "render [PATH...]",
		Short: "Print the rendered objects, each annotated with its target and source",
		Long: `Render the targets PATH affects (default: the whole repository) and print the
resulting objects as YAML. A comment above each object names the target it was
rendered from and the file and line it comes from. "-" renders the YAML or JSON
documents read from stdin, shown as the file <stdin>.`,
		Example: `  kubeharden render testdata/demo
  kubeharden render apps/prod/values.yaml
  helm template charts/api | kubeharden render -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			stdin, args, err := stdinArg(cmd, args, "rendered")
			if err != nil {
				return err
			}
			r, err := openRepo(cmd.Context(), e.wd, args, driver.Options{Now: e.now, Stdin: stdin})
			if err != nil {
				return err
			}
			stop := startProgress(r, cmd.ErrOrStderr(), quiet(cmd))
			objs, errs, err := r.Render(cmd.Context())
			stop()
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			out := cmd.OutOrStdout()
			for _, o := range objs {
				fmt.Fprintf(out, "---\n# target: %s\n# source: %s (%s)\n", o.Target, o.Source, o.Source.Origin)
				enc := yaml.NewEncoder(out)
				enc.SetIndent(2)
				if err := enc.Encode(o.Node); err != nil {
					return &codeError{code: exitError, err: err}
				}
				enc.Close()
			}
			for _, e := range errs {
				fmt.Fprintf(cmd.ErrOrStderr(), "error: %s\n", describeError(e))
			}
			if len(errs) > 0 {
				return &codeError{code: exitError}
			}
			return nil
		},
	}
}

// stdinArg reads stdin when args is "-" (what to do with it, such as
// "linted", goes in the error when "-" comes with other paths) and
// returns the stream and no paths; otherwise nil and args.
func stdinArg(cmd *cobra.Command, args []string, verb string) ([]byte, []string, error) {
	if !slices.Contains(args, "-") {
		return nil, args, nil
	}
	if len(args) != 1 {
		return nil, nil, usageError("- (stdin) cannot be %s with other paths", verb)
	}
	// Read one byte over the limit, so that a larger stream is refused.
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), render.DefaultMaxFileSize+1))
	if err != nil || len(b) > render.DefaultMaxFileSize {
		return nil, nil, usageError("stdin: %v (the limit is %d bytes)", cmp.Or(err, errors.New("too large")), render.DefaultMaxFileSize)
	}
	return b, nil, nil
}

// printWarnings lists the rendering tools' warnings on stderr, each
// naming its file, unless --quiet.
func printWarnings(cmd *cobra.Command, ws []lint.Error) {
	for _, w := range ws {
		if s := w.Error(); !quiet(cmd) {
			if w.Target != "" {
				s += " (target " + w.Target + ")"
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "warning: %s\n", s)
		}
	}
}

// describeError is an error as text prints it, with its target or why
// it has none (report.ErrorContext).
func describeError(e lint.Error) string { return e.Error() + report.ErrorContext(e) }

func newRulesCmd() *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "rules [ID]",
		Short: "List the rules, or print the documentation of one",
		Args:  cobra.MaximumNArgs(1),
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return completeRuleIDs(cmd, args, toComplete)
		},
		Example: `  kubeharden rules
  kubeharden rules pss-run-as-non-root
  kubeharden rules --markdown > docs/rules.md`,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			all := rules.All()
			if markdown {
				report.WriteRulesMarkdown(out, all)
				return nil
			}
			if len(args) == 1 {
				if r := rules.ByID(args[0]); r != nil {
					report.WriteRuleDoc(out, r)
					return nil
				}
				return usageError("unknown rule %q (run kubeharden rules for the list)", args[0])
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSEVERITY\tDEFAULT\tTITLE")
			for _, r := range all {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Severity, report.RuleDefault(r), r.Title)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the whole catalogue as Markdown (docs/rules.md)")
	return cmd
}
