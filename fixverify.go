package main

import (
	"fmt"
	"maps"
	"slices"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
)

// verify checks the state after the plan against the state before and
// returns, for each candidate to drop, why.
func (f *fixer) verify(before, after *snapshot, p *plan, cands []lint.Finding) map[int]string {
	blamed := map[int]string{}
	blame := func(files []string, reason string) {
		n := 0
		for i := range cands {
			if _, done := blamed[i]; done {
				continue
			}
			if slices.ContainsFunc(p.by[i], func(f string) bool { return slices.Contains(files, f) }) {
				blamed[i] = reason
				n++
			}
		}
		if n == 0 { // nobody's files explain it: drop them all
			for i := range cands {
				if _, done := blamed[i]; !done {
					blamed[i] = reason
				}
			}
		}
	}
	was := fingerprints(before)
	now := fingerprints(after)
	for i, c := range cands {
		if now[lint.Fingerprint(c)] {
			blamed[i] = "the finding is still reported after the fix"
		}
	}
	for _, fd := range append(slices.Clone(after.Findings), after.Suppressed...) {
		if !was[lint.Fingerprint(fd)] {
			blame(f.inputs(after, fd.Object), fmt.Sprintf("the fix causes a new finding: %s %s: %s", fd.Rule.ID, fd.Object.Resource, fd.Message))
		}
	}
	oldErrs := map[string]bool{}
	for _, e := range before.Errors {
		oldErrs[e.Error()] = true
	}
	for _, e := range after.Errors {
		if !oldErrs[e.Error()] {
			blame([]string{e.File}, "the fix breaks rendering: "+e.Error())
		}
	}
	f.verifyObjects(before, after, p, cands, blame)
	return blamed
}

func fingerprints(s *snapshot) map[string]bool {
	out := map[string]bool{}
	for _, fd := range s.Findings {
		out[lint.Fingerprint(fd)] = true
	}
	for _, fd := range s.Suppressed {
		out[lint.Fingerprint(fd)] = true
	}
	return out
}

// inputs returns the files an object's target is rendered from.
func (f *fixer) inputs(s *snapshot, o *lint.Object) []string {
	src, ok := s.sources[o]
	if !ok {
		return nil
	}
	return f.r.renderer.Inputs(src.target)
}

// objKey identifies a rendered object across two renders.
type objKey struct {
	target string
	res    lint.Resource
}

// verifyObjects checks that the rendered objects differ only in the
// fields the candidates patch, and that only the objects they add appear.
func (f *fixer) verifyObjects(before, after *snapshot, p *plan, cands []lint.Finding, blame func([]string, string)) {
	allowed := map[objKey][]ypath.Path{}
	added := map[objKey]bool{}
	for _, c := range cands {
		k := objKey{before.sources[c.Object].target.ID(), c.Object.Resource}
		for _, pt := range c.Fix.Patches {
			allowed[k] = append(allowed[k], pt.Path)
		}
		for _, n := range c.Fix.New {
			res := lint.Resource{APIVersion: nodeString(n, "apiVersion"), Kind: nodeString(n, "kind"),
				Namespace: nodeString(n, "metadata", "namespace"), Name: nodeString(n, "metadata", "name")}
			added[objKey{"", res}] = true
		}
	}
	old := map[objKey]*lint.Object{}
	for _, o := range before.objects {
		old[objKey{before.sources[o].target.ID(), o.Resource}] = o
	}
	seen := map[objKey]bool{}
	for _, o := range after.objects {
		k := objKey{after.sources[o].target.ID(), o.Resource}
		seen[k] = true
		prev := old[k]
		if prev == nil {
			if !added[objKey{"", o.Resource}] {
				blame(f.inputs(after, o), fmt.Sprintf("the fix adds an unexpected object %s to %s", o.Resource, k.target))
			}
			continue
		}
		inline := f.editsInlineValues(after, o, p)
		for _, d := range diffPaths(prev.Node, o.Node, nil) {
			if inline && slices.ContainsFunc(d, isValuesKey) {
				continue
			}
			if !slices.ContainsFunc(allowed[k], func(a ypath.Path) bool { return d.HasPrefix(a) || a.HasPrefix(d) }) {
				blame(f.inputs(after, o), fmt.Sprintf("the fix changes %s of %s in %s, which it should not", d, o.Resource, k.target))
				break
			}
		}
	}
	for k, o := range old {
		if !seen[k] {
			blame(f.inputs(before, o), fmt.Sprintf("the fix removes %s from %s", o.Resource, k.target))
		}
	}
}

// editsInlineValues reports whether the plan edits inline Helm values
// written in the file the GitOps object o comes from.
func (f *fixer) editsInlineValues(s *snapshot, o *lint.Object, p *plan) bool {
	for _, d := range s.sources[o].object.Docs() {
		if p.inline[d.File] {
			return true
		}
	}
	return false
}

// isValuesKey reports whether a path segment names inline Helm values in
// an Argo CD Application (valuesObject) or a Flux HelmRelease (values).
func isValuesKey(seg string) bool { return seg == "values" || seg == "valuesObject" }

// diffPaths returns the paths at which two rendered objects first differ.
// List elements that all have a name are matched by name, others by index.
func diffPaths(a, b *yaml.Node, at ypath.Path) []ypath.Path {
	switch {
	case a == nil || b == nil:
		if a == b {
			return nil
		}
		return []ypath.Path{at}
	case a.Kind != b.Kind:
		return []ypath.Path{at}
	case a.Kind == yaml.ScalarNode:
		if a.Value != b.Value || a.ShortTag() != b.ShortTag() {
			return []ypath.Path{at}
		}
		return nil
	case a.Kind == yaml.MappingNode:
		var out []ypath.Path
		keys := map[string]bool{}
		for i := 0; i+1 < len(a.Content); i += 2 {
			keys[a.Content[i].Value] = true
		}
		for i := 0; i+1 < len(b.Content); i += 2 {
			keys[b.Content[i].Value] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			_, av := ypath.Lookup(a, k)
			_, bv := ypath.Lookup(b, k)
			out = append(out, diffPaths(av, bv, at.Append(k))...)
		}
		return out
	case a.Kind == yaml.SequenceNode:
		if named(a) && named(b) {
			var out []ypath.Path
			names := map[string]bool{}
			for _, n := range append(slices.Clone(a.Content), b.Content...) {
				names[nodeString(n, "name")] = true
			}
			for _, nm := range slices.Sorted(maps.Keys(names)) {
				sel := ypath.Elem("name", nm)
				out = append(out, diffPaths(ypath.Walk(a, ypath.Path{sel}).Value, ypath.Walk(b, ypath.Path{sel}).Value, at.Append(sel))...)
			}
			return out
		}
		if len(a.Content) != len(b.Content) {
			return []ypath.Path{at}
		}
		var out []ypath.Path
		for i := range a.Content {
			out = append(out, diffPaths(a.Content[i], b.Content[i], at.Append(ypath.Index(i)))...)
		}
		return out
	}
	return nil
}

func named(n *yaml.Node) bool {
	for _, c := range n.Content {
		if nodeString(c, "name") == "" {
			return false
		}
	}
	return len(n.Content) > 0
}
