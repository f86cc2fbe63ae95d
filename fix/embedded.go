package fix

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// block is a YAML document written as the text of a literal block scalar
// of a file (a patch inline in a kustomization): the text with the
// block's indentation taken off each line, and where its lines are.
type block struct {
	scalar *yaml.Node
	idx    []int // child indices from the file's documents to scalar
	first  int   // 0-based file line of the text's first line
	last   int   // 0-based file line of the text's last non-blank line
	indent int   // the block's indentation, in spaces
	text   []byte
}

// block finds the literal block scalar whose text holds the position of
// obj, a node of a parse of that text with positions in the file (as
// render's source map gives an inline patch).
func (f *file) block(obj *yaml.Node) (*block, error) {
	var found *block
	var walk func(n *yaml.Node, idx []int)
	walk = func(n *yaml.Node, idx []int) {
		if found != nil {
			return
		}
		if n.Kind == yaml.ScalarNode && n.Style&yaml.LiteralStyle != 0 && n.Line < obj.Line {
			if b := f.blockAt(n); b != nil && obj.Line-1 >= b.first && obj.Line-1 <= b.last {
				b.idx = append([]int(nil), idx...)
				found = b
			}
			return
		}
		for i, c := range n.Content {
			walk(c, append(idx, i))
		}
	}
	for i, d := range f.docs {
		walk(d, []int{i})
	}
	if found == nil {
		return nil, fmt.Errorf("no mapping at line %d column %d of the source", obj.Line, obj.Column)
	}
	if string(trimBreaks(found.text)) != strings.TrimRight(found.scalar.Value, "\n") {
		return nil, fmt.Errorf("the block at line %d is not laid out as its text (tabs or an explicit indentation); edit it by hand", found.scalar.Line)
	}
	return found, nil
}

// blockAt returns the lines of literal block scalar n, or nil when they
// cannot be told from the file's lines: an explicit indentation
// indicator, or no text.
func (f *file) blockAt(n *yaml.Node) *block {
	h := n.Line - 1
	if h >= len(f.starts) {
		return nil
	}
	head, err := f.offset(n.Line, n.Column)
	if err != nil {
		return nil
	}
	for i := head + 1; i < f.ends[h] && f.b[i] != ' ' && f.b[i] != '#'; i++ {
		if f.b[i] >= '1' && f.b[i] <= '9' {
			return nil
		}
	}
	b := &block{scalar: n, first: h + 1, indent: -1}
	for i := h + 1; i < len(f.starts); i++ {
		if f.blankLine(i) {
			continue
		}
		ind := f.indent(i)
		if b.indent < 0 {
			b.indent = ind
		}
		if ind < b.indent {
			break
		}
		b.last = i
	}
	if b.indent <= 0 || b.last < b.first {
		return nil
	}
	var text []byte
	for i := b.first; i <= b.last; i++ {
		line := f.b[f.starts[i]:f.ends[i]]
		if len(line) >= b.indent {
			text = append(text, line[b.indent:]...)
		}
		text = append(text, '\n')
	}
	b.text = text
	return b
}

func trimBreaks(b []byte) []byte { return []byte(strings.TrimRight(string(b), "\n")) }

// lowerEmbedded lowers patches onto obj, a document inside a literal
// block scalar of the file, and turns the edits on the block's text into
// edits on the file: each line break the edits write is followed by the
// block's indentation. The result is checked: the file parses, the block
// holds the edited text, and nothing else changes.
func (s *Source) lowerEmbedded(obj *yaml.Node, patches []Patch) ([]Edit, error) {
	f := s.f
	b, err := f.block(obj)
	if err != nil {
		return nil, err
	}
	inner, err := ParseSource(b.text)
	if err != nil {
		return nil, fmt.Errorf("the patch at line %d: %w", b.scalar.Line, err)
	}
	local := &yaml.Node{Kind: obj.Kind, Line: obj.Line - b.first, Column: obj.Column - b.indent}
	es, err := inner.LowerAll(local, patches)
	if err != nil || len(es) == 0 {
		return nil, err
	}
	want, err := Apply(b.text, es)
	if err != nil {
		return nil, err
	}
	out := make([]Edit, 0, len(es))
	for _, e := range es {
		out = append(out, b.edit(f, inner.f, e))
	}
	if err := b.check(f, out, want); err != nil {
		return nil, err
	}
	return out, nil
}

// edit maps an edit of the block's text (parsed as in) to the file.
func (b *block) edit(f *file, in *file, e Edit) Edit {
	ind := strings.Repeat(" ", b.indent)
	reindent := func(t string) string { return strings.ReplaceAll(t, "\n", f.nl+ind) }
	end := len(in.b)
	if e.Offset == end || e.Offset < e.End && e.End == end && in.col(e.Offset) == 0 && in.line(e.Offset) > 0 {
		// At the end of the text, past the last line's break: the new
		// text goes before the break of the file's last line of the block
		// (or the break before the cut lines), so that the lines after the
		// block keep theirs.
		off := f.ends[b.last]
		if e.Offset < end {
			off = f.ends[b.first+in.line(e.Offset)-1]
		}
		t := strings.TrimSuffix(e.Text, "\n")
		if t != "" || e.Offset == end {
			t = f.nl + ind + reindent(t)
		}
		return Edit{Offset: off, End: f.ends[b.last], Text: t}
	}
	pos := func(o int) (int, bool) {
		i := in.line(o)
		j := b.first + i
		n := f.ends[j] - f.starts[j]
		if n < b.indent { // a blank line shorter than the indentation
			return f.ends[j], true
		}
		return f.starts[j] + b.indent + (o - in.starts[i]), false
	}
	off, short := pos(e.Offset)
	stop, _ := pos(e.End)
	t := reindent(e.Text)
	if short && e.Text != "" && !strings.HasPrefix(e.Text, "\n") {
		j := b.first + in.line(e.Offset)
		t = strings.Repeat(" ", b.indent-(f.ends[j]-f.starts[j])) + t
		if strings.HasSuffix(e.Text, "\n") {
			t = strings.TrimSuffix(t, ind)
		}
	}
	return Edit{Offset: off, End: stop, Text: t}
}

// check applies the mapped edits to the file and verifies that the block
// now holds want and that every other value of the file is unchanged.
func (b *block) check(f *file, es []Edit, want []byte) error {
	out, err := Apply(f.b, es)
	if err != nil {
		return fmt.Errorf("the patch's edits conflict: %w", err)
	}
	g, err := parseFile(out)
	if err != nil {
		return bug("the file does not parse after editing the block at line %d: %v", b.scalar.Line, err)
	}
	if len(g.docs) != len(f.docs) {
		return bug("the result has %d documents instead of %d", len(g.docs), len(f.docs))
	}
	n := g.follow(b.idx)
	if n == nil || n.Kind != yaml.ScalarNode || strings.TrimRight(n.Value, "\n") != string(trimBreaks(want)) {
		return bug("the block at line %d does not hold the edited patch", b.scalar.Line)
	}
	for i := range f.docs {
		a, c := f.docs[i], g.docs[i]
		if i == b.idx[0] {
			c = cloneNode(c)
			g2 := &file{docs: []*yaml.Node{c}}
			g2.follow(append([]int{0}, b.idx[1:]...)).Value = b.scalar.Value
		}
		var va, vc any
		if err := a.Decode(&va); err != nil {
			continue
		}
		if err := c.Decode(&vc); err != nil {
			return bug("the result does not decode: %v", err)
		}
		if !sameValue(va, vc) {
			return bug("editing the block at line %d changes more of the file than the block", b.scalar.Line)
		}
	}
	return nil
}
