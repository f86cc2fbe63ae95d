package lint

import (
	"context"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// TestRunCanonicalOrder: whatever order rules report in, Run returns the
// findings by rule, then object, then field, so every run is the same.
func TestRunCanonicalOrder(t *testing.T) {
	var objs []*Object
	for _, name := range []string{"a", "b", "c"} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "+name+"\n"), &n); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, NewObject(n.Content[0], "t", nil))
	}
	backwards := func(id string) *Rule {
		return &Rule{ID: id, Title: id, Severity: Low, Run: func(p *Pass) {
			for i := len(p.Objects) - 1; i >= 0; i-- {
				p.Reportf(p.Objects[i], Path{"metadata", "name"}, "%s on %s", id, p.Objects[i].Resource.Name)
				p.Reportf(p.Objects[i], Path{"data"}, "%s data of %s", id, p.Objects[i].Resource.Name)
			}
		}}
	}
	fs, err := Run(context.Background(), objs, []*Rule{backwards("second"), backwards("first")}, &Settings{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range fs {
		got = append(got, f.Message)
	}
	want := "second data of a|second on a|second data of b|second on b|second data of c|second on c|" +
		"first data of a|first on a|first data of b|first on b|first data of c|first on c"
	if strings.Join(got, "|") != want {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(got, "|"), want)
	}
}
