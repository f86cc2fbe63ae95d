package github

import (
	"reflect"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/fix"
)

func TestParsePatch(t *testing.T) {
	patch := strings.Join([]string{
		"@@ -1,3 +1,4 @@ metadata:",
		" a",
		"-b",
		"+B",
		"+C",
		" d",
		"@@ -10 +11,2 @@",
		" x",
		"+y",
		`\ No newline at end of file`,
	}, "\n")
	got, err := ParsePatch(patch)
	if err != nil {
		t.Fatal(err)
	}
	want := []Hunk{{1, 3, 1, 4}, {10, 1, 11, 2}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for line, in := range map[int]int{0: -1, 1: 0, 4: 0, 5: -1, 10: -1, 11: 1, 12: 1, 13: -1} {
		if h := hunkAt(got, line); h != in {
			t.Errorf("line %d: hunk %d, want %d", line, h, in)
		}
	}
}

func TestParsePatchNewAndDeletedFiles(t *testing.T) {
	got, err := ParsePatch("@@ -0,0 +1,2 @@\n+a\n+b\n")
	if err != nil || !reflect.DeepEqual(got, []Hunk{{0, 0, 1, 2}}) {
		t.Errorf("added file: %+v %v", got, err)
	}
	got, err = ParsePatch("@@ -1,2 +0,0 @@\n-a\n-b")
	if err != nil || !reflect.DeepEqual(got, []Hunk{{1, 2, 0, 0}}) || hunkAt(got, 0) != -1 {
		t.Errorf("deleted file: %+v %v", got, err)
	}
	if got, err := ParsePatch(""); err != nil || got != nil {
		t.Errorf("empty patch: %+v %v", got, err)
	}
}

func TestParsePatchRejectsTruncated(t *testing.T) {
	for _, p := range []string{
		"@@ -1,3 +1,3 @@\n a\n b",              // short
		"@@ -1,1 +1,1 @@\n a\n b",              // long
		"@@ -1,1 +1,1 @@\n-a\n+b\n@@ -5 +5 @@", // last hunk empty
		"junk\n@@ -1 +1 @@\n a",                // text before
		"@@ -x +1 @@\n a",                      // bad header
		"@@ -1 +1\n a",                         // no closing @@
	} {
		if _, err := ParsePatch(p); err == nil {
			t.Errorf("ParsePatch(%q): no error", p)
		}
	}
}

func TestSuggest(t *testing.T) {
	old := "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n"
	whole := []Hunk{{1, 5, 1, 5}}
	tests := []struct {
		name  string
		new   string
		line  int
		hunks []Hunk
		want  Suggestion
		ok    bool
	}{
		{"replace the finding's line", "a: 1\nb: two\nc: 3\nd: 4\ne: 5\n", 2, whole,
			Suggestion{Line: 2, Lines: []string{"b: two"}}, true},
		{"insert after the finding's line", "a: 1\nb: 2\n  x: y\nc: 3\nd: 4\ne: 5\n", 2, whole,
			Suggestion{Line: 2, Lines: []string{"b: 2", "  x: y"}}, true},
		{"insert below the finding's line further down", "a: 1\nb: 2\nc: 3\n  x: y\nd: 4\ne: 5\n", 2, whole,
			Suggestion{StartLine: 2, Line: 3, Lines: []string{"b: 2", "c: 3", "  x: y"}}, true},
		{"insert above the finding's line", "a: 1\n  x: y\nb: 2\nc: 3\nd: 4\ne: 5\n", 3, whole,
			Suggestion{StartLine: 2, Line: 3, Lines: []string{"  x: y", "b: 2", "c: 3"}}, true},
		{"insert at the top", "x: y\na: 1\nb: 2\nc: 3\nd: 4\ne: 5\n", 1, whole,
			Suggestion{Line: 1, Lines: []string{"x: y", "a: 1"}}, true},
		{"append at the end", "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\n", 5, whole,
			Suggestion{Line: 5, Lines: []string{"e: 5", "f: 6"}}, true},
		{"change two lines", "a: 1\nb: B\nc: C\nd: 4\ne: 5\n", 2, whole,
			Suggestion{StartLine: 2, Line: 3, Lines: []string{"b: B", "c: C"}}, true},
		{"delete a line", "a: 1\nc: 3\nd: 4\ne: 5\n", 2, whole,
			Suggestion{Line: 2, Lines: nil}, true},
		{"change outside the hunk", "a: 1\nb: 2\nc: 3\nd: 4\ne: five\n", 2, []Hunk{{1, 3, 1, 3}},
			Suggestion{}, false},
		{"range across two hunks", "a: 1\nb: 2\nc: 3\nd: 4\ne: five\n", 2, []Hunk{{1, 3, 1, 3}, {4, 2, 4, 2}},
			Suggestion{}, false},
		{"no change", old, 2, whole, Suggestion{}, false},
		{"finding line outside the file", "a: 1\n", 9, whole, Suggestion{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Suggest(&fix.FileChange{Path: "f.yaml", Old: []byte(old), New: []byte(tt.new)}, tt.line, tt.hunks)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
			if !ok {
				return
			}
			// Applying the suggestion to the old file gives the new one.
			lines, _ := splitLines([]byte(old))
			start := got.StartLine
			if start == 0 {
				start = got.Line
			}
			var out []string
			out = append(out, lines[:start-1]...)
			out = append(out, got.Lines...)
			out = append(out, lines[got.Line:]...)
			if s := strings.Join(out, "\n") + "\n"; s != tt.new {
				t.Errorf("applied suggestion gives %q, want %q", s, tt.new)
			}
		})
	}
}

func TestSuggestCRLFAndNewFile(t *testing.T) {
	got, ok := Suggest(&fix.FileChange{Old: []byte("a: 1\r\nb: 2\r\n"), New: []byte("a: 1\r\nb: 3\r\n")}, 2, []Hunk{{1, 2, 1, 2}})
	if !ok || !reflect.DeepEqual(got.Lines, []string{"b: 3"}) {
		t.Errorf("CRLF: %+v %v", got, ok)
	}
	if _, ok := Suggest(&fix.FileChange{New: []byte("a: 1\n")}, 1, []Hunk{{0, 0, 1, 1}}); ok {
		t.Error("a fix creating a file gave a suggestion")
	}
	if _, ok := Suggest(&fix.FileChange{Old: []byte("a: 1"), New: []byte("a: 1\n")}, 1, []Hunk{{1, 1, 1, 1}}); ok {
		t.Error("a fix changing only the final newline gave a suggestion")
	}
}

func TestSuggestionBlockFence(t *testing.T) {
	s := Suggestion{Line: 1, Lines: []string{"a: \"```\"", "b: 2"}}
	want := "````suggestion\na: \"```\"\nb: 2\n````\n"
	if got := s.Block(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := (Suggestion{Line: 1}).Block(); got != "```suggestion\n```\n" {
		t.Errorf("deletion: %q", got)
	}
}
