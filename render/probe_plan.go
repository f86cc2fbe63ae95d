package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"

	yaml "go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// Values probing finds the Helm values key that reaches a rendered field
// by rendering the chart again with sentinels in its values and looking
// for them in the output. Templates are programs, so reading them cannot
// say which value ends up where; rendering can, and costs a few
// milliseconds.
//
// The probe of one target, shared by every finding on it, goes:
//
//  1. a baseline render, which also yields the effective values (the
//     chart's values.yaml coalesced with the target's values chain);
//  2. one render with a distinct marker key ("kubeharden-probe-N: {}")
//     added to every mapping of the effective values at any depth
//     (mappings in lists, subchart values and globals included), and to
//     well-known absent mappings (securityContext, podSecurityContext,
//     ..., and the mapping names of the finding's field) at the top level,
//     under each top-level mapping or list element, and under each
//     subchart's. A values mapping K whose marker shows up in a rendered
//     mapping F feeds F: toYaml pass-through, with/if blocks that need the
//     key set, merge and default helpers all keep the marker. A render
//     that fails is split in halves by the mapping the markers are added
//     to, until the mappings at fault are isolated and left out;
//  3. per finding, the candidates whose F is the field or an ancestor of
//     it are ranked (deepest F, fewest other places fed, own values before
//     global, existing before absent; a mapping inside a candidate that
//     reaches the same field through it adds nothing) and confirmed one at
//     a time by a render with that marker alone, which also tells every
//     other place the key feeds;
//  4. when no mapping reaches the field, scalar and list leaves are
//     probed: leaves whose value equals the rendered one get a distinct
//     sentinel of the same type (booleans, which cannot be distinct, are
//     found by flipping halves), and the field's own name is set with a
//     sentinel in every mapping, for {{ with .Values.x.runAsUser }}.
//
// Renders are bounded per target by maxProbeRenders; what is learnt is
// cached in the Renderer for as long as it lives (a Renderer made with
// WithFS starts afresh). A probe tells which key reaches a field, not
// that every value written there renders as written ("| default true"
// turns false into true): the fix's verification re-renders.

// maxProbeRenders bounds the renders the probes of one target may do, the
// baseline included. It is a variable for tests.
var maxProbeRenders = 64

// maxProbeCandidates bounds the values mappings and leaves one probe
// render marks, and maxProbeDepth how deep into the values it looks.
const (
	maxProbeCandidates = 4096
	maxProbeDepth      = 32
	maxProbeBools      = 64
)

// probeMarker prefixes the keys and strings the probe puts into values;
// probeInt is the first of the integer sentinels.
const (
	probeMarker = "kubeharden-probe-"
	probeInt    = 731_000_000
)

// wellKnownValues are values mappings charts commonly render with
// with/if blocks, so that they appear only when set: they are probed
// where a chart does not have them.
var wellKnownValues = []string{
	"securityContext", "podSecurityContext", "containerSecurityContext",
	"resources", "podAnnotations", "podLabels", "nodeSelector", "affinity",
	"livenessProbe", "readinessProbe", "startupProbe",
}

// structuralKeys are field names of a path that are never values keys of
// their own.
var structuralKeys = map[string]bool{
	"spec": true, "template": true, "metadata": true, "containers": true,
	"initContainers": true, "jobTemplate": true, "items": true,
}

// ValuesLayer says which layer of a target's values chain a file is.
type ValuesLayer string

// The values layers, in the order helm merges them.
const (
	// LayerChart is the chart's own values.yaml.
	LayerChart ValuesLayer = "chart"
	// LayerValuesFile is one of the target's ValueFiles.
	LayerValuesFile ValuesLayer = "values-file"
	// LayerInline is inline values in a GitOps object (Argo CD
	// valuesObject or helm.values as a mapping, Flux spec.values).
	LayerInline ValuesLayer = "inline"
)

// ValuesSite is where a change to a rendered field is written in Helm
// values. Node is a mapping of a parse of File's current bytes, so that
// fix.LowerAll(bytes, Node, []fix.Patch{fix.Set(Path, v)}) edits it; Path
// is relative to Node and equals Key followed by the segments of the
// field below Field.
type ValuesSite struct {
	// File is the root-relative values file: the chart's values.yaml, a
	// ValueFiles entry, or the GitOps object holding inline values.
	File  string
	Layer ValuesLayer
	// Node is the values mapping: the document's root mapping, or the
	// inline values mapping inside the GitOps object.
	Node *yaml.Node
	// Path is the values path to write.
	Path ypath.Path
	// Key is the values key the probe found to feed Field: a mapping
	// (securityContext), or for a scalar template a leaf
	// (podSecurityContext.runAsUser), in which case Field is the field.
	Key ypath.Path
	// Field is the rendered field Key maps onto, the finding's field or
	// an ancestor of it, with list elements selected as the object
	// names them.
	Field ypath.Path
	// Shared lists the other rendered places Key feeds, in this object
	// or others: writing Key changes them too. It is empty when the key
	// feeds only Field, and unknown (empty) for boolean leaves.
	Shared []Place
}

// Place is a field of a rendered object.
type Place struct {
	Object string // Kind/name, or Kind/namespace/name when namespaced
	Field  ypath.Path
}

func (p Place) String() string { return p.Object + " " + p.Field.String() }

// UsedBy returns the targets among ts that read the site's file as
// values, so that a fix written there can say whom else it changes.
func (s *ValuesSite) UsedBy(ts []*Target) []*Target {
	var out []*Target
	for _, t := range ts {
		if t.Kind != KindHelm {
			continue
		}
		uses := false
		switch s.Layer {
		case LayerChart:
			uses = path.Join(path.Clean(t.Path), "values.yaml") == s.File
		case LayerValuesFile:
			uses = t.Helm != nil && slices.Contains(t.Helm.ValueFiles, s.File)
		case LayerInline:
			if t.Helm != nil {
				for _, iv := range t.Helm.Values {
					n := derefDoc(iv.Node)
					uses = uses || iv.File == s.File && n != nil && s.Node != nil && n.Line == s.Node.Line && n.Column == s.Node.Column
				}
			}
		}
		if uses {
			out = append(out, t)
		}
	}
	return out
}

// NoValuesKeyError says that no values key of a Helm chart reaches a
// rendered field, so the template has to change: Template is where the
// field's nearest rendered ancestor is written (Exact when the template
// writes the field itself literally), Suggest the values key a human
// could render there, and SuggestPath where under it the field would be.
type NoValuesKeyError struct {
	Target      string
	Object      string
	Field       ypath.Path
	Template    Location
	Suggest     ypath.Path
	SuggestPath ypath.Path
	// Incomplete is set when some candidates could not be probed: the
	// render budget ran out, or the chart fails to render with them.
	Incomplete bool
}

func (e *NoValuesKeyError) Error() string {
	where := quoteFile(e.Template.File)
	if e.Template.Line > 0 {
		where += ":" + strconv.Itoa(e.Template.Line)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "no values key of %s reaches %s of %s", e.Target, e.Field, e.Object)
	if e.Incomplete {
		b.WriteString(" (probe incomplete)")
	}
	switch {
	case e.Template.Exact && len(e.Suggest) > 0:
		fmt.Fprintf(&b, "; the template writes it literally at %s: edit it there, or render it from a values key such as %s", where, e.Suggest)
	case e.Template.Exact:
		fmt.Fprintf(&b, "; the template writes it literally at %s: edit it there", where)
	case len(e.Suggest) > 0:
		fmt.Fprintf(&b, "; change the template at %s to render it from a values key such as %s (then set %s)", where, e.Suggest, e.SuggestPath)
	default:
		fmt.Fprintf(&b, "; change the template at %s", where)
	}
	return b.String()
}

// ValuesSite finds the Helm values key that reaches field of obj, an
// object of target t's rendering, and the values file and node to write
// it in. When no key reaches it, the error is a *NoValuesKeyError; inline
// values written as a YAML string, a key the target's --set parameters
// override and an unwritable file are other errors.
//
// Results are cached per target for the Renderer's life, so the site's
// Node is of the file as the Renderer's FS read it: after writing a fix,
// probe again with a Renderer over the new files (WithFS).
func (r *Renderer) ValuesSite(ctx context.Context, t *Target, obj *Object, field ypath.Path) (*ValuesSite, error) {
	if t.Kind != KindHelm {
		return nil, fmt.Errorf("target %s is not a Helm chart", t.ID())
	}
	st := r.probeState(t)
	st.mu.Lock()
	defer st.mu.Unlock()
	p := &prober{r: r, t: t, st: st}
	if err := p.baseline(ctx); err != nil {
		return nil, err
	}
	key, idx := p.identify(obj)
	if idx < 0 {
		return nil, fmt.Errorf("%s %s is not rendered by target %s", scalar(obj.Node, "kind"), scalar(obj.Node, "metadata", "name"), t.ID())
	}
	field = canonicalPath(st.base.objs[idx].Node, field)
	ck := key + " " + field.String()
	res, ok := st.sites[ck]
	if !ok {
		site, err := p.find(ctx, key, idx, obj, field)
		if err == nil {
			err = r.placeSite(t, site)
		}
		if err != nil {
			site = nil
		}
		res = siteResult{site, err}
		if ctx.Err() != nil {
			return nil, res.err
		}
		st.sites[ck] = res
	}
	if res.err != nil {
		return nil, res.err
	}
	site := *res.site // the cache's copy stays as it is
	return &site, nil
}

// probeState is what the probes of one target have learnt.
type probeState struct {
	mu      sync.Mutex
	renders int
	base    *helmRun
	baseErr error
	// vals are the baseline's effective values, as plain maps.
	vals map[string]any
	keys []string // object keys of base.objs
	subs []ypath.Path
	// maps holds, for each probed values mapping, the rendered places its
	// marker appeared at in the batch render; absent the mappings that
	// do not exist in the values.
	maps   map[string][]Place
	mapKey map[string]ypath.Path
	absent map[string]bool
	// named records the absent names already probed.
	named map[string]bool
	// confirmed holds the places of a mapping's marker rendered alone
	// (nil when that render failed).
	confirmed map[string][]Place
	// closed holds the mappings that break the render when a key is
	// added to them.
	closed map[string]bool
	// incomplete is set when some candidate was dropped.
	incomplete bool
	sites      map[string]siteResult
}

type siteResult struct {
	site *ValuesSite
	err  error
}

// probeState returns the probe cache of t, keyed by what makes its
// rendering: two Target values that render alike share it.
func (r *Renderer) probeState(t *Target) *probeState {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%v", t.Path, t.Namespace, t.ForceNamespace)
	if h := t.Helm; h != nil {
		fmt.Fprintf(&b, "\x00%s\x00%q\x00%q\x00%v", h.ReleaseName, h.ValueFiles, h.Set, h.IncludeTests)
		for _, v := range h.Values {
			if n := v.Node; n != nil {
				fmt.Fprintf(&b, "\x00%s:%d:%d", v.File, n.Line, n.Column)
			}
		}
	}
	c := r.helm
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.probes == nil {
		c.probes = map[string]*probeState{}
	}
	st := c.probes[b.String()]
	if st == nil {
		st = &probeState{
			maps: map[string][]Place{}, mapKey: map[string]ypath.Path{}, absent: map[string]bool{},
			named: map[string]bool{}, closed: map[string]bool{}, confirmed: map[string][]Place{},
			sites: map[string]siteResult{},
		}
		c.probes[b.String()] = st
	}
	return st
}

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

// placeSite chooses the values file to write site.Path in and sets File,
// Layer and Node: the last of the target's own layers (valueFiles, then
// inline values) that sets the path or an ancestor of it, so that no
// later layer overrides the edit; else the last of its own layers when
// it has any; else the chart's values.yaml.
func (r *Renderer) placeSite(t *Target, site *ValuesSite) error {
	opts := t.Helm
	if opts == nil {
		opts = &HelmOptions{}
	}
	for _, s := range opts.Set {
		set := map[string]any{}
		if strvals.ParseInto(s, set) != nil {
			continue
		}
		for n := 1; n <= len(site.Path); n++ {
			v, ok := valueAtOK(set, site.Path[:n])
			if !ok {
				break
			}
			if _, isMap := v.(map[string]any); !isMap || n == len(site.Path) {
				file, line := t.Path, 0
				if t.Via != nil {
					file, line = t.Via.File, t.Via.Line
				}
				return errorf(file, line, "helm parameter %q sets %s, which would override a values file change: change the parameter", s, site.Path[:n])
			}
		}
	}

	type layer struct {
		file string
		kind ValuesLayer
		node *yaml.Node
		err  error
	}
	dir, err := r.fs.Rel(t.Path)
	if err != nil {
		return errorf(t.Path, 0, "%v", err)
	}
	var layers []layer
	chartValues := layer{file: path.Join(dir, "values.yaml"), kind: LayerChart}
	if path.Ext(dir) == ".tgz" {
		chartValues.file = dir
		chartValues.err = errorf(dir, 0, "the chart is a packaged archive: its values.yaml cannot be edited; set %s in a values file of the deployment", site.Path)
	} else {
		chartValues.node, chartValues.err = r.valuesRoot(chartValues.file)
	}
	layers = append(layers, chartValues)
	for _, f := range opts.ValueFiles {
		rel, err := r.fs.Rel(f)
		if err != nil {
			return errorf(f, 0, "values file is outside the repository")
		}
		l := layer{file: rel, kind: LayerValuesFile}
		l.node, l.err = r.valuesRoot(rel)
		layers = append(layers, l)
	}
	for _, iv := range opts.Values {
		l := layer{file: iv.File, kind: LayerInline}
		l.node, l.err = r.inlineRoot(iv)
		layers = append(layers, l)
	}
	// The chart's defaults are written only when the target has no
	// values of its own: they are every deployment's.
	pick := len(layers) - 1
	for i := 1; i < len(layers); i++ {
		if l := layers[i]; l.node != nil && ypath.Walk(l.node, site.Path).Depth > 0 {
			pick = i
		}
	}
	l := layers[pick]
	if l.err != nil {
		return l.err
	}
	site.File, site.Layer, site.Node = l.file, l.kind, l.node
	return nil
}

// valuesRoot parses a values file and returns its root mapping.
func (r *Renderer) valuesRoot(file string) (*yaml.Node, error) {
	data, err := r.fs.ReadFile(file)
	if err != nil {
		return nil, fileError(file, err)
	}
	docs, err := parseDocuments(file, data)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 || derefDoc(docs[0]) == nil || derefDoc(docs[0]).Kind != yaml.MappingNode {
		return nil, errorf(file, 0, "values file has no mapping to add keys to; write at least one key (or {}) in it")
	}
	return derefDoc(docs[0]), nil
}

// inlineRoot finds inline values in a parse of their file: Site.Node
// must come from that file's bytes, not from discovery's copy.
func (r *Renderer) inlineRoot(iv InlineValues) (*yaml.Node, error) {
	n := derefDoc(iv.Node)
	if n == nil {
		return nil, errorf(iv.File, 0, "inline values are empty")
	}
	data, err := r.fs.ReadFile(iv.File)
	if err != nil {
		return nil, fileError(iv.File, err)
	}
	docs, err := parseDocuments(iv.File, data)
	if err != nil {
		return nil, err
	}
	if n.Kind == yaml.MappingNode {
		for _, d := range docs {
			if m := findMapping(d, n.Line, n.Column); m != nil {
				return m, nil
			}
		}
	}
	for _, d := range docs {
		if s := findStringValues(d, n.Line, n.Column); s != nil {
			return nil, errorf(iv.File, s.Line, "inline values are written as a YAML string (helm.values: |), which kubeharden cannot edit in place; move them to helm.valuesObject")
		}
	}
	return nil, errorf(iv.File, n.Line, "inline values are not a mapping of this file")
}

// findMapping returns the mapping node at line:col under n.
func findMapping(n *yaml.Node, line, col int) *yaml.Node {
	if n.Kind == yaml.MappingNode && n.Line == line && n.Column == col {
		return n
	}
	for _, c := range n.Content {
		if m := findMapping(c, line, col); m != nil {
			return m
		}
	}
	return nil
}

// findStringValues returns the string value under n that holds line, the
// line of inline values written as a YAML string (discovery places their
// mapping inside it), or that is itself at line:col.
func findStringValues(n *yaml.Node, line, col int) *yaml.Node {
	if n.Kind == yaml.MappingNode {
		for i := 1; i < len(n.Content); i += 2 {
			v := n.Content[i]
			if v.Kind == yaml.ScalarNode && v.Tag == "!!str" {
				end := v.Line + strings.Count(v.Value, "\n") + 1
				if v.Line == line && v.Column == col || line > v.Line && line <= end {
					return v
				}
			}
		}
	}
	for _, c := range n.Content {
		if s := findStringValues(c, line, col); s != nil {
			return s
		}
	}
	return nil
}

func derefDoc(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return n.Content[0]
	}
	return n
}

// Values trees (map[string]any, []any, scalars as helm decodes them).

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
