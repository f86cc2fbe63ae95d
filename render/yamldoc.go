package render

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// Bounds on the YAML kubeharden reads, checked by parseDocuments right
// after parsing and before anything copies, expands or walks the tree.
// They are variables only so that tests can lower them.
var (
	// maxExpandedNodes bounds how many nodes one document may amount to
	// once its aliases are expanded, so that "billion laughs" documents
	// fail fast instead of exhausting memory in a later decode or copy.
	// It also bounds the nodes the aliases of one file add in all, so
	// that many small bombs in one file cannot add up.
	maxExpandedNodes = 1_000_000
	// maxDepth bounds how deeply a document nests, aliases expanded. The
	// YAML parser refuses more than 10000 levels on its own; no real
	// manifest, values file or schema comes near 1000.
	maxDepth = 1000
)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError converts a yaml.v3 error into an Error on file, offsetting its
// line by lineOffset (for documents cut out of a larger file).
func yamlError(file string, lineOffset int, err error) *Error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if strings.Contains(msg, "exceeded max depth of ") {
		// The parser stops at 10000 levels, not always saying on which
		// line.
		line := 0
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			line += lineOffset
		}
		return errorf(file, line, "document nests more than 10000 levels deep")
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		// yaml.v3 reports parser errors ("did not find expected ...") at
		// the 0-based line of the construct being parsed; scanner errors
		// are already 1-based.
		if strings.HasPrefix(m[2], "did not find expected") {
			n++
		}
		return errorf(file, n+lineOffset, "invalid YAML: %s", m[2])
	}
	return errorf(file, 0, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// parseDocuments decodes every YAML document in src and returns the root
// node of each non-empty one. A syntax error stops the stream (YAML cannot
// be resynchronised reliably) and is returned with its line, as is a
// document over the bounds above.
func parseDocuments(file string, src []byte) ([]*yaml.Node, error) {
	docs, _, err := decodeDocuments(file, src)
	if err != nil {
		return docs, err
	}
	return docs, nil
}

// overBounds returns the error parseDocuments gives src when src is YAML
// over the bounds above, and nil otherwise, valid YAML or not.
func overBounds(file string, src []byte) *Error {
	if _, over, err := decodeDocuments(file, src); over {
		return err
	}
	return nil
}

// decodeDocuments does the work of parseDocuments; over reports that err
// is about the bounds rather than the syntax.
func decodeDocuments(file string, src []byte) (docs []*yaml.Node, over bool, err *Error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	added := 0 // nodes the aliases of the documents so far add
	for {
		var doc yaml.Node
		derr := dec.Decode(&doc)
		if derr == io.EOF {
			return docs, false, nil
		}
		if derr != nil {
			e := yamlError(file, 0, derr)
			// An error at the end of the input ("did not find expected
			// node content" for an unclosed "[") is one line past the last.
			e.Line = min(e.Line, lastLine(src))
			return docs, false, e
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		c := checkBounds(root)
		if c.err != "" {
			return docs, true, errorf(file, c.line, "%s", c.err)
		}
		if added += c.expanded - c.distinct; added > maxExpandedNodes {
			return docs, true, errorf(file, root.Line, "the aliases of this file expand to more than %d nodes in all", maxExpandedNodes)
		}
		docs = append(docs, root)
	}
}

// lastLine returns the number of the last line of src, counting lines
// as the YAML parser does ("\r\n", a lone "\r" and the Unicode breaks
// NEL, LS and PS each end one); a break at the very end starts no line.
func lastLine(src []byte) int {
	n := 1
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		if r == '\r' && i+1 < len(src) && src[i+1] == '\n' {
			size++
		}
		switch r {
		case '\r', '\n', '\u0085', '\u2028', '\u2029':
			if i+size < len(src) {
				n++
			}
		}
		i += size
	}
	return n
}

// boundsCheck is the result of checking one document against the bounds.
type boundsCheck struct {
	expanded int // nodes with aliases expanded (up to the bound)
	distinct int // nodes as parsed (an alias is one node)
	aliases  bool
	err      string // why the document is refused, or ""
	line     int    // where err applies
	rootLine int    // where the document starts
	// memo holds the expanded size and height of anchored nodes, which
	// aliases may repeat; open holds the anchored nodes being counted, an
	// alias to which would make the tree infinite.
	memo map[*yaml.Node][2]int
	open map[*yaml.Node]bool
}

// checkBounds counts the nodes of the document rooted at root with its
// aliases expanded, and refuses it when it has too many, nests too
// deeply, or has an alias inside the node it refers to. Shared anchors
// are counted once each, so the check costs no more than the document's
// own size, however far its aliases would expand.
func checkBounds(root *yaml.Node) *boundsCheck {
	c := &boundsCheck{rootLine: root.Line, memo: map[*yaml.Node][2]int{}, open: map[*yaml.Node]bool{}}
	c.expanded, _ = c.size(root, 1)
	if c.expanded > maxExpandedNodes {
		c.fail(0, "")
	}
	return c
}

// fail records why the document is refused, at line; msg "" means too
// many nodes, which is said at the start of the document.
func (c *boundsCheck) fail(line int, msg string) {
	if c.err != "" {
		return
	}
	if msg == "" {
		line = c.rootLine
		msg = fmt.Sprintf("document has more than %d nodes", maxExpandedNodes)
		if c.aliases {
			msg = fmt.Sprintf("document expands to more than %d nodes through aliases", maxExpandedNodes)
		}
	}
	c.err, c.line = msg, line
}

// size returns the expanded size and height of n, which is at depth
// (the root is at depth 1). It stops early once the document is refused.
func (c *boundsCheck) size(n *yaml.Node, depth int) (size, height int) {
	if n == nil || c.err != "" {
		return 0, 0
	}
	if n.Kind == yaml.AliasNode {
		c.aliases = true
		c.distinct++
		t := n.Alias
		if t == nil {
			return 1, 1
		}
		if c.open[t] {
			c.fail(n.Line, fmt.Sprintf("alias *%s is inside the node it refers to", n.Value))
			return 0, 0
		}
		if m, ok := c.memo[t]; ok {
			if depth-1+m[1] > maxDepth {
				c.fail(n.Line, fmt.Sprintf("document nests more than %d levels deep through aliases", maxDepth))
			}
			return m[0], m[1]
		}
		return c.size(t, depth)
	}
	if depth > maxDepth {
		c.fail(n.Line, fmt.Sprintf("document nests more than %d levels deep", maxDepth))
		return 0, 0
	}
	c.distinct++
	if n.Anchor != "" {
		c.open[n] = true
	}
	size, height = 1, 1
	for _, ch := range n.Content {
		s, h := c.size(ch, depth+1)
		size += s
		height = max(height, h+1)
		if size > maxExpandedNodes {
			c.fail(0, "")
			break
		}
	}
	if n.Anchor != "" {
		delete(c.open, n)
		c.memo[n] = [2]int{size, height}
	}
	return size, height
}

// isObject reports whether n looks like a Kubernetes object.
func isObject(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	_, kind := lookup(n, "kind")
	_, av := lookup(n, "apiVersion")
	return kind != nil && av != nil && kind.Kind == yaml.ScalarNode && av.Kind == yaml.ScalarNode && !isPatchFragment(n)
}

// isPatchFragment reports whether a document is a strategic merge patch
// rather than an object: it has a top-level $patch directive (delete,
// replace), which no object the API server accepts has.
func isPatchFragment(n *yaml.Node) bool {
	k, _ := lookup(n, "$patch")
	return k != nil
}

// listItems returns the items of a List object (v1 List or any *List kind
// with items), or nil for other objects.
func listItems(n *yaml.Node) []*yaml.Node {
	_, kind := lookup(n, "kind")
	if kind == nil || !strings.HasSuffix(kind.Value, "List") {
		return nil
	}
	_, items := lookup(n, "items")
	if items == nil || items.Kind != yaml.SequenceNode {
		return nil
	}
	return items.Content
}

func lookup(n *yaml.Node, k string) (*yaml.Node, *yaml.Node) { return ypath.Lookup(n, k) }

// scalar returns the scalar value at the path of keys, or "".
func scalar(n *yaml.Node, keys ...string) string {
	for _, k := range keys {
		_, n = lookup(n, k)
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// manifestObjects parses a plain manifest file into objects whose source
// map points into the file itself. Documents that are not Kubernetes
// objects are skipped.
func manifestObjects(file string, origin Origin, src []byte) ([]*Object, error) {
	docs, err := parseDocuments(file, src)
	return docObjects(file, origin, docs), err
}

// docObjects are the objects of parsed documents of file, each with a
// source map into its own node.
func docObjects(file string, origin Origin, docs []*yaml.Node) []*Object {
	var objs []*Object
	for _, d := range docs {
		for _, n := range expandLists(d) {
			if isObject(n) {
				objs = append(objs, &Object{Node: n, Source: docSource{file: file, origin: origin, node: n, editable: true}})
			}
		}
	}
	return objs
}

func expandLists(n *yaml.Node) []*yaml.Node {
	if items := listItems(n); items != nil {
		return items
	}
	return []*yaml.Node{n}
}
