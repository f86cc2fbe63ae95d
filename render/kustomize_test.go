package render

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// unpackDir writes testdata/<archive> (txtar) into a temporary directory
// and returns the directory.
func unpackDir(t testing.TB, archive string) string {
	t.Helper()
	ar, err := txtar.ParseFile(filepath.Join("testdata", archive))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range ar.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// unpack is unpackDir returning an FS rooted at the directory.
func unpack(t testing.TB, archive string) *FS {
	t.Helper()
	fsys, err := NewFS(unpackDir(t, archive))
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// where renders one field's location as "file:line:col origin", or
// "file:line:col~ origin" when only an ancestor is written.
func where(o *Object, field string) string {
	p, err := ypath.Parse(field)
	if err != nil {
		panic(err)
	}
	l := o.Source.Locate(p)
	s := l.File + ":" + strconv.Itoa(l.Line) + ":" + strconv.Itoa(l.Column)
	if !l.Exact {
		s += "~"
	}
	return s + " " + string(l.Origin)
}

func byID(objs []*Object) map[string]*Object {
	m := map[string]*Object{}
	for _, o := range objs {
		m[scalar(o.Node, "kind")+"/"+scalar(o.Node, "metadata", "namespace")+"/"+scalar(o.Node, "metadata", "name")] = o
	}
	return m
}

func TestKustomizeSourceMap(t *testing.T) {
	fsys := unpack(t, "kustomize/overlay.txtar")
	r := NewRenderer(fsys, Options{})
	res, err := r.Render(context.Background(), &Target{Kind: KindKustomize, Path: "overlays/prod"})
	objs := res.Objects
	if err != nil {
		t.Fatal(err)
	}
	got := byID(objs)
	dep, svc := got["Deployment/prod/prod-web"], got["Service/prod/prod-web"]
	if dep == nil || svc == nil {
		t.Fatalf("objects = %v", got)
	}
	for _, tt := range []struct {
		o     *Object
		field string
		want  string
	}{
		{dep, "spec.template.spec.containers[name=web].image", "base/deployment.yaml:11:11 kustomize-base"},
		{dep, "spec.template.spec.containers[name=web].securityContext.runAsNonRoot", "base/deployment.yaml:13:13 kustomize-base"},
		{dep, "spec.template.spec.containers[name=web].securityContext.allowPrivilegeEscalation", "overlays/prod/deployment-patch.yaml:11:13 kustomize-patch"},
		{dep, "spec.template.spec.containers[name=web].securityContext.readOnlyRootFilesystem", "base/deployment.yaml:12:11~ kustomize-base"},
		{dep, "spec.template.spec.securityContext", "base/deployment.yaml:8:5~ kustomize-base"},
		{svc, "spec.type", "overlays/prod/kustomization.yaml:13:9 kustomize-patch"},
		{svc, "spec.ports", "base/service.yaml:7:3 kustomize-base"},
	} {
		if got := where(tt.o, tt.field); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.field, got, tt.want)
		}
	}
	if ann := scalar(dep.Node, "metadata", "annotations", "config.kubernetes.io/origin"); ann != "" {
		t.Errorf("origin annotation leaked into output: %q", ann)
	}
}
