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
