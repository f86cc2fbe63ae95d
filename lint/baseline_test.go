package lint

import (
	"strings"
	"testing"
)

// defaultDenyPair is the ingress and the egress finding of one namespace:
// one rule, one object, one field, told apart by their Key.
func defaultDenyPair() []Finding {
	rule := &Rule{ID: "network-policy-default-deny"}
	obj := &Object{Target: "apps", Resource: Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web"}}
	field := Path{"metadata", "namespace"}
	return []Finding{
		{Rule: rule, Object: obj, Field: field, Key: "ingress"},
		{Rule: rule, Object: obj, Field: field, Key: "egress"},
	}
}

func TestFingerprintKey(t *testing.T) {
	fs := defaultDenyPair()
	if Fingerprint(fs[0]) == Fingerprint(fs[1]) {
		t.Error("findings that differ in Key share a fingerprint")
	}
	keyless := fs[0]
	keyless.Key = ""
	if Fingerprint(keyless) != fingerprint(fs[0], false) {
		t.Error("a finding without Key does not keep its version 1 fingerprint")
	}
}

func TestBaselineVersions(t *testing.T) {
	fs := defaultDenyPair()
	b := NewBaseline(fs)
	data, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"version": 2`) || !strings.Contains(string(data), `"key": "egress"`) {
		t.Errorf("baseline does not record version 2 and keys:\n%s", data)
	}
	back, err := ParseBaseline(data)
	if err != nil {
		t.Fatal(err)
	}
	// Deleting one of the two findings makes its entry stale.
	if fresh, stale := back.Filter(fs[:1]); len(fresh) != 0 || len(stale) != 1 || stale[0].Key != "egress" {
		t.Errorf("version 2 Filter(ingress only) = %d fresh, %v stale; want the egress entry stale", len(fresh), stale)
	}

	// A version 1 file recorded both findings under one keyless
	// fingerprint, twice; it still absorbs both, and a third is new.
	v1 := `{"version": 1, "findings": [
  {"fingerprint": "` + fingerprint(fs[0], false) + `", "rule": "network-policy-default-deny", "target": "apps", "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}, "field": "metadata.namespace"},
  {"fingerprint": "` + fingerprint(fs[0], false) + `", "rule": "network-policy-default-deny", "target": "apps", "resource": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"}, "field": "metadata.namespace"}
]}`
	old, err := ParseBaseline([]byte(v1))
	if err != nil {
		t.Fatalf("version 1 baseline not read: %v", err)
	}
	if fresh, stale := old.Filter(fs); len(fresh) != 0 || len(stale) != 0 {
		t.Errorf("version 1 Filter = %d fresh, %d stale; want 0, 0", len(fresh), len(stale))
	}
	if fresh, _ := old.Filter(append(fs, fs[0])); len(fresh) != 1 {
		t.Errorf("version 1 Filter of three findings: %d fresh, want 1", len(fresh))
	}

	for _, v := range []string{"0", "3"} {
		_, err := ParseBaseline([]byte(`{"version": ` + v + `, "findings": []}`))
		if err == nil || !strings.Contains(err.Error(), "regenerate it with `kubeharden baseline`") {
			t.Errorf("version %s: error %v, want one saying to regenerate", v, err)
		}
	}
}
