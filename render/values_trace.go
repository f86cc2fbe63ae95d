package render

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/render/internal/helm"
)

// Tracing values to the lines that set them. A finding on a field that a
// values key renders belongs on the values line the developer edits, not
// on the template line. The probe (probe.go) answers that question for
// one field with several renders; a lint run needs it for every finding
// of a chart at once, so it renders the chart once more with every
// truthy values leaf replaced by a marker of its own, and reads the
// markers back from the output:
//
//   - non-empty strings and true become the string "kubeharden-probe-N",
//     each such scalar of a list its own marker: truthy values stay
//     truthy, so if, with, default and and/or take the branches they take
//     in the real render. Falsy values (false, "", null) are left as they
//     are: marking them would turn branches around. Numbers are left too
//     (see mark);
//   - an empty mapping gets a marker key ("kubeharden-probe-N: {}"), so
//     that a toYaml of it shows where the mapping would render.
//
// A rendered field is put on the values line only when nothing can be
// mistaken (see (*ValuesTrace).Locate): the traced object has the same
// kind at the same place in the output of the same template file, the
// path to the field has the same shape in both renders (mapping keys,
// list lengths), the traced field is a marker, the real field renders
// exactly the value the values give that key, and the values layer
// chosen writes that very value. Anything else keeps the template line.
//
// Cost: the traced render is a render (less schema validation, CRDs and
// template line maps) of the templates that wrote the objects asked
// about, plus the templates that define named templates; the others are
// rendered empty. The instrumentation of the templates (guard, stand-ins)
// is the real render's, reused (instrcache.go). docs/performance.md has
// the figures.

// maxTraceMarks bounds the markers of one traced render.
const maxTraceMarks = 1 << 15

// traceMark is one marked values leaf or empty mapping.
type traceMark struct {
	path  ypath.Path
	value any  // the real value; nil for an empty mapping
	empty bool // an empty mapping, marked by a key
}

// traceRender is the state of one traced render: which template files
// to render, and what renderChart's prepare step marked.
type traceRender struct {
	files map[string]bool // root-relative template files to render
	marks []traceMark
	real  map[string]any // the real effective values
}

// prepare marks the effective values in place (replacing each top-level
// entry by a marked copy, so that nothing shared is changed) and empties
// the templates the trace does not need. It runs inside renderChart.
func (tr *traceRender) prepare(ch *helm.Chart, values map[string]any, tmpls map[string]*tmplFile) {
	if values != nil {
		tr.real = copyValues(values)
		subs := subchartPaths(tr.real)
		for k, v := range tr.real {
			values[k] = tr.mark(v, ypath.Path{k}, subs)
		}
	}
	// Objects are matched by the template's name and their place in its
	// output: the real render's count must hold, so templates that wrote
	// none of the objects asked about are the only ones emptied.
	var walk func(c *helm.Chart)
	walk = func(c *helm.Chart) {
		for _, f := range c.Templates() {
			name := path.Join(c.FullPath(), f.Name())
			tf := tmpls[name]
			if tf == nil || tr.files[tf.file] || strings.HasPrefix(path.Base(name), "_") || bytes.Contains(f.Data(), []byte("define")) {
				continue
			}
			f.SetData(nil)
		}
		for _, d := range c.Dependencies() {
			walk(d)
		}
	}
	walk(ch)
}

// mark returns a marked copy of v, at values path p.
func (tr *traceRender) mark(v any, p ypath.Path, subs []ypath.Path) any {
	if len(p) > maxProbeDepth {
		return v
	}
	if m, ok := helm.AsMap(v); ok {
		out := make(map[string]any, len(m)+1)
		if len(m) == 0 && len(tr.marks) < maxTraceMarks {
			out[probeMarker+strconv.Itoa(len(tr.marks))] = map[string]any{}
			tr.marks = append(tr.marks, traceMark{path: p, empty: true})
			return out
		}
		isSub := slices.ContainsFunc(subs, func(s ypath.Path) bool { return slices.Equal(s, p) })
		for k, e := range m {
			if k == "global" && isSub {
				out[k] = e // coalescing's copy of the globals: left real
				continue
			}
			out[k] = tr.mark(e, p.Append(k), subs)
		}
		return out
	}
	if l, ok := v.([]any); ok {
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = tr.mark(e, p.Append(ypath.Index(i)), subs)
		}
		return out
	}
	if len(tr.marks) >= maxTraceMarks {
		return v
	}
	var marked any
	switch x := v.(type) {
	case string:
		if x != "" {
			marked = probeMarker + strconv.Itoa(len(tr.marks))
		}
	case bool:
		if x {
			marked = probeMarker + strconv.Itoa(len(tr.marks))
		}
	}
	// Numbers are not marked: a sentinel number drives until, seq and
	// arithmetic (a range of 731 million), and no distinct number is
	// safe to render in their place.
	if marked == nil {
		return v
	}
	tr.marks = append(tr.marks, traceMark{path: p, value: v})
	return marked
}

// markOf reads the mark number of a rendered scalar or key.
func (tr *traceRender) markOf(s string) (int, bool) {
	i, ok := markerID(s)
	if !ok || i >= len(tr.marks) {
		return 0, false
	}
	return i, true
}

// ValuesTrace places the fields of a Helm target's objects on the values
// lines that set them. Locate is safe for concurrent use.
type ValuesTrace struct {
	r      *Renderer
	t      *Target
	tr     *traceRender
	traced map[*Object]*Object // real object -> its traced twin
	layers []valuesLayer
}

// valuesLayer is one values file of a target's chain, parsed.
type valuesLayer struct {
	file string
	node *yaml.Node // root mapping; nil when unreadable
}

// TraceValues renders Helm target t once with marked values (see the
// comment at the top of this file) to place the fields of objs, the
// objects of t's rendering, on the values lines that set them. Only the
// templates that wrote the objects need accepts (nil: all) are rendered,
// and only those objects are placed. A chart the trace cannot render
// yields an error, and its findings keep their template lines.
func (r *Renderer) TraceValues(ctx context.Context, t *Target, objs []*Object, need func(*Object) bool) (*ValuesTrace, error) {
	if t.Kind != KindHelm {
		return nil, fmt.Errorf("target %s is not a Helm chart", t.ID())
	}
	tr := &traceRender{files: map[string]bool{}}
	for _, o := range objs {
		if h, ok := o.Source.(*helmTemplateSource); ok && (need == nil || need(o)) {
			tr.files[h.file] = true
		}
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	run, err := r.renderHelmRun(ctx, t, nil, tr)
	if err != nil {
		return nil, fmt.Errorf("trace values of %s: %w", t.ID(), err)
	}
	for _, o := range run.objs {
		setNamespace(o.Node, t.Namespace, t.ForceNamespace)
	}
	vt := &ValuesTrace{r: r, t: t, tr: tr, traced: map[*Object]*Object{}, layers: r.valuesLayers(t)}
	traced := map[string]map[int]*Object{}
	counts := map[string]int{}
	for _, o := range run.objs {
		if h, ok := o.Source.(*helmTemplateSource); ok {
			if traced[h.name] == nil {
				traced[h.name] = map[int]*Object{}
			}
			traced[h.name][h.ordinal] = o
			counts[h.name]++
		}
	}
	real := map[string]int{}
	for _, o := range objs {
		if h, ok := o.Source.(*helmTemplateSource); ok {
			real[h.name]++
		}
	}
	for _, o := range objs {
		h, ok := o.Source.(*helmTemplateSource)
		if !ok || !tr.files[h.file] {
			continue
		}
		tw := traced[h.name][h.ordinal]
		// A template that wrote another number of objects took other
		// branches: none of its objects is mapped.
		if tw == nil || counts[h.name] != real[h.name] || scalar(tw.Node, "kind") != scalar(o.Node, "kind") || scalar(tw.Node, "apiVersion") != scalar(o.Node, "apiVersion") {
			continue
		}
		vt.traced[o] = tw
	}
	return vt, nil
}

// valuesLayers are t's values files in merge order: the chart's
// values.yaml, the ValueFiles, the inline values. A layer that cannot be
// read has a nil node: nothing is placed on it.
func (r *Renderer) valuesLayers(t *Target) []valuesLayer {
	opts := t.Helm
	if opts == nil {
		opts = &HelmOptions{}
	}
	var out []valuesLayer
	if dir, err := r.fs.Rel(t.Path); err == nil && path.Ext(dir) != ".tgz" {
		f := path.Join(dir, "values.yaml")
		n, _ := r.valuesRoot(f)
		out = append(out, valuesLayer{file: f, node: n})
	} else {
		out = append(out, valuesLayer{})
	}
	for _, f := range opts.ValueFiles {
		rel, err := r.fs.Rel(f)
		if err != nil {
			out = append(out, valuesLayer{})
			continue
		}
		n, _ := r.valuesRoot(rel)
		out = append(out, valuesLayer{file: rel, node: n})
	}
	for _, iv := range opts.Values {
		n, _ := r.inlineRoot(iv)
		out = append(out, valuesLayer{file: iv.File, node: n})
	}
	return out
}

// Locate returns where in the values field p of obj is set, with the
// template location tmpl as its Via, or false when the trace cannot say
// for certain.
func (vt *ValuesTrace) Locate(obj *Object, p ypath.Path, tmpl Location) (Location, bool) {
	if vt == nil {
		return Location{}, false
	}
	tw := vt.traced[obj]
	if tw == nil {
		return Location{}, false
	}
	real, twin := obj.Node, tw.Node
	// Walk the path in both objects while their shapes agree; remember
	// the deepest traced mapping passed that is an empty values mapping
	// rendered through its marker key.
	depth := 0
	for _, seg := range p {
		m := ypath.Walk(real, ypath.Path{seg})
		if m.Depth == 0 {
			break
		}
		var next *yaml.Node
		switch {
		case real.Kind == yaml.SequenceNode && twin.Kind == yaml.SequenceNode:
			j := slices.Index(real.Content, m.Value)
			if j < 0 || len(real.Content) != len(twin.Content) {
				return Location{}, false
			}
			next = twin.Content[j]
		case real.Kind == yaml.MappingNode && twin.Kind == yaml.MappingNode:
			if !ypath.IsSelector(seg) {
				_, next = lookup(twin, seg)
			}
		}
		if next == nil || next.Kind != m.Value.Kind && !(m.Value.Kind == yaml.ScalarNode && next.Kind == yaml.ScalarNode) {
			return Location{}, false
		}
		real, twin = m.Value, next
		depth++
	}
	if depth == len(p) {
		// The field is rendered: it is on a values line when its traced
		// twin is a marker and it renders the marked value as it is.
		if real.Kind != yaml.ScalarNode || twin.Kind != yaml.ScalarNode {
			return Location{}, false
		}
		i, ok := vt.tr.markOf(twin.Value)
		if !ok {
			return Location{}, false
		}
		mk := vt.tr.marks[i]
		if mk.empty || real.Value != leafText(mk.value) {
			return Location{}, false
		}
		return vt.at(mk, true, tmpl)
	}
	// The field is absent; its deepest rendered ancestor is a values
	// mapping rendered whole (toYaml) when: it is empty and its twin
	// holds only that mapping's marker key; or the twin holds the next
	// segment as such a mapping where the real render has nothing (a
	// with block over the empty mapping); or it has the keys of one
	// values mapping, no other, and the markers of its scalars are that
	// mapping's own keys.
	if real.Kind != yaml.MappingNode || twin.Kind != yaml.MappingNode {
		return Location{}, false
	}
	if len(real.Content) == 0 {
		if i, ok := vt.onlyMarkKey(twin); ok {
			return vt.at(vt.tr.marks[i], false, tmpl)
		}
		return Location{}, false
	}
	if _, next := lookup(twin, p[depth]); next != nil {
		if i, ok := vt.onlyMarkKey(next); ok {
			return vt.at(vt.tr.marks[i], false, tmpl)
		}
		return Location{}, false
	}
	if mp, ok := vt.renderedMapping(real, twin); ok {
		return vt.at(traceMark{path: mp}, false, tmpl)
	}
	return Location{}, false
}

// renderedMapping returns the values path of the mapping that real (and
// its traced twin) renders whole: every scalar marker of the twin's is
// a key of one values mapping under the same name, at least one is, and
// real has exactly that mapping's keys.
func (vt *ValuesTrace) renderedMapping(real, twin *yaml.Node) (ypath.Path, bool) {
	if len(real.Content) != len(twin.Content) {
		return nil, false
	}
	var mp ypath.Path
	for j := 0; j+1 < len(twin.Content); j += 2 {
		k, v := twin.Content[j], twin.Content[j+1]
		if real.Content[j].Value != k.Value {
			return nil, false
		}
		if v.Kind != yaml.ScalarNode {
			continue
		}
		i, ok := vt.tr.markOf(v.Value)
		if !ok {
			continue
		}
		p := vt.tr.marks[i].path
		if len(p) < 2 || p[len(p)-1] != k.Value || mp != nil && !slices.Equal(mp, p[:len(p)-1]) {
			return nil, false
		}
		mp = p[:len(p)-1]
	}
	if mp == nil {
		return nil, false
	}
	m, ok := valueAtOK(map[string]any(vt.tr.real), mp)
	vals, isMap := m.(map[string]any)
	if !ok || !isMap || len(vals)*2 != len(real.Content) {
		return nil, false
	}
	for j := 0; j < len(real.Content); j += 2 {
		if _, ok := vals[real.Content[j].Value]; !ok {
			return nil, false
		}
	}
	return mp, true
}

// onlyMarkKey returns the mark of a mapping whose one key is the marker
// key of an empty values mapping.
func (vt *ValuesTrace) onlyMarkKey(n *yaml.Node) (int, bool) {
	if len(n.Content) != 2 {
		return 0, false
	}
	i, ok := markerID(n.Content[0].Value)
	if !ok || i >= len(vt.tr.marks) || !vt.tr.marks[i].empty {
		return 0, false
	}
	return i, true
}

// at is the values location of a mark: the key (or list item) in the
// last layer that sets the mark's path, when that layer writes exactly
// the value the chart saw.
func (vt *ValuesTrace) at(mk traceMark, exact bool, tmpl Location) (Location, bool) {
	if vt.setByParameter(mk.path) {
		return Location{}, false
	}
	for i := len(vt.layers) - 1; i >= 0; i-- {
		l := vt.layers[i]
		if l.node == nil {
			continue
		}
		m := ypath.Walk(l.node, mk.path)
		if m.Depth != len(mk.path) {
			if m.Depth > 0 && m.Value != nil && m.Value.Kind != yaml.MappingNode {
				return Location{}, false // a later layer replaces a parent
			}
			continue
		}
		v := m.Value
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		switch {
		case mk.empty && !(v.Kind == yaml.MappingNode && len(v.Content) == 0):
			return Location{}, false
		case mk.value == nil && v.Kind != yaml.MappingNode:
			return Location{}, false
		case mk.value != nil && (v.Kind != yaml.ScalarNode || v.Value != leafText(mk.value)):
			return Location{}, false
		}
		line, col := m.Pos()
		via := tmpl
		via.Via = nil
		return Location{File: l.file, Line: line, Column: col, Origin: loc.OriginHelmValues, Exact: exact, Via: &via}, true
	}
	return Location{}, false
}

// setByParameter reports whether a --set parameter of the target sets p
// or an ancestor of it.
func (vt *ValuesTrace) setByParameter(p ypath.Path) bool {
	if vt.t.Helm == nil {
		return false
	}
	for _, s := range vt.t.Helm.Set {
		set := map[string]any{}
		if helm.ParseInto(s, set) != nil {
			return true // unsure
		}
		for n := 1; n <= len(p); n++ {
			v, ok := valueAtOK(set, p[:n])
			if !ok {
				break
			}
			if _, isMap := v.(map[string]any); !isMap || n == len(p) {
				return true
			}
		}
	}
	return false
}
