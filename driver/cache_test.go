package driver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
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
	// Files just written are trusted by their stat too, so that the warm
	// run uses the discovery cache.
	defer func(m time.Duration) { racyMargin = m }(racyMargin)
	racyMargin = 0
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
			disc, _ := filepath.Glob(filepath.Join(cache, "discovery-*.gob"))
			if len(disc) != 1 {
				t.Fatalf("discovery cache files: %v, want one", disc)
			}
			// The discovery cache, truncated: it holds nothing.
			ents = append(ents, disc...)
			for i, e := range ents {
				// Corrupt: truncated, not JSON, another key.
				b, _ := os.ReadFile(e)
				if strings.HasSuffix(e, ".gob") {
					b = b[:len(b)/2]
				}
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

// TestDiscoveryCacheSeesChanges: with the discovery cache warm, an
// edited, an added and a removed file are seen as an uncached run sees
// them, finding for finding.
func TestDiscoveryCacheSeesChanges(t *testing.T) {
	defer func(m time.Duration) { racyMargin = m }(racyMargin)
	racyMargin = 0
	root := t.TempDir()
	genRepo(t, root, 3)
	cache := t.TempDir()
	now := func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }
	lintJSON := func(cacheDir string) string {
		t.Helper()
		ctx := context.Background()
		r, err := Open(ctx, root, []string{filepath.Join(root, "plain/team1/apps.yaml")}, Options{Now: now, CacheDir: cacheDir})
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
	check := func(step string) {
		t.Helper()
		want := lintJSON("off")
		for _, run := range []string{"first", "second"} {
			if got := lintJSON(cache); got != want {
				t.Fatalf("%s: %s cached run differs from the uncached one:\n%s\nwant:\n%s", step, run, got, want)
			}
		}
	}
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
	check("warm")
	// A manifest (context of the linted file) edited to not be one, and
	// back, in place: same inode, another size and time.
	ents, _ := filepath.Glob(filepath.Join(root, "plain/team2/*.yaml"))
	if len(ents) == 0 {
		t.Fatal("no plain/team2 manifests")
	}
	orig, err := os.ReadFile(ents[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ents[0], []byte("just: data\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("edited to not a manifest")
	if err := os.WriteFile(ents[0], orig, 0o644); err != nil {
		t.Fatal(err)
	}
	check("edited back")
	// A same-size edit that restores the modification time: the
	// status-change time still differs.
	fi, err := os.Stat(ents[0])
	if err != nil {
		t.Fatal(err)
	}
	same := bytes.Replace(orig, []byte("kind: "), []byte("kynd: "), 1)
	if bytes.Equal(same, orig) {
		t.Fatal("no kind line to edit")
	}
	if err := os.WriteFile(ents[0], same, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(ents[0], fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	check("same-size edit, same mtime")
	// An added Namespace with a NetworkPolicy, and an added broken file.
	write("extra/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: extra\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny\n  namespace: extra\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n")
	write("extra/broken.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n")
	check("added")
	// Removed.
	for _, f := range []string{"extra/ns.yaml", "extra/broken.yaml", ents[0]} {
		if !filepath.IsAbs(f) {
			f = filepath.Join(root, f)
		}
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	check("removed")
}
