package render

import (
	"fmt"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/internal/ypath"
)

// Kind is how a target is rendered.
type Kind string

// The target kinds.
const (
	KindHelm      Kind = "helm"
	KindKustomize Kind = "kustomize"
	// KindManifests is one plain manifest file, or a directory of them
	// (a Flux Kustomization or Argo CD directory source).
	KindManifests Kind = "manifests"
)

func (k Kind) String() string { return string(k) }

// Target is one thing the repository deploys and how to render it.
type Target struct {
	// Kind says which renderer builds the target.
	Kind Kind
	// Path is the chart directory, kustomization directory, or manifest
	// file or directory, relative to the root.
	Path string
	// Namespace is where objects without metadata.namespace are deployed;
	// empty when the repo does not say.
	Namespace string
	// ForceNamespace makes Namespace override the objects' own namespace
	// (Flux targetNamespace).
	ForceNamespace bool
	// Recurse makes a manifest directory include its subdirectories.
	Recurse bool
	// Helm holds the release settings of a Helm target.
	Helm *HelmOptions
	// Via is the GitOps object that deploys this target, if any.
	Via *Via
}

// Via names the Argo CD or Flux object that deploys a target (package
// loc's type).
type Via = loc.Via

// ID is a stable, human-readable name for the target: its path, plus the
// GitOps object that deploys it when there is one.
func (t *Target) ID() string {
	if t.Via == nil {
		return t.Path
	}
	return fmt.Sprintf("%s (%s %s)", t.Path, t.Via.Kind, t.Via.Name)
}

// HelmOptions are the release settings a Helm target renders with.
type HelmOptions struct {
	// ReleaseName defaults to the chart name.
	ReleaseName string
	// ValueFiles are root-relative values files, merged in order after
	// the chart's values.yaml.
	ValueFiles []string
	// Values are inline values (Argo CD values/valuesObject, Flux values),
	// merged after ValueFiles, each remembering where it is written.
	Values []InlineValues
	// Set are "key.path=value" parameters applied last (Argo CD
	// helm.parameters), as helm --set does.
	Set []string
	// IncludeTests renders Helm test hooks too.
	IncludeTests bool
}

// InlineValues is a values map written inside another file.
type InlineValues struct {
	// Node is the values mapping node.
	Node *yaml.Node
	// File is where Node is written; Node's lines refer to it.
	File string
}

// The location vocabulary is package loc's.
type (
	// Location is where a field of a rendered object is written.
	Location = loc.Location
	// Origin says what kind of source a Location points into.
	Origin = loc.Origin
)

// SourceMap tells where the fields of one rendered object are written.
type SourceMap interface {
	// Locate returns where field p is written, or where its nearest
	// written ancestor is when p itself is absent.
	Locate(p ypath.Path) Location
}

// Object is one rendered Kubernetes object.
type Object struct {
	// Node is the object's mapping node after rendering.
	Node   *yaml.Node
	Source SourceMap
}

// Error is a target or file that could not be discovered or rendered
// (package loc's type); its text is escaped for the terminal.
type Error = loc.Error

// errorf builds an Error.
func errorf(file string, line int, format string, args ...any) *Error {
	return loc.Errorf(file, line, format, args...)
}

// docSource locates fields in one YAML mapping node written in File.
type docSource struct {
	file   string
	origin Origin
	node   *yaml.Node
	// editable is true when node comes from a parse of file's own bytes,
	// or of the text of a literal block of the file with positions
	// shifted into it (not a synthetic or folded document).
	editable bool
	// ops are the JSON 6902 operations a fix may edit, when node is the
	// document built from them (not editable itself).
	ops []Doc
}

func (d docSource) Locate(p ypath.Path) Location {
	loc, _ := d.locate(p)
	return loc
}

// locate also reports how many segments of p are written in the node.
func (d docSource) locate(p ypath.Path) (Location, int) {
	m := ypath.Walk(d.node, p)
	line, col := m.Pos()
	if m.Depth == 0 {
		line, col = objectPos(d.node)
	}
	return Location{File: d.file, Line: line, Column: col, Origin: d.origin, Exact: m.Depth == len(p)}, m.Depth
}

// objectPos is the position of an object: its first key, where the
// document visibly starts.
func objectPos(n *yaml.Node) (int, int) {
	if n.Kind == yaml.MappingNode && len(n.Content) > 0 {
		return n.Content[0].Line, n.Content[0].Column
	}
	return n.Line, n.Column
}

// layered locates a field of an object built from a base document and
// patches; layers are in order of precedence (the last patch applied
// first) and the base is the last layer. A patch is where a field is
// written when the patch sets its value — a scalar, a list, or a mapping
// the base does not have. Mappings a patch only passes through, and the
// names a patch uses to select its target, belong to the base. When no
// layer writes the field, its deepest written ancestor is reported, ties
// going to the base, where a new field would be added.
type layered []docSource

func (l layered) Locate(p ypath.Path) Location {
	if len(l) == 0 {
		return Location{Origin: loc.OriginUnknown}
	}
	base := l[len(l)-1]
	baseLoc, baseDepth := base.locate(p)
	if !isIdentity(p) {
		for _, d := range l[:len(l)-1] {
			loc, _ := d.locate(p)
			if !loc.Exact {
				continue
			}
			if m := ypath.Walk(d.node, p); m.Value.Kind != yaml.MappingNode || !baseLoc.Exact {
				return loc
			}
		}
	}
	if baseLoc.Exact {
		return baseLoc
	}
	best, bestDepth := baseLoc, baseDepth
	for _, d := range l[:len(l)-1] {
		if loc, depth := d.locate(p); depth > bestDepth {
			best, bestDepth = loc, depth
		}
	}
	return best
}

// isIdentity reports whether p names a field a patch uses to select what
// it patches rather than to change it: the object's kind, apiVersion, name
// and namespace, and the name of a list element selected by name.
func isIdentity(p ypath.Path) bool {
	switch p.String() {
	case "", "kind", "apiVersion", "metadata", "metadata.name", "metadata.namespace":
		return true
	}
	n := len(p)
	return n >= 2 && p[n-1] == "name" && strings.HasPrefix(p[n-2], "[name=")
}

// Doc is a YAML document that an object is built from and that a fix may
// edit: Node is the object's mapping node in a parse of File's bytes, so
// its positions are positions in File.
type Doc struct {
	File   string
	Origin Origin // loc.OriginManifest, loc.OriginKustomizeBase or loc.OriginKustomizePatch
	Node   *yaml.Node
	// At is set when Node is a JSON 6902 operation (op, path, value)
	// rather than a document shaped like the object: the operation writes
	// its value at this path of the object. See Path.
	At ypath.Path
}

// Path returns the path in d.Node of the object's field p, and whether
// d can set it: p itself for a document shaped like the object; for a
// JSON 6902 operation, the path under its value when p is at or below
// At (the operation's own path).
func (d Doc) Path(p ypath.Path) (ypath.Path, bool) {
	if d.At == nil {
		return p, true
	}
	if !p.HasPrefix(d.At) {
		return nil, false
	}
	return append(ypath.Path{"value"}, p[len(d.At):]...), true
}

// docser is implemented by the source maps whose documents are files of
// the repository.
type docser interface{ docs() []Doc }

// Docs returns the documents obj is built from that are written in the
// repository as YAML, highest precedence first: the overlay patches that
// set its fields, then the resource file (the base). It is nil for
// objects rendered from templates or generated, and leaves out patches
// that cannot be edited field by field: patches written inside a
// kustomization as strings other than literal blocks. A JSON 6902
// operation that sets a value is a Doc with At set (see Doc.Path). A
// patch written as a literal block (patch: |) is a Doc of the
// kustomization file: Node is a parse of the block's text with positions
// in that file, which fix lowers into the block's lines.
func (o *Object) Docs() []Doc {
	if d, ok := o.Source.(docser); ok {
		return d.docs()
	}
	return nil
}

func (d docSource) docs() []Doc {
	if d.ops != nil {
		return d.ops
	}
	if !d.editable {
		return nil
	}
	return []Doc{{File: d.file, Origin: d.origin, Node: d.node}}
}

func (l layered) docs() []Doc {
	var out []Doc
	for _, d := range l {
		out = append(out, d.docs()...)
	}
	return out
}
