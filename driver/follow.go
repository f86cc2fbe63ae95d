package driver

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/render"
)

// maxFollowDepth bounds how deep Argo CD apps of apps are followed: an
// Application rendered by a chart that an Application deploys, ...
const maxFollowDepth = 3

// followApps follows the GitOps objects that the targets render (an app
// of apps: a chart whose templates are Applications), as discovery does
// for the objects written in files: each deployed path becomes a target
// with that object's namespace and values, rendered in turn, up to
// maxFollowDepth levels. A target already known by its ID is not added
// again (a cycle, or an object that is also written in a file); a target
// of the same path linted with defaults (no GitOps object) is replaced.
func (r *Repo) followApps(ctx context.Context, d *discovered, ts []*render.Target, results []rendered) ([]*render.Target, []rendered) {
	known := map[string]bool{}
	for _, t := range ts {
		known[t.ID()] = true
	}
	from := 0
	for depth := 0; depth < maxFollowDepth; depth++ {
		var objs []render.Rendered
		for _, res := range results[from:] {
			if res.target.Kind == render.KindManifests {
				continue // files: discovery read their GitOps objects
			}
			for _, o := range res.objects {
				if render.IsGitOps(o.Node) {
					l := locator(o.Source)(ypath.Path{})
					objs = append(objs, render.Rendered{Node: o.Node, File: l.File, Line: l.Line})
				}
			}
		}
		if len(objs) == 0 {
			break
		}
		found, err := r.renderer.Follow(ctx, r.discoverOptions(), objs)
		if err != nil {
			d.errors = append(d.errors, render.Error{File: ".", Message: fmt.Sprintf("follow rendered GitOps objects: %v", err)})
			break
		}
		for _, s := range found.Skipped {
			if r.wanted(s.File) {
				d.skipped = append(d.skipped, s)
			}
		}
		for _, u := range found.Unrendered {
			d.unrendered[u.Namespace] = append(d.unrendered[u.Namespace], fmt.Sprintf("%s %s (%s)", u.Via.Kind, u.Via.Name, u.Via.File))
		}
		var add []*render.Target
		for _, t := range found.Targets {
			if !known[t.ID()] {
				known[t.ID()] = true
				add = append(add, t)
			}
		}
		if len(add) == 0 {
			break
		}
		// The path is now linted as deployed: drop its default render,
		// and the manifest files the deployed directory holds.
		keep := func(t *render.Target) bool {
			return t.Via != nil || !slices.ContainsFunc(add, func(a *render.Target) bool { return covers(a, t) })
		}
		var kts []*render.Target
		var kres []rendered
		for i, t := range ts {
			if keep(t) {
				kts, kres = append(kts, t), append(kres, results[i])
			}
		}
		from = len(kres)
		ts = append(kts, add...)
		results = append(kres, r.renderAll(ctx, add)...)
	}
	return ts, results
}

// covers reports whether the deployed target a renders what the default
// target t does: the same path, or a manifest file or folder inside a's
// manifest folder (any depth when a recurses).
func covers(a, t *render.Target) bool {
	if a.Path == t.Path {
		return true
	}
	if a.Kind != render.KindManifests || t.Kind != render.KindManifests {
		return false
	}
	inside := a.Path == "." || strings.HasPrefix(t.Path, a.Path+"/")
	return inside && (a.Recurse || path.Dir(t.Path) == a.Path)
}
