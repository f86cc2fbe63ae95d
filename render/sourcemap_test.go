package render

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/internal/ypath"
)

// sourceMapPaths are the fields whose locations the golden file records
// for every object: present and absent ones, at pod and container level.
var sourceMapPaths = []string{
	"",
	"metadata.name",
	"metadata.namespace",
	"spec.replicas",
	"spec.template.spec.securityContext",
	"spec.template.spec.securityContext.runAsNonRoot",
	"spec.template.spec.containers[0].image",
	"spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation",
	"spec.template.spec.containers[1].securityContext.capabilities.add",
	"spec.template.spec.hostNetwork",
	"spec.jobTemplate.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem",
}

// TestSourceMapGolden renders the demo repository, which has a target of
// every kind, and records where each field of each object is written:
// manifest, kustomize-base, kustomize-patch and helm-template origins.
func TestSourceMapGolden(t *testing.T) {
	fsys, err := NewFS(filepath.Join("..", "testdata", "demo"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	repo, err := Discover(ctx, fsys, DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer(fsys, Options{})
	var b strings.Builder
	for _, tg := range repo.Targets {
		res, err := r.Render(ctx, tg)
		objs := res.Objects
		if err != nil {
			t.Fatalf("render %s: %v", tg.ID(), err)
		}
		fmt.Fprintf(&b, "# %s\n", tg.ID())
		for _, o := range objs {
			fmt.Fprintf(&b, "%s/%s\n", scalar(o.Node, "kind"), scalar(o.Node, "metadata", "name"))
			for _, ps := range sourceMapPaths {
				p, _ := ypath.Parse(ps)
				p = resolveIndexes(o, p)
				if ps != "" && ypath.Walk(o.Node, p[:1]).Depth == 0 {
					continue
				}
				fmt.Fprintf(&b, "  %-40s %s\n", p.String(), where(o, p.String()))
			}
		}
	}
	golden.Check(t, filepath.Join("testdata", "sourcemap.golden"), []byte(b.String()))
}

// resolveIndexes turns [i] list selectors into the [name=x] selectors
// that rules use, when the element has a name.
func resolveIndexes(o *Object, p ypath.Path) ypath.Path {
	out := make(ypath.Path, 0, len(p))
	for i, seg := range p {
		if strings.HasPrefix(seg, "[") && !strings.Contains(seg, "=") {
			m := ypath.Walk(o.Node, p[:i+1])
			if m.Depth == i+1 {
				if n := scalar(m.Value, "name"); n != "" {
					seg = ypath.Elem("name", n)
				}
			}
		}
		out = append(out, seg)
	}
	return out
}
