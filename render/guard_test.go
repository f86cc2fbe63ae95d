package render

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/render/internal/helm"
)

// TestGuardKeepsOutput renders templates full of loops, named templates
// and trim markers with and without the guard's lookups: the output must
// be the same byte for byte, and real lookups must still find nothing.
func TestGuardKeepsOutput(t *testing.T) {
	tmpls := map[string]string{
		"templates/_h.tpl": "{{- define \"h\" -}}\n  name: {{ . }}\n{{- end }}\n{{ define \"empty\" }}{{ end }}\n{{define \"sp\"}}   {{- . -}}   {{end}}",
		"templates/a.yaml": "{{ range .Values.l }}\n  - {{ . }}{{ end }}\n" +
			"{{- range $i, $v := .Values.l -}}\n   x{{ $i }}={{ $v }}\n{{- end }}\n" +
			"{{ range .Values.l }}   {{- . }}{{ end }}|{{ range .Values.l }}{{ end }}|{{ range .Values.none }}a{{ else }}  b  {{ end }}|\n" +
			"{{ range .Values.l }}  {{- else }}e{{ end }}|{{ range .Values.l }}{{ range $.Values.l }}{{ . }}{{ break }}{{ end }}\n{{ continue }}{{ end }}|\n" +
			"{{ range .Values.m }}{{/* c */}} {{ . }} {{ end }}|{{ include \"h\" \"n\" }}|{{ include \"empty\" . }}|{{ include \"sp\" \"s\" }}|{{ template \"sp\" \"t\" }}\n" +
			"{{ range 3 }}{{ . }}{{ end }}|{{ $_ := set .Values \"k\" 1 }}{{ .Values.k }}|{{ lookup \"v1\" \"Secret\" \"ns\" \"x\" }}|{{ (lookup \"v1\" \"Secret\" \"\" \"\").items }}\n",
		"templates/b.yaml": "plain: text\n",
	}
	build := func() *helm.Chart {
		files := []*helm.File{{Name: "Chart.yaml", Data: []byte("apiVersion: v2\nname: g\nversion: 1.0.0\n")}}
		for name, src := range tmpls {
			files = append(files, &helm.File{Name: name, Data: []byte(src)})
		}
		c, err := helm.LoadFiles(files)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	vals := func(c *helm.Chart) *helm.RenderValues {
		v, err := helm.ToRenderValues(c, map[string]any{"l": []any{"a", "b"}, "m": map[string]any{"y": 2, "x": 1}}, helm.Release{Name: "r", Namespace: "ns"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	plain := build()
	want, err := helm.Render(plain, vals(plain), nil)
	if err != nil {
		t.Fatal(err)
	}
	guarded := build()
	g := &helmGuard{ctx: context.Background(), limit: DefaultMaxOutput}
	got, err := renderGuarded(guarded, vals(guarded), g, map[string]*tmplFile{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s with the guard:\n%q\nwithout:\n%q", k, got[k], want[k])
			}
		}
	}
	if len(g.sites) != 13 {
		t.Errorf("%d guard sites, want 13 (10 loops, 3 named templates)", len(g.sites))
	}
	for _, s := range g.sites {
		if s.line < 1 {
			t.Errorf("guard site without a line: %+v", s)
		}
	}
	// Real lookups find nothing, as without a cluster.
	if a := got["g/templates/a.yaml"]; !strings.HasSuffix(a, "|1|map[]|\n") {
		t.Errorf("a.yaml ends %q, want lookups that find nothing", a[max(0, len(a)-20):])
	}
}

// TestHelmStopsAfterTimeout checks that a template that would loop for
// hours stops soon after its render times out, instead of running on.
func TestHelmStopsAfterTimeout(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"c/Chart.yaml":          "apiVersion: v2\nname: c\nversion: 1.0.0\n",
		"c/templates/loop.yaml": "{{- range until 100000 }}{{ $_ := bcrypt \"x\" }}{{ end }}\n",
	})
	fsys, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer(fsys, Options{Timeout: 200 * time.Millisecond})
	_, err = r.Render(context.Background(), &Target{Kind: KindHelm, Path: "c"})
	var e *Error
	if !errors.As(err, &e) || e.File != "c" || !strings.HasPrefix(e.Message, "rendering took longer than") {
		t.Fatalf("Render = %v, want a timeout *Error", err)
	}
	// Unguarded, the template would run for hours (100,000 bcrypt hashes,
	// few enough steps for the output limit), and this wait would block
	// until go test's -timeout panics with the template goroutine's
	// stack. Guarded, it stops at its next loop iteration.
	r.waitWorkers()
}
