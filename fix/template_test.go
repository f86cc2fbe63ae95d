package fix

import (
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

func TestTemplateEdit(t *testing.T) {
	obj := func(src string) *yaml.Node {
		var d yaml.Node
		if err := yaml.Unmarshal([]byte(src), &d); err != nil {
			t.Fatal(err)
		}
		return d.Content[0]
	}
	rendered := obj("spec:\n  securityContext:\n    runAsUser: 0\n  containers:\n  - name: c\n")
	for _, tt := range []struct {
		name, src string
		line      int
		patch     Patch
		want, err string
	}{
		{name: "value line", src: "spec:\n  securityContext:\n    runAsUser: 0 # root\n", line: 3,
			patch: Set(ypath.Path{"spec", "securityContext", "runAsUser"}, 1000),
			want:  "spec:\n  securityContext:\n    runAsUser: 1000 # root\n"},
		{name: "key line", src: "spec:\n  securityContext:\n    runAsUser: 0\n", line: 2,
			patch: Set(ypath.Path{"spec", "securityContext", "runAsNonRoot"}, true),
			want:  "spec:\n  securityContext:\n    runAsNonRoot: true\n    runAsUser: 0\n"},
		{name: "crlf", src: "spec:\r\n  securityContext:\r\n    runAsUser: 0\r\n", line: 2,
			patch: Set(ypath.Path{"spec", "securityContext", "runAsNonRoot"}, true),
			want:  "spec:\r\n  securityContext:\r\n    runAsNonRoot: true\r\n    runAsUser: 0\r\n"},
		{name: "last line without break", src: "spec:\n  securityContext:", line: 2,
			patch: Set(ypath.Path{"spec", "securityContext", "runAsNonRoot"}, true),
			want:  "spec:\n  securityContext:\n    runAsNonRoot: true"},
		{name: "template action", src: "spec:\n  securityContext: {{ toYaml .Values.sc }}\n", line: 2,
			patch: Set(ypath.Path{"spec", "securityContext", "runAsNonRoot"}, true), err: "template action"},
		{name: "no such line", src: "spec:\n", line: 7,
			patch: Set(ypath.Path{"spec", "securityContext", "runAsNonRoot"}, true), err: "no line 7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := TemplateEdit([]byte(tt.src), tt.line, rendered, tt.patch)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := Apply([]byte(tt.src), []Edit{e})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLowerFilesRetriesPerOwner: when two fixes' patches conflict in one
// document, the one that fails alone is marked and the other applied.
func TestLowerFilesRetriesPerOwner(t *testing.T) {
	src := []byte("a:\n  b: 1\n")
	var d yaml.Node
	if err := yaml.Unmarshal(src, &d); err != nil {
		t.Fatal(err)
	}
	root := d.Content[0]
	low := LowerFiles(func(string) []byte { return src }, []DocPatches{{
		File: "f.yaml", Node: root,
		Patches: []Patch{Set(ypath.Path{"a", "c"}, 2), Set(ypath.Path{"a", "b", "x"}, 3)},
		Owners:  []int{0, 1},
	}}, nil)
	if got := string(low.Files["f.yaml"]); got != "a:\n  b: 1\n  c: 2\n" {
		t.Errorf("file %q", got)
	}
	if _, ok := low.Failed[0]; ok || low.Failed[1] == "" {
		t.Errorf("failed %v, want only owner 1", low.Failed)
	}
	if len(low.Touched[0]) != 1 || len(low.Touched[1]) != 0 {
		t.Errorf("touched %v", low.Touched)
	}
}

// TestLowerFilesKeepsFirstOfConflicting: two fixes whose patches each
// lower alone but not together: the first is applied, the second marked
// as conflicting (to be planned again on the new state).
func TestLowerFilesKeepsFirstOfConflicting(t *testing.T) {
	src := []byte("metadata:\n  name: x\n")
	var d yaml.Node
	if err := yaml.Unmarshal(src, &d); err != nil {
		t.Fatal(err)
	}
	low := LowerFiles(func(string) []byte { return src }, []DocPatches{{
		File: "f.yaml", Node: d.Content[0],
		Patches: []Patch{Set(ypath.Path{"metadata", "annotations", "x"}, "1"), Set(ypath.Path{"metadata", "annotations"}, map[string]any{"y": "2"})},
		Owners:  []int{0, 1},
	}}, nil)
	if got := string(low.Files["f.yaml"]); got != "metadata:\n  name: x\n  annotations:\n    x: \"1\"\n" {
		t.Errorf("file %q", got)
	}
	if _, ok := low.Failed[0]; ok || !strings.Contains(low.Failed[1], "conflicts") {
		t.Errorf("failed %v, want owner 1 conflicting", low.Failed)
	}
}

func renderedNode(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var d yaml.Node
	if err := yaml.Unmarshal([]byte(src), &d); err != nil {
		t.Fatal(err)
	}
	return d.Content[0]
}

// applyOwned applies owned edits as LowerFiles does, and returns the
// text and which owners touch the file.
func applyOwned(t *testing.T, src string, es []OwnedEdit) (string, map[int][]string) {
	t.Helper()
	low := LowerFiles(func(string) []byte { return []byte(src) }, nil, es)
	if len(low.Failed) > 0 {
		t.Fatalf("failed %v", low.Failed)
	}
	if len(es) == 0 {
		return src, nil
	}
	return string(low.Files["t.yaml"]), low.Touched
}

// TestTemplateEditsMerge: the patches of several fixes that insert under
// one template line become one insertion with one merged tree, shared by
// the fixes; identical edits of several objects are made once.
func TestTemplateEditsMerge(t *testing.T) {
	pod := "spec:\n  template:\n    spec:\n      containers:\n        - name: web\n{{- with .Values.nodeSelector }}\n      nodeSelector:\n{{ toYaml . | indent 8 }}\n{{- end }}\n"
	obj := renderedNode(t, "spec:\n  template:\n    spec:\n      containers:\n      - name: web\n")
	sc := ypath.Path{"spec", "template", "spec", "securityContext"}
	pts := []TemplatePatch{
		{Line: 3, Obj: obj, Patch: Set(sc.Append("runAsNonRoot"), true), Owner: 0},
		{Line: 3, Obj: obj, Patch: Set(sc.Append("seccompProfile", "type"), "RuntimeDefault"), Owner: 1},
		{Line: 3, Obj: obj, Patch: Set(ypath.Path{"spec", "template", "spec", "automountServiceAccountToken"}, false), Owner: 2},
		// The same fixes for a second object rendered from the template.
		{Line: 3, Obj: obj, Patch: Set(sc.Append("runAsNonRoot"), true), Owner: 3},
		{Line: 3, Obj: obj, Patch: Set(sc.Append("seccompProfile", "type"), "RuntimeDefault"), Owner: 4},
	}
	es, failed := TemplateEdits("t.yaml", []byte(pod), pts)
	if len(failed) > 0 {
		t.Fatalf("failed %v", failed)
	}
	if len(es) != 5 {
		t.Fatalf("%d edits, want one per owner: %v", len(es), es)
	}
	for _, e := range es {
		if e.Edit != es[0].Edit || e.File != "t.yaml" {
			t.Fatalf("edits differ: %v", es)
		}
	}
	got, touched := applyOwned(t, pod, es)
	want := "spec:\n  template:\n    spec:\n" +
		"      securityContext:\n        runAsNonRoot: true\n        seccompProfile:\n          type: RuntimeDefault\n" +
		"      automountServiceAccountToken: false\n" +
		"      containers:\n        - name: web\n{{- with .Values.nodeSelector }}\n      nodeSelector:\n{{ toYaml . | indent 8 }}\n{{- end }}\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	for o := range 5 {
		if len(touched[o]) != 1 {
			t.Errorf("owner %d touches %v", o, touched[o])
		}
	}
}

// TestTemplateEditsExistingMapping: a missing field whose mapping the
// template writes literally goes under that line, not beside it.
func TestTemplateEditsExistingMapping(t *testing.T) {
	sc := ypath.Path{"spec", "securityContext"}
	for _, tt := range []struct {
		name, src, rendered string
		line                int
		patches             []Patch
		want, err           string
	}{
		{name: "rendered mapping", src: "spec:\n  securityContext:\n    runAsUser: 1000\n  containers: []\n",
			rendered: "spec:\n  securityContext:\n    runAsUser: 1000\n", line: 2,
			patches: []Patch{Set(sc.Append("runAsNonRoot"), true), Set(sc.Append("seccompProfile", "type"), "RuntimeDefault")},
			want:    "spec:\n  securityContext:\n    runAsNonRoot: true\n    seccompProfile:\n      type: RuntimeDefault\n    runAsUser: 1000\n  containers: []\n"},
		{name: "literal key not rendered", src: "spec:\n  containers: []\n  securityContext:\n    {{- with .Values.sc }}\n    {{- toYaml . | nindent 4 }}\n    {{- end }}\n",
			rendered: "spec:\n  containers: []\n", line: 1,
			patches: []Patch{Set(sc.Append("runAsNonRoot"), true), Set(sc.Append("seccompProfile", "type"), "RuntimeDefault")},
			want:    "spec:\n  containers: []\n  securityContext:\n    runAsNonRoot: true\n    seccompProfile:\n      type: RuntimeDefault\n    {{- with .Values.sc }}\n    {{- toYaml . | nindent 4 }}\n    {{- end }}\n"},
		{name: "literal key with a value", src: "spec:\n  containers: []\n  securityContext: {{ toYaml .Values.sc }}\n",
			rendered: "spec:\n  containers: []\n", line: 1,
			patches: []Patch{Set(sc.Append("runAsNonRoot"), true)}, err: "line 3 writes securityContext already"},
		{name: "branches", src: "spec:\n{{- if .Values.a }}\n  securityContext:\n    runAsUser: 1\n{{- else }}\n  securityContext:\n    runAsUser: 2\n{{- end }}\n",
			rendered: "spec:\n  containers: []\n", line: 1,
			patches: []Patch{Set(sc.Append("runAsNonRoot"), true)}, err: "lines 3 and 6 both write securityContext"},
		{name: "leaf written literally", src: "spec:\n  containers: []\n{{- if .Values.a }}\n  hostNetwork: true\n{{- end }}\n",
			rendered: "spec:\n  containers: []\n", line: 1,
			patches: []Patch{Set(ypath.Path{"spec", "hostNetwork"}, false)}, err: "line 4 writes hostNetwork already"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			obj := renderedNode(t, tt.rendered)
			var pts []TemplatePatch
			for i, p := range tt.patches {
				pts = append(pts, TemplatePatch{Line: tt.line, Obj: obj, Patch: p, Owner: i})
			}
			es, failed := TemplateEdits("t.yaml", []byte(tt.src), pts)
			if tt.err != "" {
				if !strings.Contains(failed[0], tt.err) || len(es) > 0 {
					t.Fatalf("failed %v, edits %v, want %q", failed, es, tt.err)
				}
				return
			}
			if len(failed) > 0 {
				t.Fatalf("failed %v", failed)
			}
			if got, _ := applyOwned(t, tt.src, es); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestTemplateEditsConflict: an owner that writes a different value where
// an earlier owner writes fails, with none of its patches in the edits;
// ensured list items merge.
func TestTemplateEditsConflict(t *testing.T) {
	src := "spec:\n  containers: []\n"
	obj := renderedNode(t, src)
	sc := ypath.Path{"spec", "securityContext"}
	drop := sc.Append("capabilities", "drop")
	es, failed := TemplateEdits("t.yaml", []byte(src), []TemplatePatch{
		{Line: 1, Obj: obj, Patch: Set(sc.Append("runAsNonRoot"), true), Owner: 0},
		{Line: 1, Obj: obj, Patch: Set(sc.Append("runAsUser"), 1000), Owner: 1},
		{Line: 1, Obj: obj, Patch: Set(sc.Append("runAsNonRoot"), false), Owner: 1},
		{Line: 1, Obj: obj, Patch: Set(sc.Append("runAsNonRoot", "x"), 1), Owner: 2},
		{Line: 1, Obj: obj, Patch: EnsureItem(drop, "ALL"), Owner: 3},
		{Line: 1, Obj: obj, Patch: EnsureItem(drop, "NET_RAW"), Owner: 4},
		{Line: 1, Obj: obj, Patch: EnsureItem(drop, "ALL"), Owner: 5},
	})
	if !strings.Contains(failed[1], "line 1: another fix writes spec.securityContext.runAsNonRoot with a different value") {
		t.Errorf("owner 1: %q", failed[1])
	}
	if !strings.Contains(failed[2], "another fix writes spec.securityContext.runAsNonRoot as a value") {
		t.Errorf("owner 2: %q", failed[2])
	}
	if _, ok := failed[0]; ok || len(failed) != 2 {
		t.Errorf("failed %v", failed)
	}
	got, _ := applyOwned(t, src, es)
	want := "spec:\n  securityContext:\n    runAsNonRoot: true\n    capabilities:\n      drop:\n        - ALL\n        - NET_RAW\n  containers: []\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestTemplateEditsContainer: a container's missing fields go under the
// literal first line of its list element, at the element's indentation,
// merged; an element that is not written literally is not guessed.
func TestTemplateEditsContainer(t *testing.T) {
	obj := renderedNode(t, "spec:\n  containers:\n  - name: web\n    image: nginx\n  - name: api\n    image: api\n")
	web := ypath.Path{"spec", "containers", "[name=web]", "securityContext"}
	for _, tt := range []struct {
		name, src string
		line      int
		want, err string
	}{
		{name: "literal element", line: 3,
			src:  "spec:\n  containers:\n    - name: web\n      image: nginx\n      ports:\n        - containerPort: 80\n    - name: api\n      image: api\n",
			want: "spec:\n  containers:\n    - name: web\n      securityContext:\n        readOnlyRootFilesystem: true\n        capabilities:\n          drop:\n            - ALL\n      image: nginx\n      ports:\n        - containerPort: 80\n    - name: api\n      image: api\n"},
		{name: "selected by a later entry", line: 3,
			src:  "spec:\n  containers:\n  - image: nginx\n    name: web\n  - name: api\n    image: api\n",
			want: "spec:\n  containers:\n  - image: nginx\n    securityContext:\n      readOnlyRootFilesystem: true\n      capabilities:\n        drop:\n        - ALL\n    name: web\n  - name: api\n    image: api\n"},
		{name: "templated name", line: 3, src: "spec:\n  containers:\n    - name: {{ .Chart.Name }}\n      image: nginx\n", err: "line 3 has a template action"},
		{name: "not the element", line: 3, src: "spec:\n  containers:\n    - image: nginx\n      name: {{ .Values.name }}\n", err: "line 3 does not literally write the element [name=web]"},
		{name: "block entry", line: 3, src: "spec:\n  containers:\n    - env:\n        - name: A\n      name: web\n", err: "line 3 is not a plain \"- key: value\" line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			es, failed := TemplateEdits("t.yaml", []byte(tt.src), []TemplatePatch{
				{Line: tt.line, Obj: obj, Patch: Set(web.Append("readOnlyRootFilesystem"), true), Owner: 0},
				{Line: tt.line, Obj: obj, Patch: EnsureItem(web.Append("capabilities", "drop"), "ALL"), Owner: 1},
			})
			if tt.err != "" {
				if !strings.Contains(failed[0], tt.err) || !strings.Contains(failed[1], tt.err) || len(es) > 0 {
					t.Fatalf("failed %v, edits %v, want %q", failed, es, tt.err)
				}
				return
			}
			if len(failed) > 0 {
				t.Fatalf("failed %v", failed)
			}
			if got, _ := applyOwned(t, tt.src, es); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestLowerFilesCollapsesIdenticalEdits: byte-identical owned edits at one
// place are applied once and owned by each; different ones at one place
// are both applied.
func TestLowerFilesCollapsesIdenticalEdits(t *testing.T) {
	src := []byte("a: 1\n")
	ins := Edit{Offset: 5, End: 5, Text: "b: 2\n"}
	low := LowerFiles(func(string) []byte { return src }, nil, []OwnedEdit{
		{File: "f", Edit: ins, Owner: 0},
		{File: "f", Edit: ins, Owner: 1},
		{File: "f", Edit: Edit{Offset: 5, End: 5, Text: "c: 3\n"}, Owner: 2},
	})
	if got := string(low.Files["f"]); got != "a: 1\nb: 2\nc: 3\n" {
		t.Errorf("file %q", got)
	}
	for o := range 3 {
		if len(low.Touched[o]) != 1 {
			t.Errorf("owner %d touches %v", o, low.Touched[o])
		}
	}
}

// FuzzTemplateEdits: on any template text and anchor lines, TemplateEdits
// never panics, and its edits apply; an insertion that a second patch of
// the same fields would repeat is never made twice.
func FuzzTemplateEdits(f *testing.F) {
	f.Add("spec:\n  template:\n    spec:\n      containers:\n        - name: web\n{{- with .Values.x }}\n      nodeSelector:\n{{- end }}\n", 3, 5)
	f.Add("spec:\n  securityContext:\n    runAsUser: 0\n", 2, 1)
	f.Add("- name: web\n  image: x", 1, 1)
	obj := renderedNode(f, "spec:\n  template:\n    spec:\n      containers:\n      - name: web\n")
	sc := ypath.Path{"spec", "template", "spec", "securityContext"}
	web := ypath.Path{"spec", "template", "spec", "containers", "[name=web]", "securityContext"}
	f.Fuzz(func(t *testing.T, src string, pod, ctr int) {
		pts := []TemplatePatch{
			{Line: pod, Obj: obj, Patch: Set(sc.Append("runAsNonRoot"), true), Owner: 0},
			{Line: pod, Obj: obj, Patch: Set(sc.Append("seccompProfile", "type"), "RuntimeDefault"), Owner: 1},
			{Line: ctr, Obj: obj, Patch: EnsureItem(web.Append("capabilities", "drop"), "ALL"), Owner: 2},
			{Line: pod, Obj: obj, Patch: Set(sc.Append("runAsNonRoot"), true), Owner: 3},
		}
		es, _ := TemplateEdits("t", []byte(src), pts)
		low := LowerFiles(func(string) []byte { return []byte(src) }, nil, es)
		if len(es) > 0 && len(low.Failed) > 0 {
			t.Fatalf("edits do not apply: %v", low.Failed)
		}
		if n := strings.Count(string(low.Files["t"]), "runAsNonRoot"); n > strings.Count(src, "runAsNonRoot")+1 {
			t.Errorf("runAsNonRoot inserted %d times:\n%s", n, low.Files["t"])
		}
	})
}
