package config

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	src := `# team defaults
kubernetesVersion: "1.36"
podSecurity:
  level: baseline
  version: v1.30
exclude: ["vendor/**"]
rules:
  pss-run-as-non-root:
    severity: critical
  image-latest-tag:
    enabled: false
`
	c, err := Parse(FileName, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Settings()
	if s.KubernetesVersion != "1.36" || s.PodSecurity.Level != "baseline" || s.PodSecurity.Version != "v1.30" {
		t.Errorf("settings = %+v", s)
	}
	if sev := s.Rules["pss-run-as-non-root"].Severity; sev == nil || sev.String() != "critical" {
		t.Errorf("severity override = %v", sev)
	}
	if on := s.Rules["image-latest-tag"].Enabled; on == nil || *on {
		t.Errorf("enabled override = %v", on)
	}
	if err := c.CheckRules(FileName, func(id string) bool { return id == "pss-run-as-non-root" }); err == nil ||
		err.Error() != `.kubeharden.yaml:10: unknown rule "image-latest-tag" (see kubeharden rules)` {
		t.Errorf("CheckRules = %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ src, want string }{
		{"podSecurity:\n  levle: baseline\n", `.kubeharden.yaml:2: unknown key "levle"`},
		{"rules:\n  x:\n    severity: urgent\n", `.kubeharden.yaml:2: rule x: unknown severity "urgent"`},
		{"podSecurity:\n  level: strict\n", `.kubeharden.yaml:2: unknown Pod Security level "strict"`},
		{"include: [a\n", `.kubeharden.yaml:`},
		{"kubernetesVersion: banana\n", `.kubeharden.yaml:1: bad Kubernetes version "banana"`},
		{"exclude: 3\n", `.kubeharden.yaml:1: cannot unmarshal`},
	} {
		_, err := Parse(FileName, []byte(tt.src))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Parse(%q) = %v, want prefix %q", tt.src, err, tt.want)
		}
	}
	if c, err := Parse(FileName, nil); err != nil || c == nil {
		t.Errorf("empty config: %v", err)
	}
}

func TestParseExemptions(t *testing.T) {
	src := `maxExemptionDays: 90
exemptions:
  - rules: [pss-privileged]
    reason: vendor chart we do not own
    expires: 2026-12-31
    match:
      kind: DaemonSet
      target: vendor/**
`
	c, err := Parse(FileName, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Settings()
	if s.MaxExemptionDays != 90 || len(s.Exemptions) != 1 {
		t.Fatalf("settings = %+v", s)
	}
	e := s.Exemptions[0]
	if e.Reason != "vendor chart we do not own" || e.Match == nil || e.Match.Target != "vendor/**" || e.Location.Line != 3 || e.Location.File != FileName {
		t.Errorf("exemption = %+v (match %+v)", e, e.Match)
	}
	if _, err := Parse(FileName, []byte("exemptions:\n  - rules: [x]\n    why: typo\n")); err == nil || !strings.Contains(err.Error(), `:3: unknown key "why"`) {
		t.Errorf("unknown exemption key: %v", err)
	}
}

// TestMergeKeyLines checks that problems written through YAML merge keys
// are reported at the line where the offending key is written.
func TestMergeKeyLines(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"rules:\n  <<:\n    a:\n      severity: urgent\n", ".kubeharden.yaml:3: rule a: "},
		{"kubernetesVersion: \"1.33\"\n<<: {podSecurity: {level: strict}}\n", ".kubeharden.yaml:2: unknown Pod Security level"},
	} {
		_, err := Parse(".kubeharden.yaml", []byte(c.src))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: error %v, want prefix %q", c.src, err, c.want)
		}
	}
}
