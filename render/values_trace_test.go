package render

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/internal/ypath"
)

// traceWhere traces every target of a fixture and returns, per target,
// where each of fields is placed: "file:line:col" with "~" when only an
// ancestor is (Exact false) and "via file:line" for the template line,
// or "template file:line" when the trace keeps the template line.
func traceWhere(t *testing.T, fixture string, fields []string) map[string][]string {
	t.Helper()
	dir := unpackDir(t, "trace/"+fixture+".txtar")
	r := newHelmRenderer(t, dir, Options{})
	ctx := context.Background()
	repo, err := r.Discover(ctx, DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, tg := range repo.Targets {
		if tg.Kind != KindHelm {
			continue
		}
		res, err := r.Render(ctx, tg)
		if err != nil {
			t.Fatalf("render %s: %v", tg.ID(), err)
		}
		vt, err := r.TraceValues(ctx, tg, res.Objects, nil)
		if err != nil {
			t.Fatalf("trace %s: %v", tg.ID(), err)
		}
		for _, f := range fields {
			id, fp, _ := strings.Cut(f, " ")
			p, err := ypath.Parse(fp)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			for _, o := range res.Objects {
				if helmID(o) != id {
					continue
				}
				tmpl := o.Source.Locate(p)
				l, ok := vt.Locate(o, p, tmpl)
				if !ok {
					got = fmt.Sprintf("template %s:%d", tmpl.File, tmpl.Line)
					break
				}
				exact := ""
				if !l.Exact {
					exact = "~"
				}
				got = fmt.Sprintf("%s%s:%d:%d via %s:%d", exact, l.File, l.Line, l.Column, l.Via.File, l.Via.Line)
			}
			out[tg.ID()] = append(out[tg.ID()], fp+" "+got)
		}
	}
	return out
}

func TestTraceValues(t *testing.T) {
	c := "spec.template.spec.containers[name=web]."
	got := traceWhere(t, "web", []string{
		"Deployment/web " + c + "securityContext.privileged",
		"Deployment/web " + c + "securityContext.allowPrivilegeEscalation",
		"Deployment/web " + c + "securityContext.readOnlyRootFilesystem",
		"Deployment/web " + c + "securityContext.runAsUser",
		"Deployment/web " + c + "securityContext.runAsNonRoot",
		"Deployment/web " + c + "image",
		"Deployment/web spec.replicas",
		"Deployment/web spec.template.spec.hostNetwork",
		"Deployment/web spec.template.spec.securityContext.runAsNonRoot",
		"Service/web spec.type",
	})
	var ids []string
	for id := range got {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "%s:\n", id)
		for _, l := range got[id] {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	golden.Check(t, "testdata/trace/web.golden", []byte(b.String()))
}
