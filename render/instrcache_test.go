package render

import (
	"context"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// A second render of the same templates by one Renderer reuses the
// instrumented chart and renders exactly what a fresh Renderer does:
// the deterministic stand-ins start over, the target still seeds them,
// and the guard still charges loops.
func TestInstrumentCacheReuse(t *testing.T) {
	dir := t.TempDir()
	tmpl := "a: {{ randAlphaNum 8 }}\nb: {{ randAlphaNum 8 }}\nc: {{ range until (int .Values.n) }}x{{ end }}\n"
	files := map[string]string{}
	for _, c := range []string{"one", "two"} {
		files[c+"/Chart.yaml"] = "apiVersion: v2\nname: " + c + "\nversion: 1.0.0\n"
		files[c+"/values.yaml"] = "n: 3\n"
		files[c+"/templates/cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  " + strings.ReplaceAll(tmpl, "\n", "\n  ") + "\n"
	}
	writeTree(t, dir, files)
	fsys, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	text := func(r *Renderer, tg *Target) string {
		t.Helper()
		objs, err := r.renderHelm(context.Background(), tg)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, o := range objs {
			out, _ := yaml.Marshal(o.Node)
			b.Write(out)
		}
		return b.String()
	}
	one := &Target{Kind: KindHelm, Path: "one"}
	two := &Target{Kind: KindHelm, Path: "two"}
	r := NewRenderer(fsys, Options{})
	first, second := text(r, one), text(r, one)
	if first != second {
		t.Errorf("second render differs:\n%s\nvs\n%s", first, second)
	}
	if fresh := text(NewRenderer(fsys, Options{}), one); fresh != first {
		t.Errorf("cached render differs from a fresh one:\n%s\nvs\n%s", first, fresh)
	}
	if other := text(r, two); other == first || other != text(NewRenderer(fsys, Options{}), two) {
		t.Errorf("another target's render is not its own:\n%s", other)
	}
	if n := len(r.instr.m); n != 2 {
		t.Errorf("%d instrumented charts cached, want 2", n)
	}

	// The guard charges the loop on a cache hit as on a miss.
	small := NewRenderer(fsys, Options{MaxOutput: 4 << 10})
	big := &Target{Kind: KindHelm, Path: "one", Helm: &HelmOptions{Set: []string{"n=100000"}}}
	for i := range 2 {
		if _, err := small.renderHelm(context.Background(), big); err == nil {
			t.Fatalf("render %d: a 100000-iteration loop passed a 4 KB limit", i+1)
		}
	}
}
