package fix

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// Lower turns p into edits on src. obj is the object's mapping node from
// a yaml.v3 parse of src (any document of a stream, an element of a List,
// a flow mapping); only its position is used, so any parse of the same
// bytes will do. p.Path is relative to obj.
//
// The edits are byte-minimal: a scalar that has the wrong value has just
// its token replaced; a missing field is inserted as new lines after its
// mapping's last line; a deleted field loses exactly its lines. No edits
// and no error means the object already satisfies p. The edits are checked
// before they are returned: the result parses, has the patched value, and
// decodes to the same values everywhere else.
func Lower(src []byte, obj *yaml.Node, p Patch) ([]Edit, error) {
	return LowerAll(src, obj, []Patch{p})
}

// LowerAll lowers several patches to one object together, and is how all
// the patches of one object should be lowered: edits from separate Lower
// calls on one object may collide (two patches creating the same missing
// parent), while edits for different objects never do. Patches that
// would each create the same missing parent (runAsNonRoot and
// capabilities under an absent securityContext) are merged so that the
// parent is written once; deletions from one collection are cut
// together; identical patches count once; patches whose paths nest (set
// a, delete a.b) conflict. The edits are returned in the order Apply
// needs: inserts at one offset go innermost collection first.
func LowerAll(src []byte, obj *yaml.Node, patches []Patch) ([]Edit, error) {
	s, err := ParseSource(src)
	if err != nil {
		return nil, err
	}
	return s.LowerAll(obj, patches)
}

// Source is a YAML file parsed once for lowering the patches of several
// of its objects: Source.LowerAll is LowerAll without parsing the file
// again. A Source is read-only and may be shared.
type Source struct{ f *file }

// ParseSource parses src for LowerAll.
func ParseSource(src []byte) (*Source, error) {
	f, err := parseFile(src)
	if err != nil {
		return nil, fmt.Errorf("parse source: %w", err)
	}
	return &Source{f: f}, nil
}

// LowerAll is the package's LowerAll on the parsed file. obj may also be
// a document written as the text of a literal block scalar of the file
// (an inline patch of a kustomization), as a parse of that text whose
// positions are shifted into the file: the edits then go into the block's
// lines, indented as the block is.
func (s *Source) LowerAll(obj *yaml.Node, patches []Patch) ([]Edit, error) {
	f := s.f
	chain, idx, err := f.locate(obj)
	if err != nil {
		if obj == nil || obj.Kind != yaml.MappingNode {
			return nil, err
		}
		// Not a mapping of the file's own tree: a document written as
		// the text of a literal block (a kustomization's inline patch).
		return s.lowerEmbedded(obj, patches)
	}
	l := &lowerer{f: f}
	if l.obj, err = objHop(f, chain); err != nil {
		return nil, err
	}
	for _, a := range chain[:len(chain)-1] {
		if a.Anchor != "" && f.referenced[a] {
			return nil, fmt.Errorf("the object is inside &%s (line %d), which an alias uses; editing it would change every object that uses the anchor", a.Anchor, a.Line)
		}
	}
	l.st = detectStyle(l.obj.node, f.docs)
	plan, err := l.plan(patches)
	if err != nil {
		return nil, err
	}
	for _, s := range plan {
		if err := l.lower(s); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	if len(l.edits) == 0 {
		return nil, nil
	}
	l.edits = l.sorted()
	if err := l.verify(idx, patches); err != nil {
		return nil, err
	}
	return l.edits, nil
}

type lowerer struct {
	f     *file
	obj   hop
	st    style
	edits []Edit
	// depth[i] is the column of the collection edits[i] inserts lines
	// into (-1 for other edits): several inserts at one offset must go
	// deepest first, since the innermost collection ends first.
	depth []int
}

func objHop(f *file, chain []*yaml.Node) (hop, error) {
	h := hop{node: chain[len(chain)-1], indent: -1}
	for _, a := range chain[:len(chain)-1] {
		h.flow = h.flow || a.Kind != yaml.DocumentNode && isFlow(a)
	}
	if len(chain) >= 2 {
		if p := chain[len(chain)-2]; p.Kind != yaml.DocumentNode {
			h.parent = p
			if !h.flow {
				// The holding collection's own context does not matter
				// for finding its first key or dash.
				col, err := f.itemCol(hop{node: p, indent: -1})
				if err != nil {
					return hop{}, err
				}
				h.indent = col
			}
		}
	}
	return h, nil
}

func (l *lowerer) add(off, end int, text string) {
	l.edits = append(l.edits, Edit{Offset: off, End: end, Text: text})
	l.depth = append(l.depth, -1)
}

// addLines inserts lines after line i, into a block collection whose
// items are at column col: at the start of the next line, so that
// removing line i (with its break) and inserting after it never overlap.
func (l *lowerer) addLines(i, col int, lines []string) {
	e := Edit{Offset: len(l.f.b), End: len(l.f.b), Text: l.f.nl + strings.Join(lines, l.f.nl)}
	if i+1 < len(l.f.starts) {
		e = Edit{Offset: l.f.starts[i+1], End: l.f.starts[i+1], Text: strings.Join(lines, l.f.nl) + l.f.nl}
	}
	l.edits = append(l.edits, e)
	l.depth = append(l.depth, col)
}

// sorted returns the edits in the order Apply must see them: by position,
// inserts at one offset deepest first, else as lowered.
func (l *lowerer) sorted() []Edit {
	idx := make([]int, len(l.edits))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		x, y := l.edits[a], l.edits[b]
		return cmp.Or(cmp.Compare(x.Offset, y.Offset), cmp.Compare(x.End, y.End), cmp.Compare(l.depth[b], l.depth[a]))
	})
	out := make([]Edit, len(idx))
	for i, j := range idx {
		out[i] = l.edits[j]
	}
	return out
}

func (l *lowerer) lower(s step) error {
	p := s.Patch
	if s.drop != nil {
		return l.deleteMany(p.Path, s.drop)
	}
	switch p.Op {
	case OpSet:
		return l.set(p.Path, p.Value)
	case OpEnsureItem:
		return l.ensure(p.Path, p.Value)
	case OpDelete:
		return l.delete(p.Path)
	}
	return fmt.Errorf("unknown operation %d", p.Op)
}

// --- set ---

func (l *lowerer) set(p ypath.Path, v *yaml.Node) error {
	w, err := l.resolve(p)
	if err != nil {
		return err
	}
	if w.found(p) {
		return l.setExisting(w.last(), v)
	}
	return l.create(w, p, v)
}

// setExisting makes the written node h equal v.
func (l *lowerer) setExisting(h hop, v *yaml.Node) error {
	n := h.node
	if equalNode(n, v) {
		return nil
	}
	if v.Kind != yaml.MappingNode || n.Kind != yaml.MappingNode || !isBlockColl(n) || hasMerge(n) {
		return l.replace(h, v)
	}
	// Mapping onto a block mapping: change it field by field so that the
	// fields that stay keep their text and comments.
	want := map[string]bool{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		want[v.Content[i].Value] = true
	}
	var drop []int
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !want[n.Content[i].Value] {
			drop = append(drop, i)
		}
	}
	if len(drop) == len(n.Content)/2 {
		return l.replace(h, v)
	}
	col, err := l.f.itemCol(h)
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i].Value, v.Content[i+1]
		j, err := lookup(n, k)
		if err != nil {
			return err
		}
		if j < 0 {
			if err := l.insertLines(h, l.st.entryLines(col, k, val)); err != nil {
				return err
			}
			continue
		}
		c, err := l.f.child(h, j+1)
		if err != nil {
			return err
		}
		if c.node.Anchor != "" && l.f.referenced[c.node] {
			return fmt.Errorf("%s has the anchor &%s (line %d), which an alias uses; editing it would change every object that uses the anchor", k, c.node.Anchor, c.node.Line)
		}
		if err := l.setExisting(c, val); err != nil {
			return err
		}
	}
	return l.deleteKeys(h, drop)
}

// create writes the missing tail of path p, whose deepest existing node is
// w.last(), ending in value leaf.
func (l *lowerer) create(w walk, p ypath.Path, leaf *yaml.Node) error {
	d := len(w.hops) - 1
	for i := d; i < len(p); i++ {
		if ypath.IsSelector(p[i]) {
			return fmt.Errorf("no list element %s in %s; fixes never create list elements", p[i], where(p[:i]))
		}
	}
	if w.viaMerge && d < len(p)-1 {
		return fmt.Errorf("%s comes from a merge key (<<) in %s; editing inside it would change every object that merges it", p[d], where(p[:d]))
	}
	v := leaf
	for i := len(p) - 1; i > d; i-- {
		v = mapping(p[i], v)
	}
	return l.addKey(w.last(), p[:d], p[d], v)
}

// addKey adds the field key with value v to the mapping (or null) at h.
func (l *lowerer) addKey(h hop, at ypath.Path, key string, v *yaml.Node) error {
	n := h.node
	switch {
	case n.Kind == yaml.AliasNode:
		return fmt.Errorf("%s is an alias of &%s (line %d); editing through it would change every object that uses the anchor", where(at), n.Value, n.Line)
	case n.Kind == yaml.MappingNode && isBlockColl(n):
		col, err := l.f.itemCol(h)
		if err != nil {
			return err
		}
		lines := l.st.entryLines(col, key, v)
		if h.parent == nil && l.blankSeparated(n) {
			// A document whose top-level entries are set apart by blank
			// lines (a values file) gets the new one set apart too.
			lines = append([]string{""}, lines...)
		}
		return l.insertLines(h, lines)
	case n.Kind == yaml.MappingNode && len(n.Content) == 0, isNull(n):
		return l.replace(h, mapping(key, v))
	case n.Kind == yaml.MappingNode:
		last, err := l.f.child(h, len(n.Content)-1)
		if err != nil {
			return err
		}
		e, err := l.f.end(last)
		if err != nil {
			return err
		}
		l.add(e, e, ", "+keyText(key, true)+": "+flowText(v, true))
		return nil
	}
	return fmt.Errorf("%s is %s, not a mapping", where(at), describe(n))
}

// blankSeparated reports whether every entry of the block mapping n after
// the first is preceded by a blank line (above any comment lines that
// introduce it), and there are at least two.
func (l *lowerer) blankSeparated(n *yaml.Node) bool {
	if len(n.Content) < 4 {
		return false
	}
	for i := 2; i+1 < len(n.Content); i += 2 {
		if prev := n.Content[i-1]; prev.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			return false // its trailing blank lines may be its own ("|+")
		}
		line := n.Content[i].Line - 1 // 1-based line above the key
		for line >= 1 && strings.HasPrefix(strings.TrimSpace(l.f.lineText(line)), "#") {
			line--
		}
		if line < 1 || strings.TrimSpace(l.f.lineText(line)) != "" {
			return false
		}
	}
	return true
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		return "the scalar " + n.Value
	}
	return "an alias"
}

// insertLines inserts whole lines after the last line of the block
// collection h.
func (l *lowerer) insertLines(h hop, lines []string) error {
	line, err := l.after(h)
	if err != nil {
		return err
	}
	if line+1 == len(l.f.starts) && l.endsInBlock(h, false) {
		// The new lines would give the scalar the final line break it
		// lacks, changing its value.
		return fmt.Errorf("cannot add after the block scalar that ends the file without a line break; add one first")
	}
	col, err := l.f.itemCol(h)
	if err != nil {
		return err
	}
	l.addLines(line, col, lines)
	return nil
}

// after returns the last line of the block collection h: the line of its
// last token, then any comment lines right after it that are indented at
// least as deep as its items, deeper than its key and deeper than column
// 0 (they read as part of it). Blank lines and shallower comments belong
// to what follows. An enclosing collection takes at least the comments an
// inner one takes, so inserts into nested collections stay in nesting
// order.
func (l *lowerer) after(h hop) (int, error) {
	e, err := l.f.end(h)
	if err != nil {
		return 0, err
	}
	line := l.f.line(e)
	min, err := l.f.itemCol(h)
	if err != nil {
		return 0, err
	}
	if h.key != nil {
		k, err := l.f.raw(h.key)
		if err != nil {
			return 0, err
		}
		min = max(min, l.f.col(k)+1)
	}
	min = max(min, 1)
	for line+1 < len(l.f.starts) && l.f.commentLine(line+1) && l.f.indent(line+1) >= min {
		line++
	}
	return line, nil
}

// usedAnchor returns a node under n (n included) whose anchor an alias
// outside n uses: removing n's text would break or change that alias.
func (l *lowerer) usedAnchor(n *yaml.Node) *yaml.Node {
	var found *yaml.Node
	inside := map[*yaml.Node]bool{}
	visit(n, func(m *yaml.Node) { inside[m] = true })
	visit(n, func(m *yaml.Node) {
		if found == nil && m.Anchor != "" && l.f.referenced[m] && !l.onlyFrom(m, inside) {
			found = m
		}
	})
	return found
}

// onlyFrom reports whether every alias of the anchored node a is among
// the nodes inside.
func (l *lowerer) onlyFrom(a *yaml.Node, inside map[*yaml.Node]bool) bool {
	ok := true
	for _, d := range l.f.docs {
		visit(d, func(m *yaml.Node) {
			if m.Kind == yaml.AliasNode && m.Alias == a && !inside[m] {
				ok = false
			}
		})
	}
	return ok
}

func anchorErr(n *yaml.Node) error {
	return fmt.Errorf("the anchor &%s (line %d) is used by an alias elsewhere; changing it would change or break that alias", n.Anchor, n.Line)
}

// replace rewrites the node h as v. Under a block mapping key the key line
// and its comment stay; v is written inline or as an indented block.
func (l *lowerer) replace(h hop, v *yaml.Node) error {
	n := h.node
	v = quotedLike(n, h.parent, l.obj.node, v)
	if a := l.usedAnchor(n); a != nil {
		return anchorErr(a)
	}
	rs, err := l.f.raw(n)
	if err != nil {
		return err
	}
	hasProps := n.Anchor != "" || n.Style&yaml.TaggedStyle != 0 || rs < len(l.f.b) && (l.f.b[rs] == '!' || l.f.b[rs] == '&')
	anchor := ""
	if n.Anchor != "" {
		anchor = "&" + n.Anchor
	}
	oldBlock := isBlockColl(n)
	if oldBlock && hasProps {
		return fmt.Errorf("the value at line %d has an anchor or tag; replace it by hand", n.Line)
	}
	if !hasProps {
		if rs, err = l.f.start(h); err != nil {
			return err
		}
	}
	te, err := l.f.end(h)
	if err != nil {
		return err
	}
	inline := func() string {
		var t string
		if v.Kind == yaml.ScalarNode {
			like := yaml.Style(0)
			if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && v.ShortTag() == "!!str" {
				like = n.Style
			}
			t = scalarText(v, h.flow, like)
		} else {
			t = flowText(v, true)
		}
		if anchor != "" {
			t = anchor + " " + t
		}
		return t
	}
	underKey := h.key != nil && !h.flow
	if !underKey {
		// In a flow collection, as a list element or as the object: write
		// v inline in place of the whole node.
		l.add(rs, te, l.fill(h, rs, te, inline()))
		return nil
	}
	k := hop{node: h.key, flow: h.flow, indent: h.indent}
	kStart, err := l.f.raw(h.key)
	if err != nil {
		return err
	}
	kCol := l.f.col(kStart)
	newBlock := l.blockValue(n, v)
	var lines []string
	if newBlock {
		lines = l.st.blockLines(kCol, v)
	}
	switch {
	case !oldBlock && !newBlock:
		ce, err := l.f.colonEnd(k)
		if err != nil {
			return err
		}
		if l.f.line(rs) != l.f.line(ce) {
			// The old value starts on a line of its own, maybe at the
			// key's column (a block scalar may): bring the new one up.
			l.add(ce, te, " "+l.fill(h, rs, te, inline()))
			break
		}
		l.add(rs, te, l.fill(h, rs, te, inline()))
	case !oldBlock && newBlock:
		if anchor != "" {
			l.add(rs, te, anchor)
		} else if rs < te {
			ws := rs
			for ws > 0 && (l.f.b[ws-1] == ' ' || l.f.b[ws-1] == '\t') {
				ws--
			}
			sep := ""
			if !l.f.isBlankz(te) {
				sep = " " // keep "{}#" from becoming ":#"
			}
			l.add(ws, te, sep)
		}
		l.addLines(l.f.line(te), kCol+1, lines)
	default:
		ce, err := l.f.colonEnd(k)
		if err != nil {
			return err
		}
		// The old block's lines go whole, with any comment after its last
		// token; the key line and its comment stay.
		from, to := l.f.lineEnd(ce), l.f.lineEnd(te)
		if newBlock {
			l.add(from, to, l.f.nl+strings.Join(lines, l.f.nl))
		} else {
			l.add(ce, ce, " "+inline())
			l.add(from, to, "")
		}
	}
	return nil
}

// fill returns the text t that replaces [rs, te), the text of node h,
// separated from what is around it: an empty value right after its ":"
// or "-" needs a space, a key written without ":" ("{a}") needs one, and
// so does text glued to what follows.
func (l *lowerer) fill(h hop, rs, te int, t string) string {
	if !l.f.isBlankz(te) && (!h.flow || !strings.ContainsRune(",]}", rune(l.f.b[te]))) {
		t += " " // "{}#" is a mapping and a comment; "x#" is one scalar
	}
	if rs != te {
		return t
	}
	if h.key != nil {
		// The ":" must follow the key ("{a:}" is the key "a:").
		ke, err := l.f.end(hop{node: h.key, flow: h.flow, indent: h.indent})
		if err == nil && ke <= rs && !bytes.Contains(l.f.b[ke:rs], []byte(":")) {
			return ": " + t
		}
	}
	if rs > 0 && (l.f.b[rs-1] == ':' || l.f.b[rs-1] == '-') {
		return " " + t
	}
	return t
}

// blockValue reports whether v, replacing n under a block mapping key, is
// written as an indented block: non-empty collections are, unless n was a
// non-empty flow collection or v is a list of scalars in a file that
// writes those in flow style.
func (l *lowerer) blockValue(n, v *yaml.Node) bool {
	switch {
	case v.Kind == yaml.ScalarNode || len(v.Content) == 0:
		return false
	case n.Kind == yaml.MappingNode && isFlow(n) && len(n.Content) > 0:
		return false
	case v.Kind == yaml.SequenceNode:
		scalars := true
		for _, c := range v.Content {
			scalars = scalars && c.Kind == yaml.ScalarNode
		}
		switch {
		case n.Kind == yaml.SequenceNode && isFlow(n):
			return !scalars
		case n.Kind == yaml.SequenceNode:
			return true
		}
		return !l.st.inlineList(v)
	}
	return true
}

// --- ensure ---

func (l *lowerer) ensure(p ypath.Path, item *yaml.Node) error {
	w, err := l.resolve(p)
	if err != nil {
		return err
	}
	if !w.found(p) {
		return l.create(w, p, sequence(item))
	}
	h := w.last()
	n := h.node
	switch {
	case n.Kind == yaml.SequenceNode:
		if slices.ContainsFunc(n.Content, func(c *yaml.Node) bool { return sameItem(c, item) }) {
			return nil
		}
		item = quotedLike(n, h.parent, l.obj.node, sequence(item)).Content[0]
		if isBlockColl(n) {
			col, err := l.f.itemCol(h)
			if err != nil {
				return err
			}
			return l.insertLines(h, l.st.itemLines(col, item))
		}
		if len(n.Content) == 0 {
			s, err := l.f.start(h)
			if err != nil {
				return err
			}
			l.add(s+1, s+1, flowText(item, true))
			return nil
		}
		last, err := l.f.child(h, len(n.Content)-1)
		if err != nil {
			return err
		}
		e, err := l.f.end(last)
		if err != nil {
			return err
		}
		l.add(e, e, ", "+flowText(item, true))
		return nil
	case isNull(n):
		return l.replace(h, sequence(item))
	case n.Kind == yaml.AliasNode:
		return fmt.Errorf("%s is an alias of &%s (line %d); editing through it would change every object that uses the anchor", where(p), n.Value, n.Line)
	}
	return fmt.Errorf("%s is %s, not a list", where(p), describe(n))
}

// --- delete ---

func (l *lowerer) delete(p ypath.Path) error {
	return l.deleteMany(p[:len(p)-1], []string{p[len(p)-1]})
}

// deleteMany removes the fields or list elements segs (last path
// segments) from the node at parent. Deletions from one collection are
// made together so that their cuts never overlap.
func (l *lowerer) deleteMany(parent ypath.Path, segs []string) error {
	w, err := l.resolve(parent)
	if err != nil {
		return err
	}
	d := len(w.hops) - 1
	switch {
	case w.viaMerge:
		return fmt.Errorf("%s comes from a merge key (<<) in %s; deleting inside it would change every object that merges it", parent[d], where(parent[:d]))
	case w.noElem:
		return fmt.Errorf("no list element %s in %s", parent[d], where(parent[:d]))
	case !w.found(parent):
		return nil // already absent
	}
	h := w.last()
	n := h.node
	if n.Kind == yaml.AliasNode {
		return fmt.Errorf("%s is an alias of &%s (line %d); editing through it would change every object that uses the anchor", where(parent), n.Value, n.Line)
	}
	var idx []int
	for _, seg := range segs {
		switch {
		case n.Kind == yaml.MappingNode && !ypath.IsSelector(seg):
			j, err := lookup(n, seg)
			if err != nil {
				return err
			}
			if merged(n, seg) {
				// Deleting a local key would let the merged value show;
				// deleting the merged one would change the other users.
				return fmt.Errorf("%s comes from a merge key (<<) in %s; it cannot be deleted here without changing every object that merges it", seg, where(parent))
			}
			if j >= 0 && !slices.Contains(idx, j) {
				idx = append(idx, j)
			}
		case n.Kind == yaml.SequenceNode && ypath.IsSelector(seg):
			for _, j := range selectAll(n, seg) {
				if !slices.Contains(idx, j) {
					idx = append(idx, j)
				}
			}
		}
	}
	for _, j := range idx {
		if a := l.usedAnchor(n.Content[j]); a != nil {
			return anchorErr(a)
		}
		if n.Kind == yaml.MappingNode {
			if a := l.usedAnchor(n.Content[j+1]); a != nil {
				return anchorErr(a)
			}
		}
	}
	if n.Kind == yaml.MappingNode {
		return l.deleteKeys(h, idx)
	}
	return l.deleteItems(h, idx)
}

// deleteKeys removes the fields whose key indices (into Content) are idx
// from the mapping h. A mapping left empty is written {}.
func (l *lowerer) deleteKeys(h hop, idx []int) error {
	if len(idx) == 0 {
		return nil
	}
	n := h.node
	if len(idx) == len(n.Content)/2 {
		return l.replace(h, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
	}
	slices.Sort(idx)
	for _, run := range runs(idx, 2) {
		first, last := run[0], run[len(run)-1]
		k, err := l.f.child(h, first)
		if err != nil {
			return err
		}
		v, err := l.f.child(h, last+1)
		if err != nil {
			return err
		}
		if err := l.cut(h, k, v, first, last+2); err != nil {
			return err
		}
	}
	return nil
}

// deleteItems removes the elements idx of the list h. A list left empty is
// written [].
func (l *lowerer) deleteItems(h hop, idx []int) error {
	n := h.node
	if len(idx) == 0 {
		return nil
	}
	if len(idx) == len(n.Content) {
		return l.replace(h, sequence())
	}
	slices.Sort(idx)
	for _, run := range runs(idx, 1) {
		first, last := run[0], run[len(run)-1]
		a, err := l.f.child(h, first)
		if err != nil {
			return err
		}
		b, err := l.f.child(h, last)
		if err != nil {
			return err
		}
		if err := l.cut(h, a, b, first, last+1); err != nil {
			return err
		}
	}
	return nil
}

// runs splits sorted indices into runs of neighbours step apart.
func runs(idx []int, step int) [][]int {
	var out [][]int
	for i, x := range idx {
		if i > 0 && x == idx[i-1]+step {
			out[len(out)-1] = append(out[len(out)-1], x)
			continue
		}
		out = append(out, []int{x})
	}
	return out
}

// cut removes the text of the collection h's entries from first (hop a)
// to the one ending in hop b; next is the Content index after them.
func (l *lowerer) cut(h hop, a, b hop, first, next int) error {
	n := h.node
	as, err := l.f.start(a)
	if err != nil {
		return err
	}
	if n.Kind == yaml.SequenceNode && !isFlow(n) {
		if as, err = l.dash(a); err != nil {
			return err
		}
	} else if a.node.Anchor != "" || a.node.Style&yaml.TaggedStyle != 0 {
		if as, err = l.f.raw(a.node); err != nil {
			return err
		}
	}
	be, err := l.f.end(b)
	if err != nil {
		return err
	}
	if b.key != nil {
		k, err := l.f.child(h, next-2)
		if err != nil {
			return err
		}
		ke, err := l.f.end(k)
		if err != nil {
			return err
		}
		be = max(be, ke)
	}
	nextStart := func() (int, error) {
		c, err := l.f.child(h, next)
		if err != nil {
			return 0, err
		}
		if n.Kind == yaml.SequenceNode && !isFlow(n) {
			return l.dash(c)
		}
		if c.node.Anchor != "" || c.node.Style&yaml.TaggedStyle != 0 {
			return l.f.raw(c.node)
		}
		return l.f.start(c)
	}
	switch {
	case isFlow(n) && next < len(n.Content):
		ns, err := nextStart()
		if err != nil {
			return err
		}
		l.add(as, ns, "")
	case isFlow(n):
		prev, err := l.f.child(h, first-1)
		if err != nil {
			return err
		}
		pe, err := l.f.end(prev)
		if err != nil {
			return err
		}
		l.add(pe, be, "")
	case !l.f.atLineStart(as):
		// The first entry shares its line with the parent's "- ": cut up
		// to the next entry, which moves up into its place.
		if next >= len(n.Content) {
			return fmt.Errorf("cannot remove the entry at line %d", a.node.Line)
		}
		ns, err := nextStart()
		if err != nil {
			return err
		}
		l.add(as, ns, "")
	default:
		last := l.f.line(be)
		if first > 0 {
			// Blank lines left after the cut would join a block scalar
			// that keeps its trailing line breaks ("|+") just before it.
			prev, err := l.f.child(h, first-1)
			if err != nil {
				return err
			}
			// Any block scalar would take in a whitespace line left
			// more indented than its text, so those go too; a "|+"
			// scalar's own trailing blank lines (all but an unterminated
			// last one) are its value and go only with what follows.
			if chomp, ok := l.blockScalarAtEnd(prev); ok {
				for last+1 < len(l.f.starts) && l.f.blankLine(last+1) && (chomp != '+' || l.f.ends[last+1] < len(l.f.b)) {
					last++
				}
			}
		}
		l.cutLines(l.f.line(as), last)
	}
	return nil
}

// endsInBlock reports whether the text of h ends with a block scalar
// that keeps its trailing line breaks ("|+"), or with any block scalar
// but a stripped one ("|-") when keep is false.
func (l *lowerer) endsInBlock(h hop, keep bool) bool {
	chomp, ok := l.blockScalarAtEnd(h)
	switch {
	case !ok || chomp == '-':
		return false
	case chomp == '+':
		return true
	}
	return !keep
}

// blockScalarAtEnd reports whether the text of h ends with a literal or
// folded block scalar, and that scalar's chomping indicator ('+', '-', or
// 0 for clip).
func (l *lowerer) blockScalarAtEnd(h hop) (byte, bool) {
	for {
		n := h.node
		switch {
		case isBlockColl(n):
			c, err := l.f.child(h, len(n.Content)-1)
			if err != nil {
				return 0, false
			}
			h = c
		case n.Kind == yaml.ScalarNode && n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
			off, err := l.f.start(h)
			if err != nil {
				return 0, false
			}
			for p := off + 1; p < len(l.f.b) && p <= off+2; p++ {
				if c := l.f.b[p]; c == '+' || c == '-' {
					return c, true
				}
			}
			return 0, true
		default:
			return 0, false
		}
	}
}

// cutLines removes lines first..last with their line breaks. (The break
// before them stays even at the end of a file without a final break: it
// may end a block scalar's value.)
func (l *lowerer) cutLines(first, last int) {
	end := len(l.f.b)
	if last+1 < len(l.f.starts) {
		end = l.f.starts[last+1]
	}
	l.add(l.f.starts[first], end, "")
}

// dash returns the offset of the "-" that introduces block list element
// h: on its line, or alone at the end of an earlier line.
func (l *lowerer) dash(h hop) (int, error) {
	off, err := l.f.raw(h.node)
	if err != nil {
		return 0, err
	}
	p := off
	for p > 0 && l.f.isBlank(p-1) {
		p--
	}
	if p > 0 && l.f.b[p-1] == '-' {
		return p - 1, nil
	}
	if l.f.starts[l.f.line(off)] == p {
		for line := l.f.line(off) - 1; line >= 0; line-- {
			if l.f.blankLine(line) || l.f.commentLine(line) {
				continue
			}
			e := l.f.ends[line]
			for e > l.f.starts[line] && l.f.isBlank(e-1) {
				e--
			}
			if e > l.f.starts[line] && l.f.b[e-1] == '-' {
				return e - 1, nil
			}
			break
		}
	}
	return 0, fmt.Errorf("no '-' before the list element at line %d", h.node.Line)
}
