package driver

import (
	"context"

	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/render"
)

// valuesLines moves the findings of Helm targets from the template line
// to the values line that sets their field (origin helm-values, the
// template line kept as Location.Via), where a traced render of the
// chart (render.TraceValues) says for certain which values key sets it.
//
// Tracing costs about one render of the templates concerned, so it is
// done lazily, after linting: only the targets with findings on a
// template line are traced, and only the templates that wrote the
// objects of those findings are rendered. Lints that verify a fix skip
// it: verification compares findings by fingerprint, which does not
// depend on the location. A chart the trace cannot render keeps its
// template lines.
func (r *Repo) valuesLines(ctx context.Context, res *lint.Result, sources map[*lint.Object]source, results []rendered) {
	if r.reuse != nil {
		return
	}
	type job struct {
		target   *render.Target
		findings []*lint.Finding
	}
	var jobs []*job
	byTarget := map[*render.Target]*job{}
	objects := map[*render.Target][]*render.Object{}
	for _, rr := range results {
		objects[rr.target] = rr.objects
	}
	for _, list := range [][]lint.Finding{res.Findings, res.Suppressed} {
		for i := range list {
			f := &list[i]
			src, ok := sources[f.Object]
			if !ok || src.target.Kind != render.KindHelm || f.Location.Origin != lint.OriginHelmTemplate {
				continue
			}
			j := byTarget[src.target]
			if j == nil {
				j = &job{target: src.target}
				byTarget[src.target] = j
				jobs = append(jobs, j)
			}
			j.findings = append(j.findings, f)
		}
	}
	eachParallel(len(jobs), func(i int) {
		j := jobs[i]
		need := map[*render.Object]bool{}
		for _, f := range j.findings {
			need[sources[f.Object].object] = true
		}
		vt, err := r.renderer.TraceValues(ctx, j.target, objects[j.target], func(o *render.Object) bool { return need[o] })
		if err != nil {
			return // the findings keep their template lines
		}
		for _, f := range j.findings {
			if l, ok := vt.Locate(sources[f.Object].object, f.Field, f.Location); ok {
				f.Location = l
			}
		}
	})
}
