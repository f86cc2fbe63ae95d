package report

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/kubeharden/kubeharden/lint"
)

func TestFingerprintDefinition(t *testing.T) {
	r := sampleReport(t)
	f := r.Findings[2] // pss-run-as-non-root on Deployment/prod/web
	if f.Rule != ruleRunAsNonRoot || f.Object.Resource.Name != "web" {
		t.Fatalf("sample report changed: finding 2 is %s on %s", f.Rule.ID, f.Object.Resource)
	}
	// rule, target, GitOps object (none here), kind, namespace, name and
	// field, each followed by NUL.
	sum := sha256.Sum256([]byte("pss-run-as-non-root\x00deploy/web\x00\x00Deployment\x00prod\x00web\x00" +
		"spec.template.spec.containers[name=web].securityContext.runAsNonRoot\x00"))
	want := hex.EncodeToString(sum[:])
	got := Fingerprint(f)
	if got != want {
		t.Errorf("Fingerprint = %s, want %s (SHA-256 of the NUL-terminated fields)", got, want)
	}
	if base := lint.Fingerprint(f); got != base {
		t.Errorf("Fingerprint = %s, lint.Fingerprint = %s: SARIF and baselines must agree", got, base)
	}
	// Pinned: baselines and code-scanning alerts store this value, so a
	// change here needs a new partialFingerprints key, not a new golden.
	if want != "4cf65e52bbd5a88967ad6f74f947ee2d3fcde471251bbe4e20c446aed4d62df4" {
		t.Errorf("fingerprint of the reference finding changed to %s", want)
	}
}

// TestFingerprintStable checks that what moves when a repository is
// edited around a finding does not change its fingerprint.
func TestFingerprintStable(t *testing.T) {
	base := sampleReport(t).Findings[2]
	want := Fingerprint(base)
	for name, change := range map[string]func(f *lint.Finding){
		"line":     func(f *lint.Finding) { f.Location.Line += 40 },
		"column":   func(f *lint.Finding) { f.Location.Column = 1 },
		"file":     func(f *lint.Finding) { f.Location.File = "deploy/web/other.yaml" },
		"origin":   func(f *lint.Finding) { f.Location = lint.Location{} },
		"message":  func(f *lint.Finding) { f.Message = "reworded" },
		"severity": func(f *lint.Finding) { f.Severity = lint.Low },
		"pss":      func(f *lint.Finding) { f.PSS = nil },
		"fix":      func(f *lint.Finding) { f.Fix = nil },
		"apiVersion": func(f *lint.Finding) {
			o := lint.Object{Resource: f.Object.Resource, Target: f.Object.Target}
			o.Resource.APIVersion = "apps/v1beta2"
			f.Object = &o
		},
		"rule metadata": func(f *lint.Finding) {
			r := *f.Rule
			r.Title, r.Severity = "new title", lint.Critical
			f.Rule = &r
		},
	} {
		f := base
		change(&f)
		if got := Fingerprint(f); got != want {
			t.Errorf("changing the %s changed the fingerprint", name)
		}
	}
}

// TestFingerprintDistinguishes checks that every identifying field takes
// part, and that the separator keeps adjacent fields apart.
func TestFingerprintDistinguishes(t *testing.T) {
	base := sampleReport(t).Findings[2]
	seen := map[string]string{Fingerprint(base): "base"}
	withObject := func(f *lint.Finding, change func(o *lint.Object)) {
		o := lint.Object{Resource: f.Object.Resource, Target: f.Object.Target, Via: f.Object.Via}
		change(&o)
		f.Object = &o
	}
	for name, change := range map[string]func(f *lint.Finding){
		"rule":   func(f *lint.Finding) { f.Rule = &lint.Rule{ID: "pss-run-as-non-roo"} },
		"target": func(f *lint.Finding) { withObject(f, func(o *lint.Object) { o.Target = "deploy/web2" }) },
		"gitops object": func(f *lint.Finding) {
			withObject(f, func(o *lint.Object) { o.Via = &lint.Via{Kind: "Application", Name: "web-prod", File: "apps/web.yaml"} })
		},
		"kind":      func(f *lint.Finding) { withObject(f, func(o *lint.Object) { o.Resource.Kind = "StatefulSet" }) },
		"namespace": func(f *lint.Finding) { withObject(f, func(o *lint.Object) { o.Resource.Namespace = "staging" }) },
		"name":      func(f *lint.Finding) { withObject(f, func(o *lint.Object) { o.Resource.Name = "web2" }) },
		"field":     func(f *lint.Finding) { f.Field = path(t, "spec.template.spec.containers[name=web].securityContext") },
		// "prod"+"web" must not equal "pro"+"dweb".
		"boundary": func(f *lint.Finding) {
			withObject(f, func(o *lint.Object) { o.Resource.Namespace, o.Resource.Name = "pro", "dweb" })
		},
	} {
		f := base
		change(&f)
		fp := Fingerprint(f)
		if prev, ok := seen[fp]; ok {
			t.Errorf("changing the %s gives the same fingerprint as %s", name, prev)
		}
		seen[fp] = name
	}
}

func TestFingerprintIncompleteFinding(t *testing.T) {
	empty := sha256.Sum256([]byte("\x00\x00\x00\x00\x00\x00\x00"))
	if got, want := Fingerprint(lint.Finding{}), hex.EncodeToString(empty[:]); got != want {
		t.Errorf("Fingerprint of an empty finding = %s, want %s", got, want)
	}
}
