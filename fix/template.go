package fix

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

var (
	templateKeyLine   = regexp.MustCompile(`^(\s*)(- )?([A-Za-z0-9_.\-/]+):\s*(#.*)?$`)
	templateValueLine = regexp.MustCompile(`^(\s*(?:- )?[A-Za-z0-9_.\-/]+:[ \t]+)([^#\s][^#]*?)([ \t]+#.*)?$`)
	// templateEntryLine is a plain "key: value" or "key:" entry, possibly
	// the first entry of a list element.
	templateEntryLine = regexp.MustCompile(`^(\s*)(- +)?([A-Za-z0-9_.\-/]+|"[^"]*"|'[^']*'):(?:[ \t]+([^#\s][^#]*?))?(?:[ \t]+#.*|[ \t]*)$`)
)

// TemplatePatch is a patch of a rendered object that no values key
// reaches, to be written into a Helm template: Line is the template line
// of the field or of its nearest rendered ancestor (where the source map
// locates the field), Obj the rendered object, Owner the fix that wants
// the patch.
type TemplatePatch struct {
	Line  int
	Obj   *yaml.Node
	Patch Patch
	Owner int
}

// TemplateEdit lowers one patch pt of the rendered object obj onto the
// text of a Helm template (src), at line; see TemplateEdits.
func TemplateEdit(src []byte, line int, obj *yaml.Node, pt Patch) (Edit, error) {
	es, failed := TemplateEdits("", src, []TemplatePatch{{Line: line, Obj: obj, Patch: pt}})
	if reason, ok := failed[0]; ok {
		return Edit{}, errors.New(reason)
	}
	return es[0].Edit, nil
}

// TemplateEdits lowers patches onto the text of the Helm template file
// (src, which is not YAML), each at the template line that writes the field or
// its nearest rendered ancestor literally: a plain "key: value" line whose
// value is replaced, a plain "key:" line under which the missing fields
// are inserted as its first entries, or a plain "- key: value" line of a
// list element (selected by that key or another literal entry of the
// element), under which they are inserted at the element's indentation.
// A missing field whose first key the mapping already writes literally
// goes under that line, never beside it. Lines with template actions are
// never edited.
//
// Every insertion at one line is one edit whose entries are one merged
// tree, so that a mapping never gets a key twice: two fixes that add
// runAsNonRoot and seccompProfile to a pod spec without a securityContext
// add one securityContext holding both. Patches that want the same edit
// (the same chart deployed by several targets) share it: each owner gets
// an OwnedEdit with the same Edit, which LowerFiles applies once. An owner
// whose patch cannot be lowered, or conflicts with what an earlier owner
// writes at the same place, is in failed with the reason, and none of its
// patches are in the edits. Edits come in the order of the patches.
func TemplateEdits(file string, src []byte, patches []TemplatePatch) ([]OwnedEdit, map[int]string) {
	failed := map[int]string{}
	s := newSource(src)
	var sites []templateSite
	for _, tp := range patches {
		var st templateSite
		err := fmt.Errorf("no line %d", tp.Line)
		if src != nil {
			st, err = s.templateSite(tp)
		}
		if err != nil {
			if _, ok := failed[tp.Owner]; !ok {
				failed[tp.Owner] = err.Error()
			}
			continue
		}
		sites = append(sites, st)
	}
	for {
		edits, bad := s.mergeSites(sites, failed)
		if len(bad) == 0 {
			for i := range edits {
				edits[i].File = file
			}
			return edits, failed
		}
		for o, r := range bad {
			failed[o] = r
		}
	}
}

// templateSite is one patch placed in a template: a replaced value, or
// the fields rel (with value) inserted at an anchor line.
type templateSite struct {
	owner int
	// replace is set for a value replacement of [off, end).
	replace  bool
	off, end int
	text     string
	at       templateAnchor
	rel      ypath.Path
	value    *yaml.Node
	ensure   bool       // value is a list an item is ensured in
	path     ypath.Path // the patch's path, for reasons
}

// templateAnchor is a literal template line that new entries go under.
type templateAnchor struct {
	line  int
	col   int  // column of the line's key (after the dash of an element)
	entry int  // column of the entries under it
	step  int  // indentation of nested mappings
	item  bool // the line is the first of a list element
	off   int  // offset of the insertion
	eof   bool // the line is the last and has no line break
}

func (s *source) templateSite(tp TemplatePatch) (templateSite, error) {
	st := templateSite{owner: tp.Owner, path: tp.Patch.Path}
	line, pt := tp.Line, tp.Patch
	if line < 1 || line > len(s.starts) {
		return st, fmt.Errorf("no line %d", line)
	}
	text := s.lineText(line)
	if strings.Contains(text, "{{") {
		return st, fmt.Errorf("line %d has a template action", line)
	}
	depth := ypath.Walk(tp.Obj, pt.Path).Depth
	if depth == 0 {
		return st, fmt.Errorf("the object has no part of %s", pt.Path)
	}
	key := pt.Path[depth-1]
	if depth == len(pt.Path) {
		m := templateValueLine.FindStringSubmatchIndex(text)
		if pt.Op != OpSet || pt.Value.Kind != yaml.ScalarNode || m == nil || !strings.HasSuffix(strings.TrimSpace(text[:m[3]]), key+":") {
			return st, fmt.Errorf("line %d is not a plain %q: value line", line, key)
		}
		off := s.starts[line-1]
		st.replace, st.off, st.end, st.text = true, off+m[4], off+m[5], ScalarText(pt.Value)
		return st, nil
	}
	st.value = pt.Value
	switch pt.Op {
	case OpSet:
	case OpEnsureItem:
		st.value, st.ensure = sequence(pt.Value), true
	default:
		return st, fmt.Errorf("cannot %s in a template", pt.Op)
	}
	if err := checkValue(st.value, 0); err != nil {
		return st, err
	}
	st.rel = pt.Path[depth:]
	if i := slices.IndexFunc(st.rel, ypath.IsSelector); i >= 0 {
		return st, fmt.Errorf("%s selects a list element; fixes never create list elements", st.rel[i])
	}
	a, err := s.anchor(line, key)
	if err != nil {
		return st, err
	}
	// Where the mapping already writes the first missing key literally
	// (rendered or not), the rest goes under that line: a second key
	// beside it would be a duplicate.
	for {
		ln, err := s.literalChild(a, st.rel[0])
		if err != nil {
			return st, err
		}
		if ln == 0 {
			break
		}
		if len(st.rel) == 1 {
			return st, fmt.Errorf("line %d writes %s already", ln, st.rel[0])
		}
		if a, err = s.anchor(ln, st.rel[0]); err != nil {
			return st, err
		}
		st.rel = st.rel[1:]
	}
	st.at = a
	return st, nil
}

// anchor checks that line is a plain "key:" line of the field key, or the
// first line of the list element that key selects, and finds where and
// how entries go under it.
func (s *source) anchor(line int, key string) (templateAnchor, error) {
	text := s.lineText(line)
	if strings.Contains(text, "{{") {
		return templateAnchor{}, fmt.Errorf("line %d has a template action", line)
	}
	a := templateAnchor{line: line}
	if ypath.IsSelector(key) {
		m := templateEntryLine.FindStringSubmatch(text)
		if m == nil || m[2] == "" || m[4] == "" || strings.ContainsAny(m[4][:1], "|>[{&*!\"'") {
			return a, fmt.Errorf("line %d is not a plain \"- key: value\" line of the element %s", line, key)
		}
		a.item = true
		a.col = len(m[1]) + len(m[2])
		a.entry = a.col
		if err := s.checkElement(a, key); err != nil {
			return a, err
		}
	} else {
		m := templateKeyLine.FindStringSubmatch(text)
		if m == nil || m[3] != key {
			return a, fmt.Errorf("line %d is not a plain %q: line", line, key)
		}
		a.col = len(m[1]) + len(m[2])
		a.entry = a.col + 2
		if ls := s.blockLines(a); len(ls) > 0 {
			a.entry = s.indentOf(ls[0])
		}
	}
	a.step = s.templateStep(a)
	if line < len(s.starts) {
		a.off = s.starts[line]
	} else {
		a.off, a.eof = len(s.b), true
	}
	return a, nil
}

// indentOf is the number of spaces line i starts with.
func (s *source) indentOf(i int) int {
	t := s.lineText(i)
	return len(t) - len(strings.TrimLeft(t, " "))
}

// blockLines returns the lines of the anchor's value: the lines after it
// that are indented more than its key (for a list element: at least as
// much), skipping blank lines, comments and lines that start with an
// action, up to the first that is not.
func (s *source) blockLines(a templateAnchor) []int {
	var out []int
	for i := a.line + 1; i <= len(s.starts); i++ {
		t := strings.TrimSpace(s.lineText(i))
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "{{") {
			continue
		}
		ind := s.indentOf(i)
		if ind < a.col || ind == a.col && !a.item {
			break
		}
		out = append(out, i)
	}
	return out
}

// entries returns the lines that write the anchor's own entries (for a
// list element, its first line too).
func (s *source) entries(a templateAnchor) []int {
	var out []int
	if a.item {
		out = append(out, a.line)
	}
	for _, i := range s.blockLines(a) {
		if s.indentOf(i) == a.entry && !strings.HasPrefix(strings.TrimSpace(s.lineText(i)), "-") {
			out = append(out, i)
		}
	}
	return out
}

// entryKey returns the key and value a template line writes, unquoted.
func (s *source) entryKey(i int) (key, value string, ok bool) {
	m := templateEntryLine.FindStringSubmatch(s.lineText(i))
	if m == nil {
		return "", "", false
	}
	unq := func(v string) string {
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			return v[1 : len(v)-1]
		}
		return v
	}
	return unq(m[3]), unq(m[4]), true
}

// checkElement makes sure the element at a is the one sel selects: one of
// its literal entries is the selecting key with the selected value.
func (s *source) checkElement(a templateAnchor, sel string) error {
	k, want, ok := strings.Cut(sel[1:len(sel)-1], "=")
	if ok && k != "" {
		for _, i := range s.entries(a) {
			if key, v, ok := s.entryKey(i); ok && key == k && v == want && !strings.Contains(s.lineText(i), "{{") {
				return nil
			}
		}
	}
	return fmt.Errorf("line %d does not literally write the element %s", a.line, sel)
}

// literalChild returns the line among the anchor's entries that writes
// key (0: none), or an error when the key is written in a way that cannot
// be extended: with a value (or a template action) on its line, or on
// several lines (branches of a condition).
func (s *source) literalChild(a templateAnchor, key string) (int, error) {
	found := 0
	for _, i := range s.entries(a) {
		k, v, ok := s.entryKey(i)
		if !ok || k != key {
			continue
		}
		if found != 0 {
			return 0, fmt.Errorf("lines %d and %d both write %s", found, i, key)
		}
		if v != "" {
			return 0, fmt.Errorf("line %d writes %s already", i, key)
		}
		found = i
	}
	return found, nil
}

// templateStep is the indentation step of nested mappings near the
// anchor: the step of its own value if it has one, else of the first
// nested mapping below it, else 2.
func (s *source) templateStep(a templateAnchor) int {
	if !a.item && a.entry > a.col {
		return a.entry - a.col
	}
	ls := s.blockLines(a)
	for k, i := range ls {
		if _, v, ok := s.entryKey(i); ok && v == "" && k+1 < len(ls) {
			if d := s.indentOf(ls[k+1]) - s.indentOf(i); d > 0 && d <= 8 {
				return d
			}
		}
	}
	return 2
}

// flushLists reports whether the template writes block lists with their
// dashes at their key's column more often than indented.
func (s *source) flushLists() bool {
	flush, indented := 0, 0
	for i := 1; i < len(s.starts); i++ {
		k, v, ok := s.entryKey(i)
		if !ok || k == "" || v != "" {
			continue
		}
		next := strings.TrimSpace(s.lineText(i + 1))
		if !strings.HasPrefix(next, "- ") && next != "-" {
			continue
		}
		col := s.indentOf(i)
		if m := templateEntryLine.FindStringSubmatch(s.lineText(i)); m != nil {
			col += len(m[2])
		}
		switch d := s.indentOf(i+1) - col; {
		case d == 0:
			flush++
		case d > 0:
			indented++
		}
	}
	return flush > indented
}

// templateGroup is the merged tree of the insertions at one anchor.
type templateGroup struct {
	at     templateAnchor
	tree   *yaml.Node // a mapping of the entries to insert
	ensure map[*yaml.Node]bool
	owners []int
}

// mergeSites merges the sites of the owners not in failed into one edit
// per anchor and replaced value. It returns the owners that conflict with
// an earlier one, with the reason, and no edits if there are any.
func (s *source) mergeSites(sites []templateSite, failed map[int]string) ([]OwnedEdit, map[int]string) {
	bad := map[int]string{}
	type replaced struct {
		site   templateSite
		owners []int
	}
	var order []int // offsets of the edits, in the order of first use
	groups := map[int]*templateGroup{}
	repls := map[int]*replaced{}
	for _, st := range sites {
		if _, ok := failed[st.owner]; ok {
			continue
		}
		if _, ok := bad[st.owner]; ok {
			continue
		}
		if st.replace {
			r := repls[st.off]
			if r == nil {
				r = &replaced{site: st}
				repls[st.off] = r
				order = append(order, st.off)
			} else if r.site.end != st.end || r.site.text != st.text {
				bad[st.owner] = fmt.Sprintf("line %d: another fix sets %s to %s", s.line(st.off)+1, r.site.path, r.site.text)
				continue
			}
			r.owners = append(r.owners, st.owner)
			continue
		}
		g := groups[st.at.off]
		if g == nil {
			g = &templateGroup{at: st.at, tree: mapping(), ensure: map[*yaml.Node]bool{}}
			groups[st.at.off] = g
			order = append(order, st.at.off)
		}
		if err := g.add(st.path[:len(st.path)-len(st.rel)], st.rel, st.value, st.ensure); err != nil {
			bad[st.owner] = fmt.Sprintf("line %d: %v", st.at.line, err)
			continue
		}
		g.owners = append(g.owners, st.owner)
	}
	if len(bad) > 0 {
		return nil, bad
	}
	var out []OwnedEdit
	for _, off := range order {
		var e Edit
		var owners []int
		if r := repls[off]; r != nil {
			e, owners = Edit{Offset: r.site.off, End: r.site.end, Text: r.site.text}, r.owners
		} else {
			g := groups[off]
			e, owners = s.insertion(g), g.owners
		}
		var seen []int
		for _, o := range owners {
			if !slices.Contains(seen, o) {
				seen = append(seen, o)
				out = append(out, OwnedEdit{Edit: e, Owner: o})
			}
		}
	}
	return out, nil
}

// add merges the field rel (under base, the anchor's path) with value v
// into the group's tree. Mappings merge key by key, the lists of ensured
// items by union; any other difference from what the tree holds is a
// conflict.
func (g *templateGroup) add(base, rel ypath.Path, v *yaml.Node, ensure bool) error {
	n := g.tree
	for i, k := range rel[:len(rel)-1] {
		_, c := ypath.Lookup(n, k)
		if c == nil {
			c = mapping()
			n.Content = append(n.Content, scalar("!!str", k), c)
		} else if c.Kind != yaml.MappingNode {
			return fmt.Errorf("another fix writes %s as a value", base.Append(rel[:i+1]...))
		}
		n = c
	}
	last := rel[len(rel)-1]
	_, c := ypath.Lookup(n, last)
	if c == nil {
		c = cloneNode(v)
		n.Content = append(n.Content, scalar("!!str", last), c)
		if ensure {
			g.ensure[c] = true
		}
		return nil
	}
	return g.merge(c, v, ensure, base.Append(rel...))
}

func (g *templateGroup) merge(dst, v *yaml.Node, ensure bool, at ypath.Path) error {
	switch {
	case dst.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode:
		for _, kv := range pairs(v) {
			k := kv[0].Value
			if _, c := ypath.Lookup(dst, k); c != nil {
				if err := g.merge(c, kv[1], false, at.Append(k)); err != nil {
					return err
				}
				continue
			}
			dst.Content = append(dst.Content, scalar("!!str", k), cloneNode(kv[1]))
		}
		return nil
	case dst.Kind == yaml.SequenceNode && v.Kind == yaml.SequenceNode && ensure && g.ensure[dst]:
		for _, it := range v.Content {
			if !slices.ContainsFunc(dst.Content, func(d *yaml.Node) bool { return equalNode(d, it) }) {
				dst.Content = append(dst.Content, cloneNode(it))
			}
		}
		return nil
	case equalNode(dst, v) && !ensure && !g.ensure[dst]:
		return nil
	}
	return fmt.Errorf("another fix writes %s with a different value", at)
}

// insertion writes the group's tree as the first entries under its
// anchor.
func (s *source) insertion(g *templateGroup) Edit {
	st := style{step: g.at.step, seqOffset: g.at.step, flush: s.flushLists()}
	var lines []string
	for _, kv := range pairs(g.tree) {
		lines = append(lines, st.entryLines(g.at.entry, kv[0].Value, kv[1])...)
	}
	text := strings.Join(lines, s.nl) + s.nl
	if g.at.eof {
		// The anchor is the last line, which has no line break.
		text = s.nl + strings.Join(lines, s.nl)
	}
	return Edit{Offset: g.at.off, End: g.at.off, Text: text}
}
