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

// TestValuesDrivenWorkStops renders charts whose work comes from their
// values, each stopped while it runs: by the output limit, the run's
// memory budget or the timeout, with an error for the chart, and with
// no goroutine left running once Render has returned.
func TestValuesDrivenWorkStops(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		template string
		values   string
		want     string
	}{{
		name:     "output limit, string doubling",
		template: `{{ $s := .Values.s }}{{ range until 40 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ $s }}`,
		values:   "s: x\n",
		want:     "printf goes over the 67108864 byte output limit",
	}, {
		name:     "run budget, string doubling",
		opts:     Options{MaxOutput: 1 << 30, MaxMemory: 64 << 20},
		template: `{{ $s := .Values.s }}{{ range until 40 }}{{ $s = cat $s $s }}{{ end }}{{ $s }}`,
		values:   "s: x\n",
		want:     "cat would make more than the 16771034 bytes left of the run's memory budget; refused",
	}, {
		name:     "run budget, one call",
		opts:     Options{MaxOutput: 1 << 30, MaxMemory: 64 << 20},
		template: `{{ .Values.s | indent (int .Values.count) }}`,
		values:   "s: x\ncount: 100000000\n",
		want:     "indent would make about 100000001 bytes, more than the 33554432 bytes left of the run's memory budget",
	}, {
		// A number as large as a values sentinel (issue 17: one drove
		// until to 24 GB) is refused by until's, seq's and untilStep's
		// arguments before anything is allocated.
		name:     "output limit, values-driven until",
		template: `{{ range until (int .Values.count) }}x{{ end }}`,
		values:   "count: 731000000\n",
		want:     "until would make about 5848000000 bytes",
	}, {
		name:     "output limit, values-driven seq",
		template: `{{ seq 1 (int .Values.count) }}`,
		values:   "count: 731000000\n",
		want:     "seq would make about",
	}, {
		name:     "output limit, values-driven untilStep",
		template: `{{ range untilStep 0 (int .Values.count) 1 }}x{{ end }}`,
		values:   "count: 731000000\n",
		want:     "untilStep would make about",
	}, {
		name:     "timeout, values-driven loop",
		opts:     Options{Timeout: 100 * time.Millisecond, MaxOutput: 1 << 30},
		template: `{{ range until (int .Values.count) }}{{ $_ := bcrypt (toJson .) }}{{ end }}`,
		values:   "count: 1000000\n",
		want:     "rendering took longer than 100ms",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{
				"c/Chart.yaml":        "apiVersion: v2\nname: c\nversion: 1.0.0\n",
				"c/values.yaml":       tc.values,
				"c/templates/cm.yaml": tc.template + "\n",
			})
			fsys, err := NewFS(dir)
			if err != nil {
				t.Fatal(err)
			}
			r := NewRenderer(fsys, tc.opts)
			_, err = r.Render(context.Background(), &Target{Kind: KindHelm, Path: "c"})
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(e.File, "c") || !strings.Contains(e.Message, tc.want) {
				t.Fatalf("Render = %v, want an *Error on c saying %q", err, tc.want)
			}
			// Blocks until go test's -timeout if the template runs on.
			r.waitWorkers()
			if used := r.mem.used.Load(); used != 0 {
				t.Errorf("the render still holds %d bytes of the run's budget", used)
			}
		})
	}
}
