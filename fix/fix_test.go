package fix

import (
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

func mustPath(t testing.TB, s string) ypath.Path {
	t.Helper()
	p, err := ypath.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApply(t *testing.T) {
	src := []byte("0123456789")
	for _, tc := range []struct {
		name  string
		edits []Edit
		want  string
		err   string
	}{
		{"none", nil, "0123456789", ""},
		{"replace", []Edit{{2, 4, "ab"}}, "01ab456789", ""},
		{"unordered", []Edit{{8, 9, "X"}, {0, 1, "Y"}}, "Y1234567X9", ""},
		{"inserts at one offset keep their order", []Edit{{5, 5, "a"}, {5, 5, "b"}, {5, 5, "c"}}, "01234abc56789", ""},
		{"insert before a replacement", []Edit{{3, 5, "R"}, {3, 3, "I"}}, "012IR56789", ""},
		{"insert after a replacement", []Edit{{5, 5, "I"}, {3, 5, "R"}}, "012RI56789", ""},
		{"adjacent replacements", []Edit{{0, 5, ""}, {5, 10, "x"}}, "x", ""},
		{"at the end", []Edit{{10, 10, "!"}}, "0123456789!", ""},
		{"overlap", []Edit{{2, 5, "a"}, {4, 6, "b"}}, "", "overlaps"},
		{"insert inside a replacement", []Edit{{2, 5, "a"}, {3, 3, "b"}}, "", "overlaps"},
		{"same range twice", []Edit{{2, 3, "a"}, {2, 3, "a"}}, "", "overlaps"},
		{"out of range", []Edit{{8, 11, ""}}, "", "outside"},
		{"negative", []Edit{{-1, 0, ""}}, "", "outside"},
		{"reversed", []Edit{{5, 4, ""}}, "", "outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Apply(src, tc.edits)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || got != nil {
					t.Fatalf("Apply = %q, %v; want error %q", got, err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Apply = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	if string(src) != "0123456789" {
		t.Fatal("Apply modified its input")
	}
}

func TestDiff(t *testing.T) {
	if d := Diff("x.yaml", []byte("a\n"), []byte("a\n")); d != "" {
		t.Fatalf("equal inputs: %q", d)
	}
	var old, new strings.Builder
	for i := 1; i <= 20; i++ {
		line := "line " + string(rune('a'+i-1)) + "\n"
		old.WriteString(line)
		switch i {
		case 5:
			new.WriteString("changed e\n")
		case 16:
			new.WriteString(line + "added\n")
		default:
			new.WriteString(line)
		}
	}
	got := Diff("dir/x.yaml", []byte(old.String()), []byte(new.String()))
	want := `--- a/dir/x.yaml
+++ b/dir/x.yaml
@@ -2,7 +2,7 @@
 line b
 line c
 line d
-line e
+changed e
 line f
 line g
 line h
@@ -14,6 +14,7 @@
 line n
 line o
 line p
+added
 line q
 line r
 line s
`
	if got != want {
		t.Fatalf("Diff =\n%s\nwant\n%s", got, want)
	}
	// Changes 6 lines apart share one hunk.
	got = Diff("x", []byte("1\n2\n3\n4\n5\n6\n7\n8\n"), []byte("1x\n2\n3\n4\n5\n6\n7\n8x\n"))
	if strings.Count(got, "@@ -") != 1 || !strings.Contains(got, "@@ -1,8 +1,8 @@") {
		t.Fatalf("one hunk expected:\n%s", got)
	}
	// A missing final newline is marked; an empty side counts from 0.
	got = Diff("x", []byte("a\nb"), []byte("a\nc\n"))
	want = "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"
	if got != want {
		t.Fatalf("Diff =\n%q\nwant\n%q", got, want)
	}
	got = Diff("x", nil, []byte("a\n"))
	if want := "--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+a\n"; got != want {
		t.Fatalf("Diff = %q, want %q", got, want)
	}
	// CRLF lines are compared and printed whole.
	got = Diff("x", []byte("a\r\nb\r\n"), []byte("a\r\nc\r\n"))
	if want := "--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n a\r\n-b\r\n+c\r\n"; got != want {
		t.Fatalf("Diff = %q, want %q", got, want)
	}
	// Deterministic on a large input.
	var big, big2 strings.Builder
	for i := range 5000 {
		big.WriteString(strings.Repeat("x", i%7) + "\n")
		if i%97 == 0 {
			big2.WriteString("y\n")
		}
		big2.WriteString(strings.Repeat("x", i%7) + "\n")
	}
	a := Diff("x", []byte(big.String()), []byte(big2.String()))
	if b := Diff("x", []byte(big.String()), []byte(big2.String())); a != b || a == "" {
		t.Fatal("Diff is not deterministic")
	}
}

func TestPlainOK(t *testing.T) {
	plain := []string{"RuntimeDefault", "ALL", "nginx:1.27", "app.kubernetes.io/name", "100m", "128Mi", "-Xmx1g",
		"a b", "zoë", "http://x/y", "1.2.3", "v1"}
	quoted := []string{"", "1000", "true", "True", "false", "yes", "no", "Yes", "on", "off", "y", "n", "null", "Null", "~",
		"0x1F", "0o17", "017", "1e3", "1_000", "1:20", ".5", "-.inf", ".nan", "3.14", "+1", "2024-01-02",
		"a: b", "a #b", "a:", "- a", "-", "---", "...", "#x", "&a", "*a", "!t", "|", ">", "'q'", "\"q\"", "%x", "@x", "`x",
		"[a]", "{a}", " lead", "trail ", "tab\tin", "line\nbreak", "<<", "=", "? q", ": q"}
	for _, s := range plain {
		if !plainOK(s, false) {
			t.Errorf("plainOK(%q) = false, want true", s)
		}
	}
	for _, s := range quoted {
		if plainOK(s, false) {
			t.Errorf("plainOK(%q) = true, want false", s)
		}
	}
	for _, s := range []string{"a,b", "a]", "{"} {
		if plainOK(s, true) {
			t.Errorf("plainOK(%q, flow) = true", s)
		}
	}
	// Everything written quoted reads back as the same string.
	for _, s := range append(quoted, "\x00\x07\x1b\u0085\u2028\ufeff\\\"é") {
		q := doubleQuote(s)
		var got string
		if err := yaml.Unmarshal([]byte("k: "+q), &map[string]*string{"k": &got}); err != nil {
			t.Errorf("doubleQuote(%q) = %s: %v", s, q, err)
			continue
		}
		var m map[string]string
		if err := yaml.Unmarshal([]byte("k: "+q), &m); err != nil || m["k"] != s {
			t.Errorf("doubleQuote(%q) = %s reads back as %q (%v)", s, q, m["k"], err)
		}
	}
}

func TestValue(t *testing.T) {
	n, err := Value(map[string]any{"b": 1, "a": []string{"x", "1"}, "c": map[string]bool{"z": true}, "d": nil, "e": 1.5, "f": uint8(7)})
	if err != nil {
		t.Fatal(err)
	}
	if got := flowText(n, false); got != `{a: [x, "1"], b: 1, c: {z: true}, d: null, e: 1.5, f: 7}` {
		t.Fatalf("flowText = %s", got)
	}
	for _, bad := range []any{struct{}{}, map[int]string{1: "a"}, make(chan int), "\xff", complex(1, 2)} {
		if _, err := Value(bad); err == nil {
			t.Errorf("Value(%#v) did not fail", bad)
		}
	}
	// A bad value is an error from Lower, not a panic from Set.
	src := []byte("a: 1\n")
	_, err = Lower(src, docRoot(t, src, 0), Set(ypath.Path{"a"}, struct{}{}))
	if err == nil || !strings.Contains(err.Error(), "unsupported value type") {
		t.Fatalf("Lower with a bad value: %v", err)
	}
	if got := Set(mustPath(t, "a.b"), 2.0).String(); got != "set a.b 2.0" {
		t.Errorf("String = %q", got)
	}
	if got := EnsureItem(mustPath(t, "a.drop"), "ALL").String(); got != "ensure a.drop ALL" {
		t.Errorf("String = %q", got)
	}
	if got := Delete(mustPath(t, `metadata.labels["app.kubernetes.io/name"]`)).String(); got != `delete metadata.labels["app.kubernetes.io/name"]` {
		t.Errorf("String = %q", got)
	}
}

// docRoot parses src and returns document i's root node.
func docRoot(t testing.TB, src []byte, i int) *yaml.Node {
	t.Helper()
	f, err := parseFile(src)
	if err != nil {
		t.Fatal(err)
	}
	return f.docs[i].Content[0]
}

func lowerApply(t *testing.T, src string, obj int, ps ...Patch) string {
	t.Helper()
	edits, err := LowerAll([]byte(src), docRoot(t, []byte(src), obj), ps)
	if err != nil {
		t.Fatalf("LowerAll: %v", err)
	}
	out, err := Apply([]byte(src), edits)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LowerAll(out, docRoot(t, out, obj), ps)
	if err != nil || len(again) > 0 {
		t.Fatalf("not idempotent on %q: %v %v", out, again, err)
	}
	return string(out)
}

func TestEdges(t *testing.T) {
	set := func(p string, v any) Patch { return Set(mustPath(t, p), v) }
	for _, tc := range []struct {
		name, src, want string
		ps              []Patch
	}{
		{"no final newline", "a:\n  b: 1", "a:\n  b: 1\n  c: 2", []Patch{set("a.c", 2)}},
		{"no final newline, CRLF", "a:\r\n  b: 1", "a:\r\n  b: 1\r\n  c: 2", []Patch{set("a.c", 2)}},
		{"replace the last token", "a: 1", "a: 2", []Patch{set("a", 2)}},
		{"byte order mark", "\ufeffa: {b: 1}\n# é\n", "\ufeffa: {b: 1, c: x}\n# é\n", []Patch{set("a.c", "x")}},
		{"empty value at the end", "a:", "a:\n  b: true", []Patch{set("a.b", true)}},
		{"tabs after values", "a: 1\t# c\nb: 2\n", "a: 3\t# c\nb: 2\n", []Patch{set("a", 3)}},
		{"multi-line plain scalar", "a: one\n  two\nb: 1\n", "a: x\nb: 1\n", []Patch{set("a", "x")}},
		{"multi-line quoted scalar", "a: \"one\n  two\" # c\nb: 1\n", "a: \"x\" # c\nb: 1\n", []Patch{set("a", "x")}},
		{"keep-chomped block scalar", "a: |+\n  x\n\nb: 1\n", "a: |+\n  x\n\nb: 1\nc: 2\n", []Patch{set("c", 2)}},
		{"new key after a block scalar", "m:\n  a: |\n    x\n\n  b: >\n    y\nn: 1\n", "m:\n  a: |\n    x\n\n  b: >\n    y\n  c: 1\nn: 1\n", []Patch{set("m.c", 1)}},
		{"deep comment belongs to the mapping", "m:\n  a: 1\n  # note\n# top\nn: 1\n", "m:\n  a: 1\n  # note\n  b: 2\n# top\nn: 1\n", []Patch{set("m.b", 2)}},
		{"root mapping keeps following comments apart", "a: 1\n# next document\n---\nb: 2\n", "a: 1\nc: 3\n# next document\n---\nb: 2\n", []Patch{set("c", 3)}},
		{"quoted keys", "\"a b\": {c: 1}\n", "\"a b\": {c: 1, \"on\": \"off\"}\n", []Patch{Set(ypath.Path{"a b", "on"}, "off")}},
		{"string with a newline", "a: 1\n", "a: \"x\\ny\"\n", []Patch{set("a", "x\ny")}},
		{"empty string", "a: 1\n", "a: \"\"\n", []Patch{set("a", "")}},
		{"set to null", "a: 1\n", "a: null\n", []Patch{set("a", nil)}},
		{"set a list of maps", "a: 1\nb: 2\n", "a: 1\nb: 2\nc:\n  - name: x\n    v: 1\n  - {}\n", []Patch{set("c", []any{map[string]any{"name": "x", "v": 1}, map[string]any{}})}},
		{"delete the only key of the object", "a: 1\n", "{}\n", []Patch{Delete(ypath.Path{"a"})}},
		{"delete the last key without final newline", "a: 1\nb: 2", "a: 1\n", []Patch{Delete(ypath.Path{"b"})}},
		{"delete the first line", "a: 1\nb: 2\n", "b: 2\n", []Patch{Delete(ypath.Path{"a"})}},
		{"delete every key one by one", "m:\n  a: 1\n  b: 2\nn: 1\n", "m: {}\nn: 1\n", []Patch{Delete(mustPath(t, "m.a")), Delete(mustPath(t, "m.b"))}},
		{"delete and insert in one mapping", "m:\n  a: 1\n  b: 2\n", "m:\n  a: 1\n  c: 3\n", []Patch{Delete(mustPath(t, "m.b")), set("m.c", 3)}},
		{"ensure twice on one list", "l:\n- a\n", "l:\n- a\n- b\n- c\n", []Patch{EnsureItem(ypath.Path{"l"}, "b"), EnsureItem(ypath.Path{"l"}, "c")}},
		{"ensure twice on an empty flow list", "l: []\n", "l: [b, c]\n", []Patch{EnsureItem(ypath.Path{"l"}, "b"), EnsureItem(ypath.Path{"l"}, "c")}},
		{"set inside an unreferenced anchor", "a: &x {b: 1}\n", "a: &x {b: 2}\n", []Patch{set("a.b", 2)}},
		{"replace an alias value", "a: &x 1\nb: *x\n", "a: &x 1\nb: 2\n", []Patch{set("b", 2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := lowerApply(t, tc.src, 0, tc.ps...); got != tc.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	set := func(p string, v any) Patch { return Set(mustPath(t, p), v) }
	for _, tc := range []struct {
		name, src, err string
		ps             []Patch
	}{
		{"conflicting sets", "a: 1\n", "conflict", []Patch{set("a", 2), set("a", 3)}},
		{"nested paths", "a: {b: 1}\n", "conflict", []Patch{set("a", map[string]any{}), set("a.b", 3)}},
		{"set and delete", "a: {b: 1}\n", "conflict", []Patch{Delete(mustPath(t, "a.b")), set("a.b", 3)}},
		{"not a list", "a: 1\n", "not a list", []Patch{EnsureItem(ypath.Path{"a"}, "x")}},
		{"list where a mapping is needed", "a: [1]\n", "is a list, not a mapping", []Patch{set("a.b", 1)}},
		{"empty path", "a: 1\n", "empty path", []Patch{Set(nil, 1)}},
		{"delete through a missing element", "a: [{name: x}]\n", "no list element [name=y]", []Patch{Delete(mustPath(t, "a[name=y].b"))}},
		{"delete an anchor that is used", "a: &x 1\nb: *x\n", "change or break that alias", []Patch{Delete(mustPath(t, "a"))}},
		{"replace a mapping holding a used anchor", "a: {b: &x 1}\nc: *x\n", "change or break that alias", []Patch{set("a", 1)}},
		{"object inside a used anchor", "l: &l\n- {a: 1}\nm: *l\n", "the object is inside &l", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte(tc.src)
			obj := docRoot(t, src, 0)
			if tc.ps == nil {
				obj = obj.Content[1].Content[0]
				tc.ps = []Patch{set("a", 2)}
			}
			_, err := LowerAll(src, obj, tc.ps)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error = %v, want %q", err, tc.err)
			}
		})
	}
}

// Edits for different objects of one file are independent: lowered
// separately and applied together.
func TestTwoObjectsOneFile(t *testing.T) {
	src := []byte("a: 1\n---\nb: 1\n---\nc:\n  d: 1\n")
	var edits []Edit
	for i, p := range []Patch{Set(ypath.Path{"x"}, 1), Set(ypath.Path{"b"}, 2), Set(mustPath(t, "c.e"), 3)} {
		e, err := Lower(src, docRoot(t, src, i), p)
		if err != nil {
			t.Fatal(err)
		}
		edits = append(edits, e...)
	}
	out, err := Apply(src, edits)
	if err != nil {
		t.Fatal(err)
	}
	if want := "a: 1\nx: 1\n---\nb: 2\n---\nc:\n  d: 1\n  e: 3\n"; string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

// The object may come from any parse of the source: only its position is
// used.
func TestObjectFromOtherParse(t *testing.T) {
	src := []byte("# c\nkind: Pod\nspec: {}\n")
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		t.Fatal(err)
	}
	e, err := Lower(src, &doc, Set(mustPath(t, "spec.hostPID"), false))
	if err != nil {
		t.Fatal(err)
	}
	out, _ := Apply(src, e)
	if want := "# c\nkind: Pod\nspec:\n  hostPID: false\n"; string(out) != want {
		t.Fatalf("got %q", out)
	}
	if _, err := Lower(src, &yaml.Node{Kind: yaml.MappingNode, Line: 9, Column: 1}, Delete(ypath.Path{"x"})); err == nil {
		t.Fatal("a node that is not in the source was accepted")
	}
}

func TestSourceOffsets(t *testing.T) {
	s := newSource([]byte("\ufeffaé: 1\r\nb\u2028c\u0085d\re\n"))
	for _, tc := range []struct{ line, col, off int }{
		{1, 1, 3}, {1, 2, 4}, {1, 3, 6}, {1, 6, 9}, {2, 1, 11}, {3, 1, 15}, {4, 1, 18}, {5, 1, 20}, {6, 1, 22},
	} {
		if off, err := s.offset(tc.line, tc.col); err != nil || off != tc.off {
			t.Errorf("offset(%d, %d) = %d, %v; want %d", tc.line, tc.col, off, err, tc.off)
		}
	}
	if _, err := s.offset(1, 7); err == nil {
		t.Error("offset past the end of a line was accepted")
	}
	if s.nl != "\r\n" {
		t.Errorf("line ending %q", s.nl)
	}
}

func TestDetectStyle(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want style
	}{
		{"a: 1\n", style{step: 2, seqOffset: 2}},
		{"a:\n    b:\n        c: 1\n", style{step: 4, seqOffset: 4}},
		{"a:\n  b:\n  - x\n  c:\n  - y\n", style{step: 2, flush: true, seqOffset: 2}},
		{"a:\n    b:\n      - x\n", style{step: 4, seqOffset: 2}},
		{"a: [x, y]\nb: [z]\nc:\n- w\n", style{step: 2, flush: true, seqOffset: 2, flowLists: true}},
	} {
		src := []byte(tc.src)
		f, err := parseFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if got := detectStyle(f.docs[0].Content[0], f.docs); got != tc.want {
			t.Errorf("detectStyle(%q) = %+v, want %+v", tc.src, got, tc.want)
		}
	}
}
