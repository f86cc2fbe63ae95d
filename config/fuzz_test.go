package config

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf16"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/lint"
)

// FuzzParse feeds arbitrary bytes to Parse. It must not panic; an error is
// an *Error naming the file, with a line inside the file whenever the
// problem has one; and an accepted config must come through Settings()
// unchanged, and again after being written out and parsed back. Seeds are
// in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	const file = "repo/.kubeharden.yaml"
	unparsedLine := regexp.MustCompile(`\bline \d+\b`)
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse(file, src)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is a %T, not *config.Error", err, err)
			}
			if ce.File != file || !strings.HasPrefix(err.Error(), file+":") {
				t.Fatalf("error %q does not name the file", err)
			}
			lines := lineBreaks(src) + 1
			if ce.Line < 0 || ce.Line > lines {
				t.Fatalf("error %q: line %d outside the file's %d lines", err, ce.Line, lines)
			}
			if ce.Line == 0 && unparsedLine.MatchString(ce.Message) {
				t.Fatalf("error %q: the position is in the message, not in Line", err)
			}
			if ce.Line == 0 && isValidationError(ce.Message) {
				t.Fatalf("error %q: a value kubeharden rejects is on a line; say which", err)
			}
			return
		}
		want := settingsText(t, c.Settings())
		checkSettings(t, c, c.Settings())

		out, err := yaml.Marshal(c)
		if err != nil {
			t.Fatalf("marshal accepted config: %v", err)
		}
		again, err := Parse(file, out)
		if err != nil {
			t.Fatalf("accepted config written out is rejected: %v\n%s", err, out)
		}
		if got := settingsText(t, again.Settings()); got != want {
			t.Fatalf("settings changed after a round trip\nbefore:\n%s\nafter:\n%s\nwritten:\n%s", want, got, out)
		}
	})
}

// lineBreaks counts what the YAML parser may count as a line break: LF,
// CR, NEL, LS and PS (a CRLF counts twice, which only loosens the bound),
// in the text after decoding UTF-16 if a byte order mark says so.
func lineBreaks(src []byte) int {
	text := string(src)
	if len(src) >= 2 && (src[0] == 0xfe && src[1] == 0xff || src[0] == 0xff && src[1] == 0xfe) {
		units := make([]uint16, 0, len(src)/2)
		for i := 2; i+1 < len(src); i += 2 {
			if src[0] == 0xfe {
				units = append(units, uint16(src[i])<<8|uint16(src[i+1]))
			} else {
				units = append(units, uint16(src[i+1])<<8|uint16(src[i]))
			}
		}
		text = string(utf16.Decode(units))
	}
	n := 0
	for _, b := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
		n += strings.Count(text, b)
	}
	return n
}

// isValidationError reports whether msg is one of Parse's checks on a value
// it has decoded, each of which names the line of that value.
func isValidationError(msg string) bool {
	for _, p := range []string{"unknown Pod Security level", "bad Pod Security version", "bad Kubernetes version", "maxExemptionDays", "rule "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// checkSettings checks that s says what c says.
func checkSettings(t *testing.T, c *Config, s *lint.Settings) {
	t.Helper()
	if s.KubernetesVersion != c.KubernetesVersion || s.PodSecurity.Level != c.PodSecurity.Level ||
		s.PodSecurity.Version != c.PodSecurity.Version || s.MaxExemptionDays != c.MaxExemptionDays {
		t.Fatalf("settings %+v differ from config %+v", s, c)
	}
	if len(s.Rules) != len(c.Rules) || len(s.Exemptions) != len(c.Exemptions) {
		t.Fatalf("settings have %d rules and %d exemptions, config %d and %d", len(s.Rules), len(s.Exemptions), len(c.Rules), len(c.Exemptions))
	}
	for id, r := range c.Rules {
		rs, ok := s.Rules[id]
		if !ok {
			t.Fatalf("rule %q missing from settings", id)
		}
		if (rs.Enabled == nil) != (r.Enabled == nil) || (r.Enabled != nil && *rs.Enabled != *r.Enabled) {
			t.Fatalf("rule %q: enabled %v, config %v", id, rs.Enabled, r.Enabled)
		}
		switch {
		case r.Severity == "" && rs.Severity != nil:
			t.Fatalf("rule %q: severity %v without one in the config", id, *rs.Severity)
		case r.Severity != "" && (rs.Severity == nil || !strings.EqualFold(rs.Severity.String(), r.Severity)):
			t.Fatalf("rule %q: severity %v, config %q", id, rs.Severity, r.Severity)
		}
	}
	for i, e := range c.Exemptions {
		if e.Location.File != "" && e.Location.Line < 1 {
			t.Fatalf("exemption %d has no line: %+v", i, e.Location)
		}
	}
}

// settingsText writes the parts of s that come from the config as YAML, so
// that two settings compare equal when they say the same (nil and empty
// lists alike, NaN equal to NaN).
func settingsText(t *testing.T, s *lint.Settings) string {
	t.Helper()
	type rule struct {
		Enabled  *bool
		Severity string
		Options  map[string]any
	}
	type exemption struct {
		Rules           []string
		Reason, Expires string
		Match           *lint.ExemptionMatch
	}
	v := struct {
		KubernetesVersion string
		PodSecurity       lint.PodSecurityLevel
		MaxExemptionDays  int
		Rules             map[string]rule
		Exemptions        []exemption
	}{s.KubernetesVersion, s.PodSecurity, s.MaxExemptionDays, map[string]rule{}, nil}
	for id, r := range s.Rules {
		sev := ""
		if r.Severity != nil {
			sev = r.Severity.String()
		}
		v.Rules[id] = rule{r.Enabled, sev, r.Options}
	}
	for _, e := range s.Exemptions {
		v.Exemptions = append(v.Exemptions, exemption{e.Rules, e.Reason, e.Expires, e.Match})
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatalf("marshal settings: %v", err)
	}
	return string(b)
}
