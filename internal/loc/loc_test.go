package loc

import "testing"

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":              "plain",
		"a\nb":               `a\nb`,
		"\x1b[31mred":        `\x1b[31mred`,
		"bidi\u202eoverride": `bidi\u202eoverride`,
		"bad\xffutf8":        `bad\xffutf8`,
		"café ✓":             "café ✓",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestError(t *testing.T) {
	for _, tt := range []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Message: "bad"}, "a.yaml:3: bad"},
		{Error{File: "a.yaml", Message: "bad"}, "a.yaml: bad"},
		{Error{Message: "no file"}, "no file"},
		{Error{File: "x\ny.yaml", Line: 1, Message: "m\x1b"}, `"x\ny.yaml":1: m\x1b`},
	} {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestLocationString(t *testing.T) {
	if got := (Location{File: "a\tb.yaml", Line: 2, Column: 5, Origin: OriginManifest}).String(); got != `"a\tb.yaml":2:5` {
		t.Errorf("got %q", got)
	}
	if got := (Location{Origin: OriginUnknown, File: "x"}).String(); got != "(unknown source)" {
		t.Errorf("got %q", got)
	}
}
