package github

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/lint"
)

// TestHiddenBy names the change that hides each finding, and ignores a
// severity lowered while still at or above the threshold.
func TestHiddenBy(t *testing.T) {
	f := func(fp, rule string, sev lint.Severity, res string) Finding {
		return Finding{Fingerprint: fp, Rule: rule, Severity: sev, Resource: res}
	}
	judged := &LintResult{
		Findings: []Finding{
			f("a", "r1", lint.Critical, "Pod/x in d"), f("b", "r2", lint.High, "Pod/x in d"), f("c", "r3", lint.Critical, "Pod/x in d"),
			f("d", "r4", lint.High, "Pod/y in e"), f("e", "r5", lint.High, "Pod/x in d"), f("f", "r6", lint.Low, "Pod/x in d"),
		},
		Objects: []string{"Pod/x in d", "Pod/y in e"},
		Errors:  []string{"e/big.yaml: too large"},
	}
	ex := f("a", "r1", lint.Critical, "Pod/x in d")
	ex.Exemption = "exemption at .kubeharden.yaml:3:5 (why, until 2026-12-31)"
	own := &LintResult{
		Findings:   []Finding{f("b", "r2", lint.Low, "Pod/x in d"), f("c", "r3", lint.High, "Pod/x in d"), f("f", "r6", lint.Info, "Pod/x in d")},
		Suppressed: []Finding{ex},
		Objects:    []string{"Pod/x in d"},
		Disabled:   []string{"r5"},
	}
	high := lint.High
	hidden, errs := hiddenBy(judged, own, &high)
	var got []string
	for _, h := range hidden {
		got = append(got, h.Fingerprint+": "+h.Why)
	}
	want := []string{
		"a: the pull request's policy exempts it: exemption at .kubeharden.yaml:3:5 (why, until 2026-12-31)",
		"b: the pull request lowers the severity of r2 from high to low",
		"d: the pull request's include or exclude leaves Pod/y in e out",
		"e: the pull request turns rule r5 off",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("hidden:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(errs) != 1 {
		t.Errorf("hidden errors = %v", errs)
	}
	res := &ReviewResult{Hidden: hidden}
	if !res.Failed(&high) {
		t.Errorf("hidden findings at the threshold do not fail the review")
	}
}

// TestPolicyAt reads a commit's policy from git's object store: absent is
// the defaults, a symbolic link is refused.
func TestPolicyAt(t *testing.T) {
	r := newGitRepo(t)
	none := r.commit(map[string]string{"a.yaml": "a: 1\n"})
	withCfg := r.commit(map[string]string{".kubeharden.yaml": "rules: {}\n"})
	os.Remove(filepath.Join(r.dir, ".kubeharden.yaml"))
	if err := os.Symlink("/etc/passwd", filepath.Join(r.dir, ".kubeharden.yaml")); err != nil {
		t.Skip(err)
	}
	link := r.commit(nil)
	ctx := context.Background()
	if p, err := policyAt(ctx, r.dir, none); err != nil || p.Config != nil || p.Commit != none {
		t.Errorf("no config: %+v, %v", p, err)
	}
	if p, err := policyAt(ctx, r.dir, withCfg); err != nil || string(p.Config) != "rules: {}\n" {
		t.Errorf("config: %+v, %v", p, err)
	}
	if _, err := policyAt(ctx, r.dir, link); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("symbolic link: %v", err)
	}
}
