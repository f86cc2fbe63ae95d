package fix

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf8"
)

// source is one file's bytes with a line table that counts lines the way
// go.yaml.in/yaml/v3 does: CRLF, CR, LF, NEL, LS and PS each end a line, a
// leading byte order mark is not part of line 1, and columns count runes.
type source struct {
	b      []byte
	starts []int // starts[i] is the offset where line i+1 begins
	ends   []int // ends[i] is the offset of line i+1's break, or len(b)
	nl     string
}

var bom = []byte("\ufeff")

func newSource(b []byte) *source {
	s := &source{b: b, nl: "\n"}
	start := 0
	if bytes.HasPrefix(b, bom) {
		start = len(bom)
	}
	seen := false
	for i := start; i < len(b); {
		w := breakWidth(b, i)
		if w == 0 {
			i++
			continue
		}
		if !seen {
			seen = true
			if b[i] == '\r' {
				s.nl = string(b[i : i+w])
			}
		}
		s.starts = append(s.starts, start)
		s.ends = append(s.ends, i)
		i += w
		start = i
	}
	s.starts = append(s.starts, start)
	s.ends = append(s.ends, len(b))
	return s
}

// breakWidth is the length of the line break at b[i], or 0.
func breakWidth(b []byte, i int) int {
	if i >= len(b) {
		return 0
	}
	switch b[i] {
	case '\n':
		return 1
	case '\r':
		if i+1 < len(b) && b[i+1] == '\n' {
			return 2
		}
		return 1
	case 0xC2:
		if i+1 < len(b) && b[i+1] == 0x85 {
			return 2
		}
	case 0xE2:
		if i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9) {
			return 3
		}
	}
	return 0
}

func (s *source) isBlank(i int) bool { return i < len(s.b) && (s.b[i] == ' ' || s.b[i] == '\t') }

// isBlankz reports a space, tab, line break or the end of the input.
func (s *source) isBlankz(i int) bool { return i >= len(s.b) || s.isBlank(i) || breakWidth(s.b, i) > 0 }

// offset converts a yaml.v3 position (1-based line, 1-based rune column)
// to a byte offset. Column len+1 (just past the line's end) is allowed:
// yaml.v3 puts an empty value there.
func (s *source) offset(line, col int) (int, error) {
	if line < 1 || line > len(s.starts) || col < 1 {
		return 0, fmt.Errorf("position %d:%d is outside the file", line, col)
	}
	off, end := s.starts[line-1], s.ends[line-1]
	for c := 1; c < col; c++ {
		if off >= end {
			return 0, fmt.Errorf("position %d:%d is past the end of line %d", line, col, line)
		}
		_, w := utf8.DecodeRune(s.b[off:end])
		off += w
	}
	return off, nil
}

// line returns the 0-based index of the line holding offset off; an offset
// at a line break belongs to the line the break ends.
func (s *source) line(off int) int {
	return sort.Search(len(s.starts), func(i int) bool { return s.starts[i] > off }) - 1
}

// col returns the 0-based rune column of offset off.
func (s *source) col(off int) int {
	return utf8.RuneCount(s.b[s.starts[s.line(off)]:off])
}

// indent returns the number of leading spaces of line i.
func (s *source) indent(i int) int {
	n := 0
	for p := s.starts[i]; p < s.ends[i] && s.b[p] == ' '; p++ {
		n++
	}
	return n
}

// firstNonBlank returns the offset of the first byte of line i that is not
// a space or tab (ends[i] for a blank line).
func (s *source) firstNonBlank(i int) int {
	p := s.starts[i]
	for p < s.ends[i] && s.isBlank(p) {
		p++
	}
	return p
}

func (s *source) blankLine(i int) bool { return s.firstNonBlank(i) == s.ends[i] }
func (s *source) commentLine(i int) bool {
	p := s.firstNonBlank(i)
	return p < s.ends[i] && s.b[p] == '#'
}

// atLineStart reports whether only blanks precede off on its line.
func (s *source) atLineStart(off int) bool { return s.firstNonBlank(s.line(off)) >= off }

// skipBlanks skips spaces and tabs.
func (s *source) skipBlanks(off int) int {
	for s.isBlank(off) {
		off++
	}
	return off
}

// skipProps skips a node's anchor and tag, which yaml.v3 includes in the
// node's position, and returns where the node's own text starts. Content
// on a following line counts when it is indented deeper than indent.
func (s *source) skipProps(off, indent int, flow bool) int {
	for off < len(s.b) && (s.b[off] == '&' || s.b[off] == '!') {
		off = s.tokenEnd(off, flow)
		p := s.skipBlanks(off)
		if p < len(s.b) && s.b[p] == '#' {
			for p < len(s.b) && breakWidth(s.b, p) == 0 {
				p++
			}
		}
		if breakWidth(s.b, p) == 0 {
			off = p
			continue
		}
		// The node's text, if any, is on a later line.
		for l := s.line(p) + 1; l < len(s.starts); l++ {
			if s.blankLine(l) || s.commentLine(l) {
				continue
			}
			if s.indent(l) > indent {
				return s.firstNonBlank(l)
			}
			break
		}
		return off
	}
	return off
}

// plainEnd returns the end of the plain scalar starting at off, following
// yaml.v3's scanner: a plain scalar ends before ": ", " #", a flow
// indicator inside flow collections, a document marker, or a continuation
// line not indented deeper than indent (block context).
func (s *source) plainEnd(off int, flow bool, indent int) int {
	b := s.b
	end := off
	if s.isBlankz(off) {
		return off
	}
	pos := off
	for {
		if s.atColumn0(pos) && pos+3 <= len(b) && (string(b[pos:pos+3]) == "---" || string(b[pos:pos+3]) == "...") && s.isBlankz(pos+3) {
			break
		}
		if pos < len(b) && b[pos] == '#' {
			break
		}
		for !s.isBlankz(pos) {
			if b[pos] == ':' && s.isBlankz(pos+1) || flow && bytes.IndexByte([]byte(",?[]{}"), b[pos]) >= 0 {
				break
			}
			_, w := utf8.DecodeRune(b[pos:])
			pos += w
			end = pos
		}
		if !s.isBlank(pos) && breakWidth(b, pos) == 0 {
			break
		}
		col := -1 // unknown until a line break is crossed
		for {
			if s.isBlank(pos) {
				pos++
				if col >= 0 {
					col++
				}
				continue
			}
			if w := breakWidth(b, pos); w > 0 {
				pos += w
				col = 0
				continue
			}
			break
		}
		if pos >= len(b) || !flow && col >= 0 && col < indent+1 {
			break
		}
	}
	return end
}

func (s *source) atColumn0(off int) bool { return off < len(s.b) && s.starts[s.line(off)] == off }

// quotedEnd returns the end of the single- or double-quoted scalar that
// starts at off.
func (s *source) quotedEnd(off int) (int, error) {
	b := s.b
	q := b[off]
	for p := off + 1; p < len(b); p++ {
		switch {
		case q == '"' && b[p] == '\\':
			p++
		case b[p] == q && q == '\'' && p+1 < len(b) && b[p+1] == '\'':
			p++
		case b[p] == q:
			return p + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated quoted scalar at line %d", s.line(off)+1)
}

// blockScalarEnd returns the end of the literal or folded scalar whose
// header starts at off: the end of its last content line, or of its last
// trailing blank line when it keeps them ("|+"). indent is the
// indentation of the block collection holding it (-1 at the top level).
// The rules are yaml.v3's: the content indentation is the header's
// explicit indicator, else the deepest of the leading blank lines and the
// first content line, and at least indent+1.
func (s *source) blockScalarEnd(off, indent int) int {
	b := s.b
	p := off + 1
	keep, explicit := false, 0
	for i := 0; i < 2 && p < len(b); i++ {
		switch c := b[p]; {
		case c == '+' || c == '-':
			keep = c == '+'
			p++
		case c >= '1' && c <= '9':
			explicit = int(c - '0')
			p++
		}
	}
	end := p
	if !s.isBlankz(p) {
		// Anything glued to the header ("|#x") goes with it.
		end = s.lineEnd(p)
	}
	hasBreak := func(l int) bool { return s.ends[l] < len(b) }
	blank := func(l int) bool { return s.starts[l]+s.indent(l) == s.ends[l] }
	first := s.line(off) + 1
	want := explicit
	if explicit > 0 && indent >= 0 {
		want += indent
	}
	if explicit == 0 {
		m := 0
		for l := first; l < len(s.starts); l++ {
			m = max(m, s.indent(l))
			if !blank(l) || !hasBreak(l) {
				break
			}
		}
		want = max(m, indent+1, 1)
	}
	for l := first; l < len(s.starts); l++ {
		sp := s.indent(l)
		switch {
		case sp >= want && s.starts[l]+want < s.ends[l]: // content, maybe only spaces
			end = s.ends[l]
		case !hasBreak(l):
			return end
		case sp >= want:
			if keep {
				end = s.ends[l]
			}
		case blank(l):
			if keep {
				end = s.ends[l]
			}
		default:
			return end
		}
	}
	return end
}

// flowEnd returns the end of the flow collection whose opening bracket is
// at off.
func (s *source) flowEnd(off int) (int, error) {
	b := s.b
	depth := 0
	for p := off; p < len(b); {
		c := b[p]
		switch {
		case c == '[' || c == '{':
			depth++
			p++
		case c == ']' || c == '}':
			depth--
			p++
			if depth == 0 {
				return p, nil
			}
		case c == ',' || c == ':' || c == ' ' || c == '\t':
			p++
		case breakWidth(b, p) > 0:
			p += breakWidth(b, p)
		case c == '#':
			for p < len(b) && breakWidth(b, p) == 0 {
				p++
			}
		case c == '"' || c == '\'':
			e, err := s.quotedEnd(p)
			if err != nil {
				return 0, err
			}
			p = e
		case c == '&' || c == '!' || c == '*':
			p = s.tokenEnd(p, true)
		case c == '?' && s.isBlankz(p+1):
			p++
		default:
			e := s.plainEnd(p, true, -1)
			if e == p {
				e = p + 1
			}
			p = e
		}
	}
	return 0, fmt.Errorf("unterminated flow collection at line %d", s.line(off)+1)
}

// tokenEnd returns the end of an anchor, tag or alias token. Anchor and
// alias names are letters, digits, '_' and '-' (yaml.v3's rule); a tag
// runs to a blank, or in a flow collection to a flow indicator.
func (s *source) tokenEnd(off int, flow bool) int {
	p := off + 1
	if s.b[off] != '!' {
		for p < len(s.b) && isAnchorChar(s.b[p]) {
			p++
		}
		return p
	}
	for !s.isBlankz(p) && !(flow && bytes.IndexByte([]byte(",[]{}"), s.b[p]) >= 0) {
		p++
	}
	return p
}

func isAnchorChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-'
}

// lineEnd is the offset of the break ending the line that holds off.
func (s *source) lineEnd(off int) int { return s.ends[s.line(off)] }

// lineText returns the text of 1-based line i without its line break.
func (s *source) lineText(i int) string {
	if i < 1 || i > len(s.starts) {
		return ""
	}
	end := len(s.b)
	if i < len(s.starts) {
		end = s.starts[i]
	}
	return string(bytes.TrimRight(s.b[s.starts[i-1]:end], "\r\n"))
}
