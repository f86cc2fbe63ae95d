package github

import (
	"bytes"
	"strings"

	"github.com/kubeharden/kubeharden/fix"
)

// Suggestion is a GitHub suggested change: the new text of the lines
// StartLine..Line (1-based, inclusive) of the new file.
type Suggestion struct {
	StartLine, Line int
	// Lines replace the range; none deletes it.
	Lines []string
}

// maxSuggestionLines bounds the lines a suggestion may replace: beyond
// that a reviewer cannot check it at a glance and the comment says what
// to change instead.
const maxSuggestionLines = 40

// Suggest builds the suggestion for a finding on line of a file whose
// change turns change.Old into change.New. The range it replaces holds the
// finding's line and every line the fix changes; for a pure insertion
// after line L it holds L (or, at the top of the file, line 1). ok is
// false when that range is not inside one hunk of the diff, when the fix
// creates the file, or when the range is too long.
func Suggest(change *fix.FileChange, line int, hunks []Hunk) (s Suggestion, ok bool) {
	if change == nil || change.Created() || line < 1 {
		return Suggestion{}, false
	}
	old, oldNL := splitLines(change.Old)
	nw, newNL := splitLines(change.New)
	if oldNL != newNL || line > len(old) {
		// A fix that adds or drops the final newline cannot be shown as
		// a suggestion: GitHub keeps the file's own.
		return Suggestion{}, false
	}
	// The changed region: old[a:b] becomes nw[a:len(nw)-(len(old)-b)].
	a := 0
	for a < len(old) && a < len(nw) && old[a] == nw[a] {
		a++
	}
	b, c := len(old), len(nw)
	for b > a && c > a && old[b-1] == nw[c-1] {
		b--
		c--
	}
	if a == b && a == c {
		return Suggestion{}, false // the fix changes nothing
	}
	// 1-based range [start, end] holding line and the changed lines
	// a+1..b; an insertion (a == b) needs a neighbouring line.
	start, end := min(line, a+1), max(line, b)
	if a == b {
		end = max(line, a)
	}
	if end > len(old) {
		return Suggestion{}, false
	}
	if end-start+1 > maxSuggestionLines {
		return Suggestion{}, false
	}
	h := hunkAt(hunks, start)
	if h < 0 || hunkAt(hunks, end) != h {
		return Suggestion{}, false
	}
	var lines []string
	lines = append(lines, old[start-1:a]...)
	lines = append(lines, nw[a:c]...)
	lines = append(lines, old[b:end]...)
	s = Suggestion{Line: end, Lines: lines}
	if start != end {
		s.StartLine = start
	}
	return s, true
}

// splitLines splits text into lines without their line endings (LF or
// CRLF) and reports whether the last line ended with one.
func splitLines(b []byte) ([]string, bool) {
	if len(b) == 0 {
		return nil, false
	}
	nl := b[len(b)-1] == '\n'
	if nl {
		b = b[:len(b)-1]
	}
	parts := bytes.Split(b, []byte("\n"))
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = strings.TrimSuffix(string(p), "\r")
	}
	return out, nl
}

// Block renders the suggestion as a fenced block; the fence is longer
// than any run of backticks in the lines, so none can end it early.
func (s Suggestion) Block() string {
	fence := "```"
	for _, l := range s.Lines {
		for n := len(fence); strings.Contains(l, strings.Repeat("`", n)); n++ {
			fence = strings.Repeat("`", n+1)
		}
	}
	var b strings.Builder
	b.WriteString(fence + "suggestion\n")
	for _, l := range s.Lines {
		b.WriteString(l + "\n")
	}
	b.WriteString(fence + "\n")
	return b.String()
}
