package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"
	"unicode"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// Deterministic rendering.
//
// Sprig gives Helm templates functions whose result changes from one
// render to the next: random strings and numbers, UUIDs, keys and
// certificates, the clock, and the map order of keys and values (the
// full list is detFuncs). A chart using them renders differently every
// time, so a verification that compares two renders of it sees changes
// no fix made. Every render kubeharden does (lint, values probe, fix
// verification) replaces them by deterministic versions (detfuncs.go).
//
// Helm 3's engine takes no function map from its caller (see guard.go),
// so the replacement goes through the one call into our code it makes
// while a template runs, lookup, as the guard's does. Before rendering,
// every call of a replaced function F in a template,
//
//	F a b c            (or x | F a b, or F as a niladic argument)
//
// is rewritten, on the same line, into
//
//	list a b c | toJson | lookup "det.kubeharden.invalid/v1" "N" "" | pluck "v" | first
//
// where N is the call site. The arguments reach our code as JSON, which
// keeps strings, numbers, lists, maps and the certificates of the
// replaced functions (whose Cert and Key marshal as such); a time.Time
// arrives as its RFC 3339 text and is read back as a time. The result
// comes back as itself, typed (a string, an int, a time.Time, a
// certificate with .Cert and .Key).
//
// Seeds. The n-th call of a function at a site gets its randomness from
// SHA-256 of the target's ID, the template's engine name
// ("web/templates/secret.yaml"), the function's name, the site's ordinal
// among that function's calls in the template (in source order, so that
// an edit that adds a line does not change it), and n (a site runs once
// per loop iteration or include). Two renders of the same input are
// byte-identical; two call sites, or two runs of one site, get different
// values. The clock is the fixed instant detNow.
//
// Not replaced: calls inside strings given to tpl (they are not in a
// template file), and derivePassword, which is deterministic already.

// detAPIVersion is the apiVersion of the lookups that stand in for the
// replaced functions.
const detAPIVersion = "det.kubeharden.invalid/v1"

// detErrRE matches what the engine says before the error of a
// stand-in.
var detErrRE = regexp.MustCompile(`at <lookup "(?:det|call)\.kubeharden\.invalid/v1" "\d+" "">: error calling lookup: `)

// detSite is one call site of a replaced function.
type detSite struct {
	template string // the engine's template name
	fn       string
	ordinal  int // among the calls of fn in the template, in source order
	calls    int // runs so far in this render
}

// detState holds the call sites of one render.
type detState struct {
	target string
	limit  int64 // the output limit; counts above it are refused
	sites  []detSite
}

// seed returns the seed of the next run of site i.
func (d *detState) seed(i int) [32]byte {
	s := &d.sites[i]
	h := sha256.New()
	for _, part := range []string{"kubeharden determinism v1", d.target, s.template, s.fn} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	var n [16]byte
	binary.BigEndian.PutUint64(n[:8], uint64(s.ordinal))
	binary.BigEndian.PutUint64(n[8:], uint64(s.calls))
	h.Write(n[:])
	s.calls++
	return [32]byte(h.Sum(nil))
}

// client returns the resource client that runs site kind.
func (d *detState) client(kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	i, err := strconv.Atoi(kind)
	if d == nil || err != nil || i < 0 || i >= len(d.sites) {
		return nil, false, fmt.Errorf("bad call site %q", kind)
	}
	return detClient{d: d, site: i}, false, nil
}

// detClient runs one call site: Get's name is the call's arguments.
type detClient struct {
	dynamic.NamespaceableResourceInterface // nil: other methods are never called
	d                                      *detState
	site                                   int
}

func (c detClient) Get(_ context.Context, name string, _ metav1.GetOptions, _ ...string) (*unstructured.Unstructured, error) {
	fn := c.d.sites[c.site].fn
	dec := json.NewDecoder(strings.NewReader(name))
	dec.UseNumber()
	var args []any
	if err := dec.Decode(&args); err != nil {
		return nil, fmt.Errorf("%s: arguments: %v", fn, err)
	}
	call := &detCall{fn: fn, seed: c.d.seed(c.site), limit: c.d.limit}
	v, err := detFuncs[fn].run(call, args)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: map[string]any{"v": v}}, nil
}

// determinize returns src with every call of a replaced function
// rewritten into a lookup of a new site of d (see above). name is the
// template's engine name. A template that does not parse is returned as
// it is: the engine reports the error.
func determinize(name string, src []byte, d *detState) []byte {
	return rewriteCalls(name, src, d, nil)
}

// callWrap says where the builder calls and printing actions of a
// template are charged (builders.go).
type callWrap struct {
	g         *helmGuard
	file      string // root-relative template file
	withLines bool
}

// rewriteCalls is determinize, and with w set, also rewrites the calls
// of builders and the printing actions into lookups of new call sites
// of w.g (builders.go). d may be nil.
func rewriteCalls(name string, src []byte, d *detState, w *callWrap) []byte {
	text := string(src)
	if !strings.Contains(text, "{{") {
		return src
	}
	t := parse.New(name)
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(text, "", "", trees); err != nil {
		return src
	}
	type edit struct {
		pos, end int // replaced bytes; pos == end inserts
		text     string
	}
	type call struct {
		pos, site int
	}
	var edits []edit
	var calls []call
	newSite := func(pos int, fn string) int {
		calls = append(calls, call{pos, len(d.sites)})
		d.sites = append(d.sites, detSite{template: name, fn: fn})
		return len(d.sites) - 1
	}
	suffix := func(site int) string {
		return fmt.Sprintf(` | toJson | lookup %q "%d" "" | pluck "v" | first`, detAPIVersion, site)
	}
	replaced := func(n parse.Node) (string, bool) {
		id, ok := n.(*parse.IdentifierNode)
		if !ok || d == nil {
			return "", false
		}
		_, ok = detFuncs[id.Ident]
		return id.Ident, ok
	}
	// built says whether n names a builder to charge.
	built := func(n parse.Node) (string, bool) {
		id, ok := n.(*parse.IdentifierNode)
		if !ok || w == nil {
			return "", false
		}
		_, ok = builderFuncs[id.Ident]
		return id.Ident, ok
	}
	callSuffix := func(pos int, fn string) string {
		line := 0
		if w.withLines {
			line = strings.Count(text[:pos], "\n") + 1
		}
		site := len(w.g.calls)
		w.g.calls = append(w.g.calls, callSite{fn: fn, file: w.file, line: line})
		return fmt.Sprintf(` | set (lookup %q "%d" "" %q) "a" | typeOf | lookup %q "%d" "" | pluck "v" | first`,
			callAPIVersion, site, mailboxName, callAPIVersion, site)
	}
	var walk func(n parse.Node)
	// arg walks an operand, where a replaced function is called without
	// arguments.
	arg := func(n parse.Node) {
		if fn, ok := built(n); ok {
			pos := int(n.Position())
			edits = append(edits, edit{pos, pos + len(fn), "(list" + callSuffix(pos, fn) + ")"})
			return
		}
		if fn, ok := replaced(n); ok {
			pos := int(n.Position())
			site := newSite(pos, fn)
			edits = append(edits, edit{pos, pos + len(fn), "(list" + suffix(site) + ")"})
			return
		}
		walk(n)
	}
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(n.Pipe)
			// What an action prints is charged, unless a charged
			// builder made it.
			if w != nil && n.Pipe != nil && len(n.Pipe.Decl) == 0 && !n.Pipe.IsAssign && len(n.Pipe.Cmds) > 0 {
				last := n.Pipe.Cmds[len(n.Pipe.Cmds)-1]
				if _, ok := built(last.Args[0]); !ok {
					end := nodeEnd(text, last)
					edits = append(edits, edit{end, end, " | list" + callSuffix(int(n.Position()), printFunc)})
				}
			}
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			rest := n.Args
			if fn, ok := built(n.Args[0]); ok {
				pos := int(n.Position())
				edits = append(edits,
					edit{pos, pos + len(fn), "list"},
					edit{nodeEnd(text, n), nodeEnd(text, n), callSuffix(pos, fn)})
				rest = n.Args[1:]
			} else if fn, ok := replaced(n.Args[0]); ok {
				pos := int(n.Position())
				site := newSite(pos, fn)
				edits = append(edits,
					edit{pos, pos + len(fn), "list"},
					edit{nodeEnd(text, n), nodeEnd(text, n), suffix(site)})
				rest = n.Args[1:]
			}
			for _, a := range rest {
				arg(a)
			}
		case *parse.ChainNode:
			arg(n.Node)
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	for _, tree := range trees {
		if tree.Root != nil {
			walk(tree.Root)
		}
	}
	if len(edits) == 0 {
		return src
	}
	// Ordinals in source order: the trees come from a map.
	slices.SortFunc(calls, func(a, b call) int { return a.pos - b.pos })
	seen := map[string]int{}
	for _, c := range calls {
		s := &d.sites[c.site]
		s.ordinal = seen[s.fn]
		seen[s.fn]++
	}
	// Edits never overlap: a call's arguments lie between the name it
	// replaces and the end where it inserts. An argument's edits end
	// before or where the call's end is, and sort before it.
	slices.SortStableFunc(edits, func(a, b edit) int { return a.pos - b.pos })
	var b bytes.Buffer
	b.Grow(len(text) + len(edits)*80)
	last := 0
	for _, e := range edits {
		b.WriteString(text[last:e.pos])
		b.WriteString(e.text)
		last = e.end
	}
	b.WriteString(text[last:])
	return b.Bytes()
}

// nodeEnd returns the offset in text just past node n of a parsed
// template. The parser records where nodes start only; and a field or
// variable chain (.a.b, $x.a) starts at its last link, so those are
// scanned forward from there.
func nodeEnd(text string, n parse.Node) int {
	pos := int(n.Position())
	switch n := n.(type) {
	case *parse.CommandNode:
		return nodeEnd(text, n.Args[len(n.Args)-1])
	case *parse.PipeNode:
		// A pipeline as an operand is parenthesized: past its ")".
		end := nodeEnd(text, n.Cmds[len(n.Cmds)-1])
		for end < len(text) && strings.ContainsRune(" \t\r\n", rune(text[end])) {
			end++
		}
		if end < len(text) && text[end] == ')' {
			end++
		}
		return end
	case *parse.StringNode:
		return pos + len(n.Quoted)
	case *parse.NumberNode:
		return pos + len(n.Text)
	}
	// Identifiers, fields, variables, chains, dot, nil, booleans.
	end := pos
	for end < len(text) {
		r, size := utf8.DecodeRuneInString(text[end:])
		if r != '.' && r != '$' && r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			break
		}
		end += size
	}
	return end
}
