package lint

import "testing"

func TestFixRisk(t *testing.T) {
	for _, s := range []string{"safe", "may-break"} {
		if r, err := ParseFixRisk(s); err != nil || string(r) != s {
			t.Errorf("ParseFixRisk(%q) = %q, %v", s, r, err)
		}
	}
	for _, s := range []string{"", "low", "Safe"} {
		if _, err := ParseFixRisk(s); err == nil {
			t.Errorf("ParseFixRisk(%q) accepts it", s)
		}
	}
	tests := []struct {
		risk, limit FixRisk
		want        bool
	}{
		{FixSafe, FixSafe, true},
		{FixMayBreak, FixSafe, false},
		{"", FixSafe, false}, // undeclared counts as may-break
		{FixMayBreak, FixMayBreak, true},
		{FixMayBreak, "", true},
	}
	for _, tt := range tests {
		if got := tt.risk.AtMost(tt.limit); got != tt.want {
			t.Errorf("%q.AtMost(%q) = %v, want %v", tt.risk, tt.limit, got, tt.want)
		}
	}
}
