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
