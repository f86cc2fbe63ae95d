package render

import (
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// Values trees (map[string]any, []any, scalars as helm decodes them).

// subchartPaths lists the values paths of the enabled subcharts: the
// top-level keys whose mapping holds a copy of the globals, as coalescing
// gives every subchart. It errs on the side of treating a mapping with a
// "global" key as a subchart, which only adds probe candidates.
func subchartPaths(vals map[string]any) []ypath.Path {
	var out []ypath.Path
	var walk func(m map[string]any, at ypath.Path)
	walk = func(m map[string]any, at ypath.Path) {
		if len(at) > 8 {
			return
		}
		for _, k := range sortedKeys(m) {
			sub, ok := m[k].(map[string]any)
			if !ok || k == "global" {
				continue
			}
			if _, g := sub["global"].(map[string]any); g {
				p := at.Append(k)
				out = append(out, p)
				walk(sub, p)
			}
		}
	}
	walk(vals, nil)
	return out
}

// valueMaps lists the paths of the mappings in vals at any depth, maps in
// lists included, without the copies of the globals coalescing puts in
// every subchart and without the root itself.
func valueMaps(vals map[string]any, subs []ypath.Path) []ypath.Path {
	var out []ypath.Path
	walkValues(vals, subs, func(p ypath.Path, v any) {
		if _, ok := v.(map[string]any); ok && len(p) > 0 {
			out = append(out, p)
		}
	})
	return out
}

// leaf is a scalar or list of scalars in the values.
type leaf struct {
	path  ypath.Path
	value any
}

// valueLeaves lists the scalars and lists of scalars in vals.
func valueLeaves(vals map[string]any, subs []ypath.Path) []leaf {
	var out []leaf
	walkValues(vals, subs, func(p ypath.Path, v any) {
		if len(p) == 0 || ypath.IsSelector(p[len(p)-1]) && !isMapValue(v) {
			return // list items are written as their list
		}
		switch v := v.(type) {
		case map[string]any, nil:
		case []any:
			if len(v) > 0 && !slices.ContainsFunc(v, isCollection) {
				out = append(out, leaf{p, v})
			}
		default:
			out = append(out, leaf{p, v})
		}
	})
	return out
}

func isMapValue(v any) bool { _, ok := v.(map[string]any); return ok }

func isCollection(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	return false
}

// walkValues calls fn for every node of a values tree in key order, with
// the path it has; list elements are selected by name when they have one.
func walkValues(vals map[string]any, subs []ypath.Path, fn func(ypath.Path, any)) {
	var walk func(v any, p ypath.Path)
	walk = func(v any, p ypath.Path) {
		if len(p) > maxProbeDepth {
			return
		}
		fn(p, v)
		switch v := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(v) {
				if k == "global" && slices.ContainsFunc(subs, func(s ypath.Path) bool { return slices.Equal(s, p) }) {
					continue
				}
				walk(v[k], p.Append(k))
			}
		case []any:
			for i, e := range v {
				walk(e, p.Append(valueElemSeg(v, i)))
			}
		}
	}
	walk(map[string]any(vals), nil)
}

// valueElemSeg selects the i-th element of a values list: by name when
// it is a mapping with a unique name, else by index.
func valueElemSeg(list []any, i int) string {
	if m, ok := list[i].(map[string]any); ok {
		if name, ok := m["name"].(string); ok {
			n := 0
			for _, e := range list {
				if em, ok := e.(map[string]any); ok && em["name"] == name {
					n++
				}
			}
			if n == 1 {
				return ypath.Elem("name", name)
			}
		}
	}
	return ypath.Index(i)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// absentParents are where well-known absent mappings are probed: the
// top level, each top-level mapping and mapping in a top-level list
// (containers: [{name: web}]), each subchart's top level and the mappings
// under it.
func absentParents(vals map[string]any, subs []ypath.Path) []ypath.Path {
	out := []ypath.Path{nil}
	for _, k := range sortedKeys(vals) {
		switch v := vals[k].(type) {
		case map[string]any:
			out = append(out, ypath.Path{k})
		case []any:
			for i, e := range v {
				if _, ok := e.(map[string]any); ok {
					out = append(out, ypath.Path{k, valueElemSeg(v, i)})
				}
			}
		}
	}
	for _, s := range subs {
		m, _ := valueAt(vals, s).(map[string]any)
		for _, k := range sortedKeys(m) {
			if _, ok := m[k].(map[string]any); ok && k != "global" {
				out = append(out, s.Append(k))
			}
		}
	}
	return out
}

func isGlobal(p ypath.Path) bool { return len(p) > 0 && p[0] == "global" }

// valueAt returns the value at p in a values tree, or nil.
func valueAt(v any, p ypath.Path) any {
	v, _ = valueAtOK(v, p)
	return v
}

func valueAtOK(v any, p ypath.Path) (any, bool) {
	for _, seg := range p {
		switch cur := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = cur[seg]; !ok {
				return nil, false
			}
		case []any:
			i := selectValue(cur, seg)
			if i < 0 {
				return nil, false
			}
			v = cur[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// selectValue returns the index of the element of list a selector
// segment picks, or -1.
func selectValue(list []any, seg string) int {
	if !ypath.IsSelector(seg) {
		return -1
	}
	sel := seg[1 : len(seg)-1]
	key, want, isKV := strings.Cut(sel, "=")
	if !isKV {
		i, err := strconv.Atoi(sel)
		if err != nil || i < 0 || i >= len(list) {
			return -1
		}
		return i
	}
	for i, e := range list {
		if key == "" {
			if leafText(e) == want {
				return i
			}
			continue
		}
		if m, ok := e.(map[string]any); ok && m[key] != nil && leafText(m[key]) == want {
			return i
		}
	}
	return -1
}

// reachable reports whether the field below a mapping key can be written
// in values: every list element it selects must already exist there
// (fixes never create list elements).
func reachable(vals map[string]any, key, rest ypath.Path) bool {
	last := -1
	for i, seg := range rest {
		if ypath.IsSelector(seg) {
			last = i
		}
	}
	if last < 0 {
		return true
	}
	_, ok := valueAtOK(map[string]any(vals), key.Append(rest[:last+1]...))
	return ok
}
