package driver

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/rules"
)

// TestFingerprintsUnique is the meta-test of lint.Fingerprint: no two
// findings of one run share a fingerprint, or a baseline entry and a
// review comment could stand for either and a pull request that removes
// one of them would go unseen. It lints the demo repository, every rule's
// bad fixture with the whole catalogue on, and a small generated
// benchmark repository.
func TestFingerprintsUnique(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, dir string, s *lint.Settings) {
		t.Helper()
		r, err := Open(ctx, dir, nil, Options{Settings: s})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := r.Lint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		all := append(append([]lint.Finding{}, snap.Findings...), snap.Suppressed...)
		if len(all) == 0 {
			t.Fatal("no findings: the test checks nothing")
		}
		seen := map[string]lint.Finding{}
		for _, f := range all {
			fp := lint.Fingerprint(f)
			if g, ok := seen[fp]; ok {
				t.Errorf("fingerprint %.12s shared by\n  %s %s %s: %s\n  %s %s %s: %s", fp,
					g.Rule.ID, g.Object.Resource, g.Field, g.Message, f.Rule.ID, f.Object.Resource, f.Field, f.Message)
			}
			seen[fp] = f
		}
	}
	t.Run("demo", func(t *testing.T) {
		demo, err := filepath.Abs(filepath.Join("..", "testdata", "demo"))
		if err != nil {
			t.Fatal(err)
		}
		check(t, demo, nil)
	})
	t.Run("bench", func(t *testing.T) {
		dir := t.TempDir()
		genRepo(t, dir, 2)
		check(t, dir, nil)
	})
	on := true
	every := map[string]lint.RuleSettings{}
	for _, r := range rules.All() {
		every[r.ID] = lint.RuleSettings{Enabled: &on}
	}
	bad, err := filepath.Glob(filepath.Join("..", "rules", "testdata", "*", "bad.yaml"))
	if err != nil || len(bad) == 0 {
		t.Fatalf("no rule fixtures: %v", err)
	}
	for _, file := range bad {
		id := filepath.Base(filepath.Dir(file))
		t.Run("rule/"+id, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "bad.yaml"), src, 0o644); err != nil {
				t.Fatal(err)
			}
			check(t, dir, &lint.Settings{Rules: every})
		})
	}
}
