package render

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// describe renders a target as one line for comparison.
func describe(t *Target) string {
	s := fmt.Sprintf("%s %s", t.Kind, t.Path)
	if t.Namespace != "" {
		s += " ns=" + t.Namespace
		if t.ForceNamespace {
			s += "!"
		}
	}
	if t.Recurse {
		s += " recurse"
	}
	if h := t.Helm; h != nil {
		if h.ReleaseName != "" {
			s += " release=" + h.ReleaseName
		}
		if len(h.ValueFiles) > 0 {
			s += " values=" + strings.Join(h.ValueFiles, ",")
		}
		if len(h.Values) > 0 {
			s += fmt.Sprintf(" inline=%s:%d", h.Values[0].File, h.Values[0].Node.Line)
		}
		if len(h.Set) > 0 {
			s += " set=" + strings.Join(h.Set, ",")
		}
	}
	if t.Via != nil {
		s += fmt.Sprintf(" via=%s/%s@%s:%d", t.Via.Kind, t.Via.Name, t.Via.File, t.Via.Line)
	}
	return s
}

func TestDiscover(t *testing.T) {
	fsys := unpack(t, "discover/gitops.txtar")
	repo, err := Discover(context.Background(), fsys, DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range repo.Targets {
		got = append(got, describe(tg))
	}
	want := []string{
		"manifests apps/appset.yaml",
		"manifests apps/elsewhere.yaml",
		"manifests apps/web-prod.yaml",
		"manifests apps/web-staging.yaml",
		"helm charts/lonely",
		"helm charts/web ns=web release=web-prod values=charts/web/values-prod.yaml set=image=nginx:1.27 via=Application/web-prod@apps/web-prod.yaml:1",
		"helm charts/web ns=staging release=web values=envs/prod/web-values.yaml via=Application/web-staging@apps/web-staging.yaml:1",
		"helm charts/web ns=web-dev release=web-dev via=ApplicationSet/envs/web-dev@apps/appset.yaml:9",
		"helm charts/web ns=web-qa release=web-qa via=ApplicationSet/envs/web-qa@apps/appset.yaml:11",
		"helm charts/worker ns=jobs release=worker inline=flux/worker.yaml:14 via=HelmRelease/worker@flux/worker.yaml:1",
		"manifests flux/worker.yaml",
		"manifests infra ns=infra! recurse via=Kustomization/infra@flux/worker.yaml:16",
		"manifests manifests/pod.yaml",
		"kustomize overlay",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("targets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(repo.Errors) != 0 {
		t.Errorf("errors: %v", repo.Errors)
	}
}

func TestDiscoverIncludeExclude(t *testing.T) {
	fsys := unpack(t, "discover/gitops.txtar")
	repo, err := Discover(context.Background(), fsys, DiscoverOptions{Include: []string{"charts/**"}, Exclude: []string{"charts/lonely"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range repo.Targets {
		got = append(got, tg.Kind.String()+" "+tg.ID())
	}
	want := "helm charts/web (Application web-prod)\nhelm charts/web (Application web-staging)\n" +
		"helm charts/web (ApplicationSet envs/web-dev)\nhelm charts/web (ApplicationSet envs/web-qa)\nhelm charts/worker (HelmRelease worker)"
	if strings.Join(got, "\n") != want {
		t.Errorf("targets:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
}

// TestDiscoverPatchFragments: the files overlays use as patches ($patch
// delete and replace fragments, partial objects) are not targets, neither
// on their own nor inside a tree a Flux Kustomization deploys without a
// kustomization of its own; an overlay in that tree is built by kustomize.
func TestDiscoverPatchFragments(t *testing.T) {
	fsys := unpack(t, "discover/patches.txtar")
	repo, err := Discover(context.Background(), fsys, DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range repo.Targets {
		got = append(got, describe(tg))
	}
	want := []string{
		"manifests apps recurse via=Kustomization/apps@clusters/prod/apps.yaml:1",
		"kustomize apps/web/prod via=Kustomization/apps@clusters/prod/apps.yaml:1",
		"manifests clusters/prod/apps.yaml",
		"manifests loose/plain.yaml",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("targets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(repo.Errors) != 0 {
		t.Errorf("errors: %v", repo.Errors)
	}
	r := NewRenderer(fsys, Options{})
	for _, tg := range repo.Targets {
		res, err := r.Render(context.Background(), tg)
		objs := res.Objects
		if err != nil {
			t.Fatalf("%s: %v", tg.ID(), err)
		}
		var names []string
		for _, o := range objs {
			names = append(names, scalar(o.Node, "kind")+"/"+scalar(o.Node, "metadata", "name"))
			if isPatchFragment(o.Node) {
				t.Errorf("%s renders the patch fragment %s", tg.ID(), names[len(names)-1])
			}
		}
		switch tg.Path {
		case "apps":
			if len(names) != 0 {
				t.Errorf("%s reads the overlay's files as manifests: %v", tg.ID(), names)
			}
		case "apps/web/prod":
			if strings.Join(names, " ") != "Deployment/web" {
				t.Errorf("%s renders %v, want the Deployment without the deleted Pod", tg.ID(), names)
			}
		}
	}
}

// TestDiscoverByParsing: a file is a manifest when its documents, parsed,
// are objects with apiVersion and kind, in any style; every other YAML
// or JSON file is skipped with its reason.
func TestDiscoverByParsing(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"pod.json":                  `{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "x"}]}}`,
		"flow.yaml":                 "{apiVersion: v1, kind: ConfigMap, metadata: {name: f}}\n",
		"package.json":              `{"name": "site", "version": "1.0.0"}`,
		"ci.yaml":                   "stages: [build]\n# kind: Pod\n# apiVersion: v1\n",
		"broken.yaml":               "apiVersion: v1\nkind: Pod\nmetadata: [\n",
		"patch.yaml":                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n$patch: delete\n",
		".github/workflows/ci.yaml": "on: push\njobs:\n  x:\n    steps:\n      - run: |\n          apiVersion: v1\n          kind: Pod\n",
		"app/values.yaml":           "replicas: 1\n",
		"app/templates/cm.yaml":     "# {{ not a template here }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
		"app/templates/sa.yaml":     "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{ .Values.name }}\n",
	})
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, "outside")); err != nil {
		t.Fatal(err)
	}
	fsys, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := Discover(context.Background(), fsys, DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tg := range repo.Targets {
		got = append(got, "target "+tg.ID())
	}
	for _, s := range repo.Skipped {
		got = append(got, "skip "+s.File+": "+s.Reason)
	}
	for _, e := range repo.Errors {
		got = append(got, "error "+e.Error())
	}
	want := []string{
		"target app/templates/cm.yaml",
		"target broken.yaml",
		"target flow.yaml",
		"target pod.json",
		"skip .github/workflows/ci.yaml: " + SkipGitHub,
		"skip app/values.yaml: " + SkipNotKubernetes,
		"skip ci.yaml: " + SkipNotKubernetes,
		"skip outside: " + SkipSymlinkOut,
		"skip package.json: " + SkipNotKubernetes,
		"skip patch.yaml: " + SkipPatch,
		"error app/templates/sa.yaml:4: looks like a Helm template outside a chart (app has no Chart.yaml); not linted",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// JSON renders with the manifest renderer, at its own lines and columns.
	r := NewRenderer(fsys, Options{})
	res, err := r.Render(context.Background(), repo.Targets[3])
	if err != nil || len(res.Objects) != 1 {
		t.Fatalf("render pod.json: %v, %d objects", err, len(res.Objects))
	}
	p, _ := ypath.Parse("spec.containers[0].image")
	l := res.Objects[0].Source.Locate(p)
	if l.File != "pod.json" || l.Line != 1 || l.Column != 102 { // the "image" key
		t.Errorf("image at %+v, want pod.json:1:102", l)
	}
}
