package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/driver"
	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/rules"
)

func newFixCmd(e env) *cobra.Command {
	var (
		dryRun   bool
		ruleIDs  []string
		format   string
		failOn   string
		showDiff bool
		auditLog string
		risk     string
	)
	cmd := &cobra.Command{
		Use:   "fix [PATH...]",
		Short: "Write verified fixes into the sources that produce the findings",
		Long: `Fix the findings that have an automatic fix, in the files they come from: the
manifest line; the Kustomize base (or a new patch in the overlay when the base
is shared and the overlays need different fixes) or the overlay patch that
sets the field; the Helm values file the deployment uses (the Argo CD or Flux
object's values file or inline values, else the chart's values.yaml), found by
rendering the chart with marker values, or the template's literal YAML line
when no values key reaches the field; a new file for a new object, listed in
the kustomization or placed beside the object that deploys the chart. Edits
are byte-minimal: comments, blank lines, key order, quoting and indentation
stay as they are.

Every fix is verified before anything is written: the repository is rendered
and linted again with the edits applied in memory; a fix whose finding is
still reported, that causes a new finding or render error, or that changes any
other field of a rendered object is dropped and reported with the reason.
Files are written atomically, and a file that changed on disk since it was
read is not overwritten. Running fix a second time changes nothing.

PATH limits the fixes to the targets the paths affect (as for lint).

Exit codes: 0 nothing at or above --fail-on is left; 1 findings at or above
--fail-on remain (they have no automatic fix, or their fix did not verify);
2 usage error, a target that could not be rendered, or a file that could not
be written.`,
		Example: `  kubeharden fix --dry-run
  kubeharden fix --rule pss-run-as-non-root --rule pss-seccomp-restricted
  kubeharden fix --format json overlays/prod
  kubeharden fix -q --diff`,
		RunE: func(cmd *cobra.Command, args []string) error {
			threshold, err := parseFailOn(failOn)
			if err != nil {
				return err
			}
			if format != "text" && format != "json" {
				return usageError("unknown format %q (want text or json)", format)
			}
			maxRisk, err := lint.ParseFixRisk(risk)
			if risk != "" && err != nil {
				return usageError("--risk: %v", err)
			}
			for _, id := range ruleIDs {
				if rules.ByID(id) == nil {
					return usageError("--rule: unknown rule %q (see kubeharden rules)", id)
				}
			}
			if slices.Contains(args, "-") {
				return usageError("fix writes files; it cannot fix standard input")
			}
			r, err := openRepo(cmd.Context(), e.wd, args, driver.Options{AuditLog: auditLog, Now: e.now})
			if err != nil {
				return err
			}
			stop := startProgress(r, cmd.ErrOrStderr(), quiet(cmd))
			res, err := r.Fix(cmd.Context(), driver.FixOptions{Rules: ruleIDs, MaxRisk: maxRisk})
			stop()
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			printWarnings(cmd, res.Final.Warnings)
			var writeErrs []error
			if !dryRun {
				writeErrs = r.WriteFiles(res)
				// Report what is on disk now: a fix whose files were
				// not all written is not applied.
				res = res.Written(writeErrs)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				err = writeFixJSON(out, res, dryRun, writeErrs)
			} else {
				summary := out
				if dryRun {
					summary = cmd.ErrOrStderr()
					writeFixDiff(out, res)
				} else if showDiff {
					writeFixDiff(out, res)
				}
				writeFixText(summary, res, dryRun, writeErrs, quiet(cmd), maxRisk)
			}
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			switch {
			case len(writeErrs) > 0 || len(res.Final.Errors) > 0:
				return &codeError{code: exitError}
			case threshold != nil && anyAtLeast(res.Final.Findings, *threshold):
				return &codeError{code: exitFindings}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the fixes as a unified diff on stdout and write nothing (the summary goes to stderr)")
	cmd.Flags().StringArrayVar(&ruleIDs, "rule", nil, "fix only the findings of this rule; repeat for several")
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text or json (applied and skipped fixes with reasons)")
	cmd.Flags().StringVar(&failOn, "fail-on", "low", "exit 1 when a finding of this severity or higher remains (info, low, medium, high, critical, or none)")
	cmd.Flags().StringVar(&risk, "risk", "", "write only fixes of this risk class or a lesser one: safe (cannot stop a working workload) or may-break (default: all)")
	cmd.Flags().BoolVar(&showDiff, "diff", false, "also print the unified diff of what is written")
	cmd.Flags().StringVar(&auditLog, "audit-log", "", "Kubernetes audit log (audit.k8s.io/v1 Event JSON lines) whose evidence narrows RBAC wildcards to the verbs and resources actually used")
	// --quiet (-q) is the root's: it also prints only the summary line.
	cmd.RegisterFlagCompletionFunc("rule", completeRuleIDs)
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("fail-on", completeFailOn)
	cmd.RegisterFlagCompletionFunc("risk", cobra.FixedCompletions([]string{"safe", "may-break"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func writeFixDiff(w io.Writer, res *driver.FixResult) {
	for _, c := range res.Changes() {
		io.WriteString(w, fix.Diff(c.Path, c.Old, c.New))
	}
}

func writeFixText(w io.Writer, res *driver.FixResult, dryRun bool, writeErrs []error, quiet bool, maxRisk lint.FixRisk) {
	fixed, applied, verb := "fixed  ", "applied", "changed"
	if dryRun {
		fixed, applied, verb = "would fix", "would apply", "would change"
	}
	if !quiet {
		for _, a := range res.Applied {
			fmt.Fprintf(w, fixed+" %s  %s  %s (%s) [%s]\n", a.Finding.Location, a.Finding.Rule.ID, a.Finding.Fix.Description, a.Finding.Object.Resource, a.Finding.Fix.Risk.Class())
		}
		for _, s := range res.Skipped {
			fmt.Fprintf(w, "skipped %s  %s  %s [%s]\n", s.Finding.Location, s.Finding.Rule.ID, s.Reason, s.Finding.Fix.Risk.Class())
		}
		for _, e := range res.Final.Errors {
			fmt.Fprintf(w, "error   %s\n", describeError(e))
		}
	}
	for _, err := range writeErrs {
		fmt.Fprintf(w, "error   %v\n", err)
	}
	files := res.FixedFiles()
	total := len(res.Applied) + len(res.Skipped)
	fmt.Fprintf(w, "%s %d of %d fixes; %s %d %s", applied, len(res.Applied), total, verb, len(files), plural(len(files), "file"))
	riskier := 0
	for _, f := range res.Final.Findings {
		if driver.HasFix(f) && !f.Fix.Risk.AtMost(maxRisk) {
			riskier++
		}
	}
	if riskier > 0 {
		fmt.Fprintf(w, "; %d %s riskier than --risk %s not tried", riskier, plural(riskier, "fix"), maxRisk)
	}
	if n := len(res.Unfixable()); n > 0 {
		fmt.Fprintf(w, "; %d %s without an automatic fix", n, plural(n, "finding"))
	}
	fmt.Fprintln(w)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	if strings.HasSuffix(word, "x") {
		return word + "es"
	}
	return word + "s"
}

func writeFixJSON(w io.Writer, res *driver.FixResult, dryRun bool, writeErrs []error) error {
	rep := &report.FixReport{DryRun: dryRun, Remaining: res.Final.Findings, Errors: res.Final.Errors,
		Tool: report.Tool{Name: "kubeharden", Version: version()}}
	for _, a := range res.Applied {
		rep.Applied = append(rep.Applied, report.FixOutcome{Finding: a.Finding, Files: a.Files})
	}
	for _, s := range res.Skipped {
		rep.Skipped = append(rep.Skipped, report.FixOutcome{Finding: s.Finding, Reason: s.Reason})
	}
	for _, c := range res.Changes() {
		rep.Files = append(rep.Files, report.FixedFile{Path: c.Path, Created: c.Created(), Diff: fix.Diff(c.Path, c.Old, c.New)})
	}
	for _, err := range writeErrs {
		rep.Errors = append(rep.Errors, lint.Error{Message: err.Error()})
	}
	return report.WriteFixJSON(w, rep)
}
