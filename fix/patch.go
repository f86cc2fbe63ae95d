package fix

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// Op is what a Patch does to the field at its path.
type Op uint8

const (
	// OpSet makes the field equal Value, creating missing parent mappings.
	OpSet Op = iota + 1
	// OpDelete removes the field, or every list element the last path
	// segment selects. Deleting what is absent is no change.
	OpDelete
	// OpEnsureItem makes the list at the path contain Value (a scalar or
	// a mapping, compared by value), creating the list (and missing parent
	// mappings) if absent.
	OpEnsureItem
)

func (o Op) String() string {
	switch o {
	case OpSet:
		return "set"
	case OpDelete:
		return "delete"
	case OpEnsureItem:
		return "ensure"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Patch is a semantic change to one object: what must be true of the field
// at Path (relative to the object's root mapping) afterwards, independent
// of how the object is written. Build patches with Set, Delete and
// EnsureItem; Lower turns one into edits on a file.
type Patch struct {
	Op   Op
	Path ypath.Path
	// Value is the wanted value for OpSet: a scalar tagged !!str, !!int,
	// !!bool, !!float or !!null, or a mapping or sequence of such. For
	// OpEnsureItem it is the item, a scalar or a mapping. It is nil for
	// OpDelete.
	Value *yaml.Node
	// err records a value the constructor could not convert; Lower
	// returns it, so that a bad literal in a rule is an error, not a panic.
	err error
}

// Set returns a patch that makes the field at path equal value. value is
// a bool, an integer, a float, a string, nil, a map with string keys
// (written in sorted key order), a slice of those, or a *yaml.Node built
// like Patch.Value (for a mapping whose key order matters). An
// unsupported value makes Lower fail.
func Set(path ypath.Path, value any) Patch {
	n, err := Value(value)
	return Patch{Op: OpSet, Path: path, Value: n, err: err}
}

// Delete returns a patch that removes the field at path, or the list
// elements its last segment selects.
func Delete(path ypath.Path) Patch { return Patch{Op: OpDelete, Path: path} }

// EnsureItem returns a patch that makes the list at path contain item,
// appending it when no element equals it. item is a scalar (usually a
// string, as in capabilities.drop) or a map with string keys (an entry
// of a kustomization's patches list); see Set for the values accepted.
func EnsureItem(path ypath.Path, item any) Patch {
	n, err := Value(item)
	return Patch{Op: OpEnsureItem, Path: path, Value: n, err: err}
}

// String renders the patch as one line, for messages and test fixtures:
// "set a.b true", "ensure a.drop ALL", "delete a.b".
func (p Patch) String() string {
	switch {
	case p.Op == OpDelete:
		return "delete " + p.Path.String()
	case p.Value == nil:
		return p.Op.String() + " " + p.Path.String() + " <invalid>"
	}
	return p.Op.String() + " " + p.Path.String() + " " + flowText(p.Value, true)
}

// validate checks what Lower relies on.
func (p Patch) validate() error {
	if p.err != nil {
		return p.err
	}
	if len(p.Path) == 0 {
		return fmt.Errorf("empty path")
	}
	for _, s := range p.Path {
		if s == "" {
			return fmt.Errorf("empty path segment")
		}
	}
	switch p.Op {
	case OpDelete:
		if isIndex(p.Path[len(p.Path)-1]) {
			return fmt.Errorf("deleting by index is not idempotent (the next element moves up); select the element by a field ([name=x]) or value ([=x])")
		}
		return nil
	case OpSet:
		if p.Value == nil {
			return fmt.Errorf("no value")
		}
		// A list element selected by a field must keep that field, or
		// the patch would select nothing once applied.
		if last := p.Path[len(p.Path)-1]; ypath.IsSelector(last) && !isIndex(last) {
			k, v, _ := strings.Cut(last[1:len(last)-1], "=")
			if k == "" {
				return fmt.Errorf("cannot set a list element selected by its own value; set the list")
			}
			if p.Value.Kind != yaml.MappingNode || !slices.ContainsFunc(pairs(p.Value), func(kv [2]*yaml.Node) bool {
				return kv[0].Value == k && kv[1].Kind == yaml.ScalarNode && kv[1].Value == v
			}) {
				return fmt.Errorf("the new element must keep %s: %s", k, v)
			}
		}
		return checkValue(p.Value, 0)
	case OpEnsureItem:
		if p.Value == nil || p.Value.Kind != yaml.ScalarNode && p.Value.Kind != yaml.MappingNode {
			return fmt.Errorf("the item must be a scalar or a mapping")
		}
		if ypath.IsSelector(p.Path[len(p.Path)-1]) {
			return fmt.Errorf("the path must name a list by a key, not select a list element")
		}
		return checkValue(p.Value, 0)
	}
	return fmt.Errorf("unknown operation %d", p.Op)
}

func checkValue(n *yaml.Node, depth int) error {
	if depth > 64 {
		return fmt.Errorf("value nested too deeply")
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str", "!!int", "!!bool", "!!float", "!!null":
		default:
			return fmt.Errorf("unsupported scalar tag %s", n.ShortTag())
		}
		if !utf8.ValidString(n.Value) {
			return fmt.Errorf("value %q is not UTF-8", n.Value)
		}
		if n.ShortTag() != "!!str" && resolve(n.Value) != n.ShortTag() {
			return fmt.Errorf("malformed %s %q", n.ShortTag(), n.Value)
		}
	case yaml.MappingNode:
		if len(n.Content)%2 != 0 {
			return fmt.Errorf("mapping with an odd number of nodes")
		}
		seen := map[string]bool{}
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
				return fmt.Errorf("mapping keys must be strings")
			}
			if seen[k.Value] {
				return fmt.Errorf("duplicate key %q", k.Value)
			}
			seen[k.Value] = true
			if err := checkValue(n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if err := checkValue(c, depth+1); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unsupported value node kind %d", n.Kind)
	}
	return nil
}

// Value converts a Go value to the node form of Patch.Value; see Set for
// what it accepts. Map keys are sorted so that the result is the same on
// every run.
func Value(v any) (*yaml.Node, error) { return toNode(reflect.ValueOf(v), 0) }

func scalar(tag, value string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: value}
}

func toNode(v reflect.Value, depth int) (*yaml.Node, error) {
	if depth > 64 {
		return nil, fmt.Errorf("value nested too deeply")
	}
	if !v.IsValid() {
		return scalar("!!null", "null"), nil
	}
	switch x := v.Interface().(type) {
	case *yaml.Node:
		if x == nil {
			return scalar("!!null", "null"), nil
		}
		n := cloneNode(x)
		if err := checkValue(n, 0); err != nil {
			return nil, err
		}
		return n, nil
	case yaml.Node:
		return toNode(reflect.ValueOf(&x), depth)
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return scalar("!!null", "null"), nil
		}
		return toNode(v.Elem(), depth+1)
	case reflect.Bool:
		return scalar("!!bool", strconv.FormatBool(v.Bool())), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return scalar("!!int", strconv.FormatInt(v.Int(), 10)), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return scalar("!!int", strconv.FormatUint(v.Uint(), 10)), nil
	case reflect.Float32, reflect.Float64:
		return scalar("!!float", formatFloat(v.Float(), v.Type().Bits())), nil
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			return nil, fmt.Errorf("value %q is not UTF-8", v.String())
		}
		return scalar("!!str", v.String()), nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}, nil
		}
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			c, err := toNode(v.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		return n, nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, fmt.Errorf("map keys must be strings, not %s", v.Type().Key())
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range keys {
			c, err := toNode(v.MapIndex(k), depth+1)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, scalar("!!str", k.String()), c)
		}
		return n, nil
	}
	return nil, fmt.Errorf("unsupported value type %s", v.Type())
}

func formatFloat(f float64, bits int) string {
	switch {
	case math.IsNaN(f):
		return ".nan"
	case math.IsInf(f, 1):
		return ".inf"
	case math.IsInf(f, -1):
		return "-.inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, bits)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

func pairs(n *yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	return out
}

// cloneNode copies the tree under n; alias targets are shared.
func cloneNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = cloneNode(k)
	}
	return &c
}
