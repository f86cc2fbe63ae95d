package driver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// genRepo writes a synthetic GitOps repository under dir: per unit of
// scale, one plain manifest file, one Kustomize base with an overlay and a
// patch, and one Helm chart whose template ranges over its values. Every
// unit renders objectsPerUnit objects, a mix of workloads and plain ones.
func genRepo(tb testing.TB, dir string, scale int) (objects int) {
	tb.Helper()
	write := func(rel, content string) {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write(".kubeharden.yaml", "podSecurity:\n  level: restricted\n")
	// A checkout: the root of every path under dir, as git's top level
	// is (see findRoot).
	write(".git/HEAD", "ref: refs/heads/main\n")
	const perKind = 20 // objects of each source kind per unit: 10 Deployments, 10 Services
	for u := 0; u < scale; u++ {
		var plain strings.Builder
		for i := 0; i < perKind/2; i++ {
			fmt.Fprintf(&plain, "---\n%s---\n%s", deployment(fmt.Sprintf("app%d-%d", u, i), ""), service(fmt.Sprintf("app%d-%d", u, i)))
		}
		write(fmt.Sprintf("plain/team%d/apps.yaml", u), plain.String())

		var res []string
		for i := 0; i < perKind/2; i++ {
			name := fmt.Sprintf("svc%d", i)
			write(fmt.Sprintf("kustomize/app%d/base/%s.yaml", u, name), deployment(name, "")+"---\n"+service(name))
			res = append(res, "  - "+name+".yaml")
		}
		write(fmt.Sprintf("kustomize/app%d/base/kustomization.yaml", u), "resources:\n"+strings.Join(res, "\n")+"\n")
		write(fmt.Sprintf("kustomize/app%d/prod/kustomization.yaml", u), "namespace: prod\nresources:\n  - ../base\npatches:\n  - path: patch.yaml\n")
		write(fmt.Sprintf("kustomize/app%d/prod/patch.yaml", u), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: svc0\nspec:\n  replicas: 3\n")

		write(fmt.Sprintf("charts/chart%d/Chart.yaml", u), fmt.Sprintf("apiVersion: v2\nname: chart%d\nversion: 0.1.0\n", u))
		write(fmt.Sprintf("charts/chart%d/values.yaml", u), fmt.Sprintf("count: %d\nsecurityContext:\n  runAsNonRoot: true\n", perKind/2))
		write(fmt.Sprintf("charts/chart%d/templates/apps.yaml", u), `{{- range $i := until (int .Values.count) }}
---
`+strings.ReplaceAll(deployment("{{ $.Release.Name }}-{{ $i }}", "{{- toYaml $.Values.securityContext | nindent 8 }}"), "\n", "\n")+`---
`+service("{{ $.Release.Name }}-{{ $i }}")+`{{- end }}
`)
		objects += 3 * perKind
	}
	return objects
}

func deployment(name, podSecurity string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
      securityContext:
        %[2]s
      containers:
        - name: app
          image: example/app:1.0
          securityContext:
            allowPrivilegeEscalation: false
`, name, podSecurity)
}

func service(name string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %[1]s
spec:
  selector:
    app: %[1]s
  ports:
    - port: 80
`, name)
}

// BenchmarkLint lints generated repositories of about 5,000 and 10,000
// objects (plain manifests, Kustomize overlays and Helm charts in equal
// parts) end to end: discovery, rendering, rules and source mapping.
func BenchmarkLint(b *testing.B) {
	for _, units := range []int{84, 167} {
		b.Run(fmt.Sprintf("objects=%d", units*60), func(b *testing.B) { benchLint(b, units, ".", "off") })
	}
}

// BenchmarkLintChanged lints only what one changed file affects in the
// 10,000-object repository, as the pre-commit hook does, with the rest of
// the repository as context: rendered every time (cache=off) or read from
// a render cache that a first run filled (cache=warm).
func BenchmarkLintChanged(b *testing.B) {
	for _, cache := range []string{"off", "warm"} {
		b.Run("values-file/cache="+cache, func(b *testing.B) { benchLint(b, 167, "charts/chart7/values.yaml", cache) })
		b.Run("base-resource/cache="+cache, func(b *testing.B) { benchLint(b, 167, "kustomize/app7/base/svc3.yaml", cache) })
		b.Run("manifest/cache="+cache, func(b *testing.B) { benchLint(b, 167, "plain/team7/apps.yaml", cache) })
	}
}

// benchLint lints path of a generated repository of units; cache is
// "off" or "warm" (a render cache filled by one run before timing).
func benchLint(b *testing.B, units int, path, cache string) {
	dir := b.TempDir()
	want := genRepo(b, dir, units)
	if path != "." {
		want = 20 // one target of one unit
	}
	cacheDir := "off"
	if cache == "warm" {
		cacheDir = b.TempDir()
	}
	r, err := Open(context.Background(), dir, []string{filepath.Join(dir, path)}, Options{CacheDir: cacheDir})
	if err != nil {
		b.Fatal(err)
	}
	if cache == "warm" {
		if _, err := r.Lint(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	var objects int
	for b.Loop() {
		// A fresh renderer per run: nothing is cached across runs.
		r.renderer = r.renderer.WithFS(r.fs)
		res, err := r.Lint(ctx)
		if err != nil || len(res.Errors) > 0 {
			b.Fatalf("lint: %v %v", err, res)
		}
		objects = res.Objects
	}
	if objects != want {
		b.Fatalf("linted %d objects, want %d", objects, want)
	}
	b.ReportMetric(float64(objects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(objects), "objects")
}

// BenchmarkFix plans and verifies the fixes of a generated repository of
// about 2,000 objects (nothing is written): finding sources, lowering,
// and the verifying re-render and re-lint of every round.
func BenchmarkFix(b *testing.B) {
	dir := b.TempDir()
	want := genRepo(b, dir, 34)
	r, err := Open(context.Background(), dir, nil, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var applied int
	for b.Loop() {
		r.renderer = r.renderer.WithFS(r.fs)
		res, err := r.Fix(ctx, FixOptions{})
		if err != nil {
			b.Fatal(err)
		}
		applied = len(res.Applied)
	}
	if applied == 0 {
		b.Fatal("no fix applied")
	}
	b.ReportMetric(float64(want)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(want), "objects")
	b.ReportMetric(float64(applied), "fixes")
}
