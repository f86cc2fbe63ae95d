package lint

import (
	"encoding/json"
	"fmt"
	"sync"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/internal/ypath"
)

// Path is a field path inside a rendered object; see package ypath for
// its spelling ("spec.containers[name=web].securityContext").
type Path = ypath.Path

// The location vocabulary is package loc's; these names let rules and
// reports spell it as part of lint's.
type (
	// Origin says what kind of source a location points into.
	Origin = loc.Origin
	// Location is where in the repository a field of a rendered object
	// is written.
	Location = loc.Location
	// Via names the Argo CD or Flux object that deploys a target.
	Via = loc.Via
)

// The origins a Location can have. OriginUnknown is stated, never guessed.
const (
	OriginManifest       = loc.OriginManifest
	OriginKustomizeBase  = loc.OriginKustomizeBase
	OriginKustomizePatch = loc.OriginKustomizePatch
	OriginHelmTemplate   = loc.OriginHelmTemplate
	OriginHelmValues     = loc.OriginHelmValues
	OriginUnknown        = loc.OriginUnknown
)

// Resource identifies a Kubernetes object as the cluster would.
type Resource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
}

func (r Resource) String() string {
	if r.Namespace == "" {
		return r.Kind + "/" + r.Name
	}
	return r.Kind + "/" + r.Namespace + "/" + r.Name
}

// Object is a rendered Kubernetes object as rules see it. Node is the
// object's mapping node and must not be modified by rules.
type Object struct {
	Resource Resource
	// Node is the rendered object (a YAML mapping node) as the API server
	// reads it: where a mapping has a key twice, only the last occurrence
	// is kept (Duplicates lists the others' later occurrences).
	Node *yaml.Node
	// Duplicates are the keys the rendered object has twice in one
	// mapping, as written (see DuplicateKeys); nil for almost every object.
	Duplicates []Duplicate
	// Target is the chart, overlay or directory the object was rendered
	// from, relative to the repository root.
	Target string
	// Via is the GitOps object that deploys the target, if any.
	Via *Via
	// Locate maps a field path to where it is written in the sources, or
	// to its nearest written ancestor when the field is absent. Nil means
	// every location is unknown.
	Locate func(Path) Location

	podOnce sync.Once
	pod     *PodTemplate
	podErr  error
}

// NewObject builds the view of a rendered object node, reading its
// identity from the node.
func NewObject(node *yaml.Node, target string, locate func(Path) Location) *Object {
	o := &Object{Node: node, Target: target, Locate: locate, Duplicates: DuplicateKeys(node)}
	if len(o.Duplicates) > 0 {
		o.Node = lastKeyWins(node)
	}
	o.Resource = Resource{
		APIVersion: o.String(Path{"apiVersion"}),
		Kind:       o.String(Path{"kind"}),
		Namespace:  o.String(Path{"metadata", "namespace"}),
		Name:       o.String(Path{"metadata", "name"}),
	}
	return o
}

// Get returns the node at p, or nil when the field is absent.
func (o *Object) Get(p Path) *yaml.Node {
	m := ypath.Walk(o.Node, p)
	if m.Depth != len(p) {
		return nil
	}
	return m.Value
}

// String returns the scalar at p, or "" when absent or not a scalar.
func (o *Object) String(p Path) string {
	if n := o.Get(p); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// Location returns where field p of the object is written.
func (o *Object) Location(p Path) Location {
	if o.Locate == nil {
		return Location{Origin: OriginUnknown}
	}
	return o.Locate(p)
}

// Decode decodes the object into v (non-strict, through JSON as the API
// server would read it).
func (o *Object) Decode(v any) error { return decodeNode(o.Node, v) }

func decodeNode(n *yaml.Node, v any) error {
	var generic any
	if err := n.Decode(&generic); err != nil {
		return err
	}
	b, err := json.Marshal(jsonCompatible(generic))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// jsonCompatible turns the map[string]any / map[any]any trees yaml.v3
// produces into ones encoding/json accepts.
func jsonCompatible(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonCompatible(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = jsonCompatible(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = jsonCompatible(e)
		}
		return t
	default:
		return v
	}
}

// PodTemplate is the pod inside a workload object, with the field paths
// that lead to it so findings can point at the right lines.
type PodTemplate struct {
	// MetaPath is the path of the pod's metadata (for a Pod: "metadata").
	MetaPath Path
	// SpecPath is the path of the pod spec (for a Deployment:
	// "spec.template.spec").
	SpecPath Path
	Meta     metav1.ObjectMeta
	Spec     corev1.PodSpec
}

// podTemplatePaths says where each workload kind keeps its pod template.
var podTemplatePaths = map[string]Path{
	"Pod":                   nil,
	"PodTemplate":           {"template"},
	"Deployment":            {"spec", "template"},
	"StatefulSet":           {"spec", "template"},
	"DaemonSet":             {"spec", "template"},
	"ReplicaSet":            {"spec", "template"},
	"ReplicationController": {"spec", "template"},
	"Job":                   {"spec", "template"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template"},
}

// IsWorkload reports whether objects of kind carry a pod template.
func IsWorkload(kind string) bool {
	_, ok := podTemplatePaths[kind]
	return ok
}

// PodTemplate returns the pod of a workload object, decoded once. It
// returns (nil, nil) for kinds that have no pod and an error when the pod
// spec cannot be decoded.
func (o *Object) PodTemplate() (*PodTemplate, error) {
	o.podOnce.Do(func() {
		prefix, ok := podTemplatePaths[o.Resource.Kind]
		if !ok {
			return
		}
		pt := &PodTemplate{MetaPath: prefix.Append("metadata"), SpecPath: prefix.Append("spec")}
		if n := o.Get(pt.MetaPath); n != nil {
			if err := decodeNode(n, &pt.Meta); err != nil {
				o.podErr = fmt.Errorf("decode %s: %w", pt.MetaPath, err)
				return
			}
		}
		if n := o.Get(pt.SpecPath); n != nil {
			if err := decodeNode(n, &pt.Spec); err != nil {
				o.podErr = fmt.Errorf("decode %s: %w", pt.SpecPath, err)
				return
			}
		}
		if o.Resource.Kind == "Pod" {
			pt.Meta.Namespace = o.Resource.Namespace
		}
		o.pod = pt
	})
	return o.pod, o.podErr
}

// ContainerList names one of the pod spec's container lists.
type ContainerList string

// The pod spec's container lists, in the order the API server lists them.
const (
	Containers          ContainerList = "containers"
	InitContainers      ContainerList = "initContainers"
	EphemeralContainers ContainerList = "ephemeralContainers"
)

// ContainerRef is one container of a pod template with its field path.
type ContainerRef struct {
	List ContainerList
	Name string
	// Path is the container's path in the object:
	// spec.template.spec.containers[name=web].
	Path Path
	// SecurityContext is the container's security context, nil if unset.
	SecurityContext *corev1.SecurityContext
}

// Containers returns every container of the pod template, regular ones
// first, then init and ephemeral containers.
func (pt *PodTemplate) Containers() []ContainerRef {
	var out []ContainerRef
	add := func(list ContainerList, name string, i int, sc *corev1.SecurityContext) {
		seg := ypath.Elem("name", name)
		if name == "" {
			seg = ypath.Index(i)
		}
		out = append(out, ContainerRef{List: list, Name: name, Path: pt.SpecPath.Append(string(list), seg), SecurityContext: sc})
	}
	for i, c := range pt.Spec.Containers {
		add(Containers, c.Name, i, c.SecurityContext)
	}
	for i, c := range pt.Spec.InitContainers {
		add(InitContainers, c.Name, i, c.SecurityContext)
	}
	for i, c := range pt.Spec.EphemeralContainers {
		add(EphemeralContainers, c.Name, i, c.SecurityContext)
	}
	return out
}

// Duplicate is a mapping key written again in the same mapping.
type Duplicate struct {
	// Path is the key's field path (both occurrences have it).
	Path Path
	// Key is the later occurrence; its position is in the parsed text.
	Key *yaml.Node
}

// DuplicateKeys returns the keys written twice in one mapping of n, each
// later occurrence once, in document order. Merge keys ("<<") are not
// counted.
func DuplicateKeys(n *yaml.Node) []Duplicate {
	var out []Duplicate
	var walk func(n *yaml.Node, at Path)
	walk = func(n *yaml.Node, at Path) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, at)
			}
		case yaml.MappingNode:
			seen := map[string]bool{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind == yaml.ScalarNode && k.Value != "<<" {
					if seen[k.Value] {
						out = append(out, Duplicate{Path: at.Append(k.Value), Key: k})
					}
					seen[k.Value] = true
				}
				walk(n.Content[i+1], at.Append(k.Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, at.Append(ypath.Index(i)))
			}
		}
	}
	walk(n, nil)
	return out
}

// lastKeyWins returns a copy of n in which only the last occurrence of
// each key of a mapping is kept, which is how the API server reads such an
// object without strict field validation (and what encoding/json does).
// Rules so see the object as it would be applied; invalid-object reports
// the duplicates.
func lastKeyWins(n *yaml.Node) *yaml.Node {
	var dedupe func(n *yaml.Node) *yaml.Node
	dedupe = func(n *yaml.Node) *yaml.Node {
		c := *n
		c.Content = nil
		switch n.Kind {
		case yaml.MappingNode:
			last := map[string]int{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value != "<<" {
					last[k.Value] = i
				}
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if j, ok := last[k.Value]; ok && k.Kind == yaml.ScalarNode && k.Value != "<<" && j != i {
					continue
				}
				c.Content = append(c.Content, k, dedupe(n.Content[i+1]))
			}
		default:
			for _, e := range n.Content {
				c.Content = append(c.Content, dedupe(e))
			}
		}
		return &c
	}
	return dedupe(n)
}
