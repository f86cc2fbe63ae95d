package render

import (
	"path"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/render/internal/helm"
)

// crdObjects returns the objects in the crds/ directories of the chart
// and its enabled subcharts, which helm install creates before anything
// else. They are not templates: their source is the file itself.
func crdObjects(c *helm.Chart, ix chartIndex) ([]*Object, error) {
	var objs []*Object
	t := ix.tree(c)
	for _, f := range c.Files() {
		ext := path.Ext(f.Name)
		if !strings.HasPrefix(f.Name, "crds/") || ext != ".yaml" && ext != ".yml" && ext != ".json" || t == nil {
			continue
		}
		if t.archive {
			docs, err := parseDocuments(t.dir, f.Data)
			if err != nil {
				return nil, errorf(t.dir, 0, "%s: %v", f.Name, err)
			}
			for _, d := range docs {
				for _, n := range expandLists(d) {
					if isObject(n) {
						objs = append(objs, &Object{Node: n, Source: archiveSource{File: t.dir, Origin: loc.OriginManifest}})
					}
				}
			}
			continue
		}
		got, err := manifestObjects(path.Join(t.dir, f.Name), loc.OriginManifest, f.Data)
		if err != nil {
			return nil, err
		}
		for _, o := range got {
			o.Node = deepCopy(o.Node)
			objs = append(objs, o)
		}
	}
	for _, d := range c.Dependencies() {
		got, err := crdObjects(d, ix)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// archiveSource locates every field at one place: a file whose lines are
// unknown (a vendored chart archive).
type archiveSource Location

func (f archiveSource) Locate(ypath.Path) Location { return Location(f) }

// templateObjects splits the output of one template into objects, each
// with a source map into the template.
// dir is the chart, blamed when the template's file is unknown.
// gluedDocSep is a document separator with text glued to it.
var gluedDocSep = regexp.MustCompile(`(?m)^---([^\s-])`)

func templateObjects(dir, key, text string, tf *tmplFile, includeTests bool) ([]*Object, error) {
	file := dir
	if tf != nil {
		file = tf.file
	}
	// Helm splits its output on "---" wherever a line starts with it, so
	// charts write "---# comment"; YAML needs a space after the marker.
	// The line count stays the same.
	text = gluedDocSep.ReplaceAllString(text, "--- $1")
	docs, over, e := decodeDocuments(file, []byte(text))
	if e != nil {
		// The line is one of the rendered output, not of the template.
		if over {
			return nil, errorf(file, 0, "rendered output (line %d): %s", e.Line, e.Message)
		}
		return nil, errorf(file, 0, "rendered output is not valid YAML (output line %d): %s", e.Line, strings.TrimPrefix(e.Message, "invalid YAML: "))
	}
	var tdocs []*tmplDoc
	if tf != nil && !tf.archive {
		tdocs = splitTemplate(tf.src)
	}
	var objs []*Object
	from := 0
	for k, d := range docs {
		items := expandLists(d)
		var doc *tmplDoc
		if len(tdocs) > 0 {
			j := matchTemplateDoc(k, len(docs), scalar(d, "kind"), tdocs, from)
			from, doc = j, tdocs[j]
		}
		for i, n := range items {
			if !isObject(n) || !includeTests && isTestHook(n) {
				continue
			}
			src := &helmTemplateSource{file: file, doc: doc, node: n, name: key, ordinal: len(objs)}
			if n != d {
				// An item of a List: its fields are written under items.
				src.prefix = ypath.Path{"items", ypath.Index(i)}
			}
			objs = append(objs, &Object{Node: n, Source: src})
		}
	}
	return objs, nil
}

// isTestHook reports whether an object is a Helm test hook.
func isTestHook(n *yaml.Node) bool {
	hooks := scalar(n, "metadata", "annotations", "helm.sh/hook")
	for _, h := range strings.Split(hooks, ",") {
		switch strings.TrimSpace(h) {
		case "test", "test-success", "test-failure":
			return true
		}
	}
	return false
}

// matchTemplateDoc picks the template document that produced the k-th of n
// rendered documents, whose kind is kind. Documents are matched by their
// literal kind, then by position when the counts agree, and otherwise
// fall back to the first document that writes YAML. from is the document
// the previous one matched, so that documents repeated by a range loop
// keep matching the same template document.
func matchTemplateDoc(k, n int, kind string, tdocs []*tmplDoc, from int) int {
	if n == len(tdocs) && kind != "" && tdocs[k].kind == kind {
		return k
	}
	if kind != "" {
		for j := from; j < len(tdocs); j++ {
			if tdocs[j].kind == kind {
				return j
			}
		}
		for j := 0; j < from; j++ {
			if tdocs[j].kind == kind {
				return j
			}
		}
	}
	if n == len(tdocs) && tdocs[k].kind == "" && tdocs[k].start >= 0 {
		return k
	}
	for j, d := range tdocs {
		if d.start >= 0 && d.kind == "" {
			return j
		}
	}
	for j, d := range tdocs {
		if d.start >= 0 {
			return j
		}
	}
	return 0
}

// tline is one line of a template with its template actions removed.
type tline struct {
	no     int // 1-based line number in the template file
	indent int // spaces before the text
	// col is the 0-based column where what the line writes starts: the
	// indentation, or the dash of a list element.
	col    int
	text   string // the line without actions, indentation or trailing space
	action bool   // the line has (part of) a template action
	// plain is set for literal YAML: not blank, a comment, only actions,
	// or the content of a block scalar.
	plain bool
}

// tmplDoc is one YAML document of a template (the text between "---"
// lines).
type tmplDoc struct {
	lines []tline
	start int    // index in lines of the first literal YAML line; -1 if none
	first int    // index of the first line with any content; -1 if none
	kind  string // the literal top-level kind, or ""
}

var tmplDocSepRE = regexp.MustCompile(`^---(\s|$)`)

// splitTemplate splits template source into documents and classifies
// each line.
func splitTemplate(src []byte) []*tmplDoc {
	stripped, actions := stripActions(string(src))
	raw := strings.Split(string(src), "\n")
	var docs []*tmplDoc
	cur := &tmplDoc{}
	flush := func() {
		cur.classify()
		if cur.first >= 0 {
			docs = append(docs, cur)
		}
		cur = &tmplDoc{}
	}
	for i, s := range stripped {
		if tmplDocSepRE.MatchString(raw[i]) {
			flush()
			continue
		}
		body := strings.TrimRight(s, " \t\r")
		trimmed := strings.TrimLeft(body, " \t")
		cur.lines = append(cur.lines, tline{
			no:     i + 1,
			indent: len(body) - len(trimmed),
			col:    len(body) - len(trimmed),
			text:   trimmed,
			action: actions[i],
		})
	}
	flush()
	return docs
}

var tmplBlockScalarRE = regexp.MustCompile(`(^|:\s+|^-\s+)[|>][-+0-9]*\s*(#.*)?$`)

// classify marks literal YAML lines and finds the document's start and
// kind.
func (d *tmplDoc) classify() {
	d.start, d.first = -1, -1
	blockIndent := -1 // inside a block scalar indented more than this
	for i := range d.lines {
		l := &d.lines[i]
		if blockIndent >= 0 {
			if l.text == "" || l.indent > blockIndent {
				continue
			}
			blockIndent = -1
		}
		if l.text != "" || l.action {
			if d.first < 0 && !strings.HasPrefix(l.text, "#") {
				d.first = i
			}
		}
		l.plain = l.text != "" && !strings.HasPrefix(l.text, "#")
		if !l.plain {
			continue
		}
		if d.start < 0 {
			d.start = i
		}
		if tmplBlockScalarRE.MatchString(l.text) {
			blockIndent = l.indent
			if rest, ok := strings.CutPrefix(l.text, "- "); ok {
				blockIndent += 2 + len(rest) - len(strings.TrimLeft(rest, " "))
				if _, _, isKey := tmplKey(rest); !isKey {
					blockIndent = l.indent
				}
			}
		}
	}
	if d.start >= 0 {
		top := d.lines[d.start].indent
		for _, l := range d.lines {
			if !l.plain || l.indent != top || l.action {
				continue
			}
			if k, v, ok := tmplKey(l.text); ok && k == "kind" {
				d.kind = tmplUnquote(strings.TrimSpace(tmplStripComment(v)))
				break
			}
		}
	}
}

// stripActions removes Go template actions from src and returns its
// lines, and for each line whether it had (part of) an action. Actions
// may span lines; quoted strings and comments inside them are skipped.
// There is one result line per line of src.
func stripActions(src string) ([]string, []bool) {
	var lines []string
	var actions []bool
	var b strings.Builder
	inAction, had := false, false
	// skipTo skips src[i:to+1] inside an action, ending the lines it spans.
	skipTo := func(i, to int) int {
		to = min(to, len(src)-1)
		for k := i; k <= to; k++ {
			if src[k] == '\n' {
				lines = append(lines, b.String())
				actions = append(actions, true)
				b.Reset()
			}
		}
		return to
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			lines = append(lines, b.String())
			actions = append(actions, had)
			b.Reset()
			had = inAction
			continue
		}
		if !inAction {
			if c == '{' && i+1 < len(src) && src[i+1] == '{' {
				inAction, had = true, true
				i++
				continue
			}
			b.WriteByte(c)
			continue
		}
		switch {
		case c == '}' && i+1 < len(src) && src[i+1] == '}':
			inAction = false
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				i = skipTo(i, len(src)-1)
				continue
			}
			i = skipTo(i, i+2+end+1)
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(src) && src[j] != c {
				if c != '`' && src[j] == '\n' {
					break // unterminated: the newline ends it
				}
				if c != '`' && src[j] == '\\' {
					j++
				}
				j++
			}
			if j < len(src) && src[j] == '\n' && c != '`' {
				j--
			}
			i = skipTo(i, j)
		}
	}
	lines = append(lines, b.String())
	actions = append(actions, had)
	return lines, actions
}

// tmplKey splits "key: value" (the key possibly quoted) into key and value.
func tmplKey(text string) (key, value string, ok bool) {
	if text == "" || tmplIsDash(text) {
		return "", "", false
	}
	if q := text[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(text[1:], q)
		if end < 0 {
			return "", "", false
		}
		rest := strings.TrimLeft(text[end+2:], " ")
		if !strings.HasPrefix(rest, ":") || len(rest) > 1 && rest[1] != ' ' {
			return "", "", false
		}
		return text[1 : end+1], strings.TrimLeft(rest[1:], " "), true
	}
	if strings.ContainsRune("{[#&*!|>%@`?", rune(text[0])) {
		return "", "", false
	}
	i := strings.Index(text, ": ")
	if i < 0 {
		if !strings.HasSuffix(text, ":") {
			return "", "", false
		}
		i = len(text) - 1
	}
	k := strings.TrimRight(text[:i], " ")
	if k == "" || strings.Contains(k, " #") {
		return "", "", false
	}
	return k, strings.TrimLeft(text[i+1:], " "), true
}

func tmplStripComment(v string) string {
	if strings.HasPrefix(v, "#") {
		return ""
	}
	if i := strings.Index(v, " #"); i >= 0 {
		return v[:i]
	}
	return v
}

func tmplUnquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

// helmTemplateSource locates the fields of an object rendered from a Helm
// template in the template's source text. It is best-effort: the keys of
// the path are looked up by indentation among the template's literal YAML
// lines, list elements by a literal value of their selecting field. A
// field that the rendered object has and the template writes literally is
// Exact; a field written by an action (toYaml of a values subtree, say) or
// absent from the object is reported at the nearest ancestor the template
// writes, with Exact false. When the template document is unknown the
// Location has Line 0 and File set: lines are never guessed.
type helmTemplateSource struct {
	file string
	doc  *tmplDoc   // nil when unknown (or the chart is an archive)
	node *yaml.Node // the rendered object
	// prefix is where the object is in the document: items[i] for the
	// items of a List, else empty.
	prefix ypath.Path
	// name is the engine's name of the template and ordinal the place of
	// the object in its output, which a traced render (values_trace.go)
	// matches objects by.
	name    string
	ordinal int
}

// Locate implements SourceMap.
func (h *helmTemplateSource) Locate(p ypath.Path) Location {
	loc := Location{File: h.file, Origin: loc.OriginHelmTemplate}
	d := h.doc
	if d == nil || d.first < 0 {
		return loc
	}
	startIdx := d.start
	if startIdx < 0 {
		startIdx = d.first
	}
	start := d.lines[startIdx]
	loc.Line, loc.Column = start.no, start.indent+1
	if d.start < 0 {
		return loc // the document is all actions: only its start is known
	}
	full := h.prefix.Append(p...)
	scope := d.lines[d.start:]
	sure := true
	depth := 0
	for _, seg := range full {
		if len(seg) >= 2 && seg[0] == '[' && seg[len(seg)-1] == ']' {
			items := tmplListItems(scope)
			if len(items) == 0 {
				break
			}
			it, ok := tmplSelectItem(items, seg[1:len(seg)-1])
			sure = sure && ok
			scope = it
			loc.Line, loc.Column = it[0].no, it[0].col+1 // the dash
			depth++
			continue
		}
		i, ok := tmplFindKey(scope, seg)
		if !ok {
			break
		}
		loc.Line, loc.Column = scope[i].no, scope[i].indent+1
		scope = tmplChildren(scope, i)
		depth++
	}
	if depth < len(h.prefix) {
		// The List item itself is not written literally.
		loc.Line, loc.Column = start.no, start.indent+1
		return loc
	}
	loc.Exact = depth == len(full) && sure && ypath.Walk(h.node, p).Depth == len(p)
	return loc
}

// tmplMinIndent is the indentation of the least indented literal line.
func tmplMinIndent(scope []tline) int {
	m := -1
	for _, l := range scope {
		if l.plain && (m < 0 || l.indent < m) {
			m = l.indent
		}
	}
	return m
}

func tmplIsDash(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// tmplFindKey returns the index of the line in scope that writes key at the
// scope's top level.
func tmplFindKey(scope []tline, key string) (int, bool) {
	top := tmplMinIndent(scope)
	for i, l := range scope {
		if !l.plain || l.indent != top || tmplIsDash(l.text) {
			continue
		}
		if k, _, ok := tmplKey(l.text); ok && tmplUnquote(k) == key {
			return i, true
		}
	}
	return 0, false
}

// tmplChildren returns the lines below the key at scope[i]: the more indented
// ones, and a list written at the key's own indentation.
func tmplChildren(scope []tline, i int) []tline {
	key := scope[i]
	end := i + 1
	for ; end < len(scope); end++ {
		l := scope[end]
		if !l.plain || l.indent > key.indent || l.indent == key.indent && tmplIsDash(l.text) {
			continue
		}
		break
	}
	return scope[i+1 : end]
}

// tmplListItems splits a scope that is a sequence into its elements. The
// first line of each element is rewritten without its dash, at the
// indentation of the text after the dash, so that an element can be
// searched like a mapping.
func tmplListItems(scope []tline) [][]tline {
	top := tmplMinIndent(scope)
	var items [][]tline
	for _, l := range scope {
		if l.plain && l.indent == top {
			if !tmplIsDash(l.text) {
				return nil
			}
			rest := strings.TrimPrefix(l.text, "-")
			trimmed := strings.TrimLeft(rest, " ")
			head := l
			head.indent = l.indent + 1 + len(rest) - len(trimmed)
			head.text = trimmed
			head.plain = trimmed != ""
			items = append(items, []tline{head})
			continue
		}
		if len(items) > 0 {
			items[len(items)-1] = append(items[len(items)-1], l)
		}
	}
	return items
}

// tmplSelectItem picks the element a selector ("name=web", "=NET_RAW", "2")
// means. ok is false when the choice is a guess.
func tmplSelectItem(items [][]tline, sel string) ([]tline, bool) {
	key, want, isKV := strings.Cut(sel, "=")
	if !isKV {
		i, err := strconv.Atoi(sel)
		if err == nil && i >= 0 && i < len(items) {
			return items[i], len(items) > 1 || i == 0
		}
		return items[0], len(items) == 1
	}
	var maybe [][]tline // elements whose selecting value is templated
	for _, it := range items {
		var l tline
		if key == "" {
			l = it[0]
			if !l.plain {
				maybe = append(maybe, it)
				continue
			}
			if l.action {
				maybe = append(maybe, it)
			} else if tmplUnquote(tmplStripComment(l.text)) == want {
				return it, true
			}
			continue
		}
		i, ok := tmplFindKey(it, key)
		if !ok {
			maybe = append(maybe, it)
			continue
		}
		l = it[i]
		_, v, _ := tmplKey(l.text)
		if l.action {
			maybe = append(maybe, it)
		} else if tmplUnquote(strings.TrimSpace(tmplStripComment(v))) == want {
			return it, true
		}
	}
	if len(maybe) > 0 {
		return maybe[0], len(maybe) == 1
	}
	return items[0], false
}
