package fix

import (
	"fmt"
	"regexp"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

var (
	templateKeyLine   = regexp.MustCompile(`^(\s*)(- )?([A-Za-z0-9_.\-/]+):\s*(#.*)?$`)
	templateValueLine = regexp.MustCompile(`^(\s*(?:- )?[A-Za-z0-9_.\-/]+:[ \t]+)([^#\s][^#]*?)([ \t]+#.*)?$`)
)

// TemplateEdit lowers patch pt of the rendered object obj onto the text
// of a Helm template (src, which is not YAML), at the template line that
// writes the field or its nearest rendered ancestor literally: a plain
// "key: value" line whose value is replaced, or a plain "key:" line under
// which the missing fields are inserted as its first entries. Lines with
// template actions are never edited. Lines are counted as in every other
// lowering (the package's line table).
func TemplateEdit(src []byte, line int, obj *yaml.Node, pt Patch) (Edit, error) {
	if src == nil {
		return Edit{}, fmt.Errorf("no line %d", line)
	}
	s := newSource(src)
	if line < 1 || line > len(s.starts) {
		return Edit{}, fmt.Errorf("no line %d", line)
	}
	text := s.lineText(line)
	if strings.Contains(text, "{{") {
		return Edit{}, fmt.Errorf("line %d has a template action", line)
	}
	depth := ypath.Walk(obj, pt.Path).Depth
	if depth == 0 {
		return Edit{}, fmt.Errorf("the object has no part of %s", pt.Path)
	}
	key := pt.Path[depth-1]
	if depth == len(pt.Path) {
		m := templateValueLine.FindStringSubmatchIndex(text)
		if pt.Op != OpSet || pt.Value.Kind != yaml.ScalarNode || m == nil || !strings.HasSuffix(strings.TrimSpace(text[:m[3]]), key+":") {
			return Edit{}, fmt.Errorf("line %d is not a plain %q: value line", line, key)
		}
		off := s.starts[line-1]
		return Edit{Offset: off + m[4], End: off + m[5], Text: ScalarText(pt.Value)}, nil
	}
	m := templateKeyLine.FindStringSubmatch(text)
	if m == nil || m[3] != key {
		return Edit{}, fmt.Errorf("line %d is not a plain %q: line", line, key)
	}
	col := len(m[1]) + len(m[2])
	child := col + 2
	for i := line + 1; i <= len(s.starts); i++ {
		t := s.lineText(i)
		trimmed := strings.TrimSpace(t)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "{{") {
			continue
		}
		if ind := len(t) - len(strings.TrimLeft(t, " ")); ind > col {
			child = ind
		}
		break
	}
	v := pt.Value
	switch pt.Op {
	case OpSet:
	case OpEnsureItem:
		v = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{pt.Value}}
	default:
		return Edit{}, fmt.Errorf("cannot %s in a template", pt.Op)
	}
	lines, err := EntryLines(child, child-col, pt.Path[depth:], v)
	if err != nil {
		return Edit{}, err
	}
	nl := s.nl
	if line < len(s.starts) {
		at := s.starts[line]
		return Edit{Offset: at, End: at, Text: strings.Join(lines, nl) + nl}, nil
	}
	// The key is on the last line, which has no line break.
	at := len(src)
	return Edit{Offset: at, End: at, Text: nl + strings.Join(lines, nl)}, nil
}
