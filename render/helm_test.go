package render

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/internal/ypath"
)

// unpackHelm writes testdata/helm/<name>.txtar into a temporary directory
// and returns the directory.
func unpackHelm(t testing.TB, name string) string {
	t.Helper()
	return unpackDir(t, filepath.Join("helm", name+".txtar"))
}

// newHelmRenderer returns a Renderer over dir.
func newHelmRenderer(t testing.TB, dir string, opts Options) *Renderer {
	t.Helper()
	fsys, err := NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return NewRenderer(fsys, opts)
}

// helmID names an object "Kind/name".
func helmID(o *Object) string {
	return scalar(o.Node, "kind") + "/" + scalar(o.Node, "metadata", "name")
}

// helmWhere renders where a field is written as "file:line:col", with a
// "~" when only an ancestor is (Exact false), and the origin unless it is
// helm-template.
func helmWhere(o *Object, field string) string {
	var p ypath.Path
	if field != "" {
		var err error
		if p, err = ypath.Parse(field); err != nil {
			panic(err)
		}
	}
	l := o.Source.Locate(p)
	s := l.File + ":" + strconv.Itoa(l.Line) + ":" + strconv.Itoa(l.Column)
	if !l.Exact {
		s += "~"
	}
	if l.Origin != loc.OriginHelmTemplate {
		s += " " + string(l.Origin)
	}
	return s
}

// helmValue returns the scalar at field of o, or "<none>".
func helmValue(o *Object, field string) string {
	p, err := ypath.Parse(field)
	if err != nil {
		panic(err)
	}
	m := ypath.Walk(o.Node, p)
	if m.Depth != len(p) || m.Value.Kind != yaml.ScalarNode {
		return "<none>"
	}
	return m.Value.Value
}

// inlineFrom reads the node at field of a YAML file in dir, as discovery
// hands inline values (Argo CD valuesObject) to the renderer.
func inlineFrom(t testing.TB, dir, file, field string) InlineValues {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := parseDocuments(file, src)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ypath.Parse(field)
	m := ypath.Walk(docs[0], p)
	if m.Depth != len(p) {
		t.Fatalf("%s has no %s", file, field)
	}
	return InlineValues{Node: m.Value, File: file}
}

// writeChartArchive packs the files under dir/src into dir/dst as helm
// package would (one top-level directory named after the chart).
func writeChartArchive(t testing.TB, dir, src, dst, name string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	root := filepath.Join(dir, src)
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: name + "/" + filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = gz.Close()
	}
	if err == nil {
		err = os.RemoveAll(root)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, dst), buf.Bytes(), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestRenderHelm(t *testing.T) {
	tests := []struct {
		name    string
		archive string
		// setup changes the unpacked repository before rendering.
		setup  func(t *testing.T, dir string)
		opts   Options
		target func(dir string) *Target
		// objects maps "Kind/name" to where the object starts; every
		// rendered object must be listed, in order.
		objects [][2]string
		// fields maps "Kind/name field.path" to where the field is.
		fields map[string]string
		// values maps "Kind/name field.path" to its rendered value.
		values map[string]string
	}{{
		name:    "starter chart",
		archive: "starter",
		target:  func(string) *Target { return &Target{Kind: KindHelm, Path: "charts/web"} },
		objects: [][2]string{
			{"Deployment/web", "charts/web/templates/deployment.yaml:1:1"},
			{"Service/web", "charts/web/templates/service.yaml:1:1"},
			{"ServiceAccount/web", "charts/web/templates/serviceaccount.yaml:2:1"},
		},
		fields: map[string]string{
			"Deployment/web spec.replicas":                                                          "charts/web/templates/deployment.yaml:9:3",
			"Deployment/web spec.template.spec.containers[name=web]":                                "charts/web/templates/deployment.yaml:36:9",
			"Deployment/web spec.template.spec.containers[name=web].image":                          "charts/web/templates/deployment.yaml:41:11",
			"Deployment/web spec.template.spec.containers[name=web].securityContext":                "charts/web/templates/deployment.yaml:38:11~",
			"Deployment/web spec.template.spec.containers[name=web].ports[name=http].containerPort": "charts/web/templates/deployment.yaml:45:15",
			"Deployment/web spec.template.spec.containers[name=web].livenessProbe.httpGet.path":     "charts/web/templates/deployment.yaml:48:11~",
			`Deployment/web metadata.labels["app.kubernetes.io/name"]`:                              "charts/web/templates/deployment.yaml:5:3~",
			"Deployment/web spec.template.spec.securityContext.runAsNonRoot":                        "charts/web/templates/deployment.yaml:32:7~",
			"Service/web spec.ports[name=http].targetPort":                                          "charts/web/templates/service.yaml:11:7",
			"ServiceAccount/web automountServiceAccountToken":                                       "charts/web/templates/serviceaccount.yaml:12:1",
			"ServiceAccount/web metadata.annotations":                                               "charts/web/templates/serviceaccount.yaml:9:3~",
		},
		values: map[string]string{
			"Deployment/web spec.template.spec.containers[name=web].image": "nginx:1.16.0",
			// Helm does not add namespaces, and the target has none.
			"Deployment/web metadata.namespace": "<none>",
		},
	}, {
		name:    "starter chart with a values file, release name, namespace and tests",
		archive: "starter",
		target: func(string) *Target {
			return &Target{Kind: KindHelm, Path: "charts/web", Namespace: "shop", Helm: &HelmOptions{
				ReleaseName: "front", ValueFiles: []string{"deploy/hardened.yaml"}, IncludeTests: true,
			}}
		},
		objects: [][2]string{
			{"Deployment/front-web", "charts/web/templates/deployment.yaml:1:1"},
			{"Service/front-web", "charts/web/templates/service.yaml:1:1"},
			{"ServiceAccount/front-web", "charts/web/templates/serviceaccount.yaml:2:1"},
			{"Pod/front-web-test-connection", "charts/web/templates/tests/test-connection.yaml:1:1"},
		},
		fields: map[string]string{
			"Deployment/front-web spec.template.spec.containers[name=web].securityContext":                   "charts/web/templates/deployment.yaml:38:11",
			"Deployment/front-web spec.template.spec.containers[name=web].securityContext.runAsNonRoot":      "charts/web/templates/deployment.yaml:38:11~",
			"Deployment/front-web spec.template.spec.containers[name=web].securityContext.capabilities.drop": "charts/web/templates/deployment.yaml:38:11~",
			"Pod/front-web-test-connection spec.containers[name=wget].args":                                  "charts/web/templates/tests/test-connection.yaml:14:7",
		},
		values: map[string]string{
			"Deployment/front-web spec.template.spec.containers[name=web].securityContext.runAsNonRoot": "true",
			"Deployment/front-web metadata.namespace":                                                   "shop",
		},
	}, {
		name:    "values files, inline values and parameters",
		archive: "values",
		target: func(dir string) *Target {
			return &Target{Kind: KindHelm, Path: "charts/app", Namespace: "prod", Helm: &HelmOptions{
				ValueFiles: []string{"deploy/base.yaml", "deploy/prod.yaml"},
				Values:     []InlineValues{inlineFrom(t, dir, "apps/app.yaml", "spec.source.helm.valuesObject")},
				Set:        []string{"replicas=5", "image.repository=mirror.example.com/app"},
			}}
		},
		objects: [][2]string{{"Deployment/app", "charts/app/templates/deployment.yaml:1:1"}},
		fields: map[string]string{
			"Deployment/app spec.replicas": "charts/app/templates/deployment.yaml:7:3",
			"Deployment/app spec.template.spec.containers[name=app].resources.limits.cpu": "charts/app/templates/deployment.yaml:16:11~",
		},
		values: map[string]string{
			"Deployment/app spec.replicas":                                                   "5",
			"Deployment/app metadata.namespace":                                              "prod",
			`Deployment/app spec.template.metadata.annotations.env`:                          "prod",
			"Deployment/app spec.template.spec.containers[name=app].image":                   "mirror.example.com/app:2.0",
			"Deployment/app spec.template.spec.containers[name=app].resources.limits.cpu":    "200m",
			"Deployment/app spec.template.spec.containers[name=app].resources.limits.memory": "64Mi",
		},
	}, {
		name:    "vendored subchart, disabled subchart and aliased file dependency",
		archive: "subcharts",
		target:  func(string) *Target { return &Target{Kind: KindHelm, Path: "charts/shop"} },
		objects: [][2]string{
			{"StatefulSet/shop-db", "charts/shop/charts/db/templates/statefulset.yaml:2:1"},
			{"Deployment/shop-worker", "libs/common/templates/deployment.yaml:1:1"},
			{"Service/shop", "charts/shop/templates/svc.yaml:1:1"},
		},
		fields: map[string]string{
			"StatefulSet/shop-db spec.volumeClaimTemplates[0].spec.resources.requests.storage": "charts/shop/charts/db/templates/statefulset.yaml:13:13",
			"StatefulSet/shop-db spec.volumeClaimTemplates[0]":                                 "charts/shop/charts/db/templates/statefulset.yaml:8:5",
			"Deployment/shop-worker spec.template.spec.containers[name=worker].args":           "libs/common/templates/deployment.yaml:10:11",
		},
		values: map[string]string{
			"StatefulSet/shop-db spec.volumeClaimTemplates[0].spec.resources.requests.storage": "1Gi",
			"Deployment/shop-worker spec.template.spec.containers[name=worker].args[1]":        "orders",
		},
	}, {
		name:    "vendored subchart archive",
		archive: "subcharts",
		setup: func(t *testing.T, dir string) {
			writeChartArchive(t, dir, "charts/shop/charts/db", "charts/shop/charts/db-0.1.0.tgz", "db")
		},
		target: func(string) *Target { return &Target{Kind: KindHelm, Path: "charts/shop"} },
		objects: [][2]string{
			{"StatefulSet/shop-db", "charts/shop/charts/db-0.1.0.tgz:0:0~"},
			{"Deployment/shop-worker", "libs/common/templates/deployment.yaml:1:1"},
			{"Service/shop", "charts/shop/templates/svc.yaml:1:1"},
		},
		fields: map[string]string{
			"StatefulSet/shop-db spec.volumeClaimTemplates[0].spec": "charts/shop/charts/db-0.1.0.tgz:0:0~",
		},
		values: map[string]string{
			"StatefulSet/shop-db spec.volumeClaimTemplates[0].spec.resources.requests.storage": "1Gi",
		},
	}, {
		name:    "packaged chart",
		archive: "starter",
		setup: func(t *testing.T, dir string) {
			writeChartArchive(t, dir, "charts/web", "charts/web-0.1.0.tgz", "web")
		},
		target: func(string) *Target { return &Target{Kind: KindHelm, Path: "charts/web-0.1.0.tgz"} },
		objects: [][2]string{
			{"Deployment/web", "charts/web-0.1.0.tgz:0:0~"},
			{"Service/web", "charts/web-0.1.0.tgz:0:0~"},
			{"ServiceAccount/web", "charts/web-0.1.0.tgz:0:0~"},
		},
	}, {
		name:    "documents, loops, lists, hooks and CRDs",
		archive: "templates",
		target:  func(string) *Target { return &Target{Kind: KindHelm, Path: "charts/multi", Namespace: "apps"} },
		objects: [][2]string{
			{"CustomResourceDefinition/widgets.example.com", "charts/multi/crds/widget.yaml:1:1 manifest"},
			{"ConfigMap/caps", "charts/multi/templates/caps.yaml:1:1"},
			{"Service/svc", "charts/multi/templates/conditional.yaml:12:1"},
			{"Job/migrate", "charts/multi/templates/hooks.yaml:1:1"},
			{"ConfigMap/listed", "charts/multi/templates/list.yaml:4:3"},
			{"Deployment/worker-a", "charts/multi/templates/loop.yaml:3:1"},
			{"Deployment/worker-b", "charts/multi/templates/loop.yaml:3:1"},
			{"Deployment/worker-c", "charts/multi/templates/loop.yaml:3:1"},
		},
		fields: map[string]string{
			"Service/svc spec.ports[name=http].port":                                 "charts/multi/templates/conditional.yaml:23:7",
			"Service/svc spec.ports[name=metrics].port":                              "charts/multi/templates/conditional.yaml:25:7",
			"Service/svc metadata.annotations.note":                                  "charts/multi/templates/conditional.yaml:17:5",
			"Service/svc spec.selector":                                              "charts/multi/templates/conditional.yaml:20:1~",
			"Deployment/worker-b spec.template.spec.containers[name=worker].args[0]": "charts/multi/templates/loop.yaml:13:13",
			"Deployment/worker-c spec.template.spec.containers[name=worker].image":   "charts/multi/templates/loop.yaml:11:9~",
			"Job/migrate spec.template.spec.containers[name=migrate].image":          "charts/multi/templates/hooks.yaml:12:11",
			"CustomResourceDefinition/widgets.example.com metadata.name":             "charts/multi/crds/widget.yaml:4:3 manifest",
			"ConfigMap/caps data.kube":                                               "charts/multi/templates/caps.yaml:7:3",
			"ConfigMap/listed metadata.name":                                         "charts/multi/templates/list.yaml:7:7",
			"ConfigMap/listed data":                                                  "charts/multi/templates/list.yaml:4:3~",
		},
		values: map[string]string{
			"ConfigMap/caps data.kube":            newestKubeVersion,
			"ConfigMap/caps data.release":         "multi",
			"ConfigMap/caps data.hasApps":         "true",
			"ConfigMap/caps data.offline":         "0",
			"ConfigMap/caps metadata.namespace":   "apps",
			"ConfigMap/listed metadata.namespace": "apps",
		},
	}, {
		name:    "kubernetes version option",
		archive: "templates",
		opts:    Options{KubeVersion: "1.31"},
		target:  func(string) *Target { return &Target{Kind: KindHelm, Path: "charts/multi"} },
		values: map[string]string{
			"ConfigMap/caps data.kube": "v1.31.0",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := unpackHelm(t, tt.archive)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			r := newHelmRenderer(t, dir, tt.opts)
			res, err := r.Render(context.Background(), tt.target(dir))
			objs := res.Objects
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			got := map[string]*Object{}
			var order [][2]string
			for _, o := range objs {
				got[helmID(o)] = o
				order = append(order, [2]string{helmID(o), helmWhere(o, "")})
			}
			if tt.objects != nil && !slices.Equal(order, tt.objects) {
				t.Errorf("objects:\n got %q\nwant %q", order, tt.objects)
			}
			check := func(kind string, want map[string]string, f func(*Object, string) string) {
				for k, w := range want {
					id, field, _ := strings.Cut(k, " ")
					o := got[id]
					if o == nil {
						t.Errorf("%s %s: no object %s", kind, k, id)
						continue
					}
					if g := f(o, field); g != w {
						t.Errorf("%s of %s = %q, want %q", kind, k, g, w)
					}
				}
			}
			check("location", tt.fields, helmWhere)
			check("value", tt.values, helmValue)
		})
	}
}

func TestRenderHelmErrors(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		target *Target
		// want is the error, "file:line: message"; the message may be a
		// prefix of the real one.
		want string
	}{{
		name:   "remote dependency not vendored",
		target: &Target{Kind: KindHelm, Path: "charts/remote"},
		want:   `charts/remote/Chart.yaml:8: dependency "redis" needs chart repository https://charts.bitnami.com/bitnami; vendor it under charts/ (helm dependency build) — kubeharden never downloads`,
	}, {
		name:   "template syntax error",
		target: &Target{Kind: KindHelm, Path: "charts/syntax"},
		want:   `charts/syntax/templates/cm.yaml:4: template syntax error: unexpected "}" in operand`,
	}, {
		name:   "required value in a helper",
		target: &Target{Kind: KindHelm, Path: "charts/required"},
		want:   `charts/required/templates/deployment.yaml:10: template execution failed: image.tag is required`,
	}, {
		name:   "nil pointer",
		target: &Target{Kind: KindHelm, Path: "charts/nilptr"},
		want:   `charts/nilptr/templates/cm.yaml:6: template execution failed at <.Values.missing.deeper>: nil pointer evaluating interface {}.deeper`,
	}, {
		name:   "invalid YAML in the output",
		target: &Target{Kind: KindHelm, Path: "charts/badyaml"},
		want:   `charts/badyaml/templates/cm.yaml: rendered output is not valid YAML (output line 5)`,
	}, {
		name:   "timeout",
		opts:   Options{Timeout: 50 * time.Millisecond},
		target: &Target{Kind: KindHelm, Path: "charts/slow"},
		want:   `charts/slow: rendering took longer than 50ms`,
	}, {
		name:   "output limit",
		opts:   Options{MaxOutput: 1024},
		target: &Target{Kind: KindHelm, Path: "charts/big"},
		want:   `charts/big/templates/cm.yaml:6: repeat 4096 "x" would make about 4096 bytes, over the 1024 byte output limit; refused before rendering`,
	}, {
		name:   "kubeVersion constraint",
		target: &Target{Kind: KindHelm, Path: "charts/old"},
		want:   `charts/old/Chart.yaml:4: chart requires kubeVersion <1.25.0-0, which Kubernetes ` + newestKubeVersion + ` does not satisfy`,
	}, {
		name:   "values do not match the schema",
		target: &Target{Kind: KindHelm, Path: "charts/schema"},
		want:   `charts/schema/values.schema.json: values do not match the chart's schema: - at '/replicas': got string, want integer`,
	}, {
		name:   "schema refers to a remote schema",
		target: &Target{Kind: KindHelm, Path: "charts/remoteschema"},
		want:   `charts/remoteschema/values.schema.json: cannot use values.schema.json: failing loading "http://127.0.0.1:9/never.json": schema reference http://127.0.0.1:9/never.json refused`,
	}, {
		name:   "missing values file",
		target: &Target{Kind: KindHelm, Path: "charts/common", Helm: &HelmOptions{ValueFiles: []string{"deploy/missing.yaml"}}},
		want:   `deploy/missing.yaml: values file does not exist`,
	}, {
		name:   "values file outside the repository",
		target: &Target{Kind: KindHelm, Path: "charts/common", Helm: &HelmOptions{ValueFiles: []string{"../values.yaml"}}},
		want:   `../values.yaml: values file is outside the repository`,
	}, {
		name:   "a plain file under charts/",
		target: &Target{Kind: KindHelm, Path: "charts/junk"},
		want:   `charts/junk/charts/README.md: not a chart`,
	}, {
		name:   "bad parameter",
		target: &Target{Kind: KindHelm, Path: "charts/common", Helm: &HelmOptions{Set: []string{"a[=b"}}, Via: &Via{Kind: "Application", Name: "x", File: "apps/x.yaml", Line: 3}},
		want:   `apps/x.yaml:3: helm parameter "a[=b"`,
	}, {
		name:   "dependency cycle",
		target: &Target{Kind: KindHelm, Path: "charts/cycle-a"},
		want:   `charts/cycle-b/Chart.yaml:5: dependency "cycle-a" makes a cycle: charts/cycle-a -> charts/cycle-b -> charts/cycle-a`,
	}, {
		name:   "file dependency outside the repository",
		target: &Target{Kind: KindHelm, Path: "charts/escape"},
		want:   `charts/escape/Chart.yaml:5: dependency "outside": file://../../../outside is outside the repository`,
	}, {
		name:   "not a chart",
		target: &Target{Kind: KindHelm, Path: "charts"},
		want:   `charts/Chart.yaml: chart has no Chart.yaml`,
	}, {
		name:   "bad kubernetes version option",
		opts:   Options{KubeVersion: "one"},
		target: &Target{Kind: KindHelm, Path: "charts/common"},
		want:   `charts/common: invalid Kubernetes version "one"`,
	}}
	dir := unpackHelm(t, "errors")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newHelmRenderer(t, dir, tt.opts)
			res, err := r.Render(context.Background(), tt.target)
			objs := res.Objects
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Render = %d objects, %v; want *Error %q", len(objs), err, tt.want)
			}
			if !strings.HasPrefix(e.Error(), tt.want) {
				t.Errorf("Render error\n got %q\nwant %q", e.Error(), tt.want)
			}
		})
	}
}

func TestRenderHelmCancelled(t *testing.T) {
	r := newHelmRenderer(t, unpackHelm(t, "errors"), Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Render(ctx, &Target{Kind: KindHelm, Path: "charts/slow"})
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "cancelled") {
		t.Errorf("Render = %v, want a cancellation *Error", err)
	}
}

func TestRenderHelmSymlinkEscape(t *testing.T) {
	dir := unpackHelm(t, "values")
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.yaml"), []byte("kind: Secret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "charts/app/templates/secret.yaml")); err != nil {
		t.Skip(err)
	}
	r := newHelmRenderer(t, dir, Options{})
	_, err := r.Render(context.Background(), &Target{Kind: KindHelm, Path: "charts/app"})
	var e *Error
	if !errors.As(err, &e) || e.File != "charts/app/templates/secret.yaml" || e.Message != "symlink leaves the repository root" {
		t.Errorf("Render = %v, want an *Error on the escaping symlink", err)
	}
}

// TestRenderHelmReuse renders one chart with values that enable and
// disable its subcharts, concurrently, on one Renderer: the cached chart
// must not remember what an earlier render removed.
func TestRenderHelmReuse(t *testing.T) {
	dir := unpackHelm(t, "subcharts")
	r := newHelmRenderer(t, dir, Options{})
	target := func(cache bool) *Target {
		return &Target{Kind: KindHelm, Path: "charts/shop", Helm: &HelmOptions{
			Set: []string{"cache.enabled=" + strconv.FormatBool(cache)},
		}}
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cache := i%2 == 0
			res, err := r.Render(context.Background(), target(cache))
			objs := res.Objects
			if err != nil {
				t.Error(err)
				return
			}
			var has bool
			for _, o := range objs {
				if helmID(o) == "Deployment/cache" {
					has = true
					if got := helmWhere(o, ""); got != "charts/shop/charts/cache/templates/deployment.yaml:1:1" {
						t.Errorf("cache deployment at %s", got)
					}
				}
			}
			if has != cache {
				t.Errorf("cache.enabled=%v: rendered the cache subchart: %v", cache, has)
			}
		}()
	}
	wg.Wait()
}

// TestRenderHelmOverlay renders a chart whose values.yaml is replaced in
// an overlay, as fix verification does.
func TestRenderHelmOverlay(t *testing.T) {
	dir := unpackHelm(t, "values")
	r := newHelmRenderer(t, dir, Options{})
	over := r.WithFS(r.FS().WithOverlay(map[string][]byte{
		"charts/app/values.yaml": []byte("replicas: 7\nimage: {repository: r, tag: t}\n"),
	}))
	res, err := over.Render(context.Background(), &Target{Kind: KindHelm, Path: "charts/app"})
	objs := res.Objects
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || helmValue(objs[0], "spec.replicas") != "7" {
		t.Errorf("overlay values not used: %d objects", len(objs))
	}
}

func TestChartFiles(t *testing.T) {
	dir := unpackHelm(t, "subcharts")
	r := newHelmRenderer(t, dir, Options{})
	got, err := r.ChartFiles("charts/shop")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"charts/shop/Chart.yaml",
		"charts/shop/charts/cache/Chart.yaml",
		"charts/shop/charts/cache/templates/deployment.yaml",
		"charts/shop/charts/db/Chart.yaml",
		"charts/shop/charts/db/templates/statefulset.yaml",
		"charts/shop/charts/db/values.yaml",
		"charts/shop/templates/svc.yaml",
		"charts/shop/values.yaml",
		"libs/common/Chart.yaml",
		"libs/common/templates/_helpers.tpl",
		"libs/common/templates/deployment.yaml",
		"libs/common/values.yaml",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ChartFiles:\n got %q\nwant %q", got, want)
	}

	// .helmignore is read, and what it ignores is not.
	r = newHelmRenderer(t, unpackHelm(t, "templates"), Options{})
	got, err = r.ChartFiles("charts/multi")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "charts/multi/.helmignore") || slices.Contains(got, "charts/multi/templates/ignored.yaml") {
		t.Errorf("ChartFiles ignores .helmignore: %q", got)
	}
}

func TestHelmTemplateSource(t *testing.T) {
	const tmpl = `{{- /* header */ -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}
  labels: {{- include "labels" . | nindent 4 }}
spec:
  containers:
  - name: app
    image: "{{ .Values.image }}"
    securityContext:
      {{- toYaml .Values.sc | nindent 6 }}
  - name: {{ .Values.sidecar.name }}
    env:
    - name: A
      value: "1"
  volumes:
    - name: data
      emptyDir: {}
`
	rendered := `apiVersion: v1
kind: Pod
metadata:
  name: rel
spec:
  containers:
  - name: app
    image: x
    securityContext:
      runAsNonRoot: true
  - name: proxy
    env:
    - name: A
      value: "1"
  volumes:
  - name: data
    emptyDir: {}
`
	docs, err := parseDocuments("pod.yaml", []byte(rendered))
	if err != nil {
		t.Fatal(err)
	}
	tdocs := splitTemplate([]byte(tmpl))
	if len(tdocs) != 1 {
		t.Fatalf("%d template documents", len(tdocs))
	}
	src := &helmTemplateSource{file: "t.yaml", doc: tdocs[0], node: docs[0]}
	o := &Object{Node: docs[0], Source: src}
	for field, want := range map[string]string{
		"":                                "t.yaml:2:1",
		"kind":                            "t.yaml:3:1",
		"metadata.name":                   "t.yaml:5:3",
		"metadata.labels":                 "t.yaml:6:3~",
		"metadata.labels.app":             "t.yaml:6:3~",
		"spec.containers[name=app].image": "t.yaml:10:5",
		"spec.containers[name=app].securityContext.runAsNonRoot": "t.yaml:11:5~",
		"spec.containers[name=proxy]":                            "t.yaml:13:3",
		"spec.containers[name=proxy].env[name=A].value":          "t.yaml:16:7",
		"spec.containers[name=other]":                            "t.yaml:13:3~",
		"spec.containers[1].env":                                 "t.yaml:14:5",
		"spec.volumes[name=data].emptyDir":                       "t.yaml:19:7",
		"spec.hostNetwork":                                       "t.yaml:7:1~",
		"status.phase":                                           "t.yaml:2:1~",
	} {
		if got := helmWhere(o, field); got != want {
			t.Errorf("Locate(%s) = %s, want %s", field, got, want)
		}
	}
	unknown := &helmTemplateSource{file: "t.yaml"}
	if l := unknown.Locate(ypath.Path{"spec"}); l.File != "t.yaml" || l.Line != 0 || l.Exact {
		t.Errorf("Locate without a template document = %+v, want line 0", l)
	}
}

func TestStripActions(t *testing.T) {
	src := "a: {{ .x }}\n{{- if \"}}\" }}\nb: \"{{ include \"n\" . }}-x\"\n{{/* c\nd: e */}}\nf: g {{ `multi\nline` }} h\n"
	lines, actions := stripActions(src)
	want := []string{"a: ", "", `b: "-x"`, "", "", "f: g ", " h", ""}
	wantAct := []bool{true, true, true, true, true, true, true, false}
	if !slices.Equal(lines, want) || !slices.Equal(actions, wantAct) {
		t.Errorf("stripActions:\n got %q %v\nwant %q %v", lines, actions, want, wantAct)
	}
}

func BenchmarkRenderHelmStarter(b *testing.B) {
	dir := unpackHelm(b, "starter")
	r := newHelmRenderer(b, dir, Options{})
	target := &Target{Kind: KindHelm, Path: "charts/web", Helm: &HelmOptions{ValueFiles: []string{"deploy/hardened.yaml"}}}
	objs := 0
	for b.Loop() {
		res, err := r.Render(context.Background(), target)
		got := res.Objects
		if err != nil {
			b.Fatal(err)
		}
		objs += len(got)
	}
	b.ReportMetric(float64(objs)/b.Elapsed().Seconds(), "objects/s")
}

// FuzzSplitTemplate checks that any template source splits into lines
// that match the source's and that locating fields in it never panics.
func FuzzSplitTemplate(f *testing.F) {
	for _, name := range []string{"starter", "templates", "subcharts", "errors"} {
		ar, err := txtar.ParseFile(filepath.Join("testdata", "helm", name+".txtar"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if strings.Contains(file.Name, "/templates/") {
				f.Add(string(file.Data))
			}
		}
	}
	paths := []ypath.Path{nil, {"spec"}, {"spec", "containers", "[name=web]", "image"}, {"items", "[0]", "metadata"}, {"a", "[=x]"}, {"a", "[3]", "b"}}
	f.Fuzz(func(t *testing.T, src string) {
		lines, actions := stripActions(src)
		if n := strings.Count(src, "\n") + 1; len(lines) != n || len(actions) != n {
			t.Fatalf("stripActions: %d lines, %d flags for %d source lines", len(lines), len(actions), n)
		}
		for _, d := range splitTemplate([]byte(src)) {
			for _, p := range paths {
				l := (&helmTemplateSource{file: "t.yaml", doc: d}).Locate(p)
				if l.Line < 0 || l.Line > strings.Count(src, "\n")+1 {
					t.Fatalf("Locate(%s) = line %d", p, l.Line)
				}
			}
		}
	})
}
