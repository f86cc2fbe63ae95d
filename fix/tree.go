package fix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// file is a parsed YAML stream: its bytes with their line table, every
// document's node tree, and the anchored nodes that aliases use.
type file struct {
	*source
	docs       []*yaml.Node
	referenced map[*yaml.Node]bool
}

func parseFile(b []byte) (*file, error) {
	f := &file{source: newSource(b), referenced: map[*yaml.Node]bool{}}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		f.docs = append(f.docs, &n)
	}
	for _, d := range f.docs {
		visit(d, func(n *yaml.Node) {
			if n.Kind == yaml.AliasNode && n.Alias != nil {
				f.referenced[n.Alias] = true
			}
		})
	}
	return f, nil
}

// visit calls fn on every node under n, not following aliases.
func visit(n *yaml.Node, fn func(*yaml.Node)) {
	fn(n)
	for _, c := range n.Content {
		visit(c, fn)
	}
}

// locate finds the mapping written where obj is and returns the chain of
// nodes from its document node down to it, and the child index taken at
// each step (the first index is the document's).
func (f *file) locate(obj *yaml.Node) ([]*yaml.Node, []int, error) {
	if obj == nil {
		return nil, nil, fmt.Errorf("no object")
	}
	if obj.Kind == yaml.DocumentNode && len(obj.Content) == 1 {
		obj = obj.Content[0]
	}
	if obj.Kind != yaml.MappingNode {
		return nil, nil, fmt.Errorf("the object at line %d is not a mapping", obj.Line)
	}
	var chain []*yaml.Node
	var idx []int
	var find func(n *yaml.Node) bool
	find = func(n *yaml.Node) bool {
		if n.Kind == yaml.MappingNode && n.Line == obj.Line && n.Column == obj.Column {
			chain = append(chain, n)
			return true
		}
		for i, c := range n.Content {
			if c.Line > obj.Line && c.Kind != yaml.DocumentNode {
				break
			}
			if find(c) {
				chain = append(chain, n)
				idx = append(idx, i)
				return true
			}
		}
		return false
	}
	for i, d := range f.docs {
		if find(d) {
			idx = append(idx, i)
			for a, b := 0, len(chain)-1; a < b; a, b = a+1, b-1 {
				chain[a], chain[b] = chain[b], chain[a]
			}
			for a, b := 0, len(idx)-1; a < b; a, b = a+1, b-1 {
				idx[a], idx[b] = idx[b], idx[a]
			}
			return chain, idx, nil
		}
	}
	return nil, nil, fmt.Errorf("no mapping at line %d column %d of the source", obj.Line, obj.Column)
}

// follow walks the child indices locate returned in another parse of the
// same stream.
func (f *file) follow(idx []int) *yaml.Node {
	if len(idx) == 0 || idx[0] >= len(f.docs) {
		return nil
	}
	n := f.docs[idx[0]]
	for _, i := range idx[1:] {
		if i >= len(n.Content) {
			return nil
		}
		n = n.Content[i]
	}
	return n
}

// hop is a node together with what is needed to find its text: the key
// it is the value of, the collection holding it, and the scanning context.
type hop struct {
	key    *yaml.Node // mapping key, nil for list elements and the object
	node   *yaml.Node
	parent *yaml.Node // collection holding node; nil at the top
	flow   bool       // node is inside a flow collection
	indent int        // column of the block collection holding node; -1 at the top
}

func isFlow(n *yaml.Node) bool { return n.Style&yaml.FlowStyle != 0 }

func isBlockColl(n *yaml.Node) bool {
	return (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && !isFlow(n) && len(n.Content) > 0
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// child returns the hop for h.node.Content[i]. For a mapping, even i is
// a key and odd i its value.
func (f *file) child(h hop, i int) (hop, error) {
	n := h.node
	c := hop{node: n.Content[i], parent: n, flow: h.flow || isFlow(n), indent: h.indent}
	if n.Kind == yaml.MappingNode && i%2 == 1 {
		c.key = n.Content[i-1]
	}
	if !c.flow {
		col, err := f.itemCol(h)
		if err != nil {
			return hop{}, err
		}
		c.indent = col
	}
	return c, nil
}

// raw is where n's text starts including its anchor and tag, if any.
// yaml.v3 reports that position, except for an empty scalar, which it
// places after its properties ("a: !!str" or "- &x"): those are found by
// looking back along the line.
func (f *file) raw(n *yaml.Node) (int, error) {
	off, err := f.offset(n.Line, n.Column)
	if err != nil || n.Kind != yaml.ScalarNode || n.Value != "" || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return off, err
	}
	ls := f.starts[f.line(off)]
	for {
		q := off
		for q > ls && f.isBlank(q-1) {
			q--
		}
		r := q
		for r > ls && !f.isBlank(r-1) {
			r--
		}
		// A property is a "!" or "&" word after a blank (a key or the
		// value indicator comes first).
		if r == q || r == ls || f.b[r] != '!' && f.b[r] != '&' || f.b[q-1] == ':' {
			return off, nil
		}
		off = r
	}
}

// start returns where h's own text starts: past its anchor and tag; for a
// block mapping, where its first key starts, properties included (YAML
// aligns a block mapping's keys by that column).
func (f *file) start(h hop) (int, error) {
	n := h.node
	if n.Kind == yaml.MappingNode && !isFlow(n) && len(n.Content) > 0 {
		off, err := f.raw(n.Content[0])
		if err != nil {
			return 0, err
		}
		// An explicit key ("? key") starts at its "?".
		p := off
		for p > 0 && f.isBlank(p-1) {
			p--
		}
		if p > 0 && f.b[p-1] == '?' && f.atLineStart(p-1) {
			return p - 1, nil
		}
		return off, nil
	}
	off, err := f.raw(n)
	if err != nil {
		return 0, err
	}
	return f.skipProps(off, h.indent, h.flow), nil
}

// itemCol is the column of a block collection's keys or dashes.
func (f *file) itemCol(h hop) (int, error) {
	off, err := f.start(h)
	if err != nil {
		return 0, err
	}
	if h.node.Kind == yaml.SequenceNode && !isFlow(h.node) && (off >= len(f.b) || f.b[off] != '-') {
		return 0, fmt.Errorf("no '-' for the list at line %d", h.node.Line)
	}
	return f.col(off), nil
}

// end returns where h's text ends (exclusive); for a block collection,
// the end of its last token.
func (f *file) end(h hop) (int, error) {
	n := h.node
	switch n.Kind {
	case yaml.AliasNode:
		off, err := f.raw(n)
		if err != nil {
			return 0, err
		}
		return f.tokenEnd(off, h.flow), nil
	case yaml.ScalarNode:
		off, err := f.start(h)
		if err != nil {
			return 0, err
		}
		switch {
		case n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0:
			if off >= len(f.b) || f.b[off] != '"' && f.b[off] != '\'' {
				return 0, fmt.Errorf("no quote at line %d", n.Line)
			}
			return f.quotedEnd(off)
		case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
			if off >= len(f.b) || f.b[off] != '|' && f.b[off] != '>' {
				return 0, fmt.Errorf("no block scalar indicator at line %d", n.Line)
			}
			return f.blockScalarEnd(off, h.indent), nil
		case n.Value == "":
			return off, nil
		}
		return f.plainEnd(off, h.flow, h.indent), nil
	case yaml.MappingNode, yaml.SequenceNode:
		if isFlow(n) || len(n.Content) == 0 {
			off, err := f.start(h)
			if err != nil {
				return 0, err
			}
			if off >= len(f.b) || f.b[off] != '[' && f.b[off] != '{' {
				return 0, fmt.Errorf("no bracket at line %d", n.Line)
			}
			return f.flowEnd(off)
		}
		last, err := f.child(h, len(n.Content)-1)
		if err != nil {
			return 0, err
		}
		e, err := f.end(last)
		if err != nil || n.Kind == yaml.SequenceNode {
			return e, err
		}
		k, err := f.child(h, len(n.Content)-2)
		if err != nil {
			return 0, err
		}
		ke, err := f.end(k)
		return max(e, ke), err
	}
	return 0, fmt.Errorf("unexpected node kind %d at line %d", n.Kind, n.Line)
}

// colonEnd returns the offset just past the ':' that follows key hop k.
func (f *file) colonEnd(k hop) (int, error) {
	e, err := f.end(k)
	if err != nil {
		return 0, err
	}
	for p := e; p < len(f.b); p++ {
		switch {
		case f.b[p] == ':':
			return p + 1, nil
		case f.isBlank(p) || breakWidth(f.b, p) > 0:
		default:
			return 0, fmt.Errorf("no ':' after the key at line %d", k.node.Line)
		}
	}
	return 0, fmt.Errorf("no ':' after the key at line %d", k.node.Line)
}

// walk is how far a path goes into an object.
type walk struct {
	// hops[0] is the object; hops[i] is the node path[i-1] names.
	hops []hop
	// all holds every element the last segment selects, when it is a
	// list selector that matched.
	all []hop
	// viaMerge: the next segment is a key that only a merge key (<<)
	// provides.
	viaMerge bool
	// noElem: the next segment is a list selector and the list exists
	// but has no such element.
	noElem bool
}

func (w walk) last() hop { return w.hops[len(w.hops)-1] }

func (w walk) found(p ypath.Path) bool { return len(w.hops) == len(p)+1 }

// resolve follows p from the object as far as it exists. It fails when the
// path passes through an alias, or through a node whose anchor an alias
// uses: editing there would change other objects too.
func (l *lowerer) resolve(p ypath.Path) (walk, error) {
	w := walk{hops: []hop{l.obj}}
	for i, seg := range p {
		cur := w.last()
		n := cur.node
		if n.Kind == yaml.AliasNode {
			return w, fmt.Errorf("%s is an alias of &%s (line %d); editing through it would change every object that uses the anchor",
				where(p[:i]), n.Value, n.Line)
		}
		if n.Anchor != "" && l.f.referenced[n] {
			return w, fmt.Errorf("%s has the anchor &%s (line %d), which an alias uses; editing it would change every object that uses the anchor",
				where(p[:i]), n.Anchor, n.Line)
		}
		if ypath.IsSelector(seg) {
			if n.Kind != yaml.SequenceNode {
				return w, nil
			}
			var all []hop
			for _, j := range selectAll(n, seg) {
				h, err := l.f.child(cur, j)
				if err != nil {
					return w, err
				}
				all = append(all, h)
			}
			if len(all) == 0 {
				w.noElem = true
				return w, nil
			}
			w.hops = append(w.hops, all[0])
			if i == len(p)-1 {
				w.all = all
			}
			continue
		}
		if n.Kind != yaml.MappingNode {
			return w, nil
		}
		j, err := lookup(n, seg)
		if err != nil {
			return w, err
		}
		if j < 0 {
			w.viaMerge = merged(n, seg)
			return w, nil
		}
		h, err := l.f.child(cur, j+1)
		if err != nil {
			return w, err
		}
		w.hops = append(w.hops, h)
	}
	last := w.last().node
	if last.Anchor != "" && l.f.referenced[last] {
		return w, fmt.Errorf("%s has the anchor &%s (line %d), which an alias uses; editing it would change every object that uses the anchor",
			where(p), last.Anchor, last.Line)
	}
	return w, nil
}

func where(p ypath.Path) string {
	if len(p) == 0 {
		return "the object"
	}
	return p.String()
}

// lookup returns the index of key k in mapping n, or -1; a key written
// twice is an error, since which one counts depends on the reader.
func lookup(n *yaml.Node, k string) (int, error) {
	i := keyIndex(n, k)
	if i < 0 {
		return i, nil
	}
	for j := i + 2; j+1 < len(n.Content); j += 2 {
		if c := n.Content[j]; c.Kind == yaml.ScalarNode && c.Value == k && !isMergeKey(c) {
			return -1, fmt.Errorf("the key %s is written twice (lines %d and %d); remove one first", k, n.Content[i].Line, c.Line)
		}
	}
	return i, nil
}

// keyIndex returns the index of key k in mapping n, or -1.
func keyIndex(n *yaml.Node, k string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if c := n.Content[i]; c.Kind == yaml.ScalarNode && c.Value == k && c.ShortTag() != "!!merge" {
			return i
		}
	}
	return -1
}

func isMergeKey(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge"
}

func hasMerge(n *yaml.Node) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if isMergeKey(n.Content[i]) {
			return true
		}
	}
	return false
}

// merged reports whether a merge key of mapping n provides key k.
func merged(n *yaml.Node, k string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMergeKey(n.Content[i]) {
			continue
		}
		v := deref(n.Content[i+1])
		srcs := []*yaml.Node{v}
		if v != nil && v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for _, s := range srcs {
			if s = deref(s); s != nil && s.Kind == yaml.MappingNode && (keyIndex(s, k) >= 0 || merged(s, k)) {
				return true
			}
		}
	}
	return false
}

// selectAll returns the indices of the elements of list n that seg
// selects, with the semantics of ypath: "[k=v]" by a field, "[=v]" by
// scalar value, "[i]" by position.
func selectAll(n *yaml.Node, seg string) []int {
	sel := seg[1 : len(seg)-1]
	key, want, isKV := strings.Cut(sel, "=")
	if !isKV {
		i, err := strconv.Atoi(sel)
		if err != nil || i < 0 || i >= len(n.Content) {
			return nil
		}
		return []int{i}
	}
	var out []int
	for i, e := range n.Content {
		d := deref(e)
		switch {
		case d == nil:
		case key == "":
			if d.Kind == yaml.ScalarNode && d.Value == want {
				out = append(out, i)
			}
		case d.Kind == yaml.MappingNode:
			if j := keyIndex(d, key); j >= 0 {
				if v := deref(d.Content[j+1]); v != nil && v.Kind == yaml.ScalarNode && v.Value == want {
					out = append(out, i)
				}
			}
		}
	}
	return out
}
