package lint

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// everyPod reports one finding per Pod, at the pod's spec.
// exemptionRules stand in for the catalogue's exemption rules, which
// package rules declares, with the same IDs and severities.
var exemptionRules = []*Rule{
	{ID: ExemptionInvalidID, Title: "test exemption-invalid", Severity: Medium},
	{ID: ExemptionExpiredID, Title: "test exemption-expired", Severity: Medium},
	{ID: ExemptionUnusedID, Title: "test exemption-unused", Severity: Low},
}

var everyPod = &Rule{
	ID: "every-pod", Title: "test rule", Kinds: []string{"Pod"}, Severity: High,
	Check: func(p *Pass, o *Object) { p.Reportf(o, Path{"spec"}, "pod %q", o.Resource.Name) },
}

func pods(t *testing.T, src string) []*Object {
	t.Helper()
	var objs []*Object
	for _, doc := range strings.Split(src, "---\n") {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, NewObject(n.Content[0], "apps", nil))
	}
	return objs
}

func TestExemptions(t *testing.T) {
	objs := pods(t, `kind: Pod
metadata:
  name: aaaa
  annotations:
    kubeharden.io/exempt: |
      - {rules: [every-pod], reason: vendor chart, expires: 2026-12-31}
---
kind: Pod
metadata:
  name: bbbb
  annotations:
    kubeharden.io/exempt: |
      - {rules: [every-pod], reason: old incident, expires: 2026-01-01}
---
kind: Pod
metadata:
  name: cccc
  namespace: legacy
---
kind: Pod
metadata:
  name: dddd
`)
	s := &Settings{
		Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC),
		Exemptions: []Exemption{
			{Rules: []string{"every-pod"}, Reason: "legacy namespace", Expires: "2026-09-01", Match: &ExemptionMatch{Namespace: "legacy"}},
			{Rules: []string{"every-pod"}, Reason: "nothing there", Expires: "2026-09-01", Match: &ExemptionMatch{Target: "other/**"},
				Location: Location{File: ".kubeharden.yaml", Line: 9, Column: 5, Origin: OriginManifest}},
		},
	}
	res, err := RunAll(context.Background(), objs, append([]*Rule{everyPod}, exemptionRules...), s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Rule.ID+" "+f.Object.Resource.Name+": "+f.Message)
	}
	want := []string{
		"every-pod bbbb: pod \"bbbb\"",
		"every-pod dddd: pod \"dddd\"",
		"exemption-expired bbbb: exemption for every-pod expired on 2026-01-01; its findings are reported again",
		"exemption-unused .kubeharden.yaml: exemption for every-pod matches no finding",
	}
	slices.Sort(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var sup []string
	for _, f := range res.Suppressed {
		sup = append(sup, f.Object.Resource.Name+" by "+f.Exemption.Reason)
	}
	slices.Sort(sup)
	if strings.Join(sup, ",") != "aaaa by vendor chart,cccc by legacy namespace" {
		t.Errorf("suppressed = %v", sup)
	}
}

// TestExemptionAdded compares annotations with a prior commit's grants:
// a new rule and a later expiry are reported, once per object; the same
// grant, an earlier expiry, and a run with no comparison are not.
func TestExemptionAdded(t *testing.T) {
	objs := pods(t, `kind: Pod
metadata:
  name: same
  annotations:
    kubeharden.io/exempt: |
      - {rules: [every-pod], reason: vendor chart, expires: 2026-12-31}
---
kind: Pod
metadata:
  name: longer
  annotations:
    kubeharden.io/exempt: |
      - {rules: [every-pod], reason: still waiting, expires: 2027-03-01}
---
kind: Pod
metadata:
  name: shorter
  annotations:
    kubeharden.io/exempt: |
      - {rules: [every-pod], reason: soon, expires: 2026-07-01}
---
kind: Pod
metadata:
  name: new
  annotations:
    kubeharden.io/exempt: |
      - {rules: [every-pod, other], reason: debugging, expires: 2026-08-01}
`)
	added := &Rule{ID: ExemptionAddedID, Title: "test exemption-added", Severity: Medium}
	known := func(id string) bool { return id == "every-pod" || id == "other" }
	prior := &PriorExemptions{}
	for _, name := range []string{"same", "longer", "shorter"} {
		prior.Grants = append(prior.Grants, Grant{Kind: "Pod", Name: name, Target: "apps", Rule: "every-pod", Expires: "2026-12-31"})
	}
	low := Low
	s := &Settings{Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), KnownRule: known, Prior: prior,
		Rules: map[string]RuleSettings{ExemptionAddedID: {Severity: &low}}}
	res, err := RunAll(context.Background(), objs, []*Rule{everyPod, added}, s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range res.Findings {
		got = append(got, f.Object.Resource.Name+" "+f.Severity.String()+": "+f.Message)
	}
	slices.Sort(got)
	want := []string{
		"longer low: exemption added: every-pod until 2027-03-01, extended from 2026-12-31 (still waiting)",
		"new low: exemption added: every-pod until 2026-08-01 (debugging); other until 2026-08-01 (debugging)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if g := Grants(objs); len(g) != 5 || g[4] != (Grant{Kind: "Pod", Name: "new", Target: "apps", Rule: "other", Expires: "2026-08-01"}) {
		t.Errorf("Grants = %+v", g)
	}
	s.Prior = nil
	if res, _ := RunAll(context.Background(), objs, []*Rule{everyPod, added}, s); len(res.Findings) != 0 {
		t.Errorf("without a comparison: %d findings", len(res.Findings))
	}
}
