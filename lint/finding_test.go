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

func TestMaskSecretLine(t *testing.T) {
	for _, tt := range []struct {
		line string
		col  int
		want string
	}{
		{"      value: hunter2", 7, "      value: ********"},
		{"      value: hunter2", 0, "      value: ********"},
		{"  - {name: TOKEN, value: hunter2}", 19, "  - {name: TOKEN, value: ********"},
		{"stringData: {password: hunter2}", 1, "stringData: ********"},
		{"data:", 1, "data:"},
		{"    - hunter2", 0, "    - ********"},
		{"    aHVudGVyMg==", 5, "    ********"},
		{"password: |", 1, "password: ********"},
	} {
		if got := MaskSecretLine(tt.line, tt.col); got != tt.want {
			t.Errorf("MaskSecretLine(%q, %d) = %q, want %q", tt.line, tt.col, got, tt.want)
		}
	}
}
