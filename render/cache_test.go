package render

import (
	"fmt"
	"testing"
)

// TestKustomizeSharedBaseReadOnce renders overlays over one base
// concurrently on one Renderer: every file is read from disk once, and
// every overlay still maps its objects into the base and its own patch.
func TestKustomizeSharedBaseReadOnce(t *testing.T) {
	const overlays = 12
	dir := t.TempDir()
	writeTree(t, dir, sharedBaseRepo(overlays))
	fsys, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	reads := countReads(fsys)
	r := NewRenderer(fsys, Options{})
	var targets []*Target
	for i := range overlays {
		targets = append(targets, &Target{Kind: KindKustomize, Path: fmt.Sprintf("overlays/o%d", i)})
	}
	for i, objs := range renderTargets(t, r, targets) {
		m := byID(objs)
		ns := fmt.Sprintf("team-%d", i)
		d := m[fmt.Sprintf("Deployment/%s/o%d-web", ns, i)]
		if len(objs) != 3 || d == nil {
			t.Fatalf("overlay %d rendered %d objects: %v", i, len(objs), m)
		}
		for field, want := range map[string]string{
			"metadata.name": "base/deployment.yaml:4:3 kustomize-base",
			"spec.replicas": fmt.Sprintf("overlays/o%d/replicas.yaml:6:3 kustomize-patch", i),
			"spec.template.spec.containers[name=web].resources": "base/resources.yaml:10:9 kustomize-patch",
		} {
			if got := where(d, field); got != want {
				t.Errorf("overlay %d: %s at %s, want %s", i, field, got, want)
			}
		}
	}
	got := reads()
	checkReadOnce(t, got, "base/")
	checkReadOnce(t, got, "overlays/")
	if n := got["base/deployment.yaml"]; n != 1 {
		t.Errorf("base/deployment.yaml read %d times", n)
	}
}

// TestHelmChartReadOnce renders one chart for several targets (different
// releases and values files) concurrently on one Renderer: the chart's
// files and a values file the targets share are read from disk once.
func TestHelmChartReadOnce(t *testing.T) {
	const targets = 8
	files := chartRepo(1)
	files["deploy/common.yaml"] = "replicaCount: 3\n"
	for i := range targets {
		files[fmt.Sprintf("deploy/t%d.yaml", i)] = fmt.Sprintf("image: {tag: \"1.%d\"}\n", i)
	}
	dir := t.TempDir()
	writeTree(t, dir, files)
	fsys, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	reads := countReads(fsys)
	r := NewRenderer(fsys, Options{})
	var ts []*Target
	for i := range targets {
		ts = append(ts, &Target{Kind: KindHelm, Path: "charts/c0", Helm: &HelmOptions{
			ReleaseName: fmt.Sprintf("r%d", i),
			ValueFiles:  []string{"deploy/common.yaml", fmt.Sprintf("deploy/t%d.yaml", i)},
		}})
	}
	for i, objs := range renderTargets(t, r, ts) {
		if len(objs) != chartObjects {
			t.Errorf("target %d rendered %d objects, want %d", i, len(objs), chartObjects)
			continue
		}
		d := byID(objs)[fmt.Sprintf("Deployment//r%d-c0", i)]
		if d == nil {
			t.Errorf("target %d: no Deployment r%d-c0", i, i)
			continue
		}
		if got, want := helmValue(d, "spec.template.spec.containers[name=app].image"), fmt.Sprintf("registry.example.com/app:1.%d", i); got != want {
			t.Errorf("target %d: image %s, want %s", i, got, want)
		}
		if got := helmValue(d, "spec.replicas"); got != "3" {
			t.Errorf("target %d: replicas %s, want 3", i, got)
		}
	}
	got := reads()
	checkReadOnce(t, got, "charts/c0/")
	checkReadOnce(t, got, "deploy/")
	if n := got["charts/c0/templates/deployment.yaml"]; n != 1 {
		t.Errorf("the deployment template was read %d times, want once", n)
	}
}
