package lint

import (
	"context"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// FuzzExemptionAnnotation runs the exemption machinery on a pod whose
// kubeharden.io/exempt annotation is arbitrary text: it never panics, and
// a finding is either silenced by a valid, current exemption naming its
// rule or reported; every exemption finding is on the pod.
func FuzzExemptionAnnotation(f *testing.F) {
	for _, s := range []string{
		"- {rules: [every-pod], reason: vendor chart, expires: 2026-12-31}\n",
		"- rules: [every-pod]\n  reason: x\n  expires: 2026-01-01\n",
		"- {rules: [nope], reason: r, expires: 2026-07-01}\n- {rules: [every-pod]}\n",
		"[{rules: &a [every-pod], reason: *a, expires: 2099-01-01}]",
		"not a list",
		"- ~\n- []\n- {expires: [1]}\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, annotation string) {
		pod := &yaml.Node{Kind: yaml.MappingNode}
		add := func(m *yaml.Node, k string, v *yaml.Node) {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
		}
		str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
		ann, meta := &yaml.Node{Kind: yaml.MappingNode}, &yaml.Node{Kind: yaml.MappingNode}
		add(ann, ExemptAnnotation, str(annotation))
		add(meta, "name", str("p"))
		add(meta, "annotations", ann)
		add(pod, "kind", str("Pod"))
		add(pod, "metadata", meta)
		obj := NewObject(pod, "apps", nil)
		s := &Settings{Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}
		res, err := RunAll(context.Background(), []*Object{obj}, append([]*Rule{everyPod}, exemptionRules...), s)
		if err != nil {
			t.Fatal(err)
		}
		silenced := 0
		for _, fd := range res.Suppressed {
			if fd.Rule != everyPod || fd.Exemption == nil {
				t.Fatalf("suppressed %s without an exemption for it", fd.Rule.ID)
			}
			silenced++
		}
		reported := 0
		for _, fd := range res.Findings {
			if fd.Object != obj {
				t.Fatalf("%s on another object", fd.Rule.ID)
			}
			if fd.Rule == everyPod {
				reported++
			}
		}
		if silenced+reported != 1 {
			t.Fatalf("every-pod reported %d times and silenced %d times, want once in all", reported, silenced)
		}
	})
}
