package fix

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// resolve returns the tag yaml.v3 gives text written as a plain scalar,
// or "" when the text is not one plain scalar.
func resolve(text string) string {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(text), &n); err != nil {
		return ""
	}
	if len(n.Content) != 1 || n.Content[0].Kind != yaml.ScalarNode || n.Content[0].Style != 0 || n.Content[0].Value != text {
		if text == "" && len(n.Content) == 0 {
			return "!!null"
		}
		return ""
	}
	return n.Content[0].ShortTag()
}

// yaml11 matches what a YAML 1.1 reader (go-yaml v2, and so
// sigs.k8s.io/yaml and the API server's decoders) reads as a bool, null,
// number or merge key although YAML 1.2 reads it as a string.
var yaml11 = regexp.MustCompile(`^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|~|<<|=` +
	`|[-+]?0b[01_]+|[-+]?0[0-7_]+|[-+]?0o[0-7_]+|[-+]?0x[0-9a-fA-F_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?` +
	`|[-+]?[0-9][0-9_]*|[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+` +
	`|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$`)

// plainOK reports whether s can be written as a plain scalar, in a flow
// collection when flow is set, and be read back as the string s by YAML
// 1.1 and 1.2 readers alike.
func plainOK(s string, flow bool) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	switch s[0] {
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ':
		return false
	case '-':
		if len(s) == 1 || s[1] == ' ' || strings.HasPrefix(s, "---") {
			return false
		}
	case '.':
		if strings.HasPrefix(s, "...") {
			return false
		}
	}
	if s[len(s)-1] == ' ' || s[len(s)-1] == ':' {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") {
		return false
	}
	if flow && strings.ContainsAny(s, ",[]{}") {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			return false
		}
	}
	if yaml11.MatchString(s) {
		return false
	}
	if _, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64); err == nil {
		return false
	}
	return resolve(s) == "!!str"
}

// doubleQuote writes s as a YAML double-quoted scalar.
func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case 0:
			b.WriteString(`\0`)
		case 0x85:
			b.WriteString(`\N`)
		case 0x2028:
			b.WriteString(`\L`)
		case 0x2029:
			b.WriteString(`\P`)
		case 0xfeff:
			b.WriteString(`\uFEFF`)
		default:
			if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
				b.WriteString(`\x` + strconv.FormatInt(int64(r)+0x100, 16)[1:])
				continue
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// singleQuote writes s single-quoted, or reports that it cannot be (line
// breaks and control characters need double quotes).
func singleQuote(s string) (string, bool) {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff {
			return "", false
		}
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'", true
}

// scalarText writes the scalar v. like is the style of the scalar v
// replaces (0 for new text): a string replacing a quoted string keeps its
// quotes.
func scalarText(v *yaml.Node, flow bool, like yaml.Style) string {
	switch v.ShortTag() {
	case "!!str":
	case "!!null":
		return "null"
	default:
		return v.Value
	}
	s := v.Value
	style := v.Style
	if style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle) == 0 {
		style = like
	}
	switch {
	case style&yaml.SingleQuotedStyle != 0:
		if q, ok := singleQuote(s); ok {
			return q
		}
	case style&yaml.DoubleQuotedStyle != 0:
	case plainOK(s, flow):
		return s
	}
	return doubleQuote(s)
}

// keyText writes a mapping key.
func keyText(k string, flow bool) string {
	if plainOK(k, flow) {
		return k
	}
	return doubleQuote(k)
}

// deref follows aliases (and a document node) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < 16; i++ {
		switch n.Kind {
		case yaml.AliasNode:
			n = n.Alias
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return n
}

// equalNode reports whether the written node a already has the value v:
// the same tag and the same value (1000 and 0x3E8, true and True are
// equal; "1000" and 1000 are not), mappings compared without regard to
// key order.
func equalNode(a, v *yaml.Node) bool { return equalDepth(a, v, 0) }

func equalDepth(a, v *yaml.Node, depth int) bool {
	a, v = deref(a), deref(v)
	if a == nil || v == nil || depth > 100 {
		return false
	}
	if a.Kind != v.Kind {
		return false
	}
	switch a.Kind {
	case yaml.ScalarNode:
		return equalScalar(a, v)
	case yaml.SequenceNode:
		if len(a.Content) != len(v.Content) {
			return false
		}
		for i := range a.Content {
			if !equalDepth(a.Content[i], v.Content[i], depth+1) {
				return false
			}
		}
		return true
	case yaml.MappingNode:
		if len(a.Content) != len(v.Content) {
			return false
		}
		for i := 0; i+1 < len(a.Content); i += 2 {
			if a.Content[i].Value == "<<" && a.Content[i].ShortTag() == "!!merge" {
				return false
			}
		}
		for i := 0; i+1 < len(v.Content); i += 2 {
			found := false
			for j := 0; j+1 < len(a.Content); j += 2 {
				if equalScalar(a.Content[j], v.Content[i]) {
					if !equalDepth(a.Content[j+1], v.Content[i+1], depth+1) {
						return false
					}
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	}
	return false
}

func equalScalar(a, v *yaml.Node) bool {
	if a.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
		return false
	}
	ta, tv := a.ShortTag(), v.ShortTag()
	if ta != tv {
		return false
	}
	switch ta {
	case "!!null":
		return true
	case "!!bool":
		x, errA := strconv.ParseBool(strings.ToLower(a.Value))
		y, errV := strconv.ParseBool(strings.ToLower(v.Value))
		return errA == nil && errV == nil && x == y
	case "!!int":
		x, errA := strconv.ParseInt(strings.ReplaceAll(a.Value, "_", ""), 0, 64)
		y, errV := strconv.ParseInt(strings.ReplaceAll(v.Value, "_", ""), 0, 64)
		if errA == nil && errV == nil {
			return x == y
		}
	case "!!float":
		x, okA := parseFloat(a.Value)
		y, okV := parseFloat(v.Value)
		if okA && okV {
			return x == y || math.IsNaN(x) && math.IsNaN(y)
		}
	}
	return a.Value == v.Value
}

func parseFloat(s string) (float64, bool) {
	switch strings.ToLower(strings.TrimPrefix(s, "+")) {
	case ".inf":
		return math.Inf(1), true
	case "-.inf":
		return math.Inf(-1), true
	case ".nan":
		return math.NaN(), true
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// sameItem reports whether the list element c is the item an EnsureItem
// patch wants: a scalar with the same text (as the list's other items
// are usually written plain), or a mapping equal to it.
func sameItem(c, item *yaml.Node) bool {
	d := deref(c)
	switch {
	case d == nil || d.Kind != item.Kind:
		return false
	case d.Kind == yaml.ScalarNode:
		return d.Value == item.Value
	}
	return equalNode(d, item)
}

// quotedLike returns v with the quoting the lists around it use: when
// the string items of the list old it replaces or extends and of the
// lists beside it in the same mapping, or else of every list of the
// object, are quoted in one style although plain would do (verbs beside
// resources: ["pods"]), v's string items are written in that style too.
// Items that must be quoted ("*") say nothing about style. v is returned
// as it is otherwise; it is never modified.
func quotedLike(old, parent, obj, v *yaml.Node) *yaml.Node {
	if v.Kind != yaml.SequenceNode {
		return v
	}
	near := []*yaml.Node{old}
	if parent != nil && parent.Kind == yaml.MappingNode {
		for i := 1; i < len(parent.Content); i += 2 {
			near = append(near, parent.Content[i])
		}
	}
	style, ok := listQuoting(near)
	if !ok {
		var all []*yaml.Node
		visit(obj, func(n *yaml.Node) {
			if n.Kind == yaml.SequenceNode {
				all = append(all, n)
			}
		})
		style, ok = listQuoting(all)
	}
	if !ok || style == 0 {
		return v
	}
	out := *v
	out.Content = make([]*yaml.Node, len(v.Content))
	for i, c := range v.Content {
		if c.Kind == yaml.ScalarNode && c.ShortTag() == "!!str" {
			cc := *c
			cc.Style = style
			c = &cc
		}
		out.Content[i] = c
	}
	return &out
}

// listQuoting returns the one quote style (0 for plain) that the string
// items of the lists are written in where plain would do, and whether
// they show one at all: false when there are none or they disagree.
func listQuoting(lists []*yaml.Node) (yaml.Style, bool) {
	style, seen := yaml.Style(0), false
	for _, l := range lists {
		if l == nil || l.Kind != yaml.SequenceNode {
			continue
		}
		for _, c := range l.Content {
			if c.Kind != yaml.ScalarNode || c.ShortTag() != "!!str" || !plainOK(c.Value, isFlow(l)) {
				continue
			}
			q := c.Style & (yaml.SingleQuotedStyle | yaml.DoubleQuotedStyle)
			if seen && q != style {
				return 0, false
			}
			style, seen = q, true
		}
	}
	return style, seen
}
