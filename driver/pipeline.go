package driver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/report"
	"github.com/kubeharden/kubeharden/rules"
)

// targets discovers the repository's targets and keeps those the user's
// paths affect.
func (r *Repo) targets(ctx context.Context) ([]*render.Target, []lint.Error, error) {
	d, err := r.discover(ctx)
	return d.targets, d.errors, err
}

// discovered is what discover found for the user's paths.
type discovered struct {
	targets []*render.Target
	errors  []lint.Error
	// skipped are the files under the user's paths that no target
	// renders, with the reason.
	skipped []render.Skipped
	// unrendered are the namespaces that receive workloads from sources
	// no target renders (found in the whole repository, whatever the
	// user's paths), for lint.Settings.Unrendered.
	unrendered map[string][]string
	// context are the other targets, which rules see but do not report
	// on; nil when targets are all there is.
	context []*render.Target
	// notes are what discovery assumed (render.Repo.Notes).
	notes []string
	// bases are render.Repo.Bases, for orphanedBases.
	bases map[string][]string
}

// discover is targets, with the skipped files and the unrendered
// namespaces. A stream from stdin is one manifest target, and nothing of
// the repository is discovered.
func (r *Repo) discover(ctx context.Context) (discovered, error) {
	if r.stdin {
		return discovered{targets: []*render.Target{{Kind: render.KindManifests, Path: StdinFile}}}, nil
	}
	opts := r.discoverOptions()
	var verdicts *verdictCache
	if len(r.paths) > 0 && !slices.Contains(r.paths, ".") {
		// A changed-only run: the whole repository is discovered for
		// its context, unchanged files by their cached verdicts.
		if verdicts = r.verdictCache(); verdicts != nil {
			opts.Verdicts = verdicts
		}
	}
	disc, err := r.renderer.Discover(ctx, opts)
	if err != nil {
		return discovered{}, err
	}
	verdicts.save()
	d := discovered{unrendered: map[string][]string{}, notes: disc.Notes, bases: disc.Bases}
	for _, u := range disc.Unrendered {
		d.unrendered[u.Namespace] = append(d.unrendered[u.Namespace], fmt.Sprintf("%s %s (%s)", u.Via.Kind, u.Via.Name, u.Via.File))
	}
	for _, s := range disc.Skipped {
		if r.wanted(s.File) {
			d.skipped = append(d.skipped, s)
		}
	}
	d.targets, d.errors = r.keep(disc)
	if len(d.targets) > 0 && len(d.targets) < len(disc.Targets) {
		d.context = contextTargets(disc.Targets, d.targets)
	}
	return d, nil
}

// discoverOptions are the config's settings of discovery.
func (r *Repo) discoverOptions() render.DiscoverOptions {
	return render.DiscoverOptions{
		Include:          r.cfg.Include,
		Exclude:          r.cfg.Exclude,
		IncludeHelmTests: r.cfg.Helm.IncludeTests,
		RepoURLs:         r.repoURLs(),
	}
}

// keep returns the discovered targets the user's paths affect, and the
// discovery errors in the files they name.
func (r *Repo) keep(disc *render.Repo) ([]*render.Target, []lint.Error) {
	var errs []lint.Error
	for _, e := range disc.Errors {
		if r.wanted(e.File) {
			errs = append(errs, *e)
		}
	}
	if slices.Contains(r.paths, ".") {
		return disc.Targets, errs
	}
	if len(r.paths) == 0 {
		return nil, nil
	}
	var out []*render.Target
	for _, t := range disc.Targets {
		in := r.renderer.Inputs(t)
		for _, p := range r.paths {
			if render.Affects(in, p) {
				out = append(out, t)
				break
			}
		}
	}
	return out, errs
}

// wanted reports whether a file is inside what the user asked to lint.
func (r *Repo) wanted(file string) bool {
	for _, p := range r.paths {
		if render.Affects([]string{p}, file) {
			return true
		}
	}
	return false
}

// rendered is the Outcome of rendering one target.
type rendered struct {
	target  *render.Target
	objects []*render.Object
	// files are the files the render read (render.Result.Files).
	files []string
	// warnings are render.Result.Warnings.
	warnings []lint.Error
	err      error
	// inputs digests what the target was rendered from (with r.digests).
	inputs report.Target
}

// renderAll renders targets concurrently on GOMAXPROCS workers; the
// results are in the order of targets. With r.digests, each worker also
// digests the files the render read, right after rendering.
func (r *Repo) renderAll(ctx context.Context, targets []*render.Target) []rendered {
	out := make([]rendered, len(targets))
	var mu sync.Mutex // serialises progress calls
	done := 0
	tell := func() {
		if r.progress != nil {
			r.progress(done, len(targets))
		}
	}
	tell()
	eachParallel(len(targets), func(i int) {
		t := targets[i]
		if prev, ok := r.reusable(t); ok {
			out[i] = rendered{target: t, objects: prev.objects, files: prev.files, warnings: prev.warnings, err: prev.err}
		} else {
			res, err := r.renderer.Render(ctx, t)
			out[i] = rendered{target: t, objects: res.Objects, files: res.Files, warnings: res.Warnings, err: err}
		}
		if r.digests {
			out[i].inputs = r.inputDigest(t, out[i].files)
		}
		mu.Lock()
		done++
		tell()
		mu.Unlock()
	})
	return out
}

// reusable returns the render of t in r.reuse when none of the files in
// r.changed is an input of it (its directory, chart, values, overlays and
// bases, or the GitOps object that deploys it).
func (r *Repo) reusable(t *render.Target) (rendered, bool) {
	if r.reuse == nil {
		return rendered{}, false
	}
	prev, ok := r.reuse.results[t.ID()]
	if !ok || prev.target.Kind != t.Kind || prev.target.Path != t.Path {
		return rendered{}, false
	}
	in := r.reuse.renderer.Inputs(prev.target)
	for _, c := range r.changed {
		if render.Affects(in, c) {
			return rendered{}, false
		}
	}
	return prev, true
}

// lintObjects converts rendered objects into the linter's view, and
// render errors into report errors. sources maps each view back to the
// rendered object and its target.
func lintObjects(results []rendered) (objs []*lint.Object, sources map[*lint.Object]source, errs []lint.Error) {
	sources = map[*lint.Object]source{}
	for _, res := range results {
		t := res.target
		for _, o := range res.objects {
			obj := lint.NewObject(o.Node, t.Path, locator(o.Source))
			if t.Kind == render.KindHelm && t.Namespace == "" && obj.Resource.Namespace == "default" {
				// A chart that no Argo CD or Flux object deploys renders in
				// Helm's placeholder release namespace, "default"; where it
				// will run is unknown, and rules must not judge (or ask for
				// policies in) a namespace nobody named.
				obj.Resource.Namespace = ""
			}
			if t.Via != nil {
				obj.Via = t.Via
			}
			objs = append(objs, obj)
			sources[obj] = source{object: o, target: t}
		}
		errs = append(errs, renderErrors(t, res.err)...)
	}
	return objs, sources, errs
}

// source is where a linted object comes from.
type source struct {
	object *render.Object
	target *render.Target
}

func renderErrors(t *render.Target, err error) []lint.Error {
	if err == nil {
		return nil
	}
	var multi render.MultiError
	if errors.As(err, &multi) {
		var out []lint.Error
		for _, e := range multi {
			out = append(out, renderErrors(t, e)...)
		}
		return out
	}
	var re *render.Error
	if errors.As(err, &re) {
		e := *re
		e.Target = t.ID()
		return []lint.Error{e}
	}
	return []lint.Error{{Target: t.ID(), File: t.Path, Message: err.Error()}}
}

// locator is a render source map as the linter's Locate function: a
// location that names no file says its origin is unknown.
func locator(sm render.SourceMap) func(lint.Path) lint.Location {
	if sm == nil {
		return nil
	}
	return func(p lint.Path) lint.Location {
		if l := sm.Locate(p); l.Known() {
			return l
		}
		return lint.Location{Origin: lint.OriginUnknown}
	}
}

// Outcome is what a lint run found.
type Outcome struct {
	lint.Result
	Errors []lint.Error
	// Skipped are the files under the linted paths that no target
	// renders, with the reason, by file.
	Skipped []render.Skipped
	// Notes say what the run assumed or did beyond the targets found
	// (a source assumed to be this repository, a base linted on its
	// own), once each.
	Notes   []string
	Targets int
	Objects int
	// Rendered describes each target with the digest of its inputs, in
	// the order the targets were rendered; nil unless repo.digests is set.
	Rendered []report.Target
	// Warnings are what the rendering tools would have printed (a
	// kustomization's deprecated fields), once per file and message, in
	// the one error order; they do not change the exit code.
	Warnings []lint.Error
}

// Snapshot is one lint run with what the fix planner needs besides the
// findings: the targets, the objects and where each comes from.
type Snapshot struct {
	Outcome
	targets []*render.Target
	objects []*lint.Object
	sources map[*lint.Object]source
	// renderer rendered the Snapshot (its caches and FS are its state).
	renderer *render.Renderer
	// results are the renders by target ID.
	results map[string]rendered
	// users caches baseUsers, broken brokenReads by file.
	users  map[docKey][]*lint.Object
	broken map[string]bool
}

// Lint runs the whole pipeline for the targets the repository's paths
// affect: discovery, rendering, rules and exemptions. When those are not
// all the targets, the rules see the others' objects as context
// (context.go), rendered or read from the render cache, and report on
// the affected targets' objects only.
func (r *Repo) Lint(ctx context.Context) (*Snapshot, error) {
	disc, err := r.discover(ctx)
	if err != nil {
		return nil, err
	}
	ts, unrendered := disc.targets, disc.unrendered
	results := r.renderAll(ctx, ts)
	ts, results = r.followApps(ctx, &disc, ts, results)
	errs := disc.errors
	ts, results, notes := r.orphanedBases(ctx, disc.bases, ts, results)
	disc.notes = append(disc.notes, notes...)
	errs = append(errs, r.unresolved(ts, disc.skipped, errs)...)
	objs, sources, rerrs := lintObjects(results)
	errs = append(errs, rerrs...)
	var described []report.Target
	if r.digests {
		described = make([]report.Target, len(results))
		for i, res := range results {
			described[i] = res.inputs
		}
	}
	all := r.rules
	if all == nil {
		all = rules.All()
	}
	known := make(map[string]bool, len(all))
	for _, rl := range all {
		known[rl.ID] = true
	}
	settings := r.cfg.Settings()
	if r.settings != nil {
		s := *r.settings
		settings = &s
	}
	if settings.KnownRule == nil {
		settings.KnownRule = func(id string) bool { return known[id] }
	}
	if settings.Audit == nil {
		settings.Audit = r.audit
	}
	if settings.Now.IsZero() {
		settings.Now = r.now()
	}
	if settings.Unrendered == nil {
		settings.Unrendered = unrendered
	}
	if settings.Prior == nil {
		settings.Prior = r.prior
	}
	var context []*lint.Object
	if len(disc.context) > 0 {
		context = r.contextObjects(ctx, disc.context, objs)
	}
	res, err := lint.RunWithContext(ctx, objs, context, settings.Enabled(all), settings)
	if err != nil {
		return nil, fmt.Errorf("lint: %w", err)
	}
	r.valuesLines(ctx, &res, sources, results)
	report.SortFindings(res.Findings)
	report.SortFindings(res.Suppressed)
	lint.SortErrors(errs)
	byID := make(map[string]rendered, len(results))
	seen := map[string]int{}
	for _, res := range results {
		id := res.target.ID()
		if seen[id]++; seen[id] == 1 {
			byID[id] = res
		} else {
			delete(byID, id) // two targets, one name: never reused
		}
	}
	return &Snapshot{
		Outcome: Outcome{Result: res, Errors: errs, Skipped: disc.skipped, Notes: disc.notes, Targets: len(ts), Objects: len(objs), Rendered: described,
			Warnings: renderWarnings(results)},
		targets: ts, objects: objs, sources: sources, renderer: r.renderer, results: byID,
	}, nil
}

// withFiles returns a copy of the repo that reads files (root-relative
// path to content; nil deletes) instead of the disk, for verifying edits
// before they are written.
func (r *Repo) withFiles(files map[string][]byte) *Repo {
	c := *r
	c.fs = r.fs.WithOverlay(files)
	c.renderer = r.renderer.WithFS(c.fs)
	return &c
}

// inputDigest describes target t with the digest of what it is rendered
// from: the files its render read (render.Result.Files), read again
// through the repo's FS, and its settings (renderSettings), as
// report.InputDigest defines. A file that cannot be read is left out;
// rendering reports it.
func (r *Repo) inputDigest(t *render.Target, files []string) report.Target {
	desc := report.Target{ID: t.ID(), Path: t.Path, Kind: string(t.Kind), Via: t.Via}
	inputs := map[string][]byte{report.SettingsInput: r.renderSettings(t)}
	for _, f := range files {
		b, err := r.fs.ReadFile(f)
		if err != nil {
			continue
		}
		inputs[f] = b
		sum := sha256.Sum256(b)
		desc.Files = append(desc.Files, report.InputFile{Path: f, Size: len(b), SHA256: hex.EncodeToString(sum[:])})
	}
	desc.Digest = report.InputDigest(inputs)
	return desc
}

// targetSettings is what a target renders with besides its files. Its
// JSON is the settings input of the digest: deterministic, and different
// whenever a setting is.
type targetSettings struct {
	Kind           string        `json:"kind"`
	Path           string        `json:"path"`
	Namespace      string        `json:"namespace,omitempty"`
	ForceNamespace bool          `json:"forceNamespace,omitempty"`
	Recurse        bool          `json:"recurse,omitempty"`
	KubeVersion    string        `json:"kubeVersion,omitempty"`
	Helm           *helmSettings `json:"helm,omitempty"`
}

type helmSettings struct {
	ReleaseName string   `json:"releaseName,omitempty"`
	ValueFiles  []string `json:"valueFiles,omitempty"` // in merge order
	// Values are the inline values maps in merge order, each as YAML
	// with sorted keys, so that moving or restyling them in their file
	// changes nothing.
	Values       []string `json:"values,omitempty"`
	Set          []string `json:"set,omitempty"`
	IncludeTests bool     `json:"includeTests,omitempty"`
}

// renderSettings returns the JSON form of t's settings.
func (r *Repo) renderSettings(t *render.Target) []byte {
	s := targetSettings{
		Kind: string(t.Kind), Path: t.Path, Namespace: t.Namespace,
		ForceNamespace: t.ForceNamespace, Recurse: t.Recurse, KubeVersion: r.cfg.KubernetesVersion,
	}
	if h := t.Helm; h != nil {
		s.Helm = &helmSettings{ReleaseName: h.ReleaseName, ValueFiles: h.ValueFiles, Set: h.Set, IncludeTests: h.IncludeTests}
		for _, v := range h.Values {
			s.Helm.Values = append(s.Helm.Values, canonicalYAML(v.Node))
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // strings and bools only
	}
	return b
}

// canonicalYAML is n's value as YAML with mapping keys sorted; n itself
// (comments and style included) when it does not decode.
func canonicalYAML(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	var v any
	if err := n.Decode(&v); err == nil {
		if b, err := yaml.Marshal(v); err == nil {
			return string(b)
		}
	}
	b, _ := yaml.Marshal(n)
	return string(b)
}

// RenderedObject is one object as a target renders it, for printing.
type RenderedObject struct {
	Target string        // the target's ID
	Source lint.Location // where the object is written
	Node   *yaml.Node
}

// Render renders the targets the repository's paths affect, without
// linting them: the objects in target order, and the discovery and render
// errors in the one error order.
func (r *Repo) Render(ctx context.Context) ([]RenderedObject, []lint.Error, error) {
	ts, errs, err := r.targets(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []RenderedObject
	for _, res := range r.renderAll(ctx, ts) {
		for _, o := range res.objects {
			out = append(out, RenderedObject{Target: res.target.ID(), Source: locator(o.Source)(ypath.Path{}), Node: o.Node})
		}
		errs = append(errs, renderErrors(res.target, res.err)...)
	}
	lint.SortErrors(errs)
	return out, errs, nil
}

// Linted are the linted objects of the snapshot, in target order.
func (s *Snapshot) Linted() []*lint.Object { return s.objects }

// renderWarnings collects the warnings of the renders, once per file and
// message however many targets read the file.
func renderWarnings(results []rendered) []lint.Error {
	var out []lint.Error
	seen := map[string]bool{}
	for _, res := range results {
		for _, w := range res.warnings {
			if k := w.File + "\x00" + w.Message; !seen[k] {
				seen[k] = true
				out = append(out, w)
			}
		}
	}
	lint.SortErrors(out)
	return out
}
