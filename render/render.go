package render

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kubeharden/kubeharden/internal/loc"
	yaml "go.yaml.in/yaml/v3"
)

// Options bound and parameterise rendering.
type Options struct {
	// KubeVersion is the cluster version charts see as
	// .Capabilities.KubeVersion ("1.37" or "v1.37.0"); empty means the
	// newest version the compiled-in libraries know.
	KubeVersion string
	// Timeout bounds the rendering of one target; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxOutput bounds the bytes one target may render; 0 means
	// DefaultMaxOutput.
	MaxOutput int64
	// MaxMemory bounds what the renders in flight together may charge
	// (the run's memory budget, see memBudget); 0 means
	// DefaultMaxMemory.
	MaxMemory int64
}

// Defaults for Options.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultMaxOutput = 64 << 20
	DefaultMaxMemory = 1 << 30
)

// Renderer renders targets of one repository. It is safe for concurrent
// use; charts and kustomizations read once are reused across targets.
type Renderer struct {
	fs    *FS
	opts  Options
	helm  *helmCache
	files *fileCache
	// workers counts the goroutines that run a Helm engine or a
	// kustomize build. A render that times out returns while its worker
	// runs on until it notices (see renderHelmWith, renderKustomize);
	// tests wait for them with waitWorkers.
	workers sync.WaitGroup
	// mem is the memory budget the renders share.
	mem *memBudget
	// instr keeps instrumented charts for later renders of the same
	// templates (instrcache.go).
	instr instrCache
}

// NewRenderer returns a Renderer reading through fsys.
func NewRenderer(fsys *FS, opts Options) *Renderer {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = DefaultMaxOutput
	}
	if opts.MaxMemory <= 0 {
		opts.MaxMemory = DefaultMaxMemory
	}
	return &Renderer{fs: fsys, opts: opts, helm: newHelmCache(), files: newFileCache(fsys),
		mem: newMemBudget(opts.MaxMemory)}
}

// FS returns the file system the renderer reads.
func (r *Renderer) FS() *FS { return r.fs }

// WithFS returns a renderer with the same options reading fsys (for
// verifying edits held in an overlay). Caches are not shared.
func (r *Renderer) WithFS(fsys *FS) *Renderer {
	n := NewRenderer(fsys, r.opts)
	n.mem = r.mem
	return n
}

// waitWorkers returns once every worker goroutine the renderer started
// has ended, those of abandoned renders included. It must not be called
// while renders are being started.
func (r *Renderer) waitWorkers() { r.workers.Wait() }

// Result is what rendering one target produced.
type Result struct {
	// Objects are the rendered objects, in output order.
	Objects []*Object
	// Files are the root-relative files the render read, sorted and
	// without repeats: a manifest target's YAML files; every file krusty
	// read for a kustomization (its kustomization files, resources,
	// patches and generator inputs); a chart's loaded files (after
	// .helmignore, with vendored and file:// dependencies) and the values
	// files of the release. The GitOps object that deploys the target and
	// the file its inline values are written in are not read by the
	// render (discovery read them) and are not listed. This is the one
	// record of a target's input files: digests are computed from it.
	Files []string
	// Warnings are what the render's tools would have printed (a
	// kustomization's deprecated fields), each naming its file; they are
	// not errors.
	Warnings []loc.Error
}

// Render renders one target. The result holds what was rendered and
// read even when err is set (some files of a target may fail while others
// render); err is an *Error naming the file and line at fault whenever
// they are known.
func (r *Renderer) Render(ctx context.Context, t *Target) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	var (
		res Result
		err error
	)
	switch t.Kind {
	case KindHelm:
		res.Objects, err = r.renderHelm(ctx, t)
		res.Files = r.helmFiles(t)
	case KindKustomize:
		res.Objects, res.Files, res.Warnings, err = r.renderKustomize(ctx, t)
	case KindManifests:
		res.Objects, res.Files, err = r.renderManifests(ctx, t)
	default:
		err = fmt.Errorf("unknown target kind %q", t.Kind)
	}
	if err == nil && ctx.Err() != nil {
		err = errorf(t.Path, 0, "rendering took longer than %s", r.opts.Timeout)
	}
	for _, o := range res.Objects {
		setNamespace(o.Node, t.Namespace, t.ForceNamespace)
	}
	slices.Sort(res.Files)
	res.Files = slices.Compact(res.Files)
	return res, err
}

// helmFiles are the files a Helm target's render reads: the chart's
// loaded files and the release's values files that exist.
func (r *Renderer) helmFiles(t *Target) []string {
	files, _ := r.ChartFiles(t.Path)
	if t.Helm != nil {
		for _, f := range t.Helm.ValueFiles {
			if r.fs.Exists(f) {
				files = append(files, f)
			}
		}
	}
	return files
}

// renderManifests reads a manifest file, or every YAML file of a
// directory (recursively when t.Recurse), in lexical order.
func (r *Renderer) renderManifests(ctx context.Context, t *Target) ([]*Object, []string, error) {
	files, err := r.manifestFiles(t.Path, t.Recurse)
	if err != nil {
		return nil, nil, errorf(t.Path, 0, "%v", err)
	}
	var objs []*Object
	var errs []error
	var read []string
	for _, f := range files {
		if ctx.Err() != nil {
			break
		}
		_, docs, perr, err := r.files.parsed(f)
		if err != nil {
			errs = append(errs, fileError(f, err))
			continue
		}
		read = append(read, f)
		if perr != nil {
			errs = append(errs, perr)
		}
		// The cached nodes are shared (discovery parsed them): the object
		// is a copy, its source map points into the shared tree.
		for _, o := range docObjects(f, loc.OriginManifest, docs) {
			o.Node = deepCopy(o.Node)
			objs = append(objs, o)
		}
	}
	return objs, read, joinErrors(errs)
}

func (r *Renderer) manifestFiles(p string, recurse bool) ([]string, error) {
	if !r.fs.IsDir(p) {
		return []string{p}, nil
	}
	var out []string
	ents, err := r.fs.ReadDir(p)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		child := path.Join(p, e.Name())
		switch {
		case e.IsDir() && recurse && !strings.HasPrefix(e.Name(), "."):
			if findKustomization(r.fs, child) != "" {
				// Built by kustomize, as Flux does (discovery makes it a
				// target of its own): its files may be patches and bases.
				continue
			}
			sub, err := r.manifestFiles(child, true)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		case !e.IsDir() && isManifestName(e.Name()):
			out = append(out, child)
		}
	}
	return out, nil
}

func isYAMLName(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}

// isManifestName reports whether a file may hold manifests: YAML, or JSON
// (which the YAML parser reads, with the same lines and columns).
func isManifestName(name string) bool {
	return isYAMLName(name) || strings.HasSuffix(name, ".json")
}

// MultiError is several render errors of one target.
type MultiError []error

func (m MultiError) Error() string {
	s := make([]string, len(m))
	for i, e := range m {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func joinErrors(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	default:
		return MultiError(errs)
	}
}

// clusterScoped lists the built-in kinds (and common add-on kinds) that
// have no namespace; everything else is treated as namespaced.
var clusterScoped = map[string]bool{
	"Namespace": true, "Node": true, "PersistentVolume": true, "ClusterRole": true,
	"ClusterRoleBinding": true, "CustomResourceDefinition": true, "StorageClass": true,
	"PriorityClass": true, "ValidatingWebhookConfiguration": true,
	"MutatingWebhookConfiguration": true, "ValidatingAdmissionPolicy": true,
	"ValidatingAdmissionPolicyBinding": true, "MutatingAdmissionPolicy": true,
	"MutatingAdmissionPolicyBinding": true, "APIService": true, "IngressClass": true,
	"RuntimeClass": true, "CSIDriver": true, "CSINode": true, "VolumeAttachment": true,
	"ComponentStatus": true, "CertificateSigningRequest": true, "FlowSchema": true,
	"PriorityLevelConfiguration": true, "ClusterIssuer": true, "GatewayClass": true,
	"ClusterPolicy": true, "ClusterRoleTemplate": true,
}

// setNamespace gives a namespaced object the namespace it will be deployed
// into: ns when it has none, or always when force is set.
func setNamespace(n *yaml.Node, ns string, force bool) {
	if ns == "" || clusterScoped[scalar(n, "kind")] {
		return
	}
	_, meta := lookup(n, "metadata")
	if meta == nil || meta.Kind != yaml.MappingNode {
		return
	}
	_, cur := lookup(meta, "namespace")
	switch {
	case cur == nil:
		meta.Content = append(meta.Content,
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "namespace"},
			&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ns})
	case force || cur.Value == "":
		cur.Value = ns
	}
}

// deepCopy copies a node tree so that rendering can change it without
// touching the parsed source the source map reads. Aliases are expanded.
func deepCopy(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.AliasNode {
		return deepCopy(n.Alias)
	}
	c := *n
	c.Anchor = ""
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, ch := range n.Content {
			c.Content[i] = deepCopy(ch)
		}
	}
	return &c
}
