package github

import (
	"fmt"
	"strconv"
	"strings"
)

// Hunk is one hunk of a file's diff, as line ranges of the old (LEFT)
// and new (RIGHT) file. GitHub accepts review comments on any line of a
// hunk on the side it names: added and context lines on the RIGHT.
type Hunk struct {
	OldStart, OldLines int
	NewStart, NewLines int
}

// Contains reports whether a line of the new file is in the hunk.
func (h Hunk) Contains(line int) bool {
	return line >= h.NewStart && line < h.NewStart+h.NewLines
}

// ParsePatch reads the hunks of a pull request file's patch (the
// unified diff without its file header, as pulls/{n}/files gives it).
// The counts of each header are checked against the lines that follow,
// so a truncated patch is an error rather than a wrong range.
func ParsePatch(patch string) ([]Hunk, error) {
	var hunks []Hunk
	var oldLeft, newLeft int
	lines := strings.Split(patch, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, l := range lines {
		if strings.HasPrefix(l, "@@") {
			if oldLeft != 0 || newLeft != 0 {
				return nil, fmt.Errorf("patch line %d: previous hunk is short of %d old and %d new lines", i+1, oldLeft, newLeft)
			}
			h, err := parseHunkHeader(l)
			if err != nil {
				return nil, fmt.Errorf("patch line %d: %w", i+1, err)
			}
			hunks = append(hunks, h)
			oldLeft, newLeft = h.OldLines, h.NewLines
			continue
		}
		if len(hunks) == 0 {
			return nil, fmt.Errorf("patch line %d: text before the first hunk", i+1)
		}
		switch {
		case strings.HasPrefix(l, `\`): // "\ No newline at end of file"
		case strings.HasPrefix(l, "+"):
			newLeft--
		case strings.HasPrefix(l, "-"):
			oldLeft--
		default: // context; an empty line is a context line whose space was lost
			oldLeft--
			newLeft--
		}
		if oldLeft < 0 || newLeft < 0 {
			return nil, fmt.Errorf("patch line %d: more lines than the hunk header says", i+1)
		}
	}
	if oldLeft != 0 || newLeft != 0 {
		return nil, fmt.Errorf("patch ends %d old and %d new lines short", oldLeft, newLeft)
	}
	return hunks, nil
}

// parseHunkHeader reads "@@ -a,b +c,d @@ section"; a missing count is 1.
func parseHunkHeader(l string) (Hunk, error) {
	f := strings.Fields(l)
	if len(f) < 4 || f[0] != "@@" || f[3] != "@@" || !strings.HasPrefix(f[1], "-") || !strings.HasPrefix(f[2], "+") {
		return Hunk{}, fmt.Errorf("bad hunk header %q", l)
	}
	var h Hunk
	var err error
	if h.OldStart, h.OldLines, err = parseRange(f[1][1:]); err != nil {
		return Hunk{}, fmt.Errorf("bad hunk header %q: %w", l, err)
	}
	if h.NewStart, h.NewLines, err = parseRange(f[2][1:]); err != nil {
		return Hunk{}, fmt.Errorf("bad hunk header %q: %w", l, err)
	}
	return h, nil
}

func parseRange(s string) (start, n int, err error) {
	a, b, ok := strings.Cut(s, ",")
	if start, err = strconv.Atoi(a); err != nil || start < 0 {
		return 0, 0, fmt.Errorf("bad range %q", s)
	}
	n = 1
	if ok {
		if n, err = strconv.Atoi(b); err != nil || n < 0 {
			return 0, 0, fmt.Errorf("bad range %q", s)
		}
	}
	return start, n, nil
}

// hunkAt returns the index of the hunk holding a new-file line, or -1.
func hunkAt(hunks []Hunk, line int) int {
	for i, h := range hunks {
		if h.Contains(line) {
			return i
		}
	}
	return -1
}
