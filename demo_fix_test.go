package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/driver"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// TestDemoFix is the fixer's acceptance test on the bundled demo: after
// kubeharden fix, lint reports no finding that has an automatic fix;
// every workload without an exemption passes the restricted Pod Security
// profile as the upstream library evaluates it; and a second fix changes
// no byte.
func TestDemoFix(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/demo")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	code := runEnv(ctx, demoEnv(dir), []string{"fix", "--fail-on", "none", "."}, nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("fix: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if strings.Contains(stdout.String(), "skipped") {
		t.Errorf("fixes skipped on the demo:\n%s", stdout.String())
	}
	before := snapshotFiles(t, dir)

	r, err := driver.Open(ctx, dir, nil, driver.Options{Now: demoEnv(dir).now})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Lint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Errors) > 0 {
		t.Errorf("errors after the fix: %v", snap.Errors)
	}
	for _, f := range snap.Findings {
		if driver.HasFix(f) {
			t.Errorf("fixable finding left: %s %s %s: %s", f.Location, f.Rule.ID, f.Object.Resource, f.Message)
		}
	}
	exempt := map[string]bool{}
	for _, f := range snap.Suppressed {
		exempt[f.Object.Target+" "+f.Object.Resource.String()] = true
	}
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	restricted := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	checked := 0
	for _, o := range snap.Linted() {
		pt, err := o.PodTemplate()
		if err != nil || pt == nil || exempt[o.Target+" "+o.Resource.String()] {
			continue
		}
		checked++
		for _, res := range eval.EvaluatePod(restricted, &pt.Meta, &pt.Spec) {
			if !res.Allowed {
				t.Errorf("%s in %s fails restricted after the fix: %s: %s", o.Resource, o.Target, res.ForbiddenReason, res.ForbiddenDetail)
			}
		}
	}
	if checked < 3 {
		t.Errorf("only %d workloads without an exemption checked", checked)
	}

	stdout.Reset()
	if code := runEnv(ctx, demoEnv(dir), []string{"fix", "--fail-on", "none", "."}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("second fix: exit %d\n%s", code, stdout.String())
	}
	after := snapshotFiles(t, dir)
	if len(after) != len(before) {
		t.Errorf("second fix changed the set of files: %d -> %d", len(before), len(after))
	}
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("second fix changed %s", name)
		}
	}
}

func snapshotFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
