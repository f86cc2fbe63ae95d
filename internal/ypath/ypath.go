// Package ypath names fields inside YAML documents and finds them in
// go.yaml.in/yaml/v3 node trees, so that the renderer's source map, the
// rules and the fixer agree on one spelling of "where in the object".
//
// A Path is a list of segments. A segment is a mapping key ("spec"), a
// list element selected by a field value ("[name=web]"), a list element
// selected by its scalar value ("[=NET_RAW]") or a list element by index
// ("[2]"). Selecting list elements by name rather than position keeps
// paths stable when an overlay or a template reorders a list.
package ypath

import (
	"fmt"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Path is a field path. The zero value is the root of a document.
type Path []string

// Elem returns the segment that selects the list element whose field key
// has the given value.
func Elem(key, value string) string { return "[" + key + "=" + value + "]" }

// Index returns the segment that selects the i-th list element.
func Index(i int) string { return "[" + strconv.Itoa(i) + "]" }

// Append returns a new path with segs added; p itself is never modified.
func (p Path) Append(segs ...string) Path {
	out := make(Path, 0, len(p)+len(segs))
	return append(append(out, p...), segs...)
}

// HasPrefix reports whether q is a prefix of p.
func (p Path) HasPrefix(q Path) bool {
	if len(q) > len(p) {
		return false
	}
	for i := range q {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// String renders p as "spec.containers[name=web].securityContext"; keys
// that are not plain identifiers are quoted: metadata.labels["app.kubernetes.io/name"].
func (p Path) String() string {
	var b strings.Builder
	for _, s := range p {
		switch {
		case IsSelector(s) && s[1] != '"' && strings.IndexByte(s, ']') == len(s)-1:
			b.WriteString(s)
		case isPlainKey(s):
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s)
		default:
			b.WriteString("[" + strconv.Quote(s) + "]")
		}
	}
	return b.String()
}

// Parse is the inverse of String.
func Parse(s string) (Path, error) {
	var p Path
	for i := 0; i < len(s); {
		switch s[i] {
		case '.':
			if i == 0 || i == len(s)-1 {
				return nil, fmt.Errorf("path %q: misplaced '.'", s)
			}
			i++
		case '[':
			if i+1 < len(s) && s[i+1] == '"' {
				q, err := strconv.QuotedPrefix(s[i+1:])
				if err != nil || i+1+len(q) >= len(s) || s[i+1+len(q)] != ']' {
					return nil, fmt.Errorf("path %q: bad quoted key at %d", s, i)
				}
				k, _ := strconv.Unquote(q)
				p = append(p, k)
				i += len(q) + 2
				continue
			}
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("path %q: unclosed '['", s)
			}
			p = append(p, s[i:i+j+1])
			i += j + 1
		default:
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			p = append(p, s[i:j])
			i = j
		}
	}
	return p, nil
}

// IsSelector reports whether seg selects a list element: "[name=web]",
// "[=ALL]" or "[2]".
func IsSelector(seg string) bool { return len(seg) >= 2 && seg[0] == '[' && seg[len(seg)-1] == ']' }

// SplitElem splits a segment that selects a list element by a field
// ("[name=web]": "name", "web") or by its scalar value ("[=ALL]": "",
// "ALL"); ok is false for other segments, indexes included.
func SplitElem(seg string) (key, value string, ok bool) {
	if !IsSelector(seg) {
		return "", "", false
	}
	return strings.Cut(seg[1:len(seg)-1], "=")
}

func isPlainKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Match is the result of following a path into a node tree.
type Match struct {
	// Key is the mapping key node of the deepest matched segment, or nil
	// when that segment was a list element or nothing matched.
	Key *yaml.Node
	// Value is the node at the deepest matched segment (the root when
	// nothing matched).
	Value *yaml.Node
	// Depth is how many segments matched; Depth == len(path) means found.
	Depth int
}

// Pos returns the line and column where the match is written: the key for
// a mapping entry, the element itself for a list element.
func (m Match) Pos() (line, col int) {
	if m.Key != nil {
		return m.Key.Line, m.Key.Column
	}
	if m.Value != nil {
		return m.Value.Line, m.Value.Column
	}
	return 0, 0
}

// Walk follows p from n, a document or mapping node, as far as it exists.
// Aliases are followed; no node is modified.
func Walk(n *yaml.Node, p Path) Match {
	n = deref(n)
	m := Match{Value: n}
	for _, seg := range p {
		cur := deref(m.Value)
		if cur == nil {
			return m
		}
		var key, val *yaml.Node
		if IsSelector(seg) {
			val = element(cur, seg[1:len(seg)-1])
		} else {
			key, val = Lookup(cur, seg)
		}
		if val == nil {
			return m
		}
		m = Match{Key: key, Value: val, Depth: m.Depth + 1}
	}
	return m
}

// Lookup returns the key and value nodes of field k in mapping n, or nils.
func Lookup(n *yaml.Node, k string) (key, value *yaml.Node) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == k {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

func element(n *yaml.Node, sel string) *yaml.Node {
	if n.Kind != yaml.SequenceNode {
		return nil
	}
	key, want, isKV := strings.Cut(sel, "=")
	if !isKV {
		i, err := strconv.Atoi(sel)
		if err != nil || i < 0 || i >= len(n.Content) {
			return nil
		}
		return n.Content[i]
	}
	for _, e := range n.Content {
		d := deref(e)
		if key == "" {
			if d.Kind == yaml.ScalarNode && d.Value == want {
				return e
			}
			continue
		}
		if _, v := Lookup(d, key); v != nil && deref(v).Value == want {
			return e
		}
	}
	return nil
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 8; i++ {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		case yaml.AliasNode:
			n = n.Alias
		default:
			return n
		}
	}
	return n
}
