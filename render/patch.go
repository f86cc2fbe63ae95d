package render

import (
	"bytes"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/internal/ypath"
)

// loadedPatch is a kustomize patch read for the source map: strategic
// merge documents, or JSON 6902 operations, with positions in the file
// that holds them (the patch file, or the kustomization for inline ones).
type loadedPatch struct {
	file   string
	docs   []*yaml.Node
	ops    []jsonOp
	target *selector
	// editable is true for strategic merge documents parsed from a patch
	// file of their own, or from a literal block of the kustomization,
	// whose nodes can be edited in place.
	editable bool
	// opsEditable is true for JSON 6902 operations read from such a file
	// or block: an operation's value can be edited in place.
	opsEditable bool
}

// jsonOp is one JSON 6902 operation that writes a value.
type jsonOp struct {
	path  []string
	value *yaml.Node
	// line and col are where the operation's value is written.
	line, col int
	// item is the operation's mapping (op, path, value).
	item *yaml.Node
}

// loadPatches reads every patch of the kustomization graph, ordered by
// precedence: the top overlay's last patch first, a base's first patch
// last. Unreadable patches are skipped; krusty reports them.
func (r *Renderer) loadPatches(graph []*kustomization) ([]loadedPatch, error) {
	var out []loadedPatch
	for _, k := range graph {
		for i := len(k.patches) - 1; i >= 0; i-- {
			pe := k.patches[i]
			lp := loadedPatch{file: pe.path, target: pe.target}
			var docs []*yaml.Node
			if pe.path != "" {
				var err error
				if docs, err = r.files.documents(pe.path); err != nil {
					continue
				}
				lp.editable = true
			} else if pe.inline != nil {
				lp.file = k.file
				docs = inlineDocs(k.src, pe.inline)
				// A literal block keeps the patch's lines at their place
				// in the kustomization: its documents are edited there.
				lp.editable = inlineLiteral(k.src, pe.inline)
			}
			if len(docs) == 1 && docs[0].Kind == yaml.SequenceNode {
				lp.ops = readJSONOps(docs[0])
				lp.editable, lp.opsEditable = false, lp.editable
			} else if !pe.json {
				lp.docs = docs
			}
			out = append(out, lp)
		}
	}
	return out, nil
}

// inlineDocs parses a patch written as a string inside a kustomization,
// shifting positions so they refer to the kustomization file.
func inlineDocs(src []byte, n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode {
		return []*yaml.Node{n}
	}
	docs, err := parseDocuments("", []byte(n.Value))
	if err != nil {
		return nil
	}
	switch {
	case inlineLiteral(src, n):
		// A literal block keeps its lines: line i of the patch is the
		// i-th line after the one that starts the block, indented by the
		// block's indentation.
		for _, d := range docs {
			shift(d, n.Line, blockIndent(src, n.Line+1))
		}
	case !strings.Contains(n.Value, "\n"):
		// One line of patch, perhaps folded from several of the file:
		// the line is where the scalar starts, the columns after its quote.
		dCol := n.Column - 1
		if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) != 0 {
			dCol++
		}
		for _, d := range docs {
			shift(d, n.Line-1, dCol)
		}
	default:
		// A folded block or a quoted string with line breaks: the patch's
		// lines are not the file's (folding joins them, "\n" escapes
		// make new ones), so every field is placed where the patch starts.
		for _, d := range docs {
			place(d, n.Line, n.Column)
		}
	}
	return docs
}

// inlineLiteral reports whether n is a literal block scalar whose lines
// are the lines of its text after the block's indentation, as yaml.v3
// finds it from the first line that is not blank: no explicit
// indentation indicator, no tabs or carriage returns in the block.
func inlineLiteral(src []byte, n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode || n.Style&yaml.LiteralStyle == 0 {
		return false
	}
	lines := bytes.Split(src, []byte("\n"))
	if n.Line < 1 || n.Line > len(lines) {
		return false
	}
	head := lines[n.Line-1]
	if n.Column-1 >= len(head) || head[n.Column-1] != '|' {
		return false
	}
	for _, c := range head[n.Column:] {
		if c == ' ' || c == '#' {
			break
		}
		if c >= '1' && c <= '9' {
			return false
		}
	}
	ind := blockIndent(src, n.Line+1)
	if ind <= 0 {
		return false
	}
	var text []string
	for _, l := range lines[n.Line:] {
		if len(bytes.TrimLeft(l, " ")) > 0 && len(l)-len(bytes.TrimLeft(l, " ")) < ind {
			break
		}
		if len(l) >= ind {
			l = l[ind:]
		} else {
			l = nil
		}
		text = append(text, string(l))
	}
	return strings.TrimRight(strings.Join(text, "\n"), "\n") == strings.TrimRight(n.Value, "\n")
}

// blockIndent returns the indentation of the first line from 1-based
// line on that is not blank: a block scalar's indentation.
func blockIndent(src []byte, line int) int {
	lines := bytes.Split(src, []byte("\n"))
	for i := line - 1; i >= 0 && i < len(lines); i++ {
		l := lines[i]
		if t := bytes.TrimLeft(l, " "); len(t) > 0 {
			return len(l) - len(t)
		}
	}
	return 0
}

// place puts n and every node below it at line and col.
func place(n *yaml.Node, line, col int) {
	n.Line, n.Column = line, col
	for _, c := range n.Content {
		place(c, line, col)
	}
}

func shift(n *yaml.Node, dLine, dCol int) {
	n.Line += dLine
	n.Column += dCol
	for _, c := range n.Content {
		shift(c, dLine, dCol)
	}
}

func readJSONOps(seq *yaml.Node) []jsonOp {
	var ops []jsonOp
	for _, it := range seq.Content {
		op := scalar(it, "op")
		if op != "add" && op != "replace" && op != "copy" && op != "move" {
			continue
		}
		p := scalar(it, "path")
		if !strings.HasPrefix(p, "/") {
			continue
		}
		segs := strings.Split(p[1:], "/")
		for i, s := range segs {
			segs[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(s)
		}
		k, v := lookup(it, "value")
		if k == nil {
			k = it
		}
		ops = append(ops, jsonOp{path: segs, value: v, line: k.Line, col: k.Column, item: it})
	}
	return ops
}

// matchObject returns the node of this patch that applies to the rendered
// object obj (whose name before overlays was baseName), or nil.
func (p loadedPatch) matchObject(obj *yaml.Node, baseName string) *yaml.Node {
	av, kind := scalar(obj, "apiVersion"), scalar(obj, "kind")
	name, ns := scalar(obj, "metadata", "name"), scalar(obj, "metadata", "namespace")
	if len(p.ops) > 0 {
		if p.target == nil || !p.target.matches(av, kind, ns, baseName, name) {
			return nil
		}
		return opsAsDoc(p.ops, obj)
	}
	for _, d := range p.docs {
		if p.target != nil {
			if p.target.matches(av, kind, ns, baseName, name) {
				return d
			}
			continue
		}
		pn := scalar(d, "metadata", "name")
		if scalar(d, "kind") == kind && (pn == baseName || pn == name) {
			return d
		}
	}
	return nil
}

// opsAsDoc builds a document shaped like the patched object in which each
// value written by a JSON 6902 operation sits at its path, so it can be
// searched like a strategic merge patch. List indexes are turned into
// name selectors using the rendered object, as field paths spell them.
func opsAsDoc(ops []jsonOp, obj *yaml.Node) *yaml.Node {
	root := &yaml.Node{Kind: yaml.MappingNode}
	for _, op := range ops {
		cur, ref := root, obj
		for i, seg := range op.path {
			last := i == len(op.path)-1
			var next *yaml.Node
			if ref != nil && ref.Kind == yaml.SequenceNode {
				idx, err := strconv.Atoi(seg)
				if seg == "-" {
					idx, err = len(ref.Content)-1, nil
				}
				if err != nil || idx < 0 || idx >= len(ref.Content) {
					break
				}
				el := ref.Content[idx]
				if cur.Kind != yaml.SequenceNode {
					cur.Kind = yaml.SequenceNode
				}
				next = &yaml.Node{Kind: yaml.MappingNode, Line: op.line, Column: op.col}
				if n := scalar(el, "name"); n != "" {
					next.Content = []*yaml.Node{{Kind: yaml.ScalarNode, Value: "name", Line: op.line, Column: op.col}, {Kind: yaml.ScalarNode, Value: n, Line: op.line, Column: op.col}}
				}
				if last && op.value != nil {
					next = op.value
				}
				cur.Content = append(cur.Content, next)
				cur, ref = next, el
				continue
			}
			_, existing := lookup(cur, seg)
			switch {
			case last && op.value != nil:
				next = op.value
			case existing != nil:
				next = existing
			default:
				next = &yaml.Node{Kind: yaml.MappingNode, Line: op.line, Column: op.col}
			}
			if existing == nil || last {
				cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: seg, Line: op.line, Column: op.col}, next)
			}
			_, ref = lookup(ref, seg)
			cur = next
		}
	}
	return root
}

// opDocs returns the operations of this patch that set a value in the
// rendered object obj, as documents a fix may edit: each one's Node is
// the operation, and At the path in obj its value is written at (list
// indexes turned into name selectors, as field paths spell them). It is
// nil unless the operations' positions are their place in the file.
func (p loadedPatch) opDocs(obj *yaml.Node) []Doc {
	if !p.opsEditable {
		return nil
	}
	var out []Doc
	for _, op := range p.ops {
		if op.value == nil || op.item == nil {
			continue
		}
		if at, ok := objectPath(op.path, obj); ok {
			out = append(out, Doc{File: p.file, Origin: loc.OriginKustomizePatch, Node: op.item, At: at})
		}
	}
	return out
}

// objectPath spells a JSON pointer's segments as a field path of obj.
func objectPath(segs []string, obj *yaml.Node) (ypath.Path, bool) {
	var out ypath.Path
	ref := obj
	for _, seg := range segs {
		if ref == nil {
			return nil, false
		}
		if ref.Kind == yaml.SequenceNode {
			idx, err := strconv.Atoi(seg)
			if seg == "-" {
				idx, err = len(ref.Content)-1, nil
			}
			if err != nil || idx < 0 || idx >= len(ref.Content) {
				return nil, false
			}
			el := ref.Content[idx]
			if n := scalar(el, "name"); n != "" {
				out = append(out, ypath.Elem("name", n))
			} else {
				out = append(out, ypath.Index(idx))
			}
			ref = el
			continue
		}
		if seg == "" {
			return nil, false
		}
		out = append(out, seg)
		_, ref = lookup(ref, seg)
	}
	return out, len(out) > 0
}
