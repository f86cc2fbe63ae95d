package fix

import (
	"fmt"
	"math"
	"reflect"
	"slices"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// verify applies the lowered edits and checks the result: it parses into
// as many documents, every patch holds on the object, and every document
// decodes to the same values as before except for the patched fields
// (and parents the patches created or emptied).
func (l *lowerer) verify(idx []int, patches []Patch) error {
	out, err := Apply(l.f.b, l.edits)
	if err != nil {
		return fmt.Errorf("the patches' edits conflict: %w", err)
	}
	g, err := parseFile(out)
	if err != nil {
		return bug("the result does not parse: %v", err)
	}
	if len(g.docs) != len(l.f.docs) {
		return bug("the result has %d documents instead of %d", len(g.docs), len(l.f.docs))
	}
	obj := deref(g.follow(idx))
	if obj == nil || obj.Kind != yaml.MappingNode {
		return bug("the object is no longer a mapping")
	}
	for _, p := range patches {
		if !holds(obj, p) {
			return bug("%q does not hold in the result", p)
		}
	}
	for i := range l.f.docs {
		a, b := l.f.docs[i], g.docs[i]
		if i == idx[0] {
			a, b = cloneNode(a), cloneNode(b)
			oa, ob := descend(a, idx[1:]), descend(b, idx[1:])
			for _, p := range patches {
				strip(oa, p)
				strip(ob, p)
			}
		}
		var va, vb any
		if err := a.Decode(&va); err != nil {
			continue // nothing to compare with
		}
		if err := b.Decode(&vb); err != nil {
			return bug("the result does not decode: %v", err)
		}
		if !sameValue(va, vb) {
			return bug("the edits change more than the patched fields of document %d", i+1)
		}
	}
	return nil
}

func bug(format string, args ...any) error {
	return fmt.Errorf("refusing the edit: "+format+" (a bug in the fixer; please report it)", args...)
}

func descend(n *yaml.Node, idx []int) *yaml.Node {
	for _, i := range idx {
		n = n.Content[i]
	}
	return n
}

// holds reports whether patch p is satisfied by object obj.
func holds(obj *yaml.Node, p Patch) bool {
	m := ypath.Walk(obj, p.Path)
	found := m.Depth == len(p.Path)
	switch p.Op {
	case OpSet:
		return found && equalNode(m.Value, p.Value)
	case OpEnsureItem:
		if !found {
			return false
		}
		s := deref(m.Value)
		return s != nil && s.Kind == yaml.SequenceNode && slices.ContainsFunc(s.Content, func(c *yaml.Node) bool {
			return sameItem(c, p.Value)
		})
	case OpDelete:
		return !found
	}
	return false
}

func isIndex(seg string) bool {
	if !ypath.IsSelector(seg) {
		return false
	}
	for _, c := range seg[1 : len(seg)-1] {
		if c == '=' {
			return false
		}
	}
	return true
}

// strip removes what patch p may change from the object n (a copy): the
// patched field, or the ensured item, and then every node on the path
// left empty or null, since creating or emptying parents is part of the
// change.
func strip(n *yaml.Node, p Patch) {
	var item *yaml.Node
	if p.Op == OpEnsureItem {
		item = p.Value
	}
	stripPath(n, p.Path, item)
}

func stripPath(n *yaml.Node, path ypath.Path, item *yaml.Node) {
	if len(path) == 0 {
		if item != nil && n.Kind == yaml.SequenceNode {
			n.Content = slices.DeleteFunc(n.Content, func(c *yaml.Node) bool { return sameItem(c, item) })
		}
		return
	}
	seg := path[0]
	leaf := len(path) == 1 && item == nil
	switch {
	case n.Kind == yaml.MappingNode && !ypath.IsSelector(seg):
		for i := 0; i+1 < len(n.Content); {
			if n.Content[i].Value != seg || isMergeKey(n.Content[i]) {
				i += 2
				continue
			}
			v := n.Content[i+1]
			if !leaf && v.Kind != yaml.AliasNode {
				stripPath(v, path[1:], item)
			}
			if leaf || emptyish(v) {
				n.Content = slices.Delete(n.Content, i, i+2)
				continue
			}
			i += 2
		}
	case n.Kind == yaml.SequenceNode && ypath.IsSelector(seg):
		idx := selectAll(n, seg)
		if leaf {
			for k := len(idx) - 1; k >= 0; k-- {
				n.Content = slices.Delete(n.Content, idx[k], idx[k]+1)
			}
			return
		}
		for _, j := range idx {
			if n.Content[j].Kind != yaml.AliasNode {
				stripPath(n.Content[j], path[1:], item)
			}
		}
	}
}

func emptyish(n *yaml.Node) bool {
	return isNull(n) || (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && len(n.Content) == 0
}

// sameValue is reflect.DeepEqual for decoded YAML, except that NaN equals
// NaN.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case map[any]any:
		y, ok := b.(map[any]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameValue(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	}
	return reflect.DeepEqual(a, b)
}
