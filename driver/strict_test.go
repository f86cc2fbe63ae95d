package driver

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// strictProblems renders the repository and returns what would stop it
// from applying: every render error, and every object that does not
// decode strictly (a mapping that has a key twice, which the node tree
// keeps but a decode into Go values rejects, as the API server's strict
// field validation does), each as one line.
func strictProblems(t *testing.T, r *Repo) map[string]bool {
	t.Helper()
	objs, errs, err := r.Render(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, e := range errs {
		out["render: "+e.Error()] = true
	}
	for _, o := range objs {
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(o.Node); err != nil {
			t.Fatal(err)
		}
		enc.Close()
		var v any
		if err := yaml.Unmarshal(buf.Bytes(), &v); err != nil {
			out[fmt.Sprintf("%s (%s) does not decode strictly: %v", o.Target, o.Source.File, err)] = true
		}
	}
	return out
}

// checkStrictRender fails t for every problem of strictProblems that the
// repository did not have before the fix (before).
func checkStrictRender(t *testing.T, r *Repo, before map[string]bool) {
	t.Helper()
	for p := range strictProblems(t, r) {
		if !before[p] {
			t.Errorf("after the fix: %s", p)
		}
	}
}

func TestCheckStrictRenderCatchesDuplicates(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("spec:\n  a: 1\n  a: 2\n"), &n); err != nil {
		t.Fatal(err) // the node tree keeps both keys
	}
	var buf bytes.Buffer
	if err := yaml.NewEncoder(&buf).Encode(&n); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(buf.Bytes(), &v); err == nil {
		t.Fatal("a duplicate key decodes")
	}
}
