package fix

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// context is the number of unchanged lines shown around a change.
const context = 3

// Diff returns the unified diff from old to new with "--- a/path" and
// "+++ b/path" headers and three lines of context, or "" when they are
// equal. Lines are compared whole (a CRLF line differs from its LF
// twin); a last line without a break is marked "\ No newline at end of
// file" as diff(1) does. The output depends only on the inputs.
func Diff(path string, old, new []byte) string {
	if bytes.Equal(old, new) {
		return ""
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0 // a deadline would make the result depend on the machine
	a, b, table := dmp.DiffLinesToChars(string(old), string(new))
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), table)

	type line struct {
		op   byte // ' ', '-' or '+'
		text string
	}
	var lines []line
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = '-'
		case diffmatchpatch.DiffInsert:
			op = '+'
		}
		for _, t := range strings.SplitAfter(d.Text, "\n") {
			if t != "" {
				lines = append(lines, line{op, t})
			}
		}
	}

	var out strings.Builder
	fmt.Fprintf(&out, "--- a/%s\n+++ b/%s\n", path, path)
	oldLine, newLine := 1, 1 // numbers of lines[i] in old and new
	for i := 0; i < len(lines); {
		if lines[i].op == ' ' {
			oldLine++
			newLine++
			i++
			continue
		}
		// A hunk: from context lines before this change to context lines
		// after the last change that is at most 2*context lines away.
		start := max(0, i-context)
		end := i
		for j := i; j < len(lines); j++ {
			if lines[j].op != ' ' {
				end = j + 1
			} else if j-end >= 2*context {
				break
			}
		}
		end = min(len(lines), end+context)
		os, ns := oldLine-(i-start), newLine-(i-start)
		var oc, nc int
		for _, l := range lines[start:end] {
			if l.op != '+' {
				oc++
			}
			if l.op != '-' {
				nc++
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(os, oc), hunkRange(ns, nc))
		for _, l := range lines[start:end] {
			out.WriteByte(l.op)
			out.WriteString(l.text)
			if !strings.HasSuffix(l.text, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		for _, l := range lines[i:end] {
			if l.op != '+' {
				oldLine++
			}
			if l.op != '-' {
				newLine++
			}
		}
		i = end
	}
	return out.String()
}

func hunkRange(start, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, count)
}
