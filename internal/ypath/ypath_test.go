package ypath

import (
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

func TestStringParseRoundTrip(t *testing.T) {
	for _, s := range []string{
		"",
		"spec",
		"spec.template.spec.containers[name=web].securityContext.runAsNonRoot",
		`metadata.labels["pod-security.kubernetes.io/enforce"]`,
		"spec.containers[0].securityContext.capabilities.add[=NET_RAW]",
	} {
		p, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q): %v", s, err)
		}
		if got := p.String(); got != s {
			t.Errorf("Parse(%q).String() = %q", s, got)
		}
	}
	for _, bad := range []string{"a.", ".a", "a[name=x", `a["x]`} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded, want error", bad)
		}
	}
}

func TestWalk(t *testing.T) {
	src := `spec:
  containers:
  - name: a
    image: x
  - name: web
    securityContext:
      runAsNonRoot: false
    args: [one, two]
`
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path            string
		depth, line, co int
	}{
		{"spec.containers[name=web].securityContext.runAsNonRoot", 5, 7, 7},
		{"spec.containers[name=web].securityContext.readOnlyRootFilesystem", 4, 6, 5},
		{"spec.containers[name=nope].image", 2, 2, 3},
		{"spec.containers[0].image", 4, 4, 5},
		{"spec.containers[1].args[=two]", 5, 8, 17},
		{"status", 0, 1, 1},
	}
	for _, tt := range tests {
		p, _ := Parse(tt.path)
		m := Walk(&doc, p)
		line, col := m.Pos()
		if m.Depth != tt.depth || line != tt.line || col != tt.co {
			t.Errorf("Walk(%s) = depth %d at %d:%d, want depth %d at %d:%d", tt.path, m.Depth, line, col, tt.depth, tt.line, tt.co)
		}
	}
}
