package driver

import (
	"context"
	"slices"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/render"
)

// A changed-only run (file arguments, --changed) reports on the targets
// the changed files affect, but its cross-object rules must see what the
// rest of the repository deploys: the Namespace that labels a workload's
// namespace, the NetworkPolicies of that namespace, the bindings of a
// role. The other targets are the run's context. Their objects reach the
// rules as the context view below, which is the same whether a target
// was rendered now or read from the render cache (cache.go): a view
// built from a cacheEntry either way, so a cache can never change a
// result.

// contextKinds are the kinds whose objects the rules read across
// objects: their context objects are complete.
var contextKinds = map[string]bool{
	"Namespace":          true,
	"NetworkPolicy":      true,
	"ServiceAccount":     true,
	"Role":               true,
	"ClusterRole":        true,
	"RoleBinding":        true,
	"ClusterRoleBinding": true,
}

// needsYAML reports whether a context object of this kind is kept whole
// in a cache entry: the context kinds, and workloads, which are complete
// in the context of a run that lints their Namespace (namespace-pss-level
// judges every workload of the namespace).
func needsYAML(kind string) bool { return contextKinds[kind] || lint.IsWorkload(kind) }

// cacheEntry is what a target rendered, as the context view needs it.
type cacheEntry struct {
	// Key identifies the target and everything it renders with but its
	// files (cacheKey).
	Key string `json:"key"`
	// Files are the files the render read, with their digests, and Dirs
	// the directories whose listing could change what it reads.
	Files []cachedFile `json:"files"`
	Dirs  []cachedFile `json:"dirs"`
	// Stamps are the stat of each of Files when it was read (fileStamp;
	// the zero stamp when in doubt): a file whose stat is the same is
	// not read and hashed again.
	Stamps []fileStamp `json:"stamps,omitempty"`
	// Objects are the rendered objects, in output order.
	Objects []cachedObject `json:"objects"`
}

// cachedFile is a file's or a directory listing's SHA-256.
type cachedFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// cachedObject is one rendered object: its identity as lint.NewObject
// reads it, where it is written, and, for the kinds needsYAML names, the
// object itself.
type cachedObject struct {
	Resource lint.Resource `json:"resource"`
	Location lint.Location `json:"location"`
	YAML     string        `json:"yaml,omitempty"`
}

// newCacheEntry describes the render of a target.
func newCacheEntry(key string, objs []*render.Object) *cacheEntry {
	e := &cacheEntry{Key: key, Objects: make([]cachedObject, 0, len(objs))}
	for _, o := range objs {
		v := lint.NewObject(o.Node, "", nil)
		c := cachedObject{Resource: v.Resource, Location: locator(o.Source)(ypath.Path{})}
		if needsYAML(v.Resource.Kind) {
			b, err := yaml.Marshal(o.Node)
			if err != nil {
				return nil // not cached, and not context: see contextObjects
			}
			c.YAML = string(b)
		}
		e.Objects = append(e.Objects, c)
	}
	return e
}

// contextObjects returns the context view of targets: for each object,
// a lint.Object with its identity, target, GitOps object and location;
// complete (its node decoded from the entry) for the context kinds and
// for workloads of the namespaces that a Namespace among focus defines.
// Findings on these objects are never reported (lint.RunWithContext), so
// each locates every field at the object itself.
func (r *Repo) contextObjects(ctx context.Context, targets []*render.Target, focus []*lint.Object) []*lint.Object {
	entries := r.contextEntries(ctx, targets)
	linted := map[string]bool{}
	for _, o := range focus {
		if o.Resource.Kind == "Namespace" {
			linted[o.Resource.Name] = true
		}
	}
	var out []*lint.Object
	for i, t := range targets {
		e := entries[i]
		if e == nil {
			continue
		}
		for _, c := range e.Objects {
			res := c.Resource
			if t.Kind == render.KindHelm && t.Namespace == "" && res.Namespace == "default" {
				res.Namespace = "" // as lintObjects does
			}
			l := c.Location
			locate := func(lint.Path) lint.Location { return l }
			var o *lint.Object
			if c.YAML != "" && (contextKinds[res.Kind] || linted[res.Namespace]) {
				var doc yaml.Node
				if yaml.Unmarshal([]byte(c.YAML), &doc) != nil || len(doc.Content) != 1 {
					continue
				}
				o = lint.NewObject(doc.Content[0], t.Path, locate)
			} else {
				o = &lint.Object{Node: stubNode(res), Target: t.Path, Locate: locate}
			}
			o.Resource = res
			o.Via = t.Via
			out = append(out, o)
		}
	}
	return out
}

// stubNode is an object with only its identity, for the context objects
// whose contents no cross-object rule reads.
func stubNode(res lint.Resource) *yaml.Node {
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	meta := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("name"), str(res.Name)}}
	if res.Namespace != "" {
		meta.Content = append(meta.Content, str("namespace"), str(res.Namespace))
	}
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		str("apiVersion"), str(res.APIVersion), str("kind"), str(res.Kind), str("metadata"), meta,
	}}
}

// contextEntries returns an entry for each target, in order: from the
// cache when a valid one is there, else rendered now (and stored). A
// target that fails to render gives what it rendered, never stored; its
// error belongs to the run that lints it. Nil for a target whose objects
// cannot be described.
func (r *Repo) contextEntries(ctx context.Context, targets []*render.Target) []*cacheEntry {
	out := make([]*cacheEntry, len(targets))
	cache := r.renderCache()
	eachParallel(len(targets), func(i int) {
		t := targets[i]
		key := r.cacheKey(t)
		if e := cache.load(r, t, key); e != nil {
			out[i] = e
			return
		}
		res, err := r.renderer.Render(ctx, t)
		e := newCacheEntry(key, res.Objects)
		if e != nil && err == nil && ctx.Err() == nil {
			cache.store(r, t, e, res.Files)
		}
		out[i] = e
	})
	cache.prune()
	return out
}

// contextTargets are the discovered targets that are not among focus.
func contextTargets(all, focus []*render.Target) []*render.Target {
	var out []*render.Target
	for _, t := range all {
		if !slices.Contains(focus, t) {
			out = append(out, t)
		}
	}
	return out
}
