package fix

import (
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// inlineDoc parses the literal block of key k in the first document of
// src and shifts it into the file, as render's source map does.
func inlineDoc(t *testing.T, src string, block *yaml.Node) *yaml.Node {
	t.Helper()
	var d yaml.Node
	if err := yaml.Unmarshal([]byte(block.Value), &d); err != nil {
		t.Fatal(err)
	}
	indent := 0
	lines := splitLines(src)
	for _, l := range lines[block.Line:] {
		if len(l) > 0 {
			for indent < len(l) && l[indent] == ' ' {
				indent++
			}
			break
		}
	}
	var shift func(n *yaml.Node)
	shift = func(n *yaml.Node) {
		n.Line += block.Line
		n.Column += indent
		for _, c := range n.Content {
			shift(c)
		}
	}
	shift(d.Content[0])
	return d.Content[0]
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestLowerEmbedded(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		patches   []Patch
		want      string
	}{{
		name: "replace a value",
		src: `resources:
- ../base
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          securityContext:
            runAsNonRoot: false # legacy image
  target:
    kind: Deployment
`,
		patches: []Patch{Set(ypath.Path{"spec", "template", "spec", "securityContext", "runAsNonRoot"}, true)},
		want: `resources:
- ../base
patches:
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          securityContext:
            runAsNonRoot: true # legacy image
  target:
    kind: Deployment
`,
	}, {
		name: "add keys at the end of the block and inside it",
		src: `patches:
  - patch: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web

      spec:
        template:
          spec:
            securityContext:
              runAsUser: 1000
`,
		patches: []Patch{
			Set(ypath.Path{"spec", "template", "spec", "securityContext", "runAsNonRoot"}, true),
			Set(ypath.Path{"metadata", "labels", "team"}, "shop"),
		},
		want: `patches:
  - patch: |
      apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
        labels:
          team: shop

      spec:
        template:
          spec:
            securityContext:
              runAsUser: 1000
              runAsNonRoot: true
`,
	}, {
		name: "delete the last field",
		src: `patches:
- patch: |-
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec:
          hostNetwork: true
- path: other.yaml
`,
		patches: []Patch{Delete(ypath.Path{"spec", "template", "spec", "hostNetwork"})},
		want: `patches:
- patch: |-
    kind: Deployment
    metadata:
      name: web
    spec:
      template:
        spec: {}
- path: other.yaml
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var root yaml.Node
			if err := yaml.Unmarshal([]byte(tc.src), &root); err != nil {
				t.Fatal(err)
			}
			_, list := ypath.Lookup(root.Content[0], "patches")
			_, block := ypath.Lookup(list.Content[0], "patch")
			obj := inlineDoc(t, tc.src, block)
			es, err := LowerAll([]byte(tc.src), obj, tc.patches)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Apply([]byte(tc.src), es)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}
