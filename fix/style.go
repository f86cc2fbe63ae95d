package fix

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// style is how new text is laid out so that it reads like the text around
// it; see the package documentation for the rules.
type style struct {
	step      int  // indentation of a nested block mapping under its key
	flush     bool // block sequences start at their key's column
	seqOffset int  // else: their dashes' indentation under their key
	flowLists bool // new lists of scalars are written "[a, b]"
}

// votes counts layout evidence in a node tree.
type votes struct {
	steps, offsets        map[int]int
	flush, indented       int
	flowLists, blockLists int
}

func newVotes() *votes { return &votes{steps: map[int]int{}, offsets: map[int]int{}} }

func (v *votes) count(n *yaml.Node) {
	visit(n, func(m *yaml.Node) {
		if m.Kind == yaml.SequenceNode && len(m.Content) > 0 {
			scalars := true
			for _, c := range m.Content {
				scalars = scalars && c.Kind == yaml.ScalarNode
			}
			if scalars && isFlow(m) {
				v.flowLists++
			} else if scalars {
				v.blockLists++
			}
		}
		if m.Kind != yaml.MappingNode || isFlow(m) {
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, c := m.Content[i], m.Content[i+1]
			if c.Anchor != "" || c.Tag != "" && c.Style&yaml.TaggedStyle != 0 || !isBlockColl(c) || c.Line <= k.Line {
				continue
			}
			switch c.Kind {
			case yaml.MappingNode:
				if d := c.Content[0].Column - k.Column; d > 0 && d <= 8 {
					v.steps[d]++
				}
			case yaml.SequenceNode:
				switch d := c.Column - k.Column; {
				case d == 0:
					v.flush++
				case d > 0 && d <= 8:
					v.indented++
					v.offsets[d]++
				}
			}
		}
	})
}

// most returns the value with the most votes, the smaller on a tie.
func most(m map[int]int) (int, bool) {
	best, n := 0, 0
	for k, c := range m {
		if c > n || c == n && k < best {
			best, n = k, c
		}
	}
	return best, n > 0
}

// detectStyle reads the layout of obj, falling back to the whole file for
// what obj has no evidence of.
func detectStyle(obj *yaml.Node, docs []*yaml.Node) style {
	local, all := newVotes(), newVotes()
	local.count(obj)
	for _, d := range docs {
		all.count(d)
	}
	st := style{step: 2}
	if s, ok := most(local.steps); ok {
		st.step = s
	} else if s, ok := most(all.steps); ok {
		st.step = s
	}
	v := local
	if v.flush+v.indented == 0 {
		v = all
	}
	st.flush = v.flush > v.indented
	st.seqOffset = st.step
	if o, ok := most(v.offsets); ok {
		st.seqOffset = o
	}
	v = local
	if v.flowLists+v.blockLists == 0 {
		v = all
	}
	st.flowLists = v.flowLists > v.blockLists
	return st
}

func spaces(n int) string { return strings.Repeat(" ", n) }

// inlineList reports whether the new list v is written in flow style.
func (st style) inlineList(v *yaml.Node) bool {
	if !st.flowLists {
		return false
	}
	for _, c := range v.Content {
		if c.Kind != yaml.ScalarNode {
			return false
		}
	}
	return true
}

// entryLines writes "key: value" as a block mapping entry at indent.
func (st style) entryLines(indent int, key string, v *yaml.Node) []string {
	prefix := spaces(indent) + keyText(key, false) + ":"
	switch {
	case v.Kind == yaml.ScalarNode:
		return []string{prefix + " " + scalarText(v, false, 0)}
	case len(v.Content) == 0 || v.Kind == yaml.SequenceNode && st.inlineList(v):
		return []string{prefix + " " + flowText(v, true)}
	}
	return append([]string{prefix}, st.blockLines(indent, v)...)
}

// blockLines writes the mapping or sequence v as the block value of a key
// written at column indent.
func (st style) blockLines(indent int, v *yaml.Node) []string {
	var lines []string
	if v.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(v.Content); i += 2 {
			lines = append(lines, st.entryLines(indent+st.step, v.Content[i].Value, v.Content[i+1])...)
		}
		return lines
	}
	dash := indent
	if !st.flush {
		dash += st.seqOffset
	}
	for _, c := range v.Content {
		lines = append(lines, st.itemLines(dash, c)...)
	}
	return lines
}

// itemLines writes v as a block sequence element with its dash at column
// dash.
func (st style) itemLines(dash int, v *yaml.Node) []string {
	switch {
	case v.Kind == yaml.ScalarNode:
		return []string{spaces(dash) + "- " + scalarText(v, false, 0)}
	case v.Kind == yaml.SequenceNode || len(v.Content) == 0:
		return []string{spaces(dash) + "- " + flowText(v, true)}
	}
	var lines []string
	for i := 0; i+1 < len(v.Content); i += 2 {
		lines = append(lines, st.entryLines(dash+2, v.Content[i].Value, v.Content[i+1])...)
	}
	lines[0] = spaces(dash) + "- " + lines[0][dash+2:]
	return lines
}

// flowText writes v in flow style; flow says whether it sits inside a
// flow collection (where ",[]{}" need quoting).
func flowText(v *yaml.Node, flow bool) string {
	switch v.Kind {
	case yaml.MappingNode:
		parts := make([]string, 0, len(v.Content)/2)
		for i := 0; i+1 < len(v.Content); i += 2 {
			parts = append(parts, keyText(v.Content[i].Value, true)+": "+flowText(v.Content[i+1], true))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case yaml.SequenceNode:
		parts := make([]string, 0, len(v.Content))
		for _, c := range v.Content {
			parts = append(parts, flowText(c, true))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return scalarText(v, flow, 0)
}

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Content = append(n.Content, scalar("!!str", kv[i].(string)), kv[i+1].(*yaml.Node))
	}
	return n
}

func sequence(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

// EntryLines writes the field at path p (keys only, no list elements)
// with value v as block mapping lines whose first key is at column indent
// (0-based), nesting by step spaces: what a fix inserts into a mapping
// that is not a YAML document of its own, such as a Helm template's
// literal YAML. The value is quoted as Set would write it. Lines have no
// line break.
func EntryLines(indent, step int, p ypath.Path, v *yaml.Node) ([]string, error) {
	if len(p) == 0 {
		return nil, fmt.Errorf("empty path")
	}
	for _, s := range p {
		if ypath.IsSelector(s) {
			return nil, fmt.Errorf("%s selects a list element; fixes never create list elements", s)
		}
	}
	if err := checkValue(v, 0); err != nil {
		return nil, err
	}
	for i := len(p) - 1; i > 0; i-- {
		v = mapping(p[i], v)
	}
	st := style{step: step, seqOffset: step}
	return st.entryLines(indent, p[0], v), nil
}

// ScalarText writes the scalar v as it would replace a plain scalar.
func ScalarText(v *yaml.Node) string { return scalarText(v, false, 0) }
