package render

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	k8sversion "k8s.io/component-base/version"

	"github.com/kubeharden/kubeharden/render/internal/helm"
)

// Helm rendering, in the order helm install does it, but offline and
// in-process:
//
//  1. load the chart from the repository through FS (helmCache, chartTree),
//     vendored subcharts from charts/, file:// dependencies from the repo;
//  2. merge values: values files, inline values, --set parameters;
//  3. ProcessDependenciesWithMerge, ToRenderValues, values.schema.json;
//  4. render every template with engine.Engine{} (no cluster: lookup
//     returns nothing, getHostByName returns ""), sprig's random, crypto
//     and clock functions replaced by deterministic ones seeded by the
//     target and the call site (determinism.go);
//  5. split the output into objects whose source map points into the
//     template that wrote them.

// newestKubeVersion is the Kubernetes version charts see when
// Options.KubeVersion is empty. Helm's chartutil.DefaultCapabilities says
// v1.20.0 unless Helm's release build overrides it with -ldflags, which a
// library user cannot do. k8s.io/component-base is released in lockstep
// with k8s.io/client-go and k8s.io/api, and its DefaultKubeBinaryVersion
// is their Kubernetes minor version: the newest Kubernetes whose APIs the
// compiled-in libraries (and so Capabilities.APIVersions) know.
var newestKubeVersion = "v" + k8sversion.DefaultKubeBinaryVersion + ".0"

// capabilities returns what charts see as .Capabilities.
func (r *Renderer) capabilities() (*helm.Capabilities, error) {
	v := r.opts.KubeVersion
	if v == "" {
		v = newestKubeVersion
	}
	caps, err := helm.NewCapabilities(v)
	if err != nil {
		return nil, fmt.Errorf("invalid Kubernetes version %q: %w", v, err)
	}
	return caps, nil
}

// renderHelm renders a Helm chart target as helm install would, offline.
// Objects come CRDs first (crds/ of the chart and its enabled subcharts),
// then in the order of the engine's template names, each template's in
// output order; Helm test hooks are dropped unless IncludeTests. Every
// error is an *Error naming the file (and line) at fault. Rendering is
// abandoned when ctx is done; see the comment in the body.
func (r *Renderer) renderHelm(ctx context.Context, t *Target) ([]*Object, error) {
	run, err := r.renderHelmWith(ctx, t, nil)
	return run.objs, err
}

// helmRun is the outcome of one render of a chart.
type helmRun struct {
	objs []*Object
	// values are the values the templates saw (.Values): the chart's
	// defaults coalesced with the release's values and subchart values
	// under their names.
	values map[string]any
}

// renderHelmWith is renderHelm with extra values merged over everything
// the target sets (values files, inline values, parameters), as a last
// layer; the values prober uses it to place sentinels. extra is not
// modified.
func (r *Renderer) renderHelmWith(ctx context.Context, t *Target, extra map[string]any) (helmRun, error) {
	return r.renderHelmRun(ctx, t, extra, nil)
}

// renderHelmRun is renderHelmWith, and with tr a traced render
// (values_trace.go).
func (r *Renderer) renderHelmRun(ctx context.Context, t *Target, extra map[string]any, tr *traceRender) (helmRun, error) {
	opts := t.Helm
	if opts == nil {
		opts = &HelmOptions{}
	}
	dir, err := r.fs.Rel(t.Path)
	if err != nil {
		return helmRun{}, errorf(t.Path, 0, "%v", err)
	}
	type result struct {
		run helmRun
		err error
	}
	done := make(chan result, 1)
	// Go templates cannot be interrupted: on timeout the goroutine is left
	// to stop at the template's next loop iteration or named-template
	// call, where the guard (guard.go) sees ctx done, or else to finish on
	// its own; its result is dropped. The channel is buffered so that it
	// never blocks. r.workers counts the goroutine until it ends.
	r.workers.Go(func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: errorf(dir, 0, "helm rendering failed: %v", p)}
			}
		}()
		run, err := r.renderChart(ctx, dir, t, opts, extra, tr)
		done <- result{run, err}
	})
	stopped := func() (helmRun, error) {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return helmRun{}, errorf(dir, 0, "rendering took longer than %s", r.opts.Timeout)
		}
		return helmRun{}, errorf(dir, 0, "rendering cancelled: %v", ctx.Err())
	}
	select {
	case res := <-done:
		if res.err != nil && ctx.Err() != nil {
			// The guard stopped the template because ctx is done: say
			// why, as when the render is abandoned.
			return stopped()
		}
		return res.run, res.err
	case <-ctx.Done():
		return stopped()
	}
}

// renderChart does the work of renderHelmWith, synchronously.
func (r *Renderer) renderChart(ctx context.Context, dir string, t *Target, opts *HelmOptions, extra map[string]any, tr *traceRender) (helmRun, error) {
	b := &helmBuild{r: r, ix: chartIndex{}}
	ch, src, err := b.build(dir, nil)
	if err != nil {
		return helmRun{}, err
	}
	caps, err := r.capabilities()
	if err != nil {
		return helmRun{}, errorf(dir, 0, "%v", err)
	}
	if src.kubeVersion != "" && !helm.IsCompatibleRange(src.kubeVersion, caps.KubeVersion()) {
		return helmRun{}, errorf(src.chartFile, src.kubeVersionLine,
			"chart requires kubeVersion %s, which Kubernetes %s does not satisfy", src.kubeVersion, caps.KubeVersion())
	}
	vals, err := r.helmValues(t, opts)
	if err != nil {
		return helmRun{}, err
	}
	if extra != nil {
		vals = mergeValues(vals, copyValues(extra))
	}
	if err := b.checkOptional(ch, vals); err != nil {
		return helmRun{}, err
	}
	if err := helm.ProcessDependenciesWithMerge(ch, vals); err != nil {
		return helmRun{}, errorf(dir, 0, "process chart dependencies: %v", err)
	}
	release := opts.ReleaseName
	if release == "" {
		release = ch.Name()
	}
	ns := t.Namespace
	if ns == "" {
		ns = "default"
	}
	top, err := helm.ToRenderValues(ch, vals, helm.Release{
		Name: release, Namespace: ns, IsInstall: true, Revision: 1,
	}, caps)
	if err != nil {
		return helmRun{}, errorf(dir, 0, "compute values: %v", err)
	}
	values := top.Values()
	if values != nil && tr == nil {
		// A traced render's values were validated by the real render.
		if err := validateSchemas(ch, values, b.ix); err != nil {
			return helmRun{}, err
		}
	}

	tmpls := templateFiles(ch, b.ix)
	g := &helmGuard{ctx: ctx, limit: r.opts.MaxOutput, run: r.mem,
		det: &detState{target: t.ID(), limit: r.opts.MaxOutput}}
	// Instrumented before a trace empties templates, so that a trace
	// reuses what the real render instrumented.
	if err := r.instrumentCached(ch, g, tmpls); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return helmRun{}, e
		}
		return helmRun{}, templateError(dir, err, tmpls)
	}
	if tr != nil {
		tr.prepare(ch, values, tmpls)
	}
	out, err := helm.Render(ch, top, g)
	g.release()
	if g.err != nil {
		return helmRun{}, g.err
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return helmRun{}, e
		}
		return helmRun{}, templateError(dir, err, tmpls)
	}
	var size int64
	for _, s := range out {
		size += int64(len(s))
	}
	if size > r.opts.MaxOutput {
		return helmRun{}, errorf(dir, 0, "chart renders %d bytes, over the %d byte limit", size, r.opts.MaxOutput)
	}

	var objs []*Object
	if tr == nil { // a trace maps templates only
		if objs, err = crdObjects(ch, b.ix); err != nil {
			return helmRun{}, err
		}
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		text := out[k]
		if strings.HasSuffix(k, "NOTES.txt") || strings.HasPrefix(path.Base(k), "_") || strings.TrimSpace(text) == "" {
			continue
		}
		tf := tmpls[k]
		if tr != nil && tf != nil {
			// A trace matches objects by file and order: the template
			// line map is not needed.
			tf = &tmplFile{file: tf.file, archive: true}
		}
		got, err := templateObjects(dir, k, text, tf, opts.IncludeTests)
		if err != nil {
			return helmRun{}, err
		}
		objs = append(objs, got...)
	}
	return helmRun{objs: objs, values: values}, nil
}

// tmplFile is a template as the engine names it, and where it is written.
type tmplFile struct {
	// file is the root-relative template file, or the .tgz it comes from.
	file    string
	archive bool
	src     []byte
}

// templateFiles maps the engine's template names
// ("web/charts/db/templates/x.yaml") to the files they come from. The
// chart must have been through ProcessDependencies, which renames aliased
// subcharts.
func templateFiles(c *helm.Chart, ix chartIndex) map[string]*tmplFile {
	m := map[string]*tmplFile{}
	var walk func(c *helm.Chart)
	walk = func(c *helm.Chart) {
		t := ix.tree(c)
		for _, f := range c.Templates() {
			if t == nil {
				continue
			}
			tf := &tmplFile{file: t.dir, archive: t.archive, src: f.Data()}
			if !t.archive {
				tf.file = path.Join(t.dir, f.Name())
			}
			m[path.Join(c.FullPath(), f.Name())] = tf
		}
		for _, d := range c.Dependencies() {
			walk(d)
		}
	}
	walk(c)
	return m
}

// tmplLocRE finds "name:line" or "name:line:col" in template errors.
var tmplLocRE = regexp.MustCompile(`([^\s()":]+):(\d+)(?::(\d+))?`)

// Prefixes helm and text/template put before the location of an error.
var tmplErrPrefixRE = regexp.MustCompile(`^(?:template: |parse error at \(|execution error at \()([^\s()":]+):\d+(?::\d+)?\)?:\s*`)

// templateError converts an engine error into an *Error on the template
// file and line it names.
func templateError(dir string, err error, tmpls map[string]*tmplFile) *Error {
	// The stand-ins of replaced functions are lookups (determinism.go);
	// their errors name the function.
	msg := detErrRE.ReplaceAllString(err.Error(), "")
	for _, m := range tmplLocRE.FindAllStringSubmatch(msg, -1) {
		tf, ok := tmpls[m[1]]
		if !ok {
			continue
		}
		line, _ := strconv.Atoi(m[2])
		if tf.archive {
			line = 0
		}
		text := tmplErrPrefixRE.ReplaceAllString(msg, "")
		text = strings.ReplaceAll(text, `executing "`+m[1]+`" `, "")
		switch {
		case strings.HasPrefix(msg, "parse error"):
			text = "template syntax error: " + text
		case strings.HasPrefix(text, "at <"):
			text = "template execution failed " + text
		default:
			text = "template execution failed: " + text
		}
		return errorf(tf.file, line, "%s", text)
	}
	return errorf(dir, 0, "helm template: %s", msg)
}
