package render

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/internal/ypath"
)

// probeFixture is a repository unpacked from testdata/probe/<name>.txtar
// with a renderer over it.
type probeFixture struct {
	dir string
	r   *Renderer
}

func newProbeFixture(t testing.TB, name string) *probeFixture {
	t.Helper()
	dir := unpackDir(t, filepath.Join("probe", name+".txtar"))
	return &probeFixture{dir: dir, r: newHelmRenderer(t, dir, Options{})}
}

// object renders target and returns the object named "Kind/name".
func (f *probeFixture) object(t testing.TB, r *Renderer, target *Target, id string) *Object {
	t.Helper()
	res, err := r.Render(context.Background(), target)
	objs := res.Objects
	if err != nil {
		t.Fatalf("render %s: %v", target.ID(), err)
	}
	for _, o := range objs {
		if helmID(o) == id {
			return o
		}
	}
	t.Fatalf("%s renders no %s", target.ID(), id)
	return nil
}

// site probes for field ("Kind/name field.path") of target.
func (f *probeFixture) site(t testing.TB, target *Target, field string) (*Object, ypath.Path, *ValuesSite, error) {
	t.Helper()
	id, fp, _ := strings.Cut(field, " ")
	p, err := ypath.Parse(fp)
	if err != nil {
		t.Fatal(err)
	}
	obj := f.object(t, f.r, target, id)
	s, err := f.r.ValuesSite(context.Background(), target, obj, p)
	return obj, p, s, err
}

// siteString renders a site as "file: path (key ↔ field)".
func siteString(s *ValuesSite) string {
	return s.File + ": " + s.Path.String() + " (" + s.Key.String() + " <- " + s.Field.String() + ")"
}

// setValue writes value at the site the way the fix planner does, with
// fix.LowerAll on the file's bytes, and returns the new bytes. It also
// checks that Node belongs to a parse of those bytes.
func setValue(t testing.TB, fsys *FS, s *ValuesSite, value any) []byte {
	t.Helper()
	src, err := fsys.ReadFile(s.File)
	if err != nil {
		t.Fatal(err)
	}
	edits, err := fix.LowerAll(src, s.Node, []fix.Patch{fix.Set(s.Path, value)})
	if err != nil {
		t.Fatalf("lower %s in %s: %v", s.Path, s.File, err)
	}
	out, err := fix.Apply(src, edits)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// rendered returns the field of the object after the values at the site
// are set to value, rendering through an overlay as verification does.
func (f *probeFixture) rendered(t testing.TB, target *Target, s *ValuesSite, id string, field ypath.Path, value any) string {
	t.Helper()
	out := setValue(t, f.r.FS(), s, value)
	fsys := f.r.FS().WithOverlay(map[string][]byte{s.File: out})
	r := f.r.WithFS(fsys)
	tt := *target
	if target.Helm != nil && s.Layer == LayerInline {
		// Inline values are read from the GitOps object: take them
		// from its new text, as discovery would.
		h := *target.Helm
		h.Values = slices.Clone(h.Values)
		for i, iv := range h.Values {
			if iv.File == s.File {
				h.Values[i] = inlineFromBytes(t, out, iv)
			}
		}
		tt.Helm = &h
	}
	obj := f.object(t, r, &tt, id)
	m := ypath.Walk(obj.Node, field)
	if m.Depth != len(field) {
		return "<none>"
	}
	b, err := yaml.Marshal(m.Value)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// inlineFromBytes finds inline values in new bytes of their file, at the
// path they had.
func inlineFromBytes(t testing.TB, src []byte, iv InlineValues) InlineValues {
	t.Helper()
	docs, err := parseDocuments(iv.File, src)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		for _, field := range []string{"spec.values", "spec.source.helm.valuesObject"} {
			p, _ := ypath.Parse(field)
			if m := ypath.Walk(d, p); m.Depth == len(p) {
				return InlineValues{Node: m.Value, File: iv.File}
			}
		}
	}
	t.Fatalf("%s: no inline values", iv.File)
	return iv
}

// probeCase is one field to probe, the site expected, and the value that
// writing true (or the given value) there renders.
type probeCase struct {
	field  string
	site   string
	shared []string
	value  any
	// want is the rendered field after value is written at the site;
	// empty means the YAML of value.
	want string
}

func runProbeCases(t *testing.T, f *probeFixture, target *Target, cases []probeCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.field, func(t *testing.T) {
			_, p, s, err := f.site(t, target, c.field)
			if err != nil {
				t.Fatalf("ValuesSite: %v", err)
			}
			if got := siteString(s); got != c.site {
				t.Errorf("site\n got %s\nwant %s", got, c.site)
			}
			var shared []string
			for _, pl := range s.Shared {
				shared = append(shared, pl.String())
			}
			if !slices.Equal(shared, c.shared) {
				t.Errorf("shared\n got %q\nwant %q", shared, c.shared)
			}
			id, _, _ := strings.Cut(c.field, " ")
			p = canonicalPath(f.object(t, f.r, target, id).Node, p)
			if !slices.Equal(s.Path, s.Key.Append(p[len(s.Field):]...)) || !p.HasPrefix(s.Field) {
				t.Errorf("path %s is not key %s + field %s below %s", s.Path, s.Key, p, s.Field)
			}
			value := c.value
			if value == nil {
				value = true
			}
			want := c.want
			if want == "" {
				b, _ := yaml.Marshal(value)
				want = strings.TrimSpace(string(b))
			}
			if got := f.rendered(t, target, s, id, p, value); got != want {
				t.Errorf("after writing %v at %s, the field renders\n%s\nwant\n%s", value, s.Path, got, want)
			}
		})
	}
}

func TestValuesSiteStarter(t *testing.T) {
	f := newProbeFixture(t, "starter")
	chart := webChart()
	runProbeCases(t, f, chart, []probeCase{{
		field: "Deployment/web spec.template.spec.containers[name=web].securityContext.runAsNonRoot",
		site:  "charts/web/values.yaml: securityContext.runAsNonRoot (securityContext <- spec.template.spec.containers[name=web].securityContext)",
	}, {
		field: "Deployment/web spec.template.spec.containers[0].securityContext.capabilities.drop",
		site:  "charts/web/values.yaml: securityContext.capabilities.drop (securityContext <- spec.template.spec.containers[name=web].securityContext)",
		value: []any{"ALL"},
	}, {
		field: "Deployment/web spec.template.spec.securityContext.runAsNonRoot",
		site:  "charts/web/values.yaml: podSecurityContext.runAsNonRoot (podSecurityContext <- spec.template.spec.securityContext)",
	}, {
		field: "Deployment/web spec.template.spec.containers[name=web].resources.limits.memory",
		site:  "charts/web/values.yaml: resources.limits.memory (resources <- spec.template.spec.containers[name=web].resources)",
		value: "128Mi",
	}, {
		// livenessProbe.httpGet reaches the field too, but through
		// livenessProbe: the outer key is the one reported.
		field: "Deployment/web spec.template.spec.containers[name=web].livenessProbe.httpGet.path",
		site:  "charts/web/values.yaml: livenessProbe.httpGet.path (livenessProbe <- spec.template.spec.containers[name=web].livenessProbe)",
		value: "/healthz",
	}})
}

func TestValuesSiteGitOpsLayers(t *testing.T) {
	f := newProbeFixture(t, "starter")
	argo := &Target{Kind: KindHelm, Path: "charts/web", Namespace: "web", Helm: &HelmOptions{
		ValueFiles: []string{"envs/common.yaml", "envs/prod/values.yaml"},
		Values:     []InlineValues{inlineFrom(t, f.dir, "apps/web-prod.yaml", "spec.source.helm.valuesObject")},
	}, Via: &Via{Kind: "Application", Name: "web-prod", File: "apps/web-prod.yaml", Line: 2}}
	runProbeCases(t, f, argo, []probeCase{{
		// envs/common.yaml sets securityContext and no later layer does.
		field: "Deployment/web spec.template.spec.containers[name=web].securityContext.runAsNonRoot",
		site:  "envs/common.yaml: securityContext.runAsNonRoot (securityContext <- spec.template.spec.containers[name=web].securityContext)",
	}, {
		// The inline values set podLabels.
		field: "Deployment/web spec.template.metadata.labels.team",
		site:  "apps/web-prod.yaml: podLabels.team (podLabels <- spec.template.metadata.labels)",
		value: "shop",
	}, {
		// No layer sets podSecurityContext: the deployment's own last
		// layer, the inline values, rather than the chart's default.
		field: "Deployment/web spec.template.spec.securityContext.runAsNonRoot",
		site:  "apps/web-prod.yaml: podSecurityContext.runAsNonRoot (podSecurityContext <- spec.template.spec.securityContext)",
	}})

	files := &Target{Kind: KindHelm, Path: "charts/web", Helm: &HelmOptions{
		ValueFiles: []string{"envs/common.yaml", "envs/prod/values.yaml"},
	}}
	runProbeCases(t, f, files, []probeCase{{
		field: "Deployment/web spec.template.spec.securityContext.runAsNonRoot",
		site:  "envs/prod/values.yaml: podSecurityContext.runAsNonRoot (podSecurityContext <- spec.template.spec.securityContext)",
	}})

	flux := &Target{Kind: KindHelm, Path: "charts/web", Namespace: "web", Helm: &HelmOptions{
		ReleaseName: "web",
		Values:      []InlineValues{inlineFrom(t, f.dir, "clusters/prod/web.yaml", "spec.values")},
	}, Via: &Via{Kind: "HelmRelease", Name: "web", File: "clusters/prod/web.yaml", Line: 2}}
	runProbeCases(t, f, flux, []probeCase{{
		field: "Deployment/web spec.template.spec.securityContext.runAsNonRoot",
		site:  "clusters/prod/web.yaml: podSecurityContext.runAsNonRoot (podSecurityContext <- spec.template.spec.securityContext)",
	}, {
		// resources: {} in the inline values is filled in.
		field: "Deployment/web spec.template.spec.containers[name=web].resources.limits.cpu",
		site:  "clusters/prod/web.yaml: resources.limits.cpu (resources <- spec.template.spec.containers[name=web].resources)",
		value: "500m",
	}})

	_, _, s, _ := f.site(t, flux, "Deployment/web spec.template.spec.securityContext.runAsNonRoot")
	if got := s.UsedBy([]*Target{argo, files, flux}); len(got) != 1 || got[0] != flux {
		t.Errorf("UsedBy(inline site) = %v, want the HelmRelease only", got)
	}
	_, _, s, _ = f.site(t, webChart(), "Deployment/web spec.template.spec.securityContext.runAsNonRoot")
	if got := s.UsedBy([]*Target{argo, files, flux, webChart()}); len(got) != 4 {
		t.Errorf("UsedBy(chart values) = %d targets, want 4", len(got))
	}
}

func webChart() *Target { return &Target{Kind: KindHelm, Path: "charts/web"} }

func TestValuesSiteErrors(t *testing.T) {
	f := newProbeFixture(t, "starter")
	str := &Target{Kind: KindHelm, Path: "charts/web", Helm: &HelmOptions{
		Values: []InlineValues{inlineFrom(t, f.dir, "apps/web-string.yaml", "spec.source.helm.values")},
	}}
	_, _, _, err := f.site(t, str, "Deployment/web spec.template.spec.securityContext.runAsNonRoot")
	var e *Error
	if !errors.As(err, &e) || e.File != "apps/web-string.yaml" || e.Line != 9 || !strings.Contains(e.Message, "YAML string") {
		t.Errorf("values as a string: err = %v, want an *Error at apps/web-string.yaml:9 about the string", err)
	}

	set := &Target{Kind: KindHelm, Path: "charts/web", Helm: &HelmOptions{
		Set: []string{"securityContext.runAsNonRoot=false"},
	}, Via: &Via{Kind: "Application", Name: "web", File: "apps/web-prod.yaml", Line: 2}}
	_, _, _, err = f.site(t, set, "Deployment/web spec.template.spec.containers[name=web].securityContext.runAsNonRoot")
	if !errors.As(err, &e) || e.File != "apps/web-prod.yaml" || !strings.Contains(e.Message, "helm parameter") {
		t.Errorf("--set override: err = %v, want an *Error on the Application about the parameter", err)
	}

	other := &Object{Node: mustNode(t, "kind: Deployment\nmetadata:\n  name: nope\n")}
	if _, err := f.r.ValuesSite(context.Background(), webChart(), other, ypath.Path{"spec"}); err == nil {
		t.Error("an object the target does not render: no error")
	}
}

func mustNode(t testing.TB, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

func TestValuesSiteScalars(t *testing.T) {
	f := newProbeFixture(t, "scalars")
	target := &Target{Kind: KindHelm, Path: "charts/app", Helm: &HelmOptions{ReleaseName: "app"}}
	runProbeCases(t, f, target, []probeCase{{
		field: "Deployment/app spec.template.spec.securityContext.runAsUser",
		site:  "charts/app/values.yaml: security.runAsUser (security.runAsUser <- spec.template.spec.securityContext.runAsUser)",
		value: 10001,
	}, {
		field: "Deployment/app spec.template.spec.containers[name=app].securityContext.runAsNonRoot",
		site:  "charts/app/values.yaml: security.runAsNonRoot (security.runAsNonRoot <- spec.template.spec.containers[name=app].securityContext.runAsNonRoot)",
	}, {
		// Two booleans are true; flipping halves tells them apart.
		field: "Deployment/app spec.template.spec.containers[name=app].securityContext.readOnlyRootFilesystem",
		site:  "charts/app/values.yaml: security.readOnlyRootFilesystem (security.readOnlyRootFilesystem <- spec.template.spec.containers[name=app].securityContext.readOnlyRootFilesystem)",
		value: false,
	}, {
		field: "Deployment/app spec.template.spec.automountServiceAccountToken",
		site:  "charts/app/values.yaml: automount (automount <- spec.template.spec.automountServiceAccountToken)",
		value: false,
	}, {
		field: "Deployment/app spec.template.spec.securityContext.seccompProfile.type",
		site:  "charts/app/values.yaml: seccomp (seccomp <- spec.template.spec.securityContext.seccompProfile.type)",
		value: "RuntimeDefault",
	}, {
		// Absent, rendered by a with block only when set.
		field: "Deployment/app spec.template.spec.securityContext.fsGroup",
		site:  "charts/app/values.yaml: security.fsGroup (security.fsGroup <- spec.template.spec.securityContext.fsGroup)",
		value: 2000,
	}, {
		// Rendered from a default when the key is absent.
		field: "Deployment/app spec.template.spec.containers[name=app].securityContext.runAsGroup",
		site:  "charts/app/values.yaml: runAsGroup (runAsGroup <- spec.template.spec.containers[name=app].securityContext.runAsGroup)",
		value: 3000,
	}})

	_, _, _, err := f.site(t, target, "Deployment/app spec.template.spec.containers[name=app].securityContext.capabilities.drop")
	var nk *NoValuesKeyError
	if !errors.As(err, &nk) {
		t.Fatalf("capabilities.drop: err = %v, want a *NoValuesKeyError", err)
	}
	if loc := nk.Template; loc.File != "charts/app/templates/deployment.yaml" || loc.Line != 25 || loc.Exact {
		t.Errorf("capabilities.drop: template at %+v, want the securityContext line 25", loc)
	}
	if nk.Suggest.String() != "securityContext" || nk.SuggestPath.String() != "securityContext.capabilities.drop" {
		t.Errorf("capabilities.drop: suggests %s / %s", nk.Suggest, nk.SuggestPath)
	}
}

func TestValuesSiteHardcoded(t *testing.T) {
	f := newProbeFixture(t, "hardcoded")
	target := &Target{Kind: KindHelm, Path: "charts/fixed"}
	for _, c := range []struct {
		field, err string
		line       int
		exact      bool
	}{{
		field: "Deployment/fixed spec.template.spec.containers[name=fixed].securityContext.runAsNonRoot",
		err:   "no values key of charts/fixed reaches spec.template.spec.containers[name=fixed].securityContext.runAsNonRoot of Deployment/fixed; the template writes it literally at charts/fixed/templates/deployment.yaml:20: edit it there, or render it from a values key such as securityContext",
		line:  20, exact: true,
	}, {
		field: "Deployment/fixed spec.template.spec.containers[name=fixed].securityContext.capabilities.drop",
		err:   "no values key of charts/fixed reaches spec.template.spec.containers[name=fixed].securityContext.capabilities.drop of Deployment/fixed; change the template at charts/fixed/templates/deployment.yaml:18 to render it from a values key such as securityContext (then set securityContext.capabilities.drop)",
		line:  18,
	}, {
		field: "Deployment/fixed spec.template.spec.securityContext.seccompProfile.type",
		err:   "no values key of charts/fixed reaches spec.template.spec.securityContext.seccompProfile.type of Deployment/fixed; change the template at charts/fixed/templates/deployment.yaml:14 to render it from a values key such as podSecurityContext (then set podSecurityContext.seccompProfile.type)",
		line:  14,
	}} {
		_, _, _, err := f.site(t, target, c.field)
		var nk *NoValuesKeyError
		if !errors.As(err, &nk) {
			t.Errorf("%s: err = %v, want a *NoValuesKeyError", c.field, err)
			continue
		}
		if nk.Template.Line != c.line || nk.Template.Exact != c.exact || nk.Incomplete {
			t.Errorf("%s: template %+v, incomplete %v", c.field, nk.Template, nk.Incomplete)
		}
		if err.Error() != c.err {
			t.Errorf("%s:\n got %s\nwant %s", c.field, err, c.err)
		}
	}
}

func TestValuesSiteShared(t *testing.T) {
	f := newProbeFixture(t, "shared")
	target := &Target{Kind: KindHelm, Path: "charts/multi"}
	runProbeCases(t, f, target, []probeCase{{
		// One map for two containers of api and, merged, the worker's.
		field: "Deployment/api spec.template.spec.containers[name=api].securityContext.runAsNonRoot",
		site:  "charts/multi/values.yaml: securityContext.runAsNonRoot (securityContext <- spec.template.spec.containers[name=api].securityContext)",
		shared: []string{
			"Deployment/api spec.template.spec.containers[name=metrics].securityContext",
			"Deployment/worker spec.template.spec.containers[name=worker].securityContext",
		},
	}, {
		// The worker's own map, merged over the shared one, is preferred.
		field: "Deployment/worker spec.template.spec.containers[name=worker].securityContext.runAsNonRoot",
		site:  "charts/multi/values.yaml: worker.securityContext.runAsNonRoot (worker.securityContext <- spec.template.spec.containers[name=worker].securityContext)",
	}, {
		// Absent, rendered by an if block only when set.
		field: "Deployment/api spec.template.spec.containers[name=proxy].securityContext.runAsNonRoot",
		site:  "charts/multi/values.yaml: containerSecurityContext.runAsNonRoot (containerSecurityContext <- spec.template.spec.containers[name=proxy].securityContext)",
	}, {
		// A values list of containers: the element is selected by name.
		field: "Deployment/api spec.template.spec.containers[name=log].securityContext.runAsNonRoot",
		site:  "charts/multi/values.yaml: sidecars[name=log].securityContext.runAsNonRoot (sidecars[name=log].securityContext <- spec.template.spec.containers[name=log].securityContext)",
	}, {
		// ... and may lack the mapping, rendered only when set.
		field: "Deployment/api spec.template.spec.containers[name=trace].securityContext.runAsNonRoot",
		site:  "charts/multi/values.yaml: sidecars[name=trace].securityContext.runAsNonRoot (sidecars[name=trace].securityContext <- spec.template.spec.containers[name=trace].securityContext)",
	}, {
		// A default helper: the worker's key wins when both are set.
		field: "Deployment/worker spec.template.spec.securityContext.runAsNonRoot",
		site:  "charts/multi/values.yaml: worker.podSecurityContext.runAsNonRoot (worker.podSecurityContext <- spec.template.spec.securityContext)",
	}})
}

func TestValuesSiteUmbrella(t *testing.T) {
	f := newProbeFixture(t, "umbrella")
	target := &Target{Kind: KindHelm, Path: "charts/platform"}
	runProbeCases(t, f, target, []probeCase{{
		field: "Deployment/platform-api spec.template.spec.containers[name=api].securityContext.runAsNonRoot",
		site:  "charts/platform/values.yaml: api.securityContext.runAsNonRoot (api.securityContext <- spec.template.spec.containers[name=api].securityContext)",
	}, {
		field: "Deployment/platform-api spec.template.spec.securityContext.runAsNonRoot",
		site:  "charts/platform/values.yaml: global.podSecurityContext.runAsNonRoot (global.podSecurityContext <- spec.template.spec.securityContext)",
	}})
}

// TestValuesSiteCache checks that findings on one chart share one probe.
func TestValuesSiteCache(t *testing.T) {
	f := newProbeFixture(t, "starter")
	target := webChart()
	fields := []string{
		"Deployment/web spec.template.spec.containers[name=web].securityContext.runAsNonRoot",
		"Deployment/web spec.template.spec.containers[name=web].securityContext.capabilities.drop",
		"Deployment/web spec.template.spec.containers[name=web].securityContext.allowPrivilegeEscalation",
		"Deployment/web spec.template.spec.securityContext.runAsNonRoot",
		"Deployment/web spec.template.spec.securityContext.seccompProfile.type",
	}
	for _, fl := range fields {
		if _, _, _, err := f.site(t, target, fl); err != nil {
			t.Fatal(err)
		}
	}
	st := f.r.probeState(target)
	// The baseline, the marker batch, the batches of the absent names
	// capabilities and seccompProfile, and one confirmation each of
	// securityContext and podSecurityContext.
	if st.renders != 6 {
		t.Errorf("%d renders for %d findings, want 6", st.renders, len(fields))
	}
	n := st.renders
	if _, _, _, err := f.site(t, &Target{Kind: KindHelm, Path: "charts/web"}, fields[0]); err != nil {
		t.Fatal(err)
	}
	if st.renders != n {
		t.Errorf("a second probe of the same field rendered again")
	}
}

func BenchmarkValuesSite(b *testing.B) {
	f := newProbeFixture(b, "starter")
	target := webChart()
	obj := f.object(b, f.r, target, "Deployment/web")
	field, _ := ypath.Parse("spec.template.spec.containers[name=web].securityContext.runAsNonRoot")
	ctx := context.Background()
	renders := 0
	b.ResetTimer()
	for b.Loop() {
		r := f.r.WithFS(f.r.FS()) // a fresh cache: every probe renders
		if _, err := r.ValuesSite(ctx, target, obj, field); err != nil {
			b.Fatal(err)
		}
		renders += r.probeState(target).renders
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "probes/s")
	b.ReportMetric(float64(renders)/float64(b.N), "renders/probe")
}

// TestValuesSiteDiscovered probes targets as discovery builds them from
// the Argo CD Applications and the Flux HelmRelease of the fixture.
func TestValuesSiteDiscovered(t *testing.T) {
	f := newProbeFixture(t, "starter")
	repo, err := Discover(context.Background(), f.r.FS(), DiscoverOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byVia := map[string]*Target{}
	for _, tg := range repo.Targets {
		if tg.Via != nil {
			byVia[tg.Via.Kind+"/"+tg.Via.Name] = tg
		}
	}
	const pod = " spec.template.spec.securityContext.runAsNonRoot"
	for _, c := range []struct{ via, obj, want string }{
		{"Application/web-prod", "Deployment/web-prod", "apps/web-prod.yaml: podSecurityContext.runAsNonRoot (podSecurityContext <- spec.template.spec.securityContext)"},
		{"HelmRelease/web", "Deployment/web", "clusters/prod/web.yaml: podSecurityContext.runAsNonRoot (podSecurityContext <- spec.template.spec.securityContext)"},
	} {
		tg := byVia[c.via]
		if tg == nil {
			t.Fatalf("discovery found no target for %s: %v", c.via, repo.Targets)
		}
		runProbeCases(t, f, tg, []probeCase{{field: c.obj + pod, site: c.want}})
	}

	// Discovery turns helm.values written as a string into a mapping
	// placed inside the string; it cannot be edited as a node.
	tg := byVia["Application/web-string"]
	if tg == nil {
		t.Fatal("discovery found no target for Application/web-string")
	}
	_, _, _, err = f.site(t, tg, "Deployment/web-string"+pod)
	var e *Error
	if !errors.As(err, &e) || e.File != "apps/web-string.yaml" || e.Line != 9 || !strings.Contains(e.Message, "YAML string") {
		t.Errorf("helm.values string: err = %v, want an *Error at apps/web-string.yaml:9 about the string", err)
	}
}

// TestValuesSiteFragile probes a chart that some markers break: the
// failing renders are split until the candidates at fault are dropped.
func TestValuesSiteFragile(t *testing.T) {
	f := newProbeFixture(t, "fragile")
	target := &Target{Kind: KindHelm, Path: "charts/svc"}
	runProbeCases(t, f, target, []probeCase{{
		field: "Deployment/svc spec.template.spec.containers[name=svc].securityContext.runAsNonRoot",
		site:  "charts/svc/values.yaml: securityContext.runAsNonRoot (securityContext <- spec.template.spec.containers[name=svc].securityContext)",
	}})
	st := f.r.probeState(target)
	if !st.incomplete {
		t.Error("candidates were dropped but the probe is not marked incomplete")
	}
	for _, k := range []string{"image", "services"} {
		if _, ok := st.maps[k]; ok {
			t.Errorf("%s breaks the render but was kept as a candidate", k)
		}
	}
	for _, k := range []string{"services.web", "securityContext"} {
		if _, ok := st.maps[k]; !ok {
			t.Errorf("%s was dropped", k)
		}
	}
	if st.renders > 16 {
		t.Errorf("%d renders to isolate two failing mappings", st.renders)
	}
	// A field no mapping reaches probes leaves, leaving closed mappings
	// alone.
	before := st.renders
	_, _, _, err := f.site(t, target, "Deployment/svc spec.template.spec.containers[name=svc].ports[name=web].hostPort")
	var nk *NoValuesKeyError
	if !errors.As(err, &nk) {
		t.Errorf("hostPort: err = %v, want a *NoValuesKeyError", err)
	}
	if n := st.renders - before; n > 3 {
		t.Errorf("hostPort: %d renders", n)
	}

	// With too few renders to isolate the failures, the finding says
	// the probe was incomplete.
	defer func(n int) { maxProbeRenders = n }(maxProbeRenders)
	maxProbeRenders = 3
	g := newProbeFixture(t, "fragile")
	_, _, _, err = g.site(t, target, "Deployment/svc spec.template.spec.containers[name=svc].securityContext.runAsNonRoot")
	if !errors.As(err, &nk) || !nk.Incomplete || !strings.Contains(err.Error(), "(probe incomplete)") {
		t.Errorf("out of budget: err = %v, want an incomplete *NoValuesKeyError", err)
	}
	if n := g.r.probeState(target).renders; n > 3 {
		t.Errorf("%d renders over a budget of 3", n)
	}
}

// FuzzValuesSite probes the starter chart with any values file layered
// over its defaults: the probe must not panic, must fail only with a
// *NoValuesKeyError or an *Error, and a site it returns must be in that
// file, writable by fix.LowerAll, and make the re-rendered field have the
// value written. Seeds are in testdata/fuzz/FuzzValuesSite.
func FuzzValuesSite(f *testing.F) {
	base := newProbeFixture(f, "starter")
	const file = "envs/fuzz.yaml"
	target := &Target{Kind: KindHelm, Path: "charts/web", Helm: &HelmOptions{ValueFiles: []string{file}}}
	field := ypath.Path{"spec", "template", "spec", "containers", "[name=web]", "securityContext", "runAsNonRoot"}
	render := func(fsys *FS) *Object {
		res, err := NewRenderer(fsys, Options{}).Render(context.Background(), target)
		objs := res.Objects
		if err != nil {
			return nil
		}
		for _, o := range objs {
			if scalar(o.Node, "kind") == "Deployment" && ypath.Walk(o.Node, field[:5]).Depth == 5 {
				return o
			}
		}
		return nil
	}
	f.Fuzz(func(t *testing.T, values string) {
		fsys := base.r.FS().WithOverlay(map[string][]byte{file: []byte(values)})
		obj := render(fsys)
		if obj == nil {
			return
		}
		s, err := NewRenderer(fsys, Options{}).ValuesSite(context.Background(), target, obj, field)
		if err != nil {
			var nk *NoValuesKeyError
			var e *Error
			if !errors.As(err, &nk) && !errors.As(err, &e) {
				t.Fatalf("ValuesSite: %T %v", err, err)
			}
			return
		}
		rest := field[len(s.Field):]
		if s.File != file || s.Node == nil || !field.HasPrefix(s.Field) || !slices.Equal(s.Path, s.Key.Append(rest...)) {
			t.Fatalf("bad site %+v", s)
		}
		src := []byte(values)
		edits, err := fix.LowerAll(src, s.Node, []fix.Patch{fix.Set(s.Path, true)})
		if err != nil {
			return // aliases, duplicate keys and the like: fix refuses them
		}
		out, err := fix.Apply(src, edits)
		if err != nil {
			t.Fatal(err)
		}
		after := render(fsys.WithOverlay(map[string][]byte{file: out}))
		if after == nil {
			t.Fatalf("after writing %s the chart does not render:\n%s", s.Path, out)
		}
		if m := ypath.Walk(after.Node, field); m.Depth != len(field) || m.Value.Value != "true" {
			t.Fatalf("after writing %s, %s is not true:\n%s", s.Path, field, out)
		}
	})
}
