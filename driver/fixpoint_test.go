package driver

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/lint"
)

// TestConflictingFixesReachFixpoint: two fixes of one object whose
// patches conflict when lowered together (one sets an annotation, the
// other the annotations map) are both applied by one run: the second is
// planned again on the state the first left. Before, it was skipped as
// conflicting and only a second run applied it.
func TestConflictingFixesReachFixpoint(t *testing.T) {
	annotate := func(id string, want map[string]string, patch fix.Patch) *lint.Rule {
		return &lint.Rule{ID: id, Title: id, Severity: lint.Low, Kinds: []string{"ConfigMap"},
			Check: func(p *lint.Pass, o *lint.Object) {
				for k, v := range want {
					if o.String(lint.Path{"metadata", "annotations", k}) != v {
						p.Report(lint.Finding{Object: o, Field: lint.Path{"metadata", "annotations"}, Message: id + " wants " + k,
							Fix: &lint.FixInfo{Description: "annotate", Patches: []fix.Patch{patch}}})
						return
					}
				}
			}}
	}
	rules := []*lint.Rule{
		annotate("test-annotate-x", map[string]string{"x": "1"}, fix.Set(lint.Path{"metadata", "annotations", "x"}, "1")),
		annotate("test-annotate-xy", map[string]string{"x": "1", "y": "2"}, fix.Set(lint.Path{"metadata", "annotations"}, map[string]any{"x": "1", "y": "2"})),
	}
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"))
	writeTestFile(t, filepath.Join(dir, "cm.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"))
	ctx := context.Background()
	open := func() *Repo {
		r, err := Open(ctx, dir, nil, Options{Rules: rules})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := open()
	res, err := r.Fix(ctx, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Applied) != 2 || len(res.Skipped) != 0 {
		t.Errorf("applied %d, skipped %v; want both applied", len(res.Applied), res.Skipped)
	}
	if errs := r.WriteFiles(res); len(errs) > 0 {
		t.Fatal(errs)
	}
	again, err := open().Fix(ctx, FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Applied) > 0 || len(again.FixedFiles()) > 0 {
		t.Errorf("a second run applies %d fixes in %v", len(again.Applied), again.FixedFiles())
	}
}

func TestParsesStrictly(t *testing.T) {
	for src, want := range map[string]string{
		"a: 1\nb: 2\n---\nc: 3\n":  "",
		"a:\n  b: 1\n  b: 2\n":     `line 3: key "b" written twice in a`,
		"a: 1\n---\nx: [1, 2\n":    "did not find expected",
		"items:\n- {n: 1, n: 2}\n": `key "n" written twice in items[0]`,
	} {
		err := parsesStrictly([]byte(src))
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", src, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%q: error %v, want %q", src, err, want)
		}
	}
}

// TestFailedFixBlocksOnlyItsTarget is shaped like a chart collection in
// which one chart's fix fails verification twice over (its values edit
// makes the object invalid, and changes another field the same key
// feeds): the failure is charged to that chart's fix alone, and the fix
// of an unrelated manifest still applies. Before, the second failure,
// finding its culprit already dropped, was charged to every fix left.
func TestFailedFixBlocksOnlyItsTarget(t *testing.T) {
	badSize := &lint.Rule{ID: "test-size", Title: "size", Severity: lint.Low, Kinds: []string{"Deployment"},
		Check: func(p *lint.Pass, o *lint.Object) {
			at := lint.Path{"spec", "replicas"}
			if o.String(at) != "5" {
				p.Report(lint.Finding{Object: o, Field: at, Message: "replicas is not 5",
					Fix: &lint.FixInfo{Description: "set replicas", Patches: []fix.Patch{fix.Set(at, "five")}}})
			}
		}}
	dir := t.TempDir()
	for name, data := range map[string]string{
		".git/HEAD":                   "ref: refs/heads/main\n",
		"chart/Chart.yaml":            "apiVersion: v2\nname: web\nversion: 0.1.0\n",
		"chart/values.yaml":           "size: 2\n",
		"chart/templates/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    size: {{ .Values.size | quote }}\nspec:\n  replicas: {{ .Values.size }}\n  template:\n    spec:\n      securityContext:\n        runAsNonRoot: true\n      containers:\n      - name: web\n        image: nginx:1.27\n",
		"apps/pod.yaml":               "apiVersion: v1\nkind: Pod\nmetadata:\n  name: api\nspec:\n  containers:\n  - name: api\n    image: nginx:1.27\n",
	} {
		writeTestFile(t, filepath.Join(dir, name), []byte(data))
	}
	r, err := Open(context.Background(), dir, nil, Options{Rules: []*lint.Rule{badSize, testFixRules[0]}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Fix(context.Background(), FixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var applied, skipped []string
	for _, a := range res.Applied {
		applied = append(applied, a.Finding.Rule.ID+" "+a.Finding.Object.Resource.String())
	}
	for _, s := range res.Skipped {
		skipped = append(skipped, s.Finding.Rule.ID+" "+s.Finding.Object.Resource.String()+": "+s.Reason)
	}
	if len(applied) != 1 || applied[0] != "test-non-root Pod/api" {
		t.Errorf("applied %v, want the pod's fix", applied)
	}
	if len(skipped) != 1 || !strings.HasPrefix(skipped[0], "test-size Deployment/web") {
		t.Errorf("skipped %v, want only the chart's own fix", skipped)
	}
}
