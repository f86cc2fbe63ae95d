package driver

import (
	"bytes"
	"context"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// checkStrictRender renders the repository and decodes every object
// strictly: a mapping that has a key twice (which the node tree keeps but
// a decode into Go values rejects, as the API server's strict field
// validation does) is an error of the test.
func checkStrictRender(t *testing.T, r *Repo) {
	t.Helper()
	// Render errors are the verifier's business (a fix that breaks
	// rendering is dropped); cases may hold targets that never render.
	objs, _, err := r.Render(context.Background())
	if err != nil {
		t.Fatal(err)
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
			t.Errorf("%s (%s:%d) does not decode strictly: %v\n%s", o.Target, o.Source.File, o.Source.Line, err, buf.Bytes())
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
