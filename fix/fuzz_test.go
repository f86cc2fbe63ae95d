package fix

import (
	"bytes"
	"cmp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// FuzzApply checks Apply against a definition of overlap and a simple
// reference implementation: it never panics, fails exactly when two edits
// overlap or one is out of range, and otherwise produces what applying the
// edits one at a time from the end produces.
func FuzzApply(f *testing.F) {
	f.Add([]byte("0123456789"), []byte{2, 2, 1, 'a', 5, 0, 2, 'b', 5, 0, 1, 'c'})
	f.Add([]byte("a: 1\nb: 2\n"), []byte{3, 1, 1, '2', 3, 0, 3, 'x'})
	f.Add([]byte(""), []byte{0, 0, 3, 'z'})
	f.Fuzz(func(t *testing.T, src, spec []byte) {
		var edits []Edit
		for i := 0; i+3 < len(spec) && len(edits) < 16; i += 4 {
			off := int(int8(spec[i])) // may be negative or past the end
			e := Edit{Offset: off, End: off + int(spec[i+1]%8), Text: string(bytes.Repeat(spec[i+3:i+4], int(spec[i+2]%5)))}
			edits = append(edits, e)
		}
		valid := true
		for i, a := range edits {
			if a.Offset < 0 || a.End > len(src) {
				valid = false
			}
			for _, b := range edits[i+1:] {
				if a.Offset < b.End && b.Offset < a.End || // ranges share a byte
					a.Offset == a.End && b.Offset < a.Offset && a.Offset < b.End || // insert inside
					b.Offset == b.End && a.Offset < b.Offset && b.Offset < a.End {
					valid = false
				}
			}
		}
		out, err := Apply(src, edits)
		if (err == nil) != valid {
			t.Fatalf("Apply(%q, %v): error %v, but valid = %v", src, edits, err, valid)
		}
		if err != nil {
			if out != nil {
				t.Fatal("a failed Apply returned bytes")
			}
			return
		}
		want := slices.Clone(src)
		order := make([]int, len(edits))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			return cmp.Or(cmp.Compare(edits[a].Offset, edits[b].Offset), cmp.Compare(edits[a].End, edits[b].End))
		})
		size := len(src)
		for k := len(order) - 1; k >= 0; k-- {
			e := edits[order[k]]
			want = slices.Concat(want[:e.Offset], []byte(e.Text), want[e.End:])
			size += len(e.Text) - (e.End - e.Offset)
		}
		if !bytes.Equal(out, want) || len(out) != size {
			t.Fatalf("Apply(%q, %v) = %q, want %q", src, edits, out, want)
		}
	})
}

// FuzzLower lowers a fixed list of patches, and patches derived from the
// input's own fields, on random YAML. It must never panic; whenever it
// succeeds the result must parse, the patch must hold, and lowering again
// must give no edits.
func FuzzLower(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.txtar")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		if in, ok := parseTxtar(data).get("input.yaml"); ok {
			f.Add(in)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 {
			return
		}
		b := []byte(src)
		docs, ok := tryParse(b)
		if !ok {
			return
		}
		for d, doc := range docs {
			if d >= 3 || len(doc.Content) == 0 {
				break
			}
			root := doc.Content[0]
			objs := []ypath.Path{nil}
			if m := ypath.Walk(root, ypath.Path{"items"}); m.Depth == 1 && m.Value.Kind == yaml.SequenceNode {
				for i := range min(2, len(m.Value.Content)) {
					objs = append(objs, ypath.Path{"items", ypath.Index(i)})
				}
			}
			for _, op := range objs {
				m := ypath.Walk(root, op)
				if m.Depth != len(op) || m.Value.Kind != yaml.MappingNode {
					continue
				}
				fuzzObject(t, b, d, op, fuzzPatches(t, m.Value))
			}
		}
	})
}

var fixedPatches = []Patch{
	Set(ypath.Path{"spec", "securityContext", "runAsNonRoot"}, true),
	EnsureItem(ypath.Path{"spec", "containers", "[name=web]", "securityContext", "capabilities", "drop"}, "ALL"),
	Delete(ypath.Path{"metadata", "labels", "debug"}),
	Set(ypath.Path{"metadata", "labels", "app.kubernetes.io/name"}, "1000"),
	Set(ypath.Path{"a", "b", "c"}, map[string]any{"x": []any{1, "y"}}),
	Delete(ypath.Path{"spec", "hostNetwork"}),
}

// fuzzPatches returns the fixed patches and some on the object's own
// fields: replace, extend, delete.
func fuzzPatches(t *testing.T, obj *yaml.Node) []Patch {
	ps := slices.Clone(fixedPatches)
	var paths []ypath.Path
	var walk func(n *yaml.Node, p ypath.Path, depth int)
	walk = func(n *yaml.Node, p ypath.Path, depth int) {
		if len(paths) >= 6 || depth > 4 || n == nil {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || k.Value == "" || k.Value == "<<" {
					continue
				}
				q := p.Append(k.Value)
				paths = append(paths, q)
				walk(n.Content[i+1], q, depth+1)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				switch {
				case c.Kind == yaml.ScalarNode && c.Value != "":
					paths = append(paths, p.Append(ypath.Elem("", c.Value)))
				case c.Kind == yaml.MappingNode:
					if _, v := ypath.Lookup(c, "name"); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
						walk(c, p.Append(ypath.Elem("name", v.Value)), depth+1)
					}
				}
			}
		}
	}
	walk(obj, nil, 0)
	for _, p := range paths {
		last := p[len(p)-1]
		// Changing the field a selector selects by would make the patch
		// select nothing the second time.
		if len(p) >= 2 && strings.HasPrefix(p[len(p)-2], "["+last+"=") {
			continue
		}
		if !ypath.IsSelector(last) {
			ps = append(ps, Set(p, "fuzz"), Set(p.Append("new"), 1), Set(p, map[string]any{"k": "v"}))
		}
		ps = append(ps, Delete(p), EnsureItem(p, "ALL"))
	}
	return ps
}

func tryParse(b []byte) ([]*yaml.Node, bool) {
	f, err := parseFile(b)
	if err != nil {
		return nil, false
	}
	return f.docs, true
}

func fuzzObject(t *testing.T, src []byte, doc int, objPath ypath.Path, ps []Patch) {
	try := func(ps []Patch) {
		docs, _ := tryParse(src)
		obj := ypath.Walk(docs[doc], objPath).Value
		edits, err := LowerAll(src, obj, ps)
		if err != nil {
			if strings.Contains(err.Error(), "a bug in the fixer") {
				t.Fatalf("%v on\n%s\n%v", ps, src, err)
			}
			return
		}
		out, err := Apply(src, edits)
		if err != nil {
			t.Fatalf("%v: edits do not apply: %v", ps, err)
		}
		docs2, ok := tryParse(out)
		if !ok || len(docs2) != len(docs) {
			t.Fatalf("%v: result does not parse:\n%s", ps, out)
		}
		m := ypath.Walk(docs2[doc], objPath)
		if m.Depth != len(objPath) {
			t.Fatalf("%v: object gone:\n%s", ps, out)
		}
		for _, p := range ps {
			if !holds(m.Value, p) {
				t.Fatalf("%s does not hold:\n%s", p, out)
			}
		}
		again, err := LowerAll(out, m.Value, ps)
		if err != nil || len(again) != 0 {
			t.Fatalf("%v: not idempotent on\n%s\nsecond run: %v %v", ps, out, again, err)
		}
	}
	for _, p := range ps {
		try([]Patch{p})
	}
	try(fixedPatches)
}
