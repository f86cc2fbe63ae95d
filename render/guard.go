package render

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template/parse"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/kubeharden/kubeharden/render/internal/helm"
)

// Bounding Helm's template engine.
//
// Helm's engine (v3) renders every template into a strings.Builder of its
// own and offers no hook for template functions or for the writer, and Go
// templates cannot be interrupted. Left alone, a template that loops
// longer than the render timeout runs on after its render was abandoned,
// and one that writes gigabytes allocates them before the output limit is
// checked.
//
// The one call into our code the engine makes while a template runs is
// the lookup function's ClientProvider. So before rendering, every range
// body and every named template (define) gets a lookup at its start, on
// the same line so that no line number moves; the provider (helmGuard)
// then runs once per loop iteration and per named-template call. It stops
// the template once the render's context is done, and once the literal
// text the loop bodies and named templates write, plus a cost per step
// for what the engine allocates, adds up to more than the output limit,
// naming the loop or template. The literal text of a body is counted
// before it is written, so the output never grows much past the limit
// through loops or recursion. Functions whose result grows with a number written in the
// template (until 100000000, repeat 1000000000 "x") are refused before
// rendering, since one call allocates all of it.
//
// What the loop and template charges cannot see — a single call given a
// huge number from the values (until .Values.n), a string doubled by
// printf in a short loop, values printed inside a loop — is charged by
// the builder and print sites of builders.go, against the same budget
// and the run's memory budget (membudget.go).

// guardAPIVersion is the apiVersion of the lookups the guard injects.
const guardAPIVersion = "guard.kubeharden.invalid/v1"

// What the engine allocates for a loop iteration and for a call of a
// named template, besides what they write (measured: about 700 bytes and
// 1.6 KB). Counting part of it against the output limit bounds what
// many steps writing little cost; the default limit still allows a
// quarter of a million iterations or 65,536 calls.
const (
	iterationCost = 256
	callCost      = 1024
)

// guardSite is one injected lookup: a range body or a named template.
type guardSite struct {
	file string // root-relative template file
	line int
	// literal is the bytes of literal text the body writes per run,
	// outside nested loops and named templates (which have sites of
	// their own).
	literal int64
	loop    bool
}

// helmGuard is the ClientProvider of one render.
type helmGuard struct {
	ctx    context.Context
	limit  int64
	sites  []guardSite
	budget int64 // bytes counted so far
	// err is the error that stopped the template, when the guard did.
	err *Error
	// det runs the stand-ins of the non-deterministic functions
	// (determinism.go).
	det *detState
	// calls are the builder calls and printing actions charged by
	// their values (builders.go); box is the mailbox of the call being
	// made.
	calls []callSite
	box   map[string]any
	// run is the budget of the whole run, shared by the renders in
	// flight; nil for none.
	run *memBudget
	// charged is what this render holds of run.
	charged int64
}

// remaining is the bytes the render may still charge.
func (g *helmGuard) remaining() int64 {
	rem := g.limit - g.budget
	if g.run != nil {
		rem = min(rem, g.run.left())
	}
	return rem
}

// charge counts n bytes made at file:line by what, stopping the
// template with an error once the output limit or the run's memory
// budget is passed.
func (g *helmGuard) charge(n int64, file string, line int, what string) error {
	if g.err != nil {
		return g.err
	}
	if err := g.ctx.Err(); err != nil {
		g.err = errorf("", 0, "rendering stopped: %v", err)
		return g.err
	}
	if g.budget += n; g.budget > g.limit {
		g.err = errorf(file, line, "%s goes over the %d byte output limit; rendering stopped", what, g.limit)
		return g.err
	}
	if g.run != nil {
		g.charged += n
		if !g.run.take(n) {
			g.err = errorf(file, line, "%s goes over the run's %d byte memory budget; rendering stopped", what, g.run.max)
			return g.err
		}
	}
	return nil
}

// release gives back to the run what the render charged.
func (g *helmGuard) release() {
	if g.run != nil {
		g.run.put(g.charged)
		g.charged = 0
	}
}

// GetClientFor implements helm.ClientProvider. Real lookups find
// nothing, as with no cluster; the guard's own lookups are counted.
func (g *helmGuard) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	if apiVersion == detAPIVersion {
		return g.det.client(kind)
	}
	if apiVersion == callAPIVersion {
		if err := g.charge(0, "", 0, ""); err != nil {
			return nil, false, err
		}
		i, err := strconv.Atoi(kind)
		if err != nil || i < 0 || i >= len(g.calls) {
			return nil, false, fmt.Errorf("bad call site %q", kind)
		}
		return callClient{g: g, site: i}, false, nil
	}
	if apiVersion != guardAPIVersion {
		return notFound{}, false, nil
	}
	if g.err != nil {
		return nil, false, g.err
	}
	if err := g.ctx.Err(); err != nil {
		g.err = errorf("", 0, "rendering stopped: %v", err)
		return nil, false, g.err
	}
	i, err := strconv.Atoi(kind)
	if err != nil || i < 0 || i >= len(g.sites) {
		return nil, false, fmt.Errorf("bad guard site %q", kind)
	}
	s := g.sites[i]
	cost := s.literal + callCost
	if s.loop {
		cost = s.literal + iterationCost
	}
	what := "named template"
	if s.loop {
		what = "loop"
	}
	if err := g.charge(cost, s.file, s.line, what); err != nil {
		return nil, false, err
	}
	return notFound{}, false, nil
}

// notFound is a resource client that finds nothing.
type notFound struct {
	dynamic.NamespaceableResourceInterface // nil: other methods are never called
}

func (notFound) Namespace(string) dynamic.ResourceInterface { return notFound{} }

func (notFound) Get(context.Context, string, metav1.GetOptions, ...string) (*unstructured.Unstructured, error) {
	return nil, apierrors.NewNotFound(schema.GroupResource{}, "")
}

func (notFound) List(context.Context, metav1.ListOptions) (*unstructured.UnstructuredList, error) {
	return nil, apierrors.NewNotFound(schema.GroupResource{}, "")
}

// renderGuarded renders ch with the engine, its templates instrumented
// for g. tmpls maps engine names to template files (templateFiles).
func renderGuarded(ch *helm.Chart, top *helm.RenderValues, g *helmGuard, tmpls map[string]*tmplFile) (map[string]string, error) {
	if err := instrumentChart(ch, g, tmpls); err != nil {
		return nil, err
	}
	return helm.Render(ch, top, g)
}

// instrumentChart instruments the templates of ch and its subcharts in
// place (replacing each template's Data, never its bytes), refuses
// function calls that would make more than the output limit, and, with
// g.det set, replaces the non-deterministic functions (determinism.go).
func instrumentChart(c *helm.Chart, g *helmGuard, tmpls map[string]*tmplFile) error {
	for _, f := range c.Templates() {
		name := path.Join(c.FullPath(), f.Name())
		file, line := name, true
		if tf := tmpls[file]; tf != nil {
			file, line = tf.file, !tf.archive
		}
		data, err := instrument(file, line, f.Data(), g)
		if err != nil {
			return err
		}
		data = rewriteCalls(name, data, g.det, &callWrap{g: g, file: file, withLines: line})
		f.SetData(data)
	}
	for _, d := range c.Dependencies() {
		if err := instrumentChart(d, g, tmpls); err != nil {
			return err
		}
	}
	return nil
}

// instrument returns src with a guard lookup at the start of every range
// body and named template, adding their sites to g. A template that does
// not parse is returned as it is: the engine reports the error. withLines
// is false for templates from an archive, whose lines are unknown.
func instrument(file string, withLines bool, src []byte, g *helmGuard) ([]byte, error) {
	text := string(src)
	if !strings.Contains(text, "{{") {
		return src, nil
	}
	t := parse.New(file)
	t.Mode = parse.SkipFuncCheck
	trees := map[string]*parse.Tree{}
	if _, err := t.Parse(text, "", "", trees); err != nil {
		return src, nil
	}
	lineOf := func(pos parse.Pos) int {
		if !withLines {
			return 0
		}
		return strings.Count(text[:pos], "\n") + 1
	}
	type insert struct {
		pos  int
		site int
	}
	var inserts []insert
	var bad *Error
	add := func(pos parse.Pos, list *parse.ListNode, loop bool) {
		inserts = append(inserts, insert{int(pos), len(g.sites)})
		g.sites = append(g.sites, guardSite{file: file, line: lineOf(pos), literal: literalSize(list), loop: loop})
	}
	var walk func(n parse.Node)
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
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for _, c := range n.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			if bad == nil {
				if e := amplifies(n, g.limit); e != "" {
					bad = errorf(file, lineOf(n.Position()), "%s", e)
				}
			}
			for _, a := range n.Args {
				walk(a)
			}
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
			add(n.List.Position(), n.List, true)
			walk(n.List)
			walk(n.ElseList)
		case *parse.TemplateNode:
			walk(n.Pipe)
		}
	}
	for name, tree := range trees {
		if tree.Root == nil {
			continue
		}
		if name != file {
			add(tree.Root.Position(), tree.Root, false)
		}
		walk(tree.Root)
	}
	if bad != nil {
		return nil, bad
	}
	if len(inserts) == 0 {
		return src, nil
	}
	// Insert in order of position. The left
	// trim marker removes what the original trimmed there too (the spaces
	// of a body that a following "{{-" would have trimmed); the right
	// delimiter trims nothing, so the body's text is kept as written.
	var b strings.Builder
	b.Grow(len(text) + len(inserts)*64)
	last := 0
	slices.SortFunc(inserts, func(a, b insert) int { return a.pos - b.pos })
	for _, in := range inserts {
		b.WriteString(text[last:in.pos])
		fmt.Fprintf(&b, `{{- if lookup %q "%d" "" "" }}{{ end }}`, guardAPIVersion, in.site)
		last = in.pos
	}
	b.WriteString(text[last:])
	return []byte(b.String()), nil
}

// literalSize is the bytes of literal text a list writes, counting both
// branches of conditionals and leaving out nested loops and template
// calls.
func literalSize(l *parse.ListNode) int64 {
	if l == nil {
		return 0
	}
	var n int64
	for _, c := range l.Nodes {
		switch c := c.(type) {
		case *parse.TextNode:
			n += int64(len(c.Text))
		case *parse.IfNode:
			n += literalSize(c.List) + literalSize(c.ElseList)
		case *parse.WithNode:
			n += literalSize(c.List) + literalSize(c.ElseList)
		}
	}
	return n
}

// amplifies returns why a function call with numbers written in the
// template would make more than limit bytes, or "".
func amplifies(cmd *parse.CommandNode, limit int64) string {
	if len(cmd.Args) < 2 {
		return ""
	}
	id, ok := cmd.Args[0].(*parse.IdentifierNode)
	if !ok {
		return ""
	}
	num := func(i int) (int64, bool) {
		if i >= len(cmd.Args) {
			return 0, false
		}
		n, ok := cmd.Args[i].(*parse.NumberNode)
		if !ok || !n.IsInt {
			return 0, false
		}
		return n.Int64, true
	}
	abs := func(v int64) int64 {
		if v < 0 {
			return -v
		}
		return v
	}
	var size int64
	switch id.Ident {
	case "until":
		n, ok := num(1)
		if !ok {
			return ""
		}
		size = abs(n) * 8 // one int a number
	case "untilStep":
		start, ok1 := num(1)
		stop, ok2 := num(2)
		step, ok3 := num(3)
		if !ok1 || !ok2 || !ok3 || step == 0 {
			return ""
		}
		size = abs(stop-start) / abs(step) * 8
	case "seq":
		// seq N, seq A B, seq A S B: at least one digit and a space a number
		var lo, hi int64
		switch len(cmd.Args) {
		case 2:
			lo, hi = 1, 0
			n, ok := num(1)
			if !ok {
				return ""
			}
			hi = n
		default:
			a, ok1 := num(1)
			b, ok2 := num(len(cmd.Args) - 1)
			if !ok1 || !ok2 {
				return ""
			}
			lo, hi = a, b
		}
		size = abs(hi-lo) * 2
	case "repeat":
		n, ok := num(1)
		if !ok {
			return ""
		}
		unit := int64(1)
		if s, ok := cmd.Args[len(cmd.Args)-1].(*parse.StringNode); ok && len(cmd.Args) == 3 {
			unit = int64(len(s.Text))
		}
		size = abs(n) * unit
	case "randAlpha", "randAlphaNum", "randAscii", "randNumeric", "indent", "nindent":
		n, ok := num(1)
		if !ok {
			return ""
		}
		size = abs(n)
	default:
		return ""
	}
	if size <= limit {
		return ""
	}
	return fmt.Sprintf("%s would make about %d bytes, over the %d byte output limit; refused before rendering", cmd.String(), size, limit)
}
