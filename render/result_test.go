package render

import (
	"context"
	"slices"
	"testing"
)

// TestRenderResultFiles: a render lists exactly the files it read — the
// one record digests are computed from — and nothing else in the same
// directories.
func TestRenderResultFiles(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"k/base/kustomization.yaml": "resources:\n- cm.yaml\n",
		"k/base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
		"k/base/unused.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unused\n",
		"k/prod/kustomization.yaml": "resources:\n- ../base\npatches:\n- path: patch.yaml\nconfigMapGenerator:\n- name: gen\n  files:\n  - app.properties\n",
		"k/prod/patch.yaml":         "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  a: b\n",
		"k/prod/app.properties":     "x=1\n",
		"k/prod/README.md":          "notes\n",
		"m/a.yaml":                  "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
		"m/notes.txt":               "not yaml\n",
		"c/Chart.yaml":              "apiVersion: v2\nname: c\nversion: 0.1.0\n",
		"c/values.yaml":             "n: 1\n",
		"c/templates/cm.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{{ .Values.n }}\n",
		"envs/prod.yaml":            "n: 2\n",
		"envs/unused.yaml":          "n: 3\n",
	})
	fsys, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer(fsys, Options{})
	for _, tt := range []struct {
		target *Target
		want   []string
	}{
		{&Target{Kind: KindKustomize, Path: "k/prod"},
			[]string{"k/base/cm.yaml", "k/base/kustomization.yaml", "k/prod/app.properties", "k/prod/kustomization.yaml", "k/prod/patch.yaml"}},
		{&Target{Kind: KindManifests, Path: "m"}, []string{"m/a.yaml"}},
		{&Target{Kind: KindHelm, Path: "c", Helm: &HelmOptions{ValueFiles: []string{"envs/prod.yaml"}}},
			[]string{"c/Chart.yaml", "c/templates/cm.yaml", "c/values.yaml", "envs/prod.yaml"}},
	} {
		res, err := r.Render(context.Background(), tt.target)
		if err != nil {
			t.Fatalf("%s: %v", tt.target.Path, err)
		}
		if len(res.Objects) == 0 {
			t.Errorf("%s: no objects", tt.target.Path)
		}
		if !slices.Equal(res.Files, tt.want) {
			t.Errorf("%s: files %v, want %v", tt.target.Path, res.Files, tt.want)
		}
	}
}
