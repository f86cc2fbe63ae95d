package render

import (
	"errors"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/internal/ypath"
)

// fuzzPaths are the fields the fuzz targets locate in every object.
var fuzzPaths = []ypath.Path{
	nil,
	{"kind"},
	{"metadata", "name"},
	{"metadata", "labels", "app.kubernetes.io/name"},
	{"spec", "template", "spec", "containers", "[name=web]", "securityContext", "runAsNonRoot"},
	{"spec", "containers", "[0]", "image"},
	{"spec", "containers", "[0]", "securityContext", "capabilities", "add", "[=NET_RAW]"},
	{"items", "[1]", "metadata"},
	{"data", "[x]"},
}

// yamlLines counts the lines of src as the YAML parser does: "\r\n", a
// lone "\r", and NEL, LS and PS all end a line.
func yamlLines(src []byte) int {
	s := strings.ReplaceAll(string(src), "\r\n", "\n")
	n := 1
	for _, r := range s {
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
	}
	return n
}

// FuzzManifestObjects reads any bytes as a manifest file, as discovery
// and rendering do: it must not panic or run away, an error must be an
// *Error on the file within its lines and one line of text, and every
// field located in an object must be inside the file. Seeds are in
// testdata/fuzz/FuzzManifestObjects.
func FuzzManifestObjects(f *testing.F) {
	// A lower bound keeps inputs that expand aliases cheap; what is
	// checked is that the bound holds, not its value.
	defer func(n int) { maxExpandedNodes = n }(maxExpandedNodes)
	maxExpandedNodes = 20_000
	f.Fuzz(func(t *testing.T, src []byte) {
		objs, err := manifestObjects("f.yaml", loc.OriginManifest, src)
		lines := yamlLines(src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != "f.yaml" {
				t.Fatalf("error %v is not an *Error on f.yaml", err)
			}
			if e.Line < 0 || e.Line > lines {
				t.Fatalf("error at line %d of %d: %v", e.Line, lines, e)
			}
			if strings.ContainsAny(e.Error(), "\n\r") {
				t.Fatalf("error text is more than one line: %q", e.Error())
			}
		}
		for _, o := range objs {
			if !isObject(o.Node) {
				t.Fatalf("not an object: %v", o.Node.Kind)
			}
			for _, p := range fuzzPaths {
				l := o.Source.Locate(p)
				if l.File != "f.yaml" || l.Origin != loc.OriginManifest || l.Line < 1 || l.Line > lines || l.Column < 1 {
					t.Fatalf("Locate(%s) = %+v in %d lines", p, l, lines)
				}
			}
			// What renderManifests does next: copy (expanding aliases)
			// and set the namespace.
			c := deepCopy(o.Node)
			setNamespace(c, "ns", true)
			if n := countNodes(c); n > maxExpandedNodes {
				t.Fatalf("object expands to %d nodes, over the bound of %d", n, maxExpandedNodes)
			}
		}
	})
}

func countNodes(n *yaml.Node) int {
	c := 1
	for _, ch := range n.Content {
		c += countNodes(ch)
	}
	return c
}

// FuzzKustomizePatchLocate reads any bytes as a kustomization with
// inline patches, and as the base object they patch: every position the
// source map may give for a patched field must be inside the file it
// names. That covers the patches' nodes, moved to where each patch is
// written in the kustomization, their JSON 6902 operations, and the
// document built from those operations against the object. Seeds are in
// testdata/fuzz/FuzzKustomizePatchLocate.
func FuzzKustomizePatchLocate(f *testing.F) {
	defer func(n int) { maxExpandedNodes = n }(maxExpandedNodes)
	maxExpandedNodes = 20_000
	f.Fuzz(func(t *testing.T, kust, base []byte) {
		docs, err := parseDocuments("kustomization.yaml", kust)
		if err != nil || len(docs) == 0 || docs[0].Kind != yaml.MappingNode {
			return
		}
		k := &kustomization{dir: ".", file: "kustomization.yaml", node: docs[0], src: kust}
		if k.readPatches() != nil {
			return
		}
		var obj *yaml.Node
		if bdocs, _ := parseDocuments("base.yaml", base); len(bdocs) > 0 && bdocs[0].Kind == yaml.MappingNode {
			obj = bdocs[0]
		}
		lines := map[string]int{"kustomization.yaml": yamlLines(kust), "base.yaml": yamlLines(base)}
		var check func(n *yaml.Node)
		check = func(n *yaml.Node) {
			if n.Line < 1 || n.Line > lines["kustomization.yaml"] || n.Column < 1 {
				t.Fatalf("patch node %q at %d:%d, outside the %d lines of the kustomization", n.Value, n.Line, n.Column, lines["kustomization.yaml"])
			}
			for _, c := range n.Content {
				check(c)
			}
		}
		locate := func(patch *yaml.Node) {
			l := layered{{file: "kustomization.yaml", origin: loc.OriginKustomizePatch, node: patch}}
			if obj != nil {
				l = append(l, docSource{file: "base.yaml", origin: loc.OriginKustomizeBase, node: obj})
			}
			for _, p := range fuzzPaths {
				loc := l.Locate(p)
				if n, ok := lines[loc.File]; !ok || loc.Line < 1 || loc.Line > n || loc.Column < 1 {
					t.Fatalf("Locate(%s) = %+v, outside the file", p, loc)
				}
			}
		}
		for _, pe := range k.patches {
			if pe.inline == nil {
				continue
			}
			pdocs := inlineDocs(kust, pe.inline)
			for _, d := range pdocs {
				check(d)
			}
			if len(pdocs) == 1 && pdocs[0].Kind == yaml.SequenceNode {
				ops := readJSONOps(pdocs[0])
				for _, op := range ops {
					if op.line < 1 || op.line > lines["kustomization.yaml"] || op.col < 1 {
						t.Fatalf("JSON 6902 operation on %q at %d:%d, outside the %d lines of the kustomization", op.path, op.line, op.col, lines["kustomization.yaml"])
					}
				}
				if obj != nil {
					locate(opsAsDoc(ops, obj))
				}
				continue
			}
			for _, d := range pdocs {
				locate(d)
			}
		}
	})
}
