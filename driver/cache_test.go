package driver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/report"
)

// TestMain keeps the render cache of every test in a temporary directory
// (tests that lint the demo would otherwise write into the checkout's
// git directory).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kubeharden-cache-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv(CacheEnv, dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestCacheSameResult: a changed-only run gives the same JSON report
// without the render cache, with a cold one, with a warm one, with a
// corrupt entry, and after a context file changed under a warm one.
func TestCacheSameResult(t *testing.T) {
	demo, err := filepath.Abs("../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	gen := t.TempDir()
	genRepo(t, gen, 3)
	now := func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	cases := []struct{ root, path string }{
		{demo, "manifests"},
		{demo, "charts"},
		{gen, "plain/team1/apps.yaml"},
		{gen, "charts/chart1/values.yaml"},
		{gen, "kustomize/app2/base/svc3.yaml"},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.root)+"/"+c.path, func(t *testing.T) {
			cache := t.TempDir()
			lintJSON := func(cacheDir string) string {
				t.Helper()
				ctx := context.Background()
				r, err := Open(ctx, c.root, []string{filepath.Join(c.root, c.path)}, Options{Now: now, CacheDir: cacheDir})
				if err != nil {
					t.Fatal(err)
				}
				snap, err := r.Lint(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var buf bytes.Buffer
				rep := &report.Report{Findings: snap.Findings, Suppressed: snap.Suppressed, Errors: snap.Errors,
					Skipped: snap.Skipped, Targets: snap.Targets, Objects: snap.Objects}
				if err := report.Write(&buf, report.FormatJSON, rep, report.Options{ShowExempt: true}); err != nil {
					t.Fatal(err)
				}
				return buf.String()
			}
			want := lintJSON("off")
			for _, run := range []string{"cold", "warm"} {
				if got := lintJSON(cache); got != want {
					t.Errorf("%s cache: the report differs from the uncached one:\n%s\nwant:\n%s", run, got, want)
				}
			}
			ents, _ := filepath.Glob(filepath.Join(cache, "*.json"))
			if len(ents) == 0 {
				t.Fatal("no cache entries written")
			}
			for i, e := range ents {
				// Corrupt: truncated, not JSON, another key.
				b, _ := os.ReadFile(e)
				switch i % 3 {
				case 0:
					b = b[:len(b)/2]
				case 1:
					b = []byte("not json")
				case 2:
					b = bytes.Replace(b, []byte(`"key":"`), []byte(`"key":"x`), 1)
				}
				if err := os.WriteFile(e, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := lintJSON(cache); got != want {
				t.Errorf("corrupt cache: the report differs from the uncached one:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestCacheStale: a warm entry is not used once a file its target read
// changed, or a file was added to its directory.
func TestCacheStale(t *testing.T) {
	root := t.TempDir()
	write := func(rel, s string) {
		t.Helper()
		p := filepath.Join(root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(".git/HEAD", "ref: refs/heads/main\n")
	write("apps/web.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  containers:\n  - name: web\n    image: web:1\n")
	write("ns/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n")
	cache := t.TempDir()
	count := func(rule string) int {
		t.Helper()
		ctx := context.Background()
		r, err := Open(ctx, root, []string{filepath.Join(root, "apps/web.yaml")}, Options{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		snap, err := r.Lint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range snap.Findings {
			if f.Rule.ID == rule {
				n++
			}
		}
		return n
	}
	if n := count("network-policy-default-deny"); n != 2 {
		t.Fatalf("default-deny findings before the policy: %d, want 2", n)
	}
	count("network-policy-default-deny") // warm
	// A new file in the context target's directory.
	write("ns/policy.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n")
	if n := count("network-policy-default-deny"); n != 1 {
		t.Fatalf("default-deny findings after adding an ingress policy: %d, want 1", n)
	}
	// A changed file of the context target.
	write("ns/policy.yaml", "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n")
	if n := count("network-policy-default-deny"); n != 0 {
		t.Fatalf("default-deny findings after the policy denies egress too: %d, want 0", n)
	}
}
