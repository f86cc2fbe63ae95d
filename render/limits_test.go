package render

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// The repository is untrusted input (DESIGN.md, "Security posture"). Each
// case of TestLimits builds a repository in which one file goes over a
// bound or tries to leave the root, next to a good target of every kind,
// and checks that discovering and rendering the whole repository yields
// exactly the expected errors, with file and line, and still renders the
// good targets. Big inputs are generated here, never committed.
//
// Bounds tested elsewhere: the Helm timeout and output limit per target in
// TestRenderHelmErrors ("timeout", "output limit"), an escaping symlink
// in a chart in TestRenderHelmSymlinkEscape, remote chart dependencies
// and dependency cycles in TestRenderHelmErrors. Here they are only
// checked not to stop the rest of the repository.

// configMap is a manifest of a ConfigMap named name.
func configMap(name string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"
}

// goodTargets are in every repository of TestLimits: one target of each
// kind, whose ConfigMaps must always be rendered.
var goodTargets = map[string]string{
	"good/cm.yaml":             configMap("good-manifest"),
	"goodk/kustomization.yaml": "resources:\n- cm.yaml\n",
	"goodk/cm.yaml":            configMap("good-kustomize"),
	"goodc/Chart.yaml":         "apiVersion: v2\nname: goodc\nversion: 1.0.0\n",
	"goodc/templates/cm.yaml":  configMap("good-helm"),
}

// laughs returns "billion laughs": l0 is a list of one string and each
// next key a list of width aliases to the one before, so that the last
// of levels keys expands to width^levels strings.
func laughs(levels, width int) string {
	var b strings.Builder
	b.WriteString("l0: &l0 [lol]\n")
	for i := 1; i <= levels; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*l%d,", i-1), width), ","))
	}
	return b.String()
}

// wantErr is an expected error: its file and line exactly, and the start
// of its message.
type wantErr struct {
	file string
	line int
	msg  string
}

func (w wantErr) String() string { return fmt.Sprintf("%q:%d: %s...", w.file, w.line, w.msg) }

func (w wantErr) matches(e *Error) bool {
	return e.File == w.file && e.Line == w.line && strings.HasPrefix(e.Message, w.msg)
}

type limitCase struct {
	name  string
	files map[string]string
	// setup adds what files cannot say: symlinks, pipes, generated input.
	// outside is a directory next to the repository, holding
	// secret.yaml (a ConfigMap named "stolen") and dir/secret.yaml.
	setup func(t *testing.T, dir, outside string)
	// maxFileSize is FS.MaxFileSize; maxNodes, when set, lowers
	// maxExpandedNodes for the case.
	maxFileSize int64
	maxNodes    int
	opts        Options
	// want are the errors of Discover and of rendering every target,
	// in any order; nothing else may fail.
	want []wantErr
	// objects are ConfigMaps that must be rendered besides the good ones.
	objects []string
	// maxAlloc bounds the bytes discovering and rendering may allocate;
	// a case that sets it runs in a test process of its own.
	maxAlloc uint64
}

func TestLimits(t *testing.T) {
	// deepBlock is an object that nests n mappings from its third line,
	// one a line, each key "a" indented one more space than the one before.
	deepBlock := func(n int) string {
		var b strings.Builder
		b.WriteString("apiVersion: v1\nkind: ConfigMap\n")
		for i := range n {
			b.WriteString(strings.Repeat(" ", i) + "a:\n")
		}
		return b.String()
	}
	// aliasChain nests n lists each holding an alias to the one before:
	// small as written, n levels deep once expanded. chainLine is the line
	// of c<k> in it.
	aliasChain := func(n int) string {
		var b strings.Builder
		b.WriteString(configMap("chain") + "c0: &c0 [x]\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "c%d: &c%d [*c%d]\n", i, i, i-1)
		}
		return b.String()
	}
	chainLine := func(k int) int { return 5 + k }
	// manyBombs is docs documents, each a ConfigMap whose own laughs
	// expand to 23410 more nodes than are written, and the line of each
	// document's first key.
	manyBombs := func(docs int) (string, []int) {
		var b strings.Builder
		var lines []int
		line := 1
		for i := range docs {
			if i > 0 {
				b.WriteString("---\n")
				line++
			}
			lines = append(lines, line)
			doc := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb%d}\n", i) + laughs(4, 10)
			b.WriteString(doc)
			line += strings.Count(doc, "\n")
		}
		return b.String(), lines
	}
	bombs, bombLines := manyBombs(5)
	big := configMap("big") + "data:\n  blob: " + strings.Repeat("x", 1<<20) + "\n"
	overLimit := fmt.Sprintf("file is %d bytes, over the 65536 byte limit", len(big))
	keys := func(name string, n int) string {
		var b strings.Builder
		b.WriteString(configMap(name) + "data:\n")
		for i := range n {
			fmt.Fprintf(&b, "  k%d: v\n", i)
		}
		return b.String()
	}
	symlink := func(t *testing.T, target, link string) {
		t.Helper()
		if err := os.Symlink(target, link); err != nil {
			t.Skipf("cannot make symlinks: %v", err)
		}
	}
	fifo := func(t *testing.T, p string) {
		t.Helper()
		if err := mkfifo(p); err != nil {
			t.Skipf("cannot make a named pipe: %v", err)
		}
	}
	chart := func(name string) string { return "apiVersion: v2\nname: " + name + "\nversion: 1.0.0\n" }
	// app is an Argo CD Application deploying chart with a values file
	// (relative to the chart).
	app := func(chart, values string) string {
		return "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: " + chart + "\nspec:\n  source:\n    path: " + chart + "\n    helm:\n      valueFiles:\n      - " + values + "\n"
	}

	tests := []limitCase{{
		name:     "billion laughs",
		files:    map[string]string{"bomb.yaml": configMap("bomb") + laughs(9, 9)},
		want:     []wantErr{{"bomb.yaml", 1, "document expands to more than 1000000 nodes through aliases"}},
		maxAlloc: 16 << 20,
	}, {
		name:  "small bombs adding up in one file",
		files: map[string]string{"bombs.yaml": bombs},
		// 4 documents add 93640 nodes, the 5th passes 100000.
		maxNodes: 100_000,
		want:     []wantErr{{"bombs.yaml", bombLines[4], "the aliases of this file expand to more than 100000 nodes in all"}},
		objects:  []string{"bomb0", "bomb1", "bomb2", "bomb3"},
	}, {
		name:  "alias inside the node it refers to",
		files: map[string]string{"cycle.yaml": configMap("cycle") + "data: &d\n  self: *d\n"},
		want:  []wantErr{{"cycle.yaml", 6, "alias *d is inside the node it refers to"}},
	}, {
		name:     "billion laughs in a kustomize resource",
		files:    map[string]string{"kb/kustomization.yaml": "resources:\n- cm.yaml\n- bomb.yaml\n", "kb/cm.yaml": configMap("kb"), "kb/bomb.yaml": configMap("bomb") + laughs(9, 9)},
		want:     []wantErr{{"kb/bomb.yaml", 1, "document expands to more than 1000000 nodes through aliases"}},
		maxAlloc: 16 << 20,
	}, {
		name:  "billion laughs in Helm values and output",
		files: map[string]string{"cv/Chart.yaml": chart("cv"), "cv/values.yaml": laughs(9, 9), "cv/templates/cm.yaml": configMap("cv"), "ct/Chart.yaml": chart("ct"), "ct/templates/cm.yaml": configMap("ct") + laughs(9, 9)},
		want: []wantErr{
			// helm's YAML reader refuses excessive aliasing on its own
			{"cv/values.yaml", 0, "error converting YAML to JSON: yaml: document contains excessive aliasing"},
			{"ct/templates/cm.yaml", 0, "rendered output (line 1): document expands to more than 1000000 nodes through aliases"},
		},
		maxAlloc: 16 << 20,
	}, {
		name:  "nested deeper than the parser allows",
		files: map[string]string{"deep.yaml": configMap("deep") + "data: " + strings.Repeat("[", 100_000), "deepmap.yaml": configMap("deep") + "data: " + strings.Repeat("{a: ", 100_000)},
		want:  []wantErr{{"deep.yaml", 5, "document nests more than 10000 levels deep"}, {"deepmap.yaml", 5, "document nests more than 10000 levels deep"}},
	}, {
		name: "nested too deep",
		files: map[string]string{
			"flow.yaml":  configMap("flow") + "data: " + strings.Repeat("[", 1500) + strings.Repeat("]", 1500) + "\n",
			"block.yaml": deepBlock(1100),
			"ok.yaml":    configMap("ok-deep") + "data:\n  k: " + strings.Repeat("[", 900) + strings.Repeat("]", 900) + "\n",
		},
		// The root is at depth 1: the 1000th list is at 1001, and so is
		// the key on line 1002.
		want:    []wantErr{{"flow.yaml", 5, "document nests more than 1000 levels deep"}, {"block.yaml", 1002, "document nests more than 1000 levels deep"}},
		objects: []string{"ok-deep"},
	}, {
		name:  "nested too deep through aliases",
		files: map[string]string{"chain.yaml": aliasChain(1100)},
		// c<k> is at depth 2 and k+2 deep expanded: the alias in c998
		// reaches depth 1001.
		want: []wantErr{{"chain.yaml", chainLine(998), "document nests more than 1000 levels deep through aliases"}},
	}, {
		name:     "too many nodes",
		files:    map[string]string{"keys.yaml": keys("keys", 6000), "fewer.yaml": keys("fewer-keys", 4000)},
		maxNodes: 10_000,
		want:     []wantErr{{"keys.yaml", 1, "document has more than 10000 nodes"}},
		objects:  []string{"fewer-keys"},
	}, {
		name:        "files over the size limit",
		maxFileSize: 1 << 16,
		files: map[string]string{
			"kbig/kustomization.yaml": "resources:\n- cm.yaml\n- big.yaml\n", "kbig/cm.yaml": configMap("kbig"),
			"cbig/Chart.yaml": chart("cbig"), "cbig/templates/cm.yaml": configMap("cbig"),
			"cval/Chart.yaml": chart("cval"), "cval/templates/cm.yaml": configMap("cval"), "cval-app.yaml": app("cval", "../vals/big.yaml"),
		},
		setup: func(t *testing.T, dir, _ string) {
			for _, p := range []string{"big.yaml", "kbig/big.yaml", "cbig/templates/big.yaml", "vals/big.yaml"} {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, p), []byte(big), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		},
		want: []wantErr{
			{"big.yaml", 0, overLimit},
			{"kbig/kustomization.yaml", 3, `resource "big.yaml" is ` + strings.TrimPrefix(overLimit, "file is ")},
			{"cbig/templates/big.yaml", 0, overLimit},
			{"vals/big.yaml", 0, overLimit}, // linted on its own too
			{"vals/big.yaml", 0, "read values file: " + overLimit},
		},
		maxAlloc: 16 << 20,
	}, {
		name: "Helm template running too long",
		opts: Options{Timeout: 500 * time.Millisecond},
		files: map[string]string{
			"slow/Chart.yaml": chart("slow"),
			// Few steps, each slow (a bcrypt hash), so that the time
			// limit and not the output limit stops it; the guard stops
			// the template at its next iteration once the render has
			// timed out (TestHelmStopsAfterTimeout).
			"slow/templates/cm.yaml": "{{- range until 100000 }}{{ $_ := bcrypt \"x\" }}{{ end }}\n" + configMap("slow"),
		},
		want: []wantErr{{"slow", 0, "rendering took longer than 500ms"}},
	}, {
		name: "Helm output over the limit",
		opts: Options{MaxOutput: 2048},
		// The size comes from the values: repeat is refused when it is
		// called, by its arguments, before it allocates.
		files: map[string]string{"huge/Chart.yaml": chart("huge"), "huge/values.yaml": "size: 4096\n", "huge/templates/cm.yaml": configMap("huge") + "data:\n  blob: {{ repeat (int .Values.size) \"x\" }}\n"},
		want:  []wantErr{{"huge/templates/cm.yaml", 6, "repeat would make about 4096 bytes, more than the 2048 bytes left of the output limit; refused"}},
	}, {
		name: "Helm template making a list of a hundred million numbers",
		// until would allocate 800 MB before the first iteration: refused
		// before rendering.
		files:    map[string]string{"list/Chart.yaml": chart("list"), "list/templates/cm.yaml": configMap("list") + "data:\n  n: \"{{ range until 100000000 }}x{{ end }}\"\n"},
		want:     []wantErr{{"list/templates/cm.yaml", 6, "until 100000000 would make about 800000000 bytes, over the 67108864 byte output limit"}},
		maxAlloc: 16 << 20,
	}, {
		name: "Helm loops writing gigabytes",
		opts: Options{MaxOutput: 1 << 20},
		// 10^8 iterations of 16 bytes: 1.6 GB, stopped at the iteration
		// that would pass 1 MiB, before writing it. 2^20 calls of a named
		// template, each writing 16 bytes and all copied up through
		// include at every level: stopped likewise.
		files: map[string]string{
			"loop/Chart.yaml":        chart("loop"),
			"loop/templates/cm.yaml": "{{- range until 10000 }}\n{{- range until 10000 }}xxxxxxxxxxxxxxxx{{ end }}\n{{- end }}\n" + configMap("loop"),
			// a named template calling itself writes too
			"rec/Chart.yaml":        chart("rec"),
			"rec/templates/_r.tpl":  "{{- define \"r\" }}yyyyyyyyyyyyyyyy{{ if lt (len .) 20 }}{{ include \"r\" (printf \"%s.\" .) }}{{ include \"r\" (printf \"%s.\" .) }}{{ end }}{{ end }}\n",
			"rec/templates/cm.yaml": configMap("rec") + "data:\n  r: {{ include \"r\" \"\" | quote }}\n",
		},
		want: []wantErr{
			{"loop/templates/cm.yaml", 2, "loop goes over the 1048576 byte output limit; rendering stopped"},
			{"rec/templates/_r.tpl", 1, "named template goes over the 1048576 byte output limit; rendering stopped"},
		},
		maxAlloc: 16 << 20,
	}, {
		name: "kustomizations including each other",
		files: map[string]string{
			"cyc/a/kustomization.yaml": "resources:\n- ../b\n",
			"cyc/b/kustomization.yaml": "resources:\n- ../a\n",
			// top is a target, and reaches the cycle through c.
			"top/kustomization.yaml":    "resources:\n- cm.yaml\n- ../cyc2/c\n",
			"top/cm.yaml":               configMap("top"),
			"cyc2/c/kustomization.yaml": "resources:\n- ../d\n",
			"cyc2/d/kustomization.yaml": "resources:\n- ../e\n",
			"cyc2/e/kustomization.yaml": "resources:\n- ../d\n",
		},
		want: []wantErr{
			// Nothing renders a or b: discovery says why.
			{"cyc/b/kustomization.yaml", 2, "kustomization cycle: cyc/a -> cyc/b -> cyc/a"},
			{"cyc2/e/kustomization.yaml", 2, "kustomization cycle: cyc2/d -> cyc2/e -> cyc2/d"},
		},
	}, {
		name:  "kustomization including itself through a symlink",
		files: map[string]string{"ks/kustomization.yaml": "resources:\n- cm.yaml\n- self\n", "ks/cm.yaml": configMap("ks")},
		setup: func(t *testing.T, dir, _ string) { symlink(t, ".", filepath.Join(dir, "ks/self")) },
		want:  []wantErr{{"ks/kustomization.yaml", 3, "kustomization cycle: ks -> ks/self"}},
	}, {
		name:  "remote kustomize base",
		files: map[string]string{"remote/kustomization.yaml": "resources:\n- https://github.com/example/repo//base?ref=v1\n"},
		want:  []wantErr{{"remote/kustomization.yaml", 2, `remote resource "https://github.com/example/repo//base?ref=v1" refused`}},
	}, {
		name: "KRM functions",
		files: map[string]string{
			"krm/kustomization.yaml": "resources:\n- cm.yaml\ntransformers:\n- fn.yaml\n",
			"krm/cm.yaml":            configMap("krm"),
			"krm/fn.yaml":            "apiVersion: example.com/v1\nkind: Fn\nmetadata:\n  name: f\n  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: example.com/evil:1\n",
			"krmi/kustomization.yaml": "resources:\n- cm.yaml\ngenerators:\n- |\n  apiVersion: example.com/v1\n  kind: Fn\n  metadata:\n    name: f\n" +
				"    annotations:\n      config.kubernetes.io/function: |\n        exec:\n          path: /bin/sh\n",
			"krmi/cm.yaml": configMap("krmi"),
		},
		want: []wantErr{
			{"krm/kustomization.yaml", 4, "transformers entry runs a KRM function"},
			{"krmi/kustomization.yaml", 4, "generators entry runs a KRM function"},
		},
	}, {
		name:  "helmCharts in a kustomization",
		files: map[string]string{"kh/kustomization.yaml": "resources:\n- cm.yaml\nhelmCharts:\n- name: x\n  repo: https://example.com/charts\n", "kh/cm.yaml": configMap("kh")},
		want:  []wantErr{{"kh/kustomization.yaml", 3, "helmCharts is not supported"}},
	}, {
		name: "symlinks out of the repository",
		files: map[string]string{
			"kd/kustomization.yaml": "resources:\n- cm.yaml\n- outdir\n", "kd/cm.yaml": configMap("kd"),
			"kf/kustomization.yaml": "resources:\n- cm.yaml\n- secret.yaml\n", "kf/cm.yaml": configMap("kf"),
		},
		setup: func(t *testing.T, dir, outside string) {
			symlink(t, filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "escape.yaml"))
			symlink(t, filepath.Join(outside, "dir"), filepath.Join(dir, "escdir")) // not walked
			symlink(t, filepath.Join(outside, "dir"), filepath.Join(dir, "kd/outdir"))
			symlink(t, "../../"+filepath.Base(outside)+"/secret.yaml", filepath.Join(dir, "kf/secret.yaml"))
		},
		want: []wantErr{
			{"escape.yaml", 0, "symlink escapes the repository root"},
			{"kd/kustomization.yaml", 3, `resource "outdir": symlink escapes the repository root`},
			{"kf/secret.yaml", 0, "symlink escapes the repository root"},
			{"kf/kustomization.yaml", 3, `resource "secret.yaml": symlink escapes the repository root`},
		},
	}, {
		name: "symlinks to /dev/zero",
		files: map[string]string{
			"kz/kustomization.yaml": "resources:\n- cm.yaml\n- zero.yaml\n", "kz/cm.yaml": configMap("kz"),
			"cz/Chart.yaml": chart("cz"), "cz/templates/cm.yaml": configMap("cz"),
			"czv/Chart.yaml": chart("czv"), "czv/templates/cm.yaml": configMap("czv"), "czv-app.yaml": app("czv", "../vals/zero.yaml"),
		},
		setup: func(t *testing.T, dir, _ string) {
			if _, err := os.Stat("/dev/zero"); err != nil {
				t.Skip("no /dev/zero")
			}
			if err := os.Mkdir(filepath.Join(dir, "vals"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"zero.yaml", "kz/zero.yaml", "cz/templates/zero.yaml", "vals/zero.yaml"} {
				symlink(t, "/dev/zero", filepath.Join(dir, p))
			}
		},
		want: []wantErr{
			{"zero.yaml", 0, "symlink escapes the repository root"},
			{"kz/zero.yaml", 0, "symlink escapes the repository root"},
			{"kz/kustomization.yaml", 3, `resource "zero.yaml": symlink escapes the repository root`},
			{"cz/templates/zero.yaml", 0, "symlink leaves the repository root"},
			{"vals/zero.yaml", 0, "symlink escapes the repository root"},
			{"czv-app.yaml", 10, `value file "../vals/zero.yaml": symlink escapes the repository root`},
		},
		objects: []string{"czv"}, // rendered without the refused values file
	}, {
		name: "named pipes",
		files: map[string]string{
			"kp/kustomization.yaml": "resources:\n- cm.yaml\n- pipe.yaml\n", "kp/cm.yaml": configMap("kp"),
			"cp/Chart.yaml": chart("cp"), "cp/templates/cm.yaml": configMap("cp"),
			"cpv/Chart.yaml": chart("cpv"), "cpv/templates/cm.yaml": configMap("cpv"), "cpv-app.yaml": app("cpv", "../vals/pipe.yaml"),
		},
		setup: func(t *testing.T, dir, _ string) {
			if err := os.Mkdir(filepath.Join(dir, "vals"), 0o755); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"pipe.yaml", "kp/pipe.yaml", "cp/templates/pipe.yaml", "vals/pipe.yaml"} {
				fifo(t, filepath.Join(dir, p))
			}
		},
		want: []wantErr{
			{"pipe.yaml", 0, "not a regular file"},
			{"kp/kustomization.yaml", 3, `resource "pipe.yaml" is not a regular file`},
			{"cp/templates/pipe.yaml", 0, "cannot load irregular file into a chart"},
			{"vals/pipe.yaml", 0, "not a regular file"}, // linted on its own too
			{"vals/pipe.yaml", 0, "read values file: not a regular file"},
		},
	}, {
		name: "symlink loops",
		files: map[string]string{
			"kl/kustomization.yaml": "resources:\n- cm.yaml\n- loop.yaml\n", "kl/cm.yaml": configMap("kl"),
			"cl/Chart.yaml": chart("cl"), "cl/templates/cm.yaml": configMap("cl"),
		},
		setup: func(t *testing.T, dir, _ string) {
			symlink(t, "b.yaml", filepath.Join(dir, "a.yaml"))
			symlink(t, "a.yaml", filepath.Join(dir, "b.yaml"))
			symlink(t, "loop.yaml", filepath.Join(dir, "kl/loop.yaml"))
			symlink(t, ".", filepath.Join(dir, "cl/templates/self"))
		},
		want: []wantErr{
			{"a.yaml", 0, "symlink loop"},
			{"b.yaml", 0, "symlink loop"},
			{"kl/loop.yaml", 0, "symlink loop"},
			{"kl/kustomization.yaml", 3, `resource "loop.yaml": symlink loop`},
			{"cl/templates/self", 0, "symlink loop in chart directory"},
		},
	}, {
		name: "odd file names",
		files: map[string]string{
			"a\nb.yaml":                configMap("newline"),
			"bad\nname.yaml":           configMap("bad") + "data: [\n",
			"..evil.yaml":              configMap("dotdot"),
			"..d/cm.yaml":              configMap("dotdot-dir"),
			"kdots/kustomization.yaml": "resources:\n- ..evil.yaml\n",
			"kdots/..evil.yaml":        configMap("kdots"),
			"\x1b[2Jesc.yaml":          configMap("escape-seq"),
		},
		want:    []wantErr{{"bad\nname.yaml", 5, "invalid YAML: did not find expected node content"}},
		objects: []string{"newline", "dotdot", "dotdot-dir", "kdots", "escape-seq"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.maxAlloc > 0 && inOwnProcess(t) {
				return
			}
			base := t.TempDir()
			dir, outside := filepath.Join(base, "repo"), filepath.Join(base, "outside")
			files := map[string]string{"../outside/secret.yaml": configMap("stolen"), "../outside/dir/secret.yaml": configMap("stolen")}
			for _, m := range []map[string]string{goodTargets, tt.files} {
				for k, v := range m {
					files[k] = v
				}
			}
			for name, data := range files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.setup != nil {
				tt.setup(t, dir, outside)
			}
			if tt.maxNodes > 0 {
				defer func(n int) { maxExpandedNodes = n }(maxExpandedNodes)
				maxExpandedNodes = tt.maxNodes
			}
			fsys, err := NewFS(dir)
			if err != nil {
				t.Fatal(err)
			}
			fsys.MaxFileSize = tt.maxFileSize

			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			errs, objs := lintAll(t, fsys, tt.opts)
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; tt.maxAlloc > 0 && alloc > tt.maxAlloc {
				t.Errorf("discovering and rendering allocated %d MiB, want at most %d MiB", alloc>>20, tt.maxAlloc>>20)
			}

			for _, e := range errs {
				if strings.ContainsAny(e.Error(), "\n\r") {
					t.Errorf("error text is more than one line: %q", e.Error())
				}
				if !slices.ContainsFunc(tt.want, func(w wantErr) bool { return w.matches(e) }) {
					t.Errorf("unexpected error %q (file %q, line %d)", e.Error(), e.File, e.Line)
				}
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(errs, w.matches) {
					t.Errorf("missing error %s", w)
				}
			}
			for _, name := range append([]string{"good-manifest", "good-kustomize", "good-helm"}, tt.objects...) {
				if _, ok := objs[name]; !ok {
					t.Errorf("ConfigMap %s not rendered", name)
				}
			}
			if _, ok := objs["stolen"]; ok {
				t.Errorf("rendered a file from outside the repository")
			}
		})
	}
}

// ownProcessEnv is set in a test process started by inOwnProcess.
const ownProcessEnv = "KUBEHARDEN_TEST_OWN_PROCESS"

// inOwnProcess runs the test t again, alone, in a new test process, and
// reports true when it has: the caller should then return. In that new
// process it reports false and the test goes on. A test that measures
// what it allocates runs so, because other tests leave goroutines
// running (a timed-out Helm template runs on to its end) whose
// allocations would count too. t's name must have no "/" of its own.
func inOwnProcess(t *testing.T) bool {
	t.Helper()
	if os.Getenv(ownProcessEnv) != "" {
		return false
	}
	var run []string
	for _, part := range strings.Split(t.Name(), "/") {
		run = append(run, "^"+regexp.QuoteMeta(part)+"$")
	}
	cmd := exec.Command(os.Args[0], "-test.run="+strings.Join(run, "/"), "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), ownProcessEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Errorf("in a process of its own: %v\n%s", err, out)
	}
	return true
}

// lintAll discovers the repository and renders every target, as the
// linter does, and returns every error (as *Error, or the test fails) and
// the rendered ConfigMaps by name. Each ConfigMap's source map must name
// the file it is written in.
func lintAll(t *testing.T, fsys *FS, opts Options) ([]*Error, map[string]*Object) {
	t.Helper()
	ctx := context.Background()
	repo, err := Discover(ctx, fsys, DiscoverOptions{})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	errs := slices.Clone(repo.Errors)
	objs := map[string]*Object{}
	r := NewRenderer(fsys, opts)
	for _, tg := range repo.Targets {
		res, err := r.Render(ctx, tg)
		got := res.Objects
		errs = append(errs, flattenErrors(t, err)...)
		for _, o := range got {
			if scalar(o.Node, "kind") != "ConfigMap" {
				continue
			}
			name := scalar(o.Node, "metadata", "name")
			if loc := o.Source.Locate(ypath.Path{"metadata", "name"}); loc.File == "" || loc.Line <= 0 {
				t.Errorf("ConfigMap %s of %s located at %+v", name, tg.ID(), loc)
			}
			objs[name] = o
		}
	}
	return errs, objs
}

func flattenErrors(t *testing.T, err error) []*Error {
	t.Helper()
	var multi MultiError
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &multi):
		var out []*Error
		for _, m := range multi {
			out = append(out, flattenErrors(t, m)...)
		}
		return out
	case errors.As(err, &e):
		return []*Error{e}
	default:
		t.Errorf("render error %q is not an *Error", err)
		return nil
	}
}

// TestReadFileOverLimit checks that a file over the limit is refused
// before it is read.
func TestReadFileOverLimit(t *testing.T) {
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.yaml"))
	if err == nil {
		err = f.Truncate(64 << 20) // sparse: costs no disk
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	fsys.MaxFileSize = 1 << 16
	// The size in the message comes from stat: the file was not read
	// (had it been, no more than the limit and a byte would have been).
	_, err = fsys.ReadFile("big.yaml")
	if got := fileError("big.yaml", err).Error(); got != "big.yaml: file is 67108864 bytes, over the 65536 byte limit" {
		t.Errorf("ReadFile error %q", got)
	}
}

// TestKustomizeStopsAfterTimeout checks that a kustomize build that runs
// past the timeout stops soon after, instead of running on unseen: it
// fails at the next file it reads.
func TestKustomizeStopsAfterTimeout(t *testing.T) {
	// Every overlay of a level includes every overlay of the level below
	// with a prefix of its own: width^depth copies of one ConfigMap.
	const width, depth = 6, 6
	files := map[string]string{"l0/kustomization.yaml": "resources:\n- cm.yaml\n", "l0/cm.yaml": configMap("cm")}
	prev := []string{"l0"}
	for l := 1; l <= depth; l++ {
		var cur []string
		for i := range width {
			name := fmt.Sprintf("l%d-%d", l, i)
			var b strings.Builder
			fmt.Fprintf(&b, "namePrefix: p%d-\nresources:\n", i)
			for _, p := range prev {
				fmt.Fprintf(&b, "- ../%s\n", p)
			}
			files[name+"/kustomization.yaml"] = b.String()
			cur = append(cur, name)
		}
		prev = cur
	}
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer(fsys, Options{Timeout: 200 * time.Millisecond})
	_, err = r.Render(context.Background(), &Target{Kind: KindKustomize, Path: prev[0]})
	var e *Error
	if !errors.As(err, &e) || e.File != prev[0]+"/kustomization.yaml" || !strings.HasPrefix(e.Message, "kustomize build did not finish") {
		t.Fatalf("Render = %v, want a timeout *Error", err)
	}
	// Left alone, the build would run for minutes, and this wait would
	// block until go test's -timeout panics with the build goroutine's
	// stack. It stops at the next file it reads.
	r.waitWorkers()
}

// TestErrorText checks that an error is one line whatever its file name
// and message hold, and that ordinary ones are left as they are.
func TestErrorText(t *testing.T) {
	for _, tt := range []struct {
		err  *Error
		want string
	}{
		{errorf("deploy/app.yaml", 3, "invalid YAML: x"), "deploy/app.yaml:3: invalid YAML: x"},
		{errorf("déploiement/app.yaml", 0, "ünïcode stays"), "déploiement/app.yaml: ünïcode stays"},
		{errorf("a\nb.yaml", 2, "m"), `"a\nb.yaml":2: m`},
		{errorf("\x1b[2J.yaml", 0, "m"), `"\x1b[2J.yaml": m`},
		{errorf("evil\u202egnp.yaml", 0, "m"), `"evil\u202egnp.yaml": m`},
		{errorf("bad\xffutf8.yaml", 0, "m"), `"bad\xffutf8.yaml": m`},
		{errorf(`"quoted".yaml`, 0, "m"), `"\"quoted\".yaml": m`},
		{errorf("t.yaml", 1, "template execution failed: line one\nline two\r\x1b[31m\xff"), `t.yaml:1: template execution failed: line one\nline two\r\x1b[31m\xff`},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %s, want %s", got, tt.want)
		}
	}
}
