package render

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// found is a values key that reaches a field.
type found struct {
	key, field ypath.Path
	shared     []Place
}

// find probes for the key that reaches field of the idx-th baseline
// object.
func (p *prober) find(ctx context.Context, objKey string, idx int, obj *Object, field ypath.Path) (*ValuesSite, error) {
	if err := p.probeMaps(ctx, field); err != nil {
		return nil, err
	}
	f, err := p.fromMaps(ctx, objKey, field)
	if err != nil {
		return nil, err
	}
	// A field the template renders, but not from the map found (whose
	// values lack it: automountServiceAccountToken: {{ .Values.sa.x }}
	// beside {{ toYaml .Values.podExtra }}), is written where it comes
	// from: writing it into the map would render it twice.
	if m := ypath.Walk(p.st.base.objs[idx].Node, field); f != nil && m.Depth == len(field) &&
		valueAt(p.st.vals, f.key.Append(field[len(f.field):]...)) == nil {
		leafSite, err := p.fromLeaves(ctx, objKey, idx, field)
		if err != nil {
			return nil, err
		}
		if leafSite != nil {
			f = leafSite
		}
	}
	if f == nil {
		if f, err = p.fromLeaves(ctx, objKey, idx, field); err != nil {
			return nil, err
		}
	}
	if f == nil {
		return nil, p.noKey(obj, idx, field)
	}
	rest := field[len(f.field):]
	return &ValuesSite{Path: f.key.Append(rest...), Key: f.key, Field: f.field, Shared: f.shared}, nil
}

// probeMaps marks every mapping of the values, and the well-known and
// field-named absent ones, unless done before.
func (p *prober) probeMaps(ctx context.Context, field ypath.Path) error {
	st := p.st
	var names []string
	for _, n := range wellKnownValues {
		if !st.named[n] {
			names = append(names, n)
		}
	}
	// The field's own mapping names, for with blocks of names the list
	// lacks; not the leaf, which Phase 4 probes as a scalar.
	for _, seg := range field[:max(len(field)-1, 0)] {
		if ypath.IsSelector(seg) || structuralKeys[seg] || st.named[seg] || slices.Contains(names, seg) {
			continue
		}
		names = append(names, seg)
	}
	if len(names) == 0 {
		return nil
	}
	first := len(st.named) == 0
	for _, n := range names {
		st.named[n] = true
	}
	vals := st.vals
	var cands []ypath.Path
	var absent []bool
	if first {
		for _, k := range valueMaps(vals, st.subs) {
			cands, absent = append(cands, k), append(absent, false)
		}
	}
	for _, parent := range absentParents(vals, st.subs) {
		if st.closed[parent.String()] {
			continue
		}
		m, _ := valueAt(vals, parent).(map[string]any)
		for _, n := range names {
			if _, ok := m[n]; ok || len(cands) >= maxProbeCandidates {
				continue
			}
			cands, absent = append(cands, parent.Append(n)), append(absent, true)
		}
	}
	if len(cands) > maxProbeCandidates {
		cands, absent = cands[:maxProbeCandidates], absent[:maxProbeCandidates]
		st.incomplete = true
	}
	// Markers that change the same mapping tend to break a render
	// together (a closed schema, a range that expects each entry to be
	// a mapping of some shape): they are split and dropped as one unit.
	var units [][]int
	unitOf := map[string]int{}
	for i, k := range cands {
		g := k
		if absent[i] {
			g = k[:len(k)-1]
		}
		u, ok := unitOf[g.String()]
		if !ok {
			u = len(units)
			unitOf[g.String()] = u
			units = append(units, nil)
		}
		units[u] = append(units[u], i)
	}
	done := make([]bool, len(cands))
	err := p.batch(ctx, units, func(ids []int) map[string]any {
		ov := newOverlay(vals)
		for _, i := range ids {
			if m := ov.mapAt(cands[i]); m != nil {
				m[probeMarker+strconv.Itoa(i)] = map[string]any{}
			}
		}
		return ov.root
	}, func(run helmRun, ids []int) {
		places := findSentinels(run.objs, objectKeys(run.objs), markerID)
		for _, i := range ids {
			k := cands[i].String()
			st.mapKey[k] = cands[i]
			st.absent[k] = absent[i]
			st.maps[k] = places[i]
			done[i] = true
		}
	})
	// A mapping none of whose additions rendered is closed to new keys:
	// later probes leave it alone.
	for g, u := range unitOf {
		if !slices.ContainsFunc(units[u], func(i int) bool { return done[i] }) {
			st.closed[g] = true
		}
	}
	return err
}

// batch renders build with the candidates of all units and hands the
// result to collect. A render that fails is split in halves, down to
// single units; a unit of several candidates that fails alone is retried
// with its first candidate only, and the rest dropped. Only the budget
// and the context end it early.
func (p *prober) batch(ctx context.Context, units [][]int, build func([]int) map[string]any, collect func(helmRun, []int)) error {
	if len(units) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ids := slices.Concat(units...)
	run, err := p.render(ctx, build(ids))
	switch {
	case err == nil:
		collect(run, ids)
		return nil
	case errors.Is(err, errProbeBudget):
		p.st.incomplete = true
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case len(units) == 1:
		p.st.incomplete = true
		if u := units[0]; len(u) > 1 {
			return p.batch(ctx, [][]int{u[:1]}, build, collect)
		}
		return nil
	}
	h := len(units) / 2
	if err := p.batch(ctx, units[:h], build, collect); err != nil {
		return err
	}
	return p.batch(ctx, units[h:], build, collect)
}

// singles makes a unit of each of n candidates.
func singles(n int) [][]int {
	units := make([][]int, n)
	for i := range units {
		units[i] = []int{i}
	}
	return units
}

// fromMaps picks, among the mappings whose marker reached the field or an
// ancestor of it in objKey, the one to write: deepest rendered place
// first, then the one that feeds fewest other places, own values before
// global ones, existing before absent ones; each is confirmed by a render
// with its marker alone.
func (p *prober) fromMaps(ctx context.Context, objKey string, field ypath.Path) (*found, error) {
	st := p.st
	type cand struct {
		key, field ypath.Path
		places     []Place
		absent     bool
	}
	obj := placeObject(objKey)
	var cands []cand
	for k, places := range st.maps {
		key := st.mapKey[k]
		for _, pl := range places {
			if pl.Object != obj || !field.HasPrefix(pl.Field) {
				continue
			}
			if !reachable(st.vals, key, field[len(pl.Field):]) {
				continue
			}
			cands = append(cands, cand{key: key, field: pl.Field, places: places, absent: st.absent[k]})
		}
	}
	// A mapping inside a mapping that reaches F reaches F's field of the
	// same name: the outer one is the key, and the inner adds nothing.
	cands = slices.DeleteFunc(cands, func(c cand) bool {
		return slices.ContainsFunc(cands, func(o cand) bool {
			n := len(c.key) - len(o.key)
			return n > 0 && c.key.HasPrefix(o.key) && len(c.field) >= n &&
				slices.Equal(c.field[:len(c.field)-n], o.field) && slices.Equal(c.field[len(c.field)-n:], c.key[len(o.key):])
		})
	})
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if len(a.field) != len(b.field) {
			return len(a.field) > len(b.field)
		}
		if len(a.places) != len(b.places) {
			return len(a.places) < len(b.places)
		}
		if ga, gb := isGlobal(a.key), isGlobal(b.key); ga != gb {
			return gb
		}
		if a.absent != b.absent {
			return b.absent
		}
		return a.key.String() < b.key.String()
	})
	for _, c := range cands {
		places, ok, err := p.confirm(ctx, c.key)
		if err != nil {
			return nil, err
		}
		if !ok {
			// Out of budget: trust the batch render, which the fix's
			// verification re-checks anyway.
			places = c.places
		}
		self := Place{Object: obj, Field: c.field}
		if !slices.ContainsFunc(places, self.equal) {
			continue // another marker of the batch made it appear
		}
		return &found{key: c.key, field: c.field, shared: others(places, self)}, nil
	}
	return nil, nil
}

func (p Place) equal(q Place) bool { return p.Object == q.Object && slices.Equal(p.Field, q.Field) }

// others returns places without self, sorted.
func others(places []Place, self Place) []Place {
	var out []Place
	for _, pl := range places {
		if !pl.equal(self) {
			out = append(out, pl)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// confirm renders the marker of mapping key alone. ok is false when the
// budget is spent; a render that fails confirms nothing.
func (p *prober) confirm(ctx context.Context, key ypath.Path) ([]Place, bool, error) {
	k := key.String()
	if places, done := p.st.confirmed[k]; done {
		return places, true, nil
	}
	ov := newOverlay(p.st.vals)
	m := ov.mapAt(key)
	if m == nil {
		return nil, true, nil
	}
	m[probeMarker+"0"] = map[string]any{}
	run, err := p.render(ctx, ov.root)
	switch {
	case errors.Is(err, errProbeBudget):
		p.st.incomplete = true
		return nil, false, nil
	case ctx.Err() != nil:
		return nil, false, ctx.Err()
	case err != nil:
		p.st.confirmed[k] = nil
		return nil, true, nil
	}
	places := findSentinels(run.objs, objectKeys(run.objs), markerID)[0]
	p.st.confirmed[k] = places
	return places, true, nil
}

// fromLeaves probes scalar and list leaves for a field no mapping
// reaches: the leaves whose value the field has, then the field's own name
// set in every values mapping.
func (p *prober) fromLeaves(ctx context.Context, objKey string, idx int, field ypath.Path) (*found, error) {
	st := p.st
	vals := st.vals
	obj := placeObject(objKey)
	self := Place{Object: obj, Field: field}
	m := ypath.Walk(st.base.objs[idx].Node, field)
	exists := m.Depth == len(field)
	var leaves []leaf
	if exists && (m.Value.Kind == yaml.ScalarNode || m.Value.Kind == yaml.SequenceNode) {
		want := renderedValue(m.Value)
		for _, l := range valueLeaves(vals, st.subs) {
			if leafText(l.value) == want && want != "" {
				leaves = append(leaves, l)
			}
		}
	}
	var plain, bools []leaf
	for _, l := range leaves {
		if _, ok := l.value.(bool); ok {
			bools = append(bools, l)
		} else {
			plain = append(plain, l)
		}
	}
	// Distinct sentinels: one render finds the leaf.
	var got *found
	collect := func(keys func(int) ypath.Path) func(helmRun, []int) {
		return func(run helmRun, ids []int) {
			places := findSentinels(run.objs, objectKeys(run.objs), sentinelID)
			for _, i := range ids {
				if got == nil && slices.ContainsFunc(places[i], self.equal) {
					got = &found{key: keys(i), field: field, shared: others(places[i], self)}
				}
			}
		}
	}
	err := p.batch(ctx, singles(len(plain)), func(ids []int) map[string]any {
		ov := newOverlay(vals)
		for _, i := range ids {
			ov.set(plain[i].path, sentinel(plain[i].value, i))
		}
		return ov.root
	}, collect(func(i int) ypath.Path { return plain[i].path }))
	if err != nil || got != nil {
		return got, err
	}
	// Booleans named like the field first, one by one: flipping halves
	// of many flags can switch off the object itself.
	fieldName := strings.ToLower(field[len(field)-1])
	for _, l := range bools {
		name := strings.ToLower(l.path[len(l.path)-1])
		if len(name) < 4 || !strings.Contains(fieldName, name) && !strings.Contains(name, fieldName) {
			continue
		}
		if k, err := p.flipSearch(ctx, objKey, field, m.Value.Value, []leaf{l}); err != nil || k != nil {
			if k == nil {
				return nil, err
			}
			return &found{key: k, field: field}, nil
		}
	}
	if len(bools) > 0 {
		if len(bools) > maxProbeBools {
			bools = bools[:maxProbeBools]
			st.incomplete = true
		}
		if k, err := p.flipSearch(ctx, objKey, field, m.Value.Value, bools); err != nil || k != nil {
			if k == nil {
				return nil, err
			}
			return &found{key: k, field: field}, err
		}
	}
	// The field's name set in every mapping: {{ with .Values.x.runAsUser }}.
	name := field[len(field)-1]
	if ypath.IsSelector(name) {
		return nil, nil
	}
	var parents []ypath.Path
	for _, k := range append([]ypath.Path{nil}, valueMaps(vals, st.subs)...) {
		if len(parents) < maxProbeCandidates && !st.closed[k.String()] {
			parents = append(parents, k)
		}
	}
	list := exists && m.Value.Kind == yaml.SequenceNode
	err = p.batch(ctx, singles(len(parents)), func(ids []int) map[string]any {
		ov := newOverlay(vals)
		for _, i := range ids {
			pm := ov.mapAt(parents[i])
			if pm == nil {
				continue
			}
			if isCollection(valueAt(vals, parents[i].Append(name))) {
				// Replacing a mapping or list with a scalar would not
				// find a template that prints it, and makes helm warn.
				continue
			}
			if list {
				pm[name] = []any{probeMarker + strconv.Itoa(i)}
			} else {
				pm[name] = int64(probeInt + i)
			}
		}
		return ov.root
	}, collect(func(i int) ypath.Path { return parents[i].Append(name) }))
	return got, err
}

// flipSearch finds which of the boolean leaves the field shows, by
// flipping halves of them: the field flips when the half holds it.
func (p *prober) flipSearch(ctx context.Context, objKey string, field ypath.Path, was string, cands []leaf) (ypath.Path, error) {
	vals := p.st.vals
	var test func(c []leaf) (ypath.Path, error)
	test = func(c []leaf) (ypath.Path, error) {
		if len(c) == 0 {
			return nil, nil
		}
		ov := newOverlay(vals)
		for _, l := range c {
			ov.set(l.path, !l.value.(bool))
		}
		run, err := p.render(ctx, ov.root)
		switch {
		case errors.Is(err, errProbeBudget):
			p.st.incomplete = true
			return nil, nil
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		flipped := false
		if err == nil {
			for i, k := range objectKeys(run.objs) {
				if k == objKey {
					m := ypath.Walk(run.objs[i].Node, field)
					flipped = m.Depth == len(field) && m.Value.Kind == yaml.ScalarNode && m.Value.Value != was
				}
			}
			if !flipped {
				return nil, nil
			}
			if len(c) == 1 {
				return c[0].path, nil
			}
		} else if len(c) == 1 {
			p.st.incomplete = true
			return nil, nil
		}
		h := len(c) / 2
		if k, err := test(c[:h]); err != nil || k != nil {
			return k, err
		}
		return test(c[h:])
	}
	return test(cands)
}

// noKey builds the error for a field no key reaches.
func (p *prober) noKey(obj *Object, idx int, field ypath.Path) error {
	e := &NoValuesKeyError{
		Target:     p.t.ID(),
		Object:     objectName(obj.Node),
		Field:      field,
		Incomplete: p.st.incomplete,
	}
	if obj.Source != nil {
		e.Template = obj.Source.Locate(field)
	}
	e.Suggest, e.SuggestPath = suggestKey(p.st.base.objs[idx].Node, field)
	return e
}

// suggestKey proposes the values key a template could render field from:
// podSecurityContext for the pod's securityContext, securityContext (or
// <container>.securityContext when the pod has several containers) for a
// container's, and otherwise the first field of the path the object does
// not have, or the parent of a missing leaf.
func suggestKey(obj *yaml.Node, field ypath.Path) (ypath.Path, ypath.Path) {
	if i := slices.Index(field, "securityContext"); i >= 0 {
		rest := field[i+1:]
		var key ypath.Path
		switch {
		case i >= 2 && field[i-2] == "containers" || i >= 2 && field[i-2] == "initContainers":
			key = ypath.Path{"securityContext"}
			list := ypath.Walk(obj, field[:i-1])
			_, name, _ := strings.Cut(strings.Trim(field[i-1], "[]"), "=")
			if list.Depth == i-1 && len(list.Value.Content) > 1 && name != "" {
				key = ypath.Path{name, "securityContext"}
			}
		default:
			key = ypath.Path{"podSecurityContext"}
		}
		return key, key.Append(rest...)
	}
	m := ypath.Walk(obj, field)
	at := m.Depth
	if at == len(field) || at == len(field)-1 {
		at = len(field) - 2
	}
	for at >= 0 && ypath.IsSelector(field[at]) {
		at--
	}
	if at < 0 {
		return nil, nil
	}
	key := ypath.Path{field[at]}
	return key, key.Append(field[at+1:]...)
}
