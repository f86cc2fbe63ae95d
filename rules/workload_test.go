package rules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/lint"
)

func TestSplitImage(t *testing.T) {
	const digest = "sha256:4d8f5e6a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef0123456789"
	tests := []struct{ image, name, tag, digest string }{
		{"nginx", "nginx", "", ""},
		{"nginx:1.27", "nginx", "1.27", ""},
		{"registry.example.com:5000/web", "registry.example.com:5000/web", "", ""},
		{"registry.example.com:5000/web:latest", "registry.example.com:5000/web", "latest", ""},
		{"web@" + digest, "web", "", digest},
		{"registry.example.com:5000/web:1.4.2@" + digest, "registry.example.com:5000/web", "1.4.2", digest},
	}
	for _, tt := range tests {
		name, tag, digest := splitImage(tt.image)
		if name != tt.name || tag != tt.tag || digest != tt.digest {
			t.Errorf("splitImage(%q) = %q, %q, %q; want %q, %q, %q", tt.image, name, tag, digest, tt.name, tt.tag, tt.digest)
		}
	}
}

// envPod is a Pod whose only container sets the given env entries.
func envPod(env string) string {
	return `apiVersion: v1
kind: Pod
metadata:
  name: app
spec:
  containers:
  - name: app
    image: registry.example.com/app:1.0.0
    env:
` + indent(env, 4)
}

func TestEnvSecretLiteralOptions(t *testing.T) {
	src := envPod(`- name: DB_PASSWORD
  value: hunter2
- name: SESSION_PASSPHRASE
  value: correct horse battery staple
- name: PASSWORD_FILE
  value: passwords.txt
- name: GH
  value: ghp_EXAMPLE0EXAMPLE0EXAMPLE0EXAMPLE0AbCd
`)
	tests := []struct {
		name    string
		options map[string]any
		want    []string // env var names reported, in order
	}{
		{"defaults", nil, []string{"DB_PASSWORD", "GH"}},
		{"name pattern replaced", map[string]any{optionNamePattern: `(?i)PASS`}, []string{"DB_PASSWORD", "SESSION_PASSPHRASE", "GH"}},
		{"ignore pattern off", map[string]any{optionIgnoreNamePattern: ""}, []string{"DB_PASSWORD", "PASSWORD_FILE", "GH"}},
		{"name pattern off keeps token formats", map[string]any{optionNamePattern: ""}, []string{"GH"}},
		{"invalid pattern falls back to the default", map[string]any{optionNamePattern: `(`}, []string{"DB_PASSWORD", "GH"}},
		{"non-string pattern falls back to the default", map[string]any{optionNamePattern: []any{"PASS"}}, []string{"DB_PASSWORD", "GH"}},
	}
	r := ruleByID(t, "env-secret-literal")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fixtureSettings(r)
			rs := s.Rules[r.ID]
			rs.Options = tt.options
			s.Rules[r.ID] = rs
			var got []string
			for _, f := range runRule(t, r, s, "pod.yaml", []byte(src)) {
				got = append(got, f.Field[len(f.Field)-2])
			}
			want := make([]string, len(tt.want))
			for i, n := range tt.want {
				want[i] = "[name=" + n + "]"
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("reported %v, want %v", got, want)
			}
		})
	}
}

// TestEnvSecretLiteralHidesValues checks that no message of the fixture's
// findings repeats a value it reports.
func TestEnvSecretLiteralHidesValues(t *testing.T) {
	r := ruleByID(t, "env-secret-literal")
	src, err := os.ReadFile(filepath.Join("testdata", r.ID, "bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fs := runRule(t, r, fixtureSettings(r), "bad.yaml", src)
	if len(fs) == 0 {
		t.Fatal("no findings")
	}
	for _, f := range fs {
		v := f.Object.String(f.Field)
		if v == "" {
			t.Fatalf("%s: no value at %s", f.Message, f.Field)
		}
		// The env var's name may contain the value ("root" in
		// mysql_root_password); the rest of the message may not.
		name := strings.TrimSuffix(strings.TrimPrefix(f.Field[len(f.Field)-2], "[name="), "]")
		msg := strings.ReplaceAll(f.Message, name, "")
		for _, line := range strings.Split(strings.TrimSpace(v), "\n") {
			if strings.Contains(msg, line) {
				t.Errorf("message %q shows the value", f.Message)
			}
		}
	}
}

func TestValidateOptions(t *testing.T) {
	tests := []struct {
		rule    string
		options map[string]any
		wantErr string
	}{
		{"env-secret-literal", nil, ""},
		{"env-secret-literal", map[string]any{optionNamePattern: `(?i)PASS`, optionIgnoreNamePattern: ""}, ""},
		{"env-secret-literal", map[string]any{optionNamePattern: `(`}, "rule env-secret-literal option namePattern: error parsing regexp"},
		{"env-secret-literal", map[string]any{optionNamePattern: 3}, "want a regular expression string, got int"},
		{"env-secret-literal", map[string]any{"pattern": "x"}, `has no option "pattern" (want one of ignoreNamePattern, namePattern)`},
		{"probes-missing", map[string]any{"kinds": "Job"}, `rule probes-missing has no option "kinds" (it takes none)`},
	}
	for _, tt := range tests {
		err := ValidateOptions(tt.rule, tt.options)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ValidateOptions(%s, %v) = %v", tt.rule, tt.options, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ValidateOptions(%s, %v) = %v, want %q", tt.rule, tt.options, err, tt.wantErr)
		}
	}
}

// TestWorkloadRulesSkipUndecodable checks that no workload rule reports
// on a workload whose pod template does not decode.
func TestWorkloadRulesSkipUndecodable(t *testing.T) {
	src := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  template:
    spec:
      automountServiceAccountToken: maybe
      containers:
      - name: web
        image: web:latest
`
	for _, r := range workloadRules {
		if fs := runRule(t, r, fixtureSettings(r), "broken.yaml", []byte(src)); len(fs) > 0 {
			t.Errorf("%s: %s", r.ID, messages(fs))
		}
	}
}

// TestAutomountBindingScope checks that an unknown namespace matches a
// binding only within one render: a standalone chart's workload is not
// bound by another chart's (or another deployment's) binding of the
// placeholder namespace.
func TestAutomountBindingScope(t *testing.T) {
	const src = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: agent
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: agent
subjects:
- kind: ServiceAccount
  name: agent
  namespace: default
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: agent
spec:
  selector:
    matchLabels:
      app: agent
  template:
    metadata:
      labels:
        app: agent
    spec:
      serviceAccountName: agent
      containers:
      - name: agent
        image: registry.example.com/agent:1.0.0
`
	r := automountServiceAccountTokenRule
	tests := []struct {
		name           string
		bindingTarget  string
		bindingVia     *lint.Via
		workloadTarget string
		reported       bool
	}{
		{"same chart", "charts/agent", nil, "charts/agent", false},
		{"another chart", "charts/other", nil, "charts/agent", true},
		{"same chart, another deployment", "charts/agent", &lint.Via{Kind: "Application", Name: "agent", File: "apps/agent.yaml", Line: 1}, "charts/agent", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := loadObjects(t, "agent.yaml", []byte(src))
			objs[0].Target, objs[0].Via = tt.bindingTarget, tt.bindingVia
			objs[1].Target = tt.workloadTarget
			fs, err := lint.Run(context.Background(), objs, []*lint.Rule{r}, fixtureSettings(r))
			if err != nil {
				t.Fatal(err)
			}
			if got := len(fs) > 0; got != tt.reported {
				t.Errorf("reported = %v, want %v (%s)", got, tt.reported, messages(fs))
			}
		})
	}
}
