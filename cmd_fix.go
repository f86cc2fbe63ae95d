package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/rules"
)

func newFixCmd(wd string) *cobra.Command {
	var (
		dryRun   bool
		ruleIDs  []string
		format   string
		failOn   string
		showDiff bool
		auditLog string
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
			for _, id := range ruleIDs {
				if rules.ByID(id) == nil {
					return usageError("--rule: unknown rule %q (see kubeharden rules)", id)
				}
			}
			r, err := openRepo(wd, args)
			if err != nil {
				return err
			}
			if err := r.readAuditLog(wd, auditLog); err != nil {
				return err
			}
			stop := startProgress(r, cmd.ErrOrStderr(), quiet(cmd))
			res, err := runFix(cmd.Context(), r, fixOptions{rules: ruleIDs})
			stop()
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			var writeErrs []error
			if !dryRun {
				writeErrs = writeFixes(r, res)
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
				writeFixText(summary, res, dryRun, writeErrs, quiet(cmd))
			}
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			switch {
			case len(writeErrs) > 0 || len(res.final.Errors) > 0:
				return &codeError{code: exitError}
			case threshold != nil && anyAtLeast(res.final.Findings, *threshold):
				return &codeError{code: exitFindings}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the fixes as a unified diff on stdout and write nothing (the summary goes to stderr)")
	cmd.Flags().StringArrayVar(&ruleIDs, "rule", nil, "fix only the findings of this rule; repeat for several")
	cmd.Flags().StringVarP(&format, "format", "f", "text", "output format: text or json (applied and skipped fixes with reasons)")
	cmd.Flags().StringVar(&failOn, "fail-on", "low", "exit 1 when a finding of this severity or higher remains (info, low, medium, high, critical, or none)")
	cmd.Flags().BoolVar(&showDiff, "diff", false, "also print the unified diff of what is written")
	cmd.Flags().StringVar(&auditLog, "audit-log", "", "Kubernetes audit log (audit.k8s.io/v1 Event JSON lines) whose evidence narrows RBAC wildcards to the verbs and resources actually used")
	// --quiet (-q) is the root's: it also prints only the summary line.
	cmd.RegisterFlagCompletionFunc("rule", completeRuleIDs)
	cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"text", "json"}, cobra.ShellCompDirectiveNoFileComp))
	cmd.RegisterFlagCompletionFunc("fail-on", completeFailOn)
	return cmd
}

// fixedFiles returns the files a fix run changes, sorted.
func (res *fixResult) fixedFiles() []string {
	var out []string
	for f, b := range res.files {
		if !bytes.Equal(b, res.orig[f]) || res.orig[f] == nil {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// unfixable returns the findings left after the fixes that have no
// automatic fix (those whose fix failed are the skipped ones).
func (res *fixResult) unfixable() (unfixable []lint.Finding) {
	for _, f := range res.final.Findings {
		if !hasFix(f) {
			unfixable = append(unfixable, f)
		}
	}
	return unfixable
}

func writeFixDiff(w io.Writer, res *fixResult) {
	for _, f := range res.fixedFiles() {
		io.WriteString(w, fix.Diff(f, res.orig[f], res.files[f]))
	}
}

func writeFixText(w io.Writer, res *fixResult, dryRun bool, writeErrs []error, quiet bool) {
	if !quiet {
		for _, a := range res.applied {
			fmt.Fprintf(w, "fixed   %s  %s  %s (%s)\n", a.finding.Location, a.finding.Rule.ID, a.finding.Fix.Description, a.finding.Object.Resource)
		}
		for _, s := range res.skipped {
			fmt.Fprintf(w, "skipped %s  %s  %s\n", s.finding.Location, s.finding.Rule.ID, s.reason)
		}
		for _, e := range res.final.Errors {
			fmt.Fprintf(w, "error   %s\n", describeError(e))
		}
	}
	for _, err := range writeErrs {
		fmt.Fprintf(w, "error   %v\n", err)
	}
	verb := "changed"
	if dryRun {
		verb = "would change"
	}
	files := res.fixedFiles()
	total := len(res.applied) + len(res.skipped)
	fmt.Fprintf(w, "applied %d of %d fixes; %s %d %s", len(res.applied), total, verb, len(files), plural(len(files), "file"))
	if n := len(res.unfixable()); n > 0 {
		fmt.Fprintf(w, "; %d %s without an automatic fix", n, plural(n, "finding"))
	}
	fmt.Fprintln(w)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func writeFixJSON(w io.Writer, res *fixResult, dryRun bool, writeErrs []error) error {
	rep := &report.FixReport{DryRun: dryRun, Remaining: res.final.Findings, Errors: res.final.Errors,
		Tool: report.Tool{Name: "kubeharden", Version: version()}}
	for _, a := range res.applied {
		rep.Applied = append(rep.Applied, report.FixOutcome{Finding: a.finding, Files: a.files})
	}
	for _, s := range res.skipped {
		rep.Skipped = append(rep.Skipped, report.FixOutcome{Finding: s.finding, Reason: s.reason})
	}
	for _, f := range res.fixedFiles() {
		rep.Files = append(rep.Files, report.FixedFile{Path: f, Created: res.orig[f] == nil, Diff: fix.Diff(f, res.orig[f], res.files[f])})
	}
	for _, err := range writeErrs {
		rep.Errors = append(rep.Errors, lint.Error{Message: err.Error()})
	}
	return report.WriteFixJSON(w, rep)
}

// writeFixes writes the fixed files under the repository root. Each file
// is written whole through a temporary file in its directory and a rename,
// keeping its mode. A file is not written when it changed on disk since it
// was read, when it or a directory above it (below the root) is a symbolic
// link, or, for a new file, when it has appeared meanwhile. The errors say
// which files were left alone and why.
func writeFixes(r *repo, res *fixResult) []error {
	var errs []error
	files := slices.Sorted(maps.Keys(res.files))
	for _, rel := range files {
		if err := writeFixedFile(r, rel, res.orig[rel], res.files[rel]); err != nil {
			errs = append(errs, fmt.Errorf("%s: not written: %w", rel, err))
		}
	}
	return errs
}

func writeFixedFile(r *repo, rel string, orig, data []byte) error {
	if bytes.Equal(orig, data) && orig != nil {
		return nil
	}
	if strings.HasPrefix(rel, "../") || rel == ".." || filepath.IsAbs(rel) {
		return errors.New("outside the repository")
	}
	name := r.fs.Abs(rel)
	// No symbolic link on the way: every directory from the root down is
	// a real directory.
	dir := r.root
	for _, part := range strings.Split(filepath.Dir(filepath.FromSlash(rel)), string(filepath.Separator)) {
		if part == "." || part == "" {
			continue
		}
		dir = filepath.Join(dir, part)
		st, err := os.Lstat(dir)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", part)
		}
	}
	mode := fs.FileMode(0o644)
	st, err := os.Lstat(name)
	switch {
	case err == nil && orig == nil:
		return errors.New("the file appeared after it was planned; run kubeharden fix again")
	case err == nil && !st.Mode().IsRegular():
		return errors.New("not a regular file (a symbolic link?)")
	case err == nil:
		mode = st.Mode().Perm()
		cur, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if !bytes.Equal(cur, orig) {
			return errors.New("the file changed on disk while kubeharden was fixing it; run kubeharden fix again")
		}
	case errors.Is(err, fs.ErrNotExist) && orig != nil:
		return errors.New("the file was removed while kubeharden was fixing it")
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	tmp, err := writeTemp(name, data, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if orig == nil {
		// A hard link fails if the name exists: a new file never
		// replaces one that appeared meanwhile.
		return os.Link(tmp, name)
	}
	return os.Rename(tmp, name)
}

// writeTemp writes data to a new temporary file next to name, with the
// given mode, synced to disk, and returns the temporary file's name. The
// caller moves it into place (rename or link) and removes it afterwards.
func writeTemp(name string, data []byte, mode fs.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".kubeharden-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
