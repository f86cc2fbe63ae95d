package render

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/render/internal/helm"
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
	where := loc.QuoteFile(e.Template.File)
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
		if helm.ParseInto(s, set) != nil {
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
