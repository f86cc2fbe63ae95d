package render

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// prober runs the probes of one call; st is locked.
type prober struct {
	r  *Renderer
	t  *Target
	st *probeState
}

var errProbeBudget = errors.New("probe render budget exhausted")

// render renders the target with extra values merged last.
func (p *prober) render(ctx context.Context, extra map[string]any) (helmRun, error) {
	if p.st.renders >= maxProbeRenders {
		return helmRun{}, errProbeBudget
	}
	p.st.renders++
	ctx, cancel := context.WithTimeout(ctx, p.r.opts.Timeout)
	defer cancel()
	run, err := p.r.renderHelmWith(ctx, p.t, extra)
	for _, o := range run.objs {
		setNamespace(o.Node, p.t.Namespace, p.t.ForceNamespace)
	}
	return run, err
}

func (p *prober) baseline(ctx context.Context) error {
	st := p.st
	if st.base != nil || st.baseErr != nil {
		return st.baseErr
	}
	run, err := p.render(ctx, nil)
	if err != nil {
		err = fmt.Errorf("render %s: %w", p.t.ID(), err)
		if ctx.Err() == nil {
			st.baseErr = err
		} else {
			st.renders--
		}
		return err
	}
	st.base = &run
	st.vals = copyValues(run.values) // plain maps all the way down
	st.keys = objectKeys(run.objs)
	st.subs = subchartPaths(st.vals)
	return nil
}

// identify finds obj among the baseline objects.
func (p *prober) identify(obj *Object) (string, int) {
	want := objectKeys([]*Object{obj})[0]
	for i, k := range p.st.keys {
		if k == want {
			return k, i
		}
	}
	return "", -1
}

// objectKeys names each object by kind, namespace, name ("#n" for the
// n-th repetition) and template ("@file"), so that the same object can be
// found in another render of the chart.
func objectKeys(objs []*Object) []string {
	keys := make([]string, len(objs))
	seen := map[string]int{}
	for i, o := range objs {
		name, file := objectName(o.Node), ""
		if h, ok := o.Source.(*helmTemplateSource); ok {
			file = h.file
		}
		n := seen[name+"@"+file]
		seen[name+"@"+file]++
		if n > 0 {
			name += "#" + strconv.Itoa(n)
		}
		keys[i] = name + "@" + file
	}
	return keys
}

// objectName is Kind/name, or Kind/namespace/name.
func objectName(n *yaml.Node) string {
	if ns := scalar(n, "metadata", "namespace"); ns != "" {
		return scalar(n, "kind") + "/" + ns + "/" + scalar(n, "metadata", "name")
	}
	return scalar(n, "kind") + "/" + scalar(n, "metadata", "name")
}

// placeObject turns an object key back into its Place name. Kinds,
// namespaces and names cannot hold '@'.
func placeObject(key string) string {
	name, _, _ := strings.Cut(key, "@")
	return name
}

// overlay builds the sparse values tree a probe render merges last. Maps
// are created as needed; a list on the way is copied whole from the
// effective values, since values merging replaces lists.
type overlay struct {
	root map[string]any
	base map[string]any
}

func newOverlay(base map[string]any) *overlay {
	return &overlay{root: map[string]any{}, base: base}
}

// mapAt returns the overlay mapping at p, or nil when p crosses a
// list element the values do not have.
func (o *overlay) mapAt(p ypath.Path) map[string]any {
	cur := o.root
	var base any = o.base
	full := false // inside a copied list: cur is a complete copy
	for i := 0; i < len(p); i++ {
		seg := p[i]
		if base != nil {
			base, _ = valueAtOK(base, ypath.Path{seg})
		}
		if i+1 < len(p) && ypath.IsSelector(p[i+1]) {
			list, ok := cur[seg].([]any)
			if !ok {
				bl, isList := base.([]any)
				if !isList {
					return nil
				}
				list = copyValue(bl).([]any)
				cur[seg] = list
			}
			j := selectValue(list, p[i+1])
			if j < 0 {
				return nil
			}
			m, ok := list[j].(map[string]any)
			if !ok {
				return nil
			}
			cur, full, base = m, true, nil
			i++
			continue
		}
		next, ok := cur[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			if full {
				// A complete copy keeps what the values have here.
				if m, isMap := cur[seg].(map[string]any); isMap {
					next = m
				}
			}
			cur[seg] = next
		}
		cur = next
	}
	return cur
}

// set writes v at p.
func (o *overlay) set(p ypath.Path, v any) {
	if len(p) == 0 || ypath.IsSelector(p[len(p)-1]) {
		return
	}
	if m := o.mapAt(p[:len(p)-1]); m != nil {
		m[p[len(p)-1]] = v
	}
}

// sentinel returns a value of like's type that renders as the i-th
// sentinel.
func sentinel(like any, i int) any {
	switch like.(type) {
	case int, int64, float64, uint64, int32:
		return int64(probeInt + i)
	case []any:
		return []any{probeMarker + strconv.Itoa(i)}
	}
	return probeMarker + strconv.Itoa(i)
}

// leafText renders a values scalar, or a list of them, as templates print
// it and as it compares with rendered YAML.
func leafText(v any) string {
	switch v := v.(type) {
	case []any:
		s := make([]string, len(v))
		for i, e := range v {
			s[i] = leafText(e)
		}
		return "[" + strings.Join(s, " ") + "]"
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// renderedValue is leafText for a rendered node.
func renderedValue(n *yaml.Node) string {
	if n.Kind == yaml.SequenceNode {
		s := make([]string, 0, len(n.Content))
		for _, e := range n.Content {
			if e.Kind != yaml.ScalarNode {
				return ""
			}
			s = append(s, e.Value)
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	return n.Value
}

// markerID reads the candidate number of a marker key.
func markerID(s string) (int, bool) {
	rest, ok := strings.CutPrefix(s, probeMarker)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}

// sentinelID reads the candidate number of a string or integer sentinel.
func sentinelID(s string) (int, bool) {
	if i, ok := markerID(s); ok {
		return i, true
	}
	if s == "" || !unicode.IsDigit(rune(s[0])) {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < probeInt || n >= probeInt+maxProbeCandidates {
		return 0, false
	}
	return n - probeInt, true
}

// findSentinels finds the sentinels in rendered objects and returns, for
// each candidate number, the places they are at: the mapping a marker key
// is in, the scalar a sentinel value is, the list a sentinel item is in.
func findSentinels(objs []*Object, keys []string, id func(string) (int, bool)) map[int][]Place {
	out := map[int][]Place{}
	add := func(i int, obj string, p ypath.Path) {
		pl := Place{Object: placeObject(obj), Field: p}
		if !slices.ContainsFunc(out[i], pl.equal) {
			out[i] = append(out[i], pl)
		}
	}
	for oi, o := range objs {
		var walk func(n *yaml.Node, p ypath.Path, depth int)
		walk = func(n *yaml.Node, p ypath.Path, depth int) {
			if n == nil || depth > 256 {
				return
			}
			switch n.Kind {
			case yaml.MappingNode:
				for j := 0; j+1 < len(n.Content); j += 2 {
					k, v := n.Content[j], n.Content[j+1]
					if i, ok := id(k.Value); ok {
						add(i, keys[oi], p)
					}
					if v.Kind == yaml.ScalarNode {
						if i, ok := id(v.Value); ok {
							add(i, keys[oi], p.Append(k.Value))
						}
						continue
					}
					walk(v, p.Append(k.Value), depth+1)
				}
			case yaml.SequenceNode:
				for j, e := range n.Content {
					if e.Kind == yaml.ScalarNode {
						if i, ok := id(e.Value); ok {
							add(i, keys[oi], p)
						}
						continue
					}
					walk(e, p.Append(renderedElemSeg(n, j)), depth+1)
				}
			case yaml.AliasNode:
				walk(n.Alias, p, depth+1)
			}
		}
		walk(o.Node, nil, 0)
	}
	return out
}

// renderedElemSeg selects the j-th element of a rendered list: by name
// when it has one, by value when it is a scalar, else by index.
func renderedElemSeg(list *yaml.Node, j int) string {
	e := list.Content[j]
	switch e.Kind {
	case yaml.MappingNode:
		if _, v := lookup(e, "name"); v != nil && v.Kind == yaml.ScalarNode {
			return ypath.Elem("name", v.Value)
		}
	case yaml.ScalarNode:
		return ypath.Elem("", e.Value)
	}
	return ypath.Index(j)
}

// canonicalPath rewrites the list selectors of p that match elements of
// obj as renderedElemSeg names them, so that paths from findings compare
// with probed places.
func canonicalPath(obj *yaml.Node, p ypath.Path) ypath.Path {
	out := slices.Clone(p)
	n := obj
	for i, seg := range p {
		if n == nil {
			break
		}
		m := ypath.Walk(n, ypath.Path{seg})
		if m.Depth == 0 {
			break
		}
		if ypath.IsSelector(seg) && n.Kind == yaml.SequenceNode {
			if j := slices.Index(n.Content, m.Value); j >= 0 {
				out[i] = renderedElemSeg(n, j)
			}
		}
		n = m.Value
	}
	return out
}
