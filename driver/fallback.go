package driver

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/render"
)

// maxFallbackRounds bounds how many times orphaned bases are rendered
// on their own: a base that fails alone too hands over to its own bases.
const maxFallbackRounds = 3

// orphanedBases renders on their own the Kustomize bases that only
// failing overlays include, so that a base is never linted nowhere: the
// bases that the targets that failed to render reach, that no target
// that rendered reaches, and that are not targets themselves; the
// topmost of them only (a base renders its own bases). It returns the
// targets and results with theirs added, and a note per base.
func (r *Repo) orphanedBases(ctx context.Context, bases map[string][]string, ts []*render.Target, results []rendered) ([]*render.Target, []rendered, []string) {
	if len(bases) == 0 {
		return ts, results, nil
	}
	children := map[string][]string{}
	for b, users := range bases {
		for _, u := range users {
			children[u] = append(children[u], b)
		}
	}
	var notes []string
	for round := 0; round < maxFallbackRounds; round++ {
		reach := func(ok bool) map[string]bool {
			seen := map[string]bool{}
			var walk func(string)
			walk = func(dir string) {
				for _, c := range children[dir] {
					if !seen[c] {
						seen[c] = true
						walk(c)
					}
				}
			}
			for _, res := range results {
				if res.target.Kind == render.KindKustomize && (res.err == nil || len(res.objects) > 0) == ok {
					walk(res.target.Path)
				}
			}
			return seen
		}
		rendered, failed := reach(true), reach(false)
		isTarget := map[string]bool{}
		for _, t := range ts {
			if t.Kind == render.KindKustomize {
				isTarget[t.Path] = true
			}
		}
		candidate := func(b string) bool { return failed[b] && !rendered[b] && !isTarget[b] }
		var add []*render.Target
		for b := range failed {
			if !candidate(b) || slices.ContainsFunc(bases[b], candidate) {
				continue
			}
			add = append(add, &render.Target{Kind: render.KindKustomize, Path: b})
		}
		if len(add) == 0 {
			break
		}
		slices.SortFunc(add, func(a, b *render.Target) int { return strings.Compare(a.Path, b.Path) })
		for _, t := range add {
			notes = append(notes, fmt.Sprintf("%s linted on its own: no kustomization that includes it rendered (%s)", t.Path, strings.Join(bases[t.Path], ", ")))
		}
		ts = append(ts, add...)
		results = append(results, r.renderAll(ctx, add)...)
	}
	return ts, results, notes
}

// unresolved returns an error for each path the user named that no
// target renders anything of: a directory, or a YAML or JSON file that
// discovery neither skipped nor reported. Other files (a README a
// pre-commit hook passes) resolve to nothing without a word.
func (r *Repo) unresolved(ts []*render.Target, skipped []render.Skipped, errs []lint.Error) []lint.Error {
	if r.stdin || !r.named {
		return nil
	}
	inputs := make([][]string, len(ts))
	for i, t := range ts {
		inputs[i] = r.renderer.Inputs(t)
	}
	var out []lint.Error
	for _, p := range r.paths {
		if slices.ContainsFunc(inputs, func(in []string) bool { return render.Affects(in, p) }) {
			continue
		}
		st, err := r.fs.Stat(p)
		dir := err == nil && st.IsDir()
		if !dir {
			if !manifestName(p) || slices.ContainsFunc(skipped, func(s render.Skipped) bool { return s.File == p }) {
				continue
			}
		}
		if slices.ContainsFunc(errs, func(e lint.Error) bool { return render.Affects([]string{p}, e.File) }) {
			continue
		}
		msg := "no chart, kustomization or manifest renders anything here (nothing linted)"
		if n := countUnder(skipped, p); n > 0 {
			msg = fmt.Sprintf("no chart, kustomization or manifest renders anything here (nothing linted; %d skipped, --format json lists them)", n)
		}
		out = append(out, lint.Error{File: p, Message: msg})
	}
	return out
}

func manifestName(p string) bool {
	switch path.Ext(p) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

func countUnder(skipped []render.Skipped, p string) int {
	n := 0
	for _, s := range skipped {
		if render.Affects([]string{p}, s.File) {
			n++
		}
	}
	return n
}
