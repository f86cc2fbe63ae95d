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
