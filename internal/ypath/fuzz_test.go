package ypath

import (
	"encoding/binary"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	yaml "go.yaml.in/yaml/v3"
)

// FuzzParse checks that whatever Parse accepts, String writes back in a
// form Parse reads as the same path, and that String is stable from then
// on. Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			return
		}
		s2 := p.String()
		p2, err := Parse(s2)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, whose String %q does not parse: %v", s, []string(p), s2, err)
		}
		if !slices.Equal(p, p2) {
			t.Fatalf("Parse(%q) = %q; String %q parses as %q", s, []string(p), s2, []string(p2))
		}
		if s3 := p2.String(); s3 != s2 {
			t.Fatalf("String is not stable: %q, then %q", s2, s3)
		}
	})
}

// FuzzWalk follows a path into any YAML document: it must not panic,
// match no more segments than the path has, stop where its prefix of the
// same depth stops, and report a position inside the document. Seeds are
// in testdata/fuzz/FuzzWalk.
func FuzzWalk(f *testing.F) {
	f.Fuzz(func(t *testing.T, src, path string) {
		var doc yaml.Node
		if yaml.Unmarshal([]byte(src), &doc) != nil {
			return
		}
		p, err := Parse(path)
		if err != nil {
			p = strings.Split(path, ".") // paths Parse refuses still walk
		}
		m := Walk(&doc, p)
		if m.Depth < 0 || m.Depth > len(p) {
			t.Fatalf("Walk(%q) depth %d", []string(p), m.Depth)
		}
		if d := Walk(&doc, p[:m.Depth]).Depth; d != m.Depth {
			t.Fatalf("Walk(%q) depth %d, but its first %d segments match to depth %d", []string(p), m.Depth, m.Depth, d)
		}
		line, col := m.Pos()
		lines := yamlLines(src)
		if v := m.Value; v != nil && v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "" {
			lines++ // the parser puts an empty document's null on the line after "---"
		}
		if line < 0 || line > lines || col < 0 {
			t.Fatalf("Walk(%q) at %d:%d, outside %d lines", []string(p), line, col, lines)
		}
		if m.Depth > 0 && (m.Value == nil || line == 0) {
			t.Fatalf("Walk(%q) matched %d segments but has no position", []string(p), m.Depth)
		}
	})
}

// yamlLines counts the lines of src as the YAML parser does: "\r\n", a
// lone "\r", and NEL, LS and PS all end a line; input with a UTF-16 byte
// order mark is decoded from UTF-16 first, as the parser does.
func yamlLines(src string) int {
	src = decodeUTF16(src)
	src = strings.ReplaceAll(src, "\r\n", "\n")
	n := 1
	for _, r := range src {
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
	}
	return n
}

// decodeUTF16 returns src decoded from UTF-16 when it starts with a UTF-16
// byte order mark, else src.
func decodeUTF16(src string) string {
	var order binary.ByteOrder
	switch {
	case strings.HasPrefix(src, "\xff\xfe"):
		order = binary.LittleEndian
	case strings.HasPrefix(src, "\xfe\xff"):
		order = binary.BigEndian
	default:
		return src
	}
	b := []byte(src[2:])
	units := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		units = append(units, order.Uint16(b[i:]))
	}
	return string(utf16.Decode(units))
}
