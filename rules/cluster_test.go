package rules

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1beta1 "k8s.io/api/admissionregistration/v1beta1"
	appsv1beta1 "k8s.io/api/apps/v1beta1"
	appsv1beta2 "k8s.io/api/apps/v1beta2"
	batchv1beta1 "k8s.io/api/batch/v1beta1"
	certificatesv1beta1 "k8s.io/api/certificates/v1beta1"
	coordinationv1beta1 "k8s.io/api/coordination/v1beta1"
	discoveryv1beta1 "k8s.io/api/discovery/v1beta1"
	eventsv1beta1 "k8s.io/api/events/v1beta1"
	extensionsv1beta1 "k8s.io/api/extensions/v1beta1"
	flowcontrolv1beta1 "k8s.io/api/flowcontrol/v1beta1"
	flowcontrolv1beta2 "k8s.io/api/flowcontrol/v1beta2"
	flowcontrolv1beta3 "k8s.io/api/flowcontrol/v1beta3"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	nodev1beta1 "k8s.io/api/node/v1beta1"
	policyv1beta1 "k8s.io/api/policy/v1beta1"
	rbacv1beta1 "k8s.io/api/rbac/v1beta1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	storagev1beta1 "k8s.io/api/storage/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/kubeharden/kubeharden/lint"
)

// TestAPILifecyclesMatchUpstream checks the deprecated-api table against
// the lifecycle that k8s.io/api generates for the prerelease types it
// still carries (the API server's deprecation warnings come from the
// same methods). Entries for types k8s.io/api has dropped
// (PodSecurityPolicy, autoscaling/v2beta*, CustomResourceDefinition and
// APIService v1beta1) come from the migration guide alone.
func TestAPILifecyclesMatchUpstream(t *testing.T) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		admissionregistrationv1beta1.AddToScheme, appsv1beta1.AddToScheme, appsv1beta2.AddToScheme,
		batchv1beta1.AddToScheme, certificatesv1beta1.AddToScheme, coordinationv1beta1.AddToScheme,
		discoveryv1beta1.AddToScheme, eventsv1beta1.AddToScheme, extensionsv1beta1.AddToScheme,
		flowcontrolv1beta1.AddToScheme, flowcontrolv1beta2.AddToScheme, flowcontrolv1beta3.AddToScheme,
		networkingv1beta1.AddToScheme, nodev1beta1.AddToScheme, policyv1beta1.AddToScheme,
		rbacv1beta1.AddToScheme, schedulingv1beta1.AddToScheme, storagev1beta1.AddToScheme,
	} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	type lifecycle interface {
		APILifecycleDeprecated() (major, minor int)
		APILifecycleRemoved() (major, minor int)
	}
	checked := 0
	for _, l := range apiLifecycles {
		for _, kind := range l.kinds {
			obj, err := s.New(schema.FromAPIVersionAndKind(l.apiVersion, kind))
			if err != nil {
				t.Logf("%s %s: no prerelease type in k8s.io/api, unchecked", l.apiVersion, kind)
				continue
			}
			lc, ok := obj.(lifecycle)
			if !ok {
				t.Errorf("%s %s: k8s.io/api declares no lifecycle", l.apiVersion, kind)
				continue
			}
			checked++
			if major, minor := lc.APILifecycleDeprecated(); major != 1 || minor != l.deprecated {
				t.Errorf("%s %s: deprecated in v1.%d, k8s.io/api says v%d.%d", l.apiVersion, kind, l.deprecated, major, minor)
			}
			if major, minor := lc.APILifecycleRemoved(); major != 1 || minor != l.removed {
				t.Errorf("%s %s: removed in v1.%d, k8s.io/api says v%d.%d", l.apiVersion, kind, l.removed, major, minor)
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d entries checked against k8s.io/api", checked)
	}
}

func TestDeprecatedAPIAtVersion(t *testing.T) {
	const cronJob = "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata:\n  name: report\n"
	const endpoints = "apiVersion: v1\nkind: Endpoints\nmetadata:\n  name: db\n"
	for _, tc := range []struct {
		version, src, want string
	}{
		{"1.20", cronJob, ""},
		{"1.21", cronJob, `batch/v1beta1 CronJob (cronjob "report") is deprecated since v1.21 and removed in v1.25; use batch/v1 (target v1.21)`},
		{"v1.24.3", cronJob, `batch/v1beta1 CronJob (cronjob "report") is deprecated since v1.21 and removed in v1.25; use batch/v1 (target v1.24)`},
		{"1.25", cronJob, `batch/v1beta1 CronJob (cronjob "report") was removed in v1.25; use batch/v1 (target v1.25)`},
		{"", cronJob, `batch/v1beta1 CronJob (cronjob "report") was removed in v1.25; use batch/v1`},
		{"not-a-version", cronJob, `batch/v1beta1 CronJob (cronjob "report") was removed in v1.25; use batch/v1`},
		{"1.32", endpoints, ""},
		{"1.33", endpoints, `v1 Endpoints (endpoints "db") is deprecated since v1.33; use discovery.k8s.io/v1 EndpointSlice (target v1.33)`},
	} {
		r := deprecatedAPIRule
		s := fixtureSettings(r)
		s.KubernetesVersion = tc.version
		var got []string
		for _, f := range runRule(t, r, s, "x.yaml", []byte(tc.src)) {
			got = append(got, f.Message)
		}
		var want []string
		if tc.want != "" {
			want = []string{tc.want}
		}
		if !slices.Equal(got, want) {
			t.Errorf("version %q: got %q, want %q", tc.version, got, want)
		}
	}
}

func TestAPILifecyclesUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, l := range apiLifecycles {
		if l.removed != 0 && l.removed <= l.deprecated {
			t.Errorf("%s: removed in v1.%d, before its deprecation in v1.%d", l.apiVersion, l.removed, l.deprecated)
		}
		for _, k := range l.kinds {
			if seen[l.apiVersion+" "+k] {
				t.Errorf("%s %s listed twice", l.apiVersion, k)
			}
			seen[l.apiVersion+" "+k] = true
		}
	}
}

func TestBuiltinTypesNamedAfterKind(t *testing.T) {
	seen := map[string]bool{}
	for _, b := range builtinTypes {
		if b.typ.Name() != b.kind {
			t.Errorf("%s %s maps to %s", b.apiVersion, b.kind, b.typ)
		}
		if f, ok := b.typ.FieldByName("TypeMeta"); !ok || !f.Anonymous {
			t.Errorf("%s %s: %s is not an API object", b.apiVersion, b.kind, b.typ)
		}
		if seen[b.apiVersion+" "+b.kind] {
			t.Errorf("%s %s listed twice", b.apiVersion, b.kind)
		}
		seen[b.apiVersion+" "+b.kind] = true
	}
}

func TestNamespacePSSLevelMinimum(t *testing.T) {
	const ns = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    pod-security.kubernetes.io/enforce: baseline\n"
	for _, tc := range []struct {
		name     string
		option   any
		defLevel string
		want     string
	}{
		{"default is restricted", nil, "", "weaker than the required restricted"},
		{"configured default", nil, "baseline", ""},
		{"option wins over default", "restricted", "baseline", "weaker than the required restricted"},
		{"option lowers the bar", "baseline", "", ""},
		{"privileged accepts anything", "privileged", "", ""},
		{"unknown option falls back", "strict", "baseline", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := namespacePSSLevelRule
			s := fixtureSettings(r)
			s.PodSecurity.Level = tc.defLevel
			if tc.option != nil {
				rs := s.Rules[r.ID]
				rs.Options = map[string]any{"minLevel": tc.option}
				s.Rules[r.ID] = rs
			}
			fs := runRule(t, r, s, "ns.yaml", []byte(ns))
			switch {
			case tc.want == "" && len(fs) > 0:
				t.Errorf("unexpected %s", messages(fs))
			case tc.want != "" && (len(fs) != 1 || !strings.Contains(fs[0].Message, tc.want)):
				t.Errorf("got %s, want one containing %q", messages(fs), tc.want)
			}
		})
	}
}

// TestDefaultDenyFirstWorkloadIsStable checks that the finding lands on
// the same workload whatever order the renderer hands objects over in.
func TestDefaultDenyFirstWorkloadIsStable(t *testing.T) {
	src := []byte(`apiVersion: v1
kind: Pod
metadata:
  name: a
  namespace: shop
---
apiVersion: v1
kind: Pod
metadata:
  name: b
  namespace: shop
`)
	objs := loadObjects(t, "x.yaml", src)
	r := networkPolicyDefaultDenyRule
	for _, order := range [][]*lint.Object{objs, {objs[1], objs[0]}} {
		fs, err := lint.Run(context.Background(), order, []*lint.Rule{r}, fixtureSettings(r))
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) != 2 {
			t.Fatalf("got %s, want 2 findings", messages(fs))
		}
		for _, f := range fs {
			if f.Object.Resource.Name != "a" {
				t.Errorf("finding on %s, want pod a", f.Object.Resource)
			}
		}
	}
}

func TestClosestField(t *testing.T) {
	known := fieldsAt(reflect.TypeFor[struct {
		ImagePullPolicy string `json:"imagePullPolicy,omitempty"`
		Image           string `json:"image"`
		Name            string `json:"name"`
	}](), nil)
	for name, want := range map[string]string{
		"imagePullPolcy":  "imagePullPolicy",
		"ImagePullPolicy": "imagePullPolicy",
		"nmae":            "name",
		"command":         "",
	} {
		if got := closestField(known, name); got != want {
			t.Errorf("closestField(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestRBACWildcardAudit narrows wildcard roles with the evidence of the
// sample audit log: testdata/rbac-wildcard/audit.yaml, fixed, is
// audit.fixed.yaml, with the descriptions in audit.fixes.txt.
func TestRBACWildcardAudit(t *testing.T) {
	r := ruleByID(t, "rbac-wildcard")
	dir := filepath.Join("testdata", r.ID)
	f, err := os.Open(filepath.Join(dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := fixtureSettings(r)
	if s.Audit, err = lint.ParseAuditLog("audit.jsonl", f); err != nil {
		t.Fatal(err)
	}
	testFixes(t, r, s, dir, "audit.yaml", "audit.fixed.yaml")

	src, err := os.ReadFile(filepath.Join(dir, "audit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var unfixed []string
	for _, f := range runRule(t, r, s, "audit.yaml", src) {
		if f.Fix == nil {
			unfixed = append(unfixed, f.Object.Resource.Name+" "+f.Field.String()+": "+f.Message)
		}
	}
	want := []string{
		`app-controller rules[2].verbs[=*]: clusterrole "app-controller" grants every verb in rules[2] (verbs: "*"); not narrowed automatically: ` +
			`the audit log audit.jsonl (32 requests from 2026-05-04T08:00:02Z to 2026-05-06T00:01:02Z) shows no request by serviceaccount "ops/app-controller" ` +
			`that rules[2] allows, so remove the rule if nothing needs it`,
		`deployer rules[0].verbs[=*]: role "deployer" grants every verb in rules[0] (verbs: "*"); not narrowed automatically: ` +
			`the audit log audit.jsonl (32 requests from 2026-05-04T08:00:02Z to 2026-05-06T00:01:02Z) shows no request by user "bob@example.com" ` +
			`that rules[0] allows, so remove the rule if nothing needs it`,
	}
	if !slices.Equal(unfixed, want) {
		t.Errorf("findings without a fix:\n%s\nwant:\n%s", strings.Join(unfixed, "\n"), strings.Join(want, "\n"))
	}
}

// TestNamespacePSSLevelFixSettings checks the level and version the
// namespace fix writes under other settings: a lower required level lets
// the fix label a namespace with the level its workloads pass, and the
// version follows the targeted Kubernetes version when no Pod Security
// version is configured.
func TestNamespacePSSLevelFixSettings(t *testing.T) {
	r := ruleByID(t, "namespace-pss-level")
	src, err := os.ReadFile(filepath.Join("testdata", r.ID, "bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fixes := func(s *lint.Settings) []string {
		var out []string
		for _, f := range runRule(t, r, s, "bad.yaml", src) {
			if f.Fix != nil {
				if !f.Fix.Deferred {
					t.Errorf("%s: the namespace fix is not deferred", f.Fix.Description)
				}
				for _, p := range f.Fix.Patches {
					out = append(out, f.Object.Resource.Name+" "+p.String())
				}
			}
		}
		return out
	}
	s := fixtureSettings(r)
	rs := s.Rules[r.ID]
	rs.Options = map[string]any{"minLevel": "baseline"}
	s.Rules[r.ID] = rs
	s.KubernetesVersion = "1.37.2"
	// payments has warn and audit already and no workload of the repo: no
	// enforce label, so no fix.
	var want []string
	for _, ns := range []struct{ name, level string }{{"shop", "restricted"}, {"batch", "baseline"}} {
		for _, mode := range []string{"enforce", "warn", "audit"} {
			want = append(want,
				fmt.Sprintf(`%s set metadata.labels["pod-security.kubernetes.io/%s"] %s`, ns.name, mode, ns.level),
				fmt.Sprintf(`%s set metadata.labels["pod-security.kubernetes.io/%s-version"] v1.37`, ns.name, mode))
		}
	}
	if got := fixes(s); !slices.Equal(got, want) {
		t.Errorf("minLevel baseline, Kubernetes 1.37.2:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	s.PodSecurity.Version = "v1.33"
	if got := fixes(s); len(got) != 12 || !strings.HasSuffix(got[1], "v1.33") {
		t.Errorf("with Pod Security version v1.33 configured: %q", got)
	}
}

// TestNamespacePSSLevelUnrendered: a namespace that a GitOps object
// deploys into from a source the linter cannot render (Settings.
// Unrendered) gets warn and audit labels but never enforce, though its
// workloads of the repo pass; the others are unchanged.
func TestNamespacePSSLevelUnrendered(t *testing.T) {
	r := ruleByID(t, "namespace-pss-level")
	src, err := os.ReadFile(filepath.Join("testdata", r.ID, "bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := fixtureSettings(r)
	s.Unrendered = map[string][]string{"shop": {"HelmRelease redis (flux/redis.yaml)"}}
	var got []string
	for _, f := range runRule(t, r, s, "bad.yaml", src) {
		if f.Fix == nil || f.Object.Resource.Name != "shop" {
			continue
		}
		got = append(got, f.Fix.Description)
		for _, p := range f.Fix.Patches {
			got = append(got, p.String())
		}
	}
	want := []string{
		`label namespace "shop" pod-security.kubernetes.io/warn and audit: restricted (-version: latest) but not pod-security.kubernetes.io/enforce, since HelmRelease redis (flux/redis.yaml) deploys into it from a source kubeharden cannot render`,
		`set metadata.labels["pod-security.kubernetes.io/warn"] restricted`,
		`set metadata.labels["pod-security.kubernetes.io/warn-version"] latest`,
		`set metadata.labels["pod-security.kubernetes.io/audit"] restricted`,
		`set metadata.labels["pod-security.kubernetes.io/audit-version"] latest`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestNamespaceLevelIndependentOfOrder is shaped like a repository in
// which a later folder labels a namespace privileged that an earlier one
// labels restricted: the level a pod is judged by never depends on the
// order targets are read in (its own target's Namespace, else the
// strictest), and both definitions are reported as conflicting.
func TestNamespaceLevelIndependentOfOrder(t *testing.T) {
	ns := func(target, level string) *lint.Object {
		o := loadObjects(t, target+"/ns.yaml", []byte("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    pod-security.kubernetes.io/enforce: "+level+"\n"))[0]
		o.Target = target
		return o
	}
	pod := func(target string) *lint.Object {
		o := loadObjects(t, target+"/pod.yaml", []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\nspec:\n  hostNetwork: true\n  containers:\n  - name: c\n    image: x:1\n"))[0]
		o.Target = target
		return o
	}
	r := ByID("pss-host-namespaces")
	level := ByID("namespace-pss-level")
	for _, order := range [][]string{{"a", "z"}, {"z", "a"}} {
		objs := []*lint.Object{pod("m")}
		for _, target := range order {
			objs = append(objs, ns(target, map[string]string{"a": "restricted", "z": "privileged"}[target]))
		}
		objs = append(objs, pod("a"), pod("z"))
		fs, err := lint.Run(context.Background(), objs, []*lint.Rule{r, level}, &lint.Settings{Now: fixtureNow})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, f := range fs {
			got = append(got, f.Rule.ID+" "+f.Object.Target+" "+f.Object.Resource.Kind)
		}
		slices.Sort(got)
		want := []string{
			"namespace-pss-level a Namespace", "namespace-pss-level z Namespace", // the conflict, on both
			"namespace-pss-level z Namespace", // privileged is below the required level
			"pss-host-namespaces a Pod",       // judged by its own target's Namespace: restricted
			"pss-host-namespaces m Pod",       // no Namespace of its own: the strictest
		}
		if !slices.Equal(got, want) {
			t.Errorf("targets read %v: findings\n%s\nwant\n%s", order, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}
