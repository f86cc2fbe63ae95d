package render

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// maxExpandedNodes bounds how many nodes one document may amount to once
// its aliases are expanded, so that "billion laughs" documents fail fast
// instead of exhausting memory in a later decode.
const maxExpandedNodes = 1_000_000

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlError converts a yaml.v3 error into an Error on file, offsetting its
// line by lineOffset (for documents cut out of a larger file).
func yamlError(file string, lineOffset int, err error) *Error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
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
// be resynchronised reliably) and is returned with its line.
func parseDocuments(file string, src []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return docs, yamlError(file, 0, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		if n := expandedSize(root, map[*yaml.Node]int{}, 0); n > maxExpandedNodes {
			return docs, errorf(file, root.Line, "document expands to more than %d nodes through aliases", maxExpandedNodes)
		}
		docs = append(docs, root)
	}
}

// expandedSize counts the nodes of n with aliases expanded, stopping once
// the count passes the limit. memo keeps shared anchors from being counted
// exponentially often.
func expandedSize(n *yaml.Node, memo map[*yaml.Node]int, depth int) int {
	if n == nil {
		return 0
	}
	if v, ok := memo[n]; ok {
		return v
	}
	if depth > 1000 {
		return maxExpandedNodes + 1
	}
	size := 1
	if n.Kind == yaml.AliasNode {
		size = expandedSize(n.Alias, memo, depth+1)
	}
	for _, c := range n.Content {
		size += expandedSize(c, memo, depth+1)
		if size > maxExpandedNodes {
			break
		}
	}
	memo[n] = size
	return size
}

// isObject reports whether n looks like a Kubernetes object.
func isObject(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	_, kind := lookup(n, "kind")
	_, av := lookup(n, "apiVersion")
	return kind != nil && av != nil && kind.Kind == yaml.ScalarNode && av.Kind == yaml.ScalarNode
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
func manifestObjects(file, origin string, src []byte) ([]*Object, error) {
	docs, err := parseDocuments(file, src)
	var objs []*Object
	for _, d := range docs {
		for _, n := range expandLists(d) {
			if isObject(n) {
				objs = append(objs, &Object{Node: n, Source: docSource{file: file, origin: origin, node: n}})
			}
		}
	}
	return objs, err
}

func expandLists(n *yaml.Node) []*yaml.Node {
	if items := listItems(n); items != nil {
		return items
	}
	return []*yaml.Node{n}
}
