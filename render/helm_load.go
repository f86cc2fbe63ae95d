package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/ignore"
	"helm.sh/helm/v3/pkg/strvals"
	k8sversion "k8s.io/component-base/version"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// Helm rendering, in the order helm install does it, but offline and
// in-process:
//
//  1. load the chart from the repository through FS (helmCache, chartTree),
//     vendored subcharts from charts/, file:// dependencies from the repo;
//  2. merge values: values files, inline values, --set parameters;
//  3. ProcessDependenciesWithMerge, ToRenderValues, values.schema.json;
//  4. render every template with engine.Engine{} (no cluster: lookup
//     returns nothing, getHostByName returns "");
//  5. split the output into objects whose source map points into the
//     template that wrote them.

// helmCache holds the files of the charts read during a run, keyed by the
// chart's root-relative directory. It is safe for concurrent use.
//
// It caches files, not *chart.Chart values: rendering mutates a chart
// (ProcessDependencies drops disabled subcharts and rewrites aliases and
// metadata; import-values rewrites Values), so every render assembles a
// fresh chart from the cached files with loader.LoadFiles. That shares the
// file bytes and costs about 0.3 ms for the helm create starter chart,
// against 2.3 ms for the whole render (BenchmarkRenderHelmStarter); a
// deep copy of *chart.Chart would be no cheaper and easy to get wrong.
type helmCache struct {
	mu     sync.Mutex
	charts map[string]*chartEntry
	// probes holds what values probing learnt per target (probe.go).
	probes map[string]*probeState
}

// chartEntry is one chart directory, read at most once.
type chartEntry struct {
	once sync.Once
	src  *chartSource
	err  error
}

func newHelmCache() *helmCache { return &helmCache{charts: map[string]*chartEntry{}} }

// chartSource is a chart directory (or packaged chart) as read from the
// repository.
type chartSource struct {
	tree *chartTree
	// chartFile is the root-relative Chart.yaml, or the .tgz of a
	// packaged chart; lines of a packaged chart are always 0.
	chartFile string
	// read lists the root-relative files read, .helmignore included.
	read []string
	// depsFile is the root-relative file that declares the dependencies
	// (Chart.yaml, or requirements.yaml for apiVersion v1 charts).
	depsFile string
	deps     []chartDep
	// kubeVersion is the Chart.yaml kubeVersion constraint and its line.
	kubeVersion     string
	kubeVersionLine int
}

// chartDep is one entry of a chart's dependencies list.
type chartDep struct {
	name, version, repository, alias string
	line                             int
	// condition and tags can disable the dependency (Chart.yaml).
	condition string
	tags      []string
}

// chartTree is a chart's files split the way loader.LoadFiles splits
// them, with each vendored subchart resolved to where it is written.
type chartTree struct {
	// dir is the root-relative chart directory, or for a chart that comes
	// from a vendored archive (and every chart inside it) the .tgz file.
	dir     string
	archive bool
	// name is the chart name from Chart.yaml ("" when unreadable).
	name string
	// files are the chart's own files, relative to the chart directory,
	// without the contents of charts/ (but with charts/*.prov).
	files []*loader.BufferedFile
	// subs are the charts vendored under charts/, in name order.
	subs []*chartTree
	// vendored are the names of the entries under charts/.
	vendored []string
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// chart returns the chart source of the directory dir, reading it on
// first use.
func (r *Renderer) chart(dir string) (*chartSource, error) {
	c := r.helm
	c.mu.Lock()
	e, ok := c.charts[dir]
	if !ok {
		e = &chartEntry{}
		c.charts[dir] = e
	}
	c.mu.Unlock()
	// Loading one directory never loads another (file:// dependencies are
	// resolved by the caller), so once.Do cannot wait on itself.
	e.once.Do(func() { e.src, e.err = r.readChart(dir) })
	return e.src, e.err
}

// readChart reads a chart directory as helm's loader.LoadDir would, but
// through r.fs: .helmignore is honoured, symlinks are followed only inside
// the root, and irregular files are refused.
func (r *Renderer) readChart(dir string) (*chartSource, error) {
	chartFile := path.Join(dir, "Chart.yaml")
	if !r.fs.IsDir(dir) {
		if path.Ext(dir) == ".tgz" && r.fs.Exists(dir) {
			return r.readChartArchive(dir)
		}
		return nil, errorf(dir, 0, "chart directory does not exist")
	}
	if !r.fs.Exists(chartFile) {
		return nil, errorf(chartFile, 0, "chart has no Chart.yaml")
	}
	src := &chartSource{chartFile: chartFile}
	rules := ignore.Empty()
	ignoreFile := path.Join(dir, ignore.HelmIgnore)
	if data, err := r.fs.ReadFile(ignoreFile); err == nil {
		rules, err = ignore.Parse(bytes.NewReader(data))
		if err != nil {
			return nil, errorf(ignoreFile, 0, "invalid .helmignore: %v", err)
		}
		src.read = append(src.read, ignoreFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fileError(ignoreFile, err)
	}
	rules.AddDefaults()

	var files []*loader.BufferedFile
	w := chartWalker{r: r, dir: dir, rules: rules, open: map[string]bool{}}
	if err := w.walk("", &files); err != nil {
		return nil, err
	}
	for _, f := range files {
		src.read = append(src.read, path.Join(dir, f.Name))
	}
	tree, err := newChartTree(dir, false, files)
	if err != nil {
		return nil, err
	}
	src.tree = tree
	if err := src.readMeta(dir, files); err != nil {
		return nil, err
	}
	sort.Strings(src.read)
	return src, nil
}

// readChartArchive reads a packaged chart (helm package output) kept in
// the repository. Its dependencies must be vendored inside it.
func (r *Renderer) readChartArchive(file string) (*chartSource, error) {
	data, err := r.fs.ReadFile(file)
	if err != nil {
		return nil, fileError(file, err)
	}
	files, err := loader.LoadArchiveFiles(bytes.NewReader(data))
	if err != nil {
		return nil, errorf(file, 0, "read chart archive: %v", err)
	}
	tree, err := newChartTree(file, true, files)
	if err != nil {
		return nil, err
	}
	src := &chartSource{tree: tree, chartFile: file, read: []string{file}}
	if err := src.readMeta(file, files); err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, errorf(file, 0, "%s: %s", path.Base(e.File), e.Message)
		}
		return nil, err
	}
	src.depsFile, src.kubeVersionLine = file, 0
	for i := range src.deps {
		src.deps[i].line = 0
	}
	return src, nil
}

// chartWalker lists the files of one chart directory.
type chartWalker struct {
	r     *Renderer
	dir   string
	rules *ignore.Rules
	// open holds the real paths of the directories being walked: a
	// symlink back to one of them is a loop.
	open map[string]bool
	// entries and size count what has been read, against the bounds.
	entries int
	size    int64
}

// maxChartDepth bounds how deep a chart's directories may nest.
const maxChartDepth = 64

// maxChartEntries bounds the files and directories of one chart, and
// maxChartSize the bytes of its files, the bound helm's loader puts on a
// packaged chart. Symlinks to directories are followed, so without them
// a few links to links could make a small tree look endless.
const maxChartEntries = 100_000

var maxChartSize = loader.MaxDecompressedChartSize

func (w *chartWalker) walk(rel string, out *[]*loader.BufferedFile) error {
	p := path.Join(w.dir, rel)
	if strings.Count(rel, "/") >= maxChartDepth {
		return errorf(p, 0, "chart directories nest more than %d levels deep", maxChartDepth)
	}
	if real, err := w.r.fs.resolve(p); err == nil {
		if w.open[real] {
			return errorf(p, 0, "symlink loop in chart directory")
		}
		w.open[real] = true
		defer delete(w.open, real)
	}
	ents, err := w.r.fs.ReadDir(p)
	if err != nil {
		return errorf(p, 0, "read chart directory: %v", err)
	}
	for _, e := range ents {
		n := path.Join(rel, e.Name())
		child := path.Join(w.dir, n)
		if w.entries++; w.entries > maxChartEntries {
			return errorf(w.dir, 0, "chart has more than %d files and directories", maxChartEntries)
		}
		fi, err := w.r.fs.Stat(child)
		if err != nil {
			if info, ierr := e.Info(); ierr == nil && w.rules.Ignore(n, info) {
				continue
			}
			if errors.Is(err, ErrEscapesRoot) {
				return errorf(child, 0, "symlink leaves the repository root")
			}
			return errorf(child, 0, "%v", unwrapPathErr(err))
		}
		if w.rules.Ignore(n, fi) {
			continue
		}
		if fi.IsDir() {
			if err := w.walk(n, out); err != nil {
				return err
			}
			continue
		}
		if !fi.Mode().IsRegular() {
			return errorf(child, 0, "cannot load irregular file into a chart")
		}
		if w.size += fi.Size(); w.size > maxChartSize {
			return errorf(w.dir, 0, "chart files are more than %d bytes in all", maxChartSize)
		}
		data, err := w.r.fs.ReadFile(child)
		if err != nil {
			return fileError(child, err)
		}
		*out = append(*out, &loader.BufferedFile{Name: n, Data: bytes.TrimPrefix(data, utf8BOM)})
	}
	return nil
}

// newChartTree splits the files of a chart (names relative to the chart)
// into its own files and its vendored subcharts, as loader.LoadFiles does,
// remembering where each subchart is written. dir is the chart directory,
// or the .tgz file for archived charts.
func newChartTree(dir string, archive bool, files []*loader.BufferedFile) (*chartTree, error) {
	t := &chartTree{dir: dir, archive: archive}
	groups := map[string][]*loader.BufferedFile{}
	for _, f := range files {
		if !strings.HasPrefix(f.Name, "charts/") || path.Ext(f.Name) == ".prov" {
			t.files = append(t.files, f)
			if f.Name == "Chart.yaml" {
				t.name = chartName(f.Data)
			}
			continue
		}
		rest := strings.TrimPrefix(f.Name, "charts/")
		cname, _, _ := strings.Cut(rest, "/")
		groups[cname] = append(groups[cname], &loader.BufferedFile{Name: rest, Data: f.Data})
	}
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	t.vendored = names
	for _, n := range names {
		if strings.IndexAny(n, "_.") == 0 {
			continue
		}
		where := path.Join(dir, "charts", n)
		if archive {
			where = dir
		}
		group := groups[n]
		var sub *chartTree
		var err error
		if path.Ext(n) == ".tgz" {
			if len(group) != 1 || group[0].Name != n {
				return nil, errorf(where, 0, "charts/%s: a .tgz subchart must be a file", n)
			}
			var sfiles []*loader.BufferedFile
			sfiles, err = loader.LoadArchiveFiles(bytes.NewReader(group[0].Data))
			if err != nil {
				return nil, errorf(where, 0, "read vendored chart archive: %v", err)
			}
			sub, err = newChartTree(where, true, sfiles)
		} else {
			var sfiles []*loader.BufferedFile
			for _, f := range group {
				_, name, ok := strings.Cut(f.Name, "/")
				if ok {
					sfiles = append(sfiles, &loader.BufferedFile{Name: name, Data: f.Data})
				}
			}
			if len(sfiles) == 0 {
				return nil, errorf(where, 0, "not a chart: what lies directly under charts/ must be a chart directory or a .tgz")
			}
			sub, err = newChartTree(where, archive, sfiles)
		}
		if err != nil {
			return nil, err
		}
		t.subs = append(t.subs, sub)
	}
	return t, nil
}

// chartName reads the name from Chart.yaml data, or "".
func chartName(data []byte) string {
	docs, _ := parseDocuments("Chart.yaml", data)
	if len(docs) == 0 {
		return ""
	}
	return scalar(docs[0], "name")
}

// readMeta records the dependencies and kubeVersion of a chart with the
// lines they are written on.
func (s *chartSource) readMeta(dir string, files []*loader.BufferedFile) error {
	var chartData, reqData []byte
	for _, f := range files {
		switch f.Name {
		case "Chart.yaml":
			chartData = f.Data
		case "requirements.yaml":
			reqData = f.Data
		}
	}
	chartFile := path.Join(dir, "Chart.yaml")
	docs, err := parseDocuments(chartFile, chartData)
	if err != nil {
		return err
	}
	if len(docs) == 0 || docs[0].Kind != yaml.MappingNode {
		return errorf(chartFile, 0, "Chart.yaml is not a mapping")
	}
	doc := docs[0]
	if k, v := lookup(doc, "kubeVersion"); v != nil {
		s.kubeVersion, s.kubeVersionLine = v.Value, k.Line
	}
	s.depsFile = chartFile
	_, deps := lookup(doc, "dependencies")
	if deps == nil && reqData != nil {
		reqFile := path.Join(dir, "requirements.yaml")
		rdocs, err := parseDocuments(reqFile, reqData)
		if err != nil {
			return err
		}
		if len(rdocs) > 0 {
			_, deps = lookup(rdocs[0], "dependencies")
			s.depsFile = reqFile
		}
	}
	if deps == nil || deps.Kind != yaml.SequenceNode {
		return nil
	}
	for _, d := range deps.Content {
		dep := chartDep{
			name:       scalar(d, "name"),
			version:    scalar(d, "version"),
			repository: scalar(d, "repository"),
			alias:      scalar(d, "alias"),
			line:       d.Line,
			condition:  scalar(d, "condition"),
		}
		if _, tags := lookup(d, "tags"); tags != nil && tags.Kind == yaml.SequenceNode {
			for _, t := range tags.Content {
				dep.tags = append(dep.tags, t.Value)
			}
		}
		s.deps = append(s.deps, dep)
	}
	return nil
}

// vendors reports whether a chart vendors dependency d under charts/: a
// subchart of that name, a directory of that name or <name>-<version>.tgz.
func (t *chartTree) vendors(d chartDep) bool {
	for _, s := range t.subs {
		if s.name == d.name {
			return true
		}
	}
	for _, v := range t.vendored {
		if v == d.name || v == d.name+"-"+d.version+".tgz" {
			return true
		}
	}
	return false
}

// fileDependency returns the root-relative directory of a file://
// dependency of the chart in dir, or ok == false for other repositories
// and for packaged charts, which must vendor everything.
func (r *Renderer) fileDependency(dir, depsFile string, d chartDep) (string, bool, error) {
	p, ok := strings.CutPrefix(d.repository, "file://")
	if !ok || depsFile == dir {
		return "", false, nil
	}
	if !path.IsAbs(p) {
		p = path.Join(dir, p)
	}
	rel, err := r.fs.Rel(p)
	if err != nil {
		return "", true, errorf(depsFile, d.line, "dependency %q: %s is outside the repository", d.name, d.repository)
	}
	return rel, true, nil
}

// remoteDependencyError is the error for a dependency kubeharden would
// have to download.
func remoteDependencyError(file string, d chartDep) *Error {
	if d.repository == "" {
		return errorf(file, d.line, "dependency %q is not vendored under charts/ and names no repository; vendor it (helm dependency build)", d.name)
	}
	return errorf(file, d.line, "dependency %q needs chart repository %s; vendor it under charts/ (helm dependency build) — kubeharden never downloads", d.name, d.repository)
}

// ChartFiles returns the root-relative files the chart in chartPath
// loads, sorted: its own files after .helmignore, vendored subcharts and
// the files of the file:// dependencies it does not vendor.
func (r *Renderer) ChartFiles(chartPath string) ([]string, error) {
	dir, err := r.fs.Rel(chartPath)
	if err != nil {
		return nil, errorf(chartPath, 0, "%v", err)
	}
	var out []string
	seen := map[string]bool{}
	var visit func(dir string) error
	visit = func(dir string) error {
		if seen[dir] {
			return nil
		}
		seen[dir] = true
		src, err := r.chart(dir)
		if err != nil {
			return err
		}
		out = append(out, src.read...)
		for _, d := range src.deps {
			if src.tree.vendors(d) {
				continue
			}
			dep, ok, err := r.fileDependency(dir, src.depsFile, d)
			if err != nil {
				return err
			}
			if ok {
				if err := visit(dep); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := visit(dir); err != nil {
		return nil, err
	}
	sort.Strings(out)
	return slices.Compact(out), nil
}

// chartIndex remembers which tree each assembled chart came from. It is
// keyed by the chart's first raw file, which alias copies made by
// ProcessDependencies share with the chart they copy.
type chartIndex map[*chart.File]*chartTree

func (ix chartIndex) tree(c *chart.Chart) *chartTree {
	if len(c.Raw) == 0 {
		return nil
	}
	return ix[c.Raw[0]]
}

// assemble builds a fresh *chart.Chart from a tree.
func assemble(t *chartTree, ix chartIndex) (*chart.Chart, error) {
	c, err := loader.LoadFiles(t.files)
	if err != nil {
		return nil, loadError(t, err)
	}
	if len(c.Raw) > 0 {
		ix[c.Raw[0]] = t
	}
	for _, s := range t.subs {
		sc, err := assemble(s, ix)
		if err != nil {
			return nil, err
		}
		c.AddDependency(sc)
	}
	return c, nil
}

var loadErrorRE = regexp.MustCompile(`^cannot load ([^:]+): (.*)$`)

// loadError turns a loader.LoadFiles error into an *Error on the chart
// file at fault.
func loadError(t *chartTree, err error) *Error {
	msg := err.Error()
	if t.archive {
		return errorf(t.dir, 0, "vendored chart: %s", msg)
	}
	if m := loadErrorRE.FindStringSubmatch(msg); m != nil {
		file := path.Join(t.dir, m[1])
		if e := yamlLineError(file, 0, errors.New(m[2])); e != nil {
			return e
		}
		return errorf(file, 0, "%s", m[2])
	}
	if strings.HasPrefix(msg, "validation:") || strings.Contains(msg, "Chart.yaml") {
		return errorf(path.Join(t.dir, "Chart.yaml"), 0, "%s", msg)
	}
	return errorf(t.dir, 0, "load chart: %s", msg)
}

var sigsYAMLLineRE = regexp.MustCompile(`yaml: line (\d+): (.*)$`)

// yamlLineError converts a sigs.k8s.io/yaml error that names a line into
// an *Error on file, its line offset by lineOffset; nil when no line is
// named.
func yamlLineError(file string, lineOffset int, err error) *Error {
	m := sigsYAMLLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return nil
	}
	n, _ := strconv.Atoi(m[1])
	return errorf(file, n+lineOffset, "invalid YAML: %s", m[2])
}

// helmBuild assembles the chart of one render.
type helmBuild struct {
	r  *Renderer
	ix chartIndex
	// optional are the top chart's dependencies that are neither vendored
	// nor file:// but have a condition or tags: they are an error only if
	// the release's values enable them (see checkOptional).
	optional []chartDep
	depsFile string
}

// build assembles the chart in dir with its vendored subcharts and the
// file:// dependencies it does not vendor. stack holds the charts being
// built, to refuse dependency cycles.
func (b *helmBuild) build(dir string, stack []string) (*chart.Chart, *chartSource, error) {
	src, err := b.r.chart(dir)
	if err != nil {
		return nil, nil, err
	}
	c, err := assemble(src.tree, b.ix)
	if err != nil {
		return nil, nil, err
	}
	stack = append(stack, dir)
	for _, d := range src.deps {
		if src.tree.vendors(d) {
			continue
		}
		depDir, ok, err := b.r.fileDependency(dir, src.depsFile, d)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			if len(stack) == 1 && (d.condition != "" || len(d.tags) > 0) {
				b.optional = append(b.optional, d)
				b.depsFile = src.depsFile
				continue
			}
			return nil, nil, remoteDependencyError(src.depsFile, d)
		}
		if i := slices.Index(stack, depDir); i >= 0 {
			cycle := strings.Join(append(slices.Clone(stack[i:]), depDir), " -> ")
			return nil, nil, errorf(src.depsFile, d.line, "dependency %q makes a cycle: %s", d.name, cycle)
		}
		if !b.r.fs.Exists(path.Join(depDir, "Chart.yaml")) {
			return nil, nil, errorf(src.depsFile, d.line, "dependency %q: %s is not a chart directory", d.name, depDir)
		}
		sub, _, err := b.build(depDir, stack)
		if err != nil {
			return nil, nil, err
		}
		if sub.Name() != d.name {
			return nil, nil, errorf(src.depsFile, d.line, "dependency %q: the chart in %s is named %q", d.name, depDir, sub.Name())
		}
		if d.version != "" && !chartutil.IsCompatibleRange(d.version, sub.Metadata.Version) {
			return nil, nil, errorf(src.depsFile, d.line, "dependency %q: version %s of the chart in %s does not satisfy %q", d.name, sub.Metadata.Version, depDir, d.version)
		}
		c.AddDependency(sub)
	}
	return c, src, nil
}

// checkOptional returns the error for the first optional dependency that
// is not vendored and that the release's values enable. Helm decides as
// ProcessDependencies does: the first condition path that holds a bool
// wins; else the dependency is enabled when any of its tags is true (or
// it has none). A disabled dependency is not needed, so a chart whose
// optional remote dependencies are off renders, unlike with helm
// template, which requires every dependency to be present.
func (b *helmBuild) checkOptional(ch *chart.Chart, vals map[string]any) error {
	if len(b.optional) == 0 {
		return nil
	}
	merged, err := chartutil.CoalesceValues(ch, copyValues(vals))
	if err != nil {
		return errorf(b.depsFile, 0, "values: %v", err)
	}
	for _, d := range b.optional {
		if dependencyEnabled(d, merged) {
			return remoteDependencyError(b.depsFile, d)
		}
	}
	return nil
}

func dependencyEnabled(d chartDep, vals chartutil.Values) bool {
	for _, c := range strings.Split(d.condition, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		if v, err := vals.PathValue(c); err == nil {
			if on, ok := v.(bool); ok {
				return on
			}
		}
	}
	if len(d.tags) == 0 {
		return true
	}
	tags, _ := vals["tags"].(map[string]any)
	for _, t := range d.tags {
		if on, ok := tags[t].(bool); ok && on {
			return true
		}
	}
	for _, t := range d.tags {
		if _, ok := tags[t].(bool); ok {
			return false // tags named and all false
		}
	}
	return true
}

// newestKubeVersion is the Kubernetes version charts see when
// Options.KubeVersion is empty. Helm's chartutil.DefaultCapabilities says
// v1.20.0 unless Helm's release build overrides it with -ldflags, which a
// library user cannot do. k8s.io/component-base is released in lockstep
// with k8s.io/client-go and k8s.io/api, and its DefaultKubeBinaryVersion
// is their Kubernetes minor version: the newest Kubernetes whose APIs the
// compiled-in libraries (and so Capabilities.APIVersions) know.
var newestKubeVersion = "v" + k8sversion.DefaultKubeBinaryVersion + ".0"

// capabilities returns what charts see as .Capabilities.
func (r *Renderer) capabilities() (*chartutil.Capabilities, error) {
	v := r.opts.KubeVersion
	if v == "" {
		v = newestKubeVersion
	}
	kv, err := chartutil.ParseKubeVersion(v)
	if err != nil {
		return nil, fmt.Errorf("invalid Kubernetes version %q: %w", v, err)
	}
	if strings.Count(kv.Version, ".") == 1 {
		// "1.31" parses as the generic version v1.31; a cluster reports
		// v1.31.0, and that is what charts compare against.
		kv.Version += ".0"
	}
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	return caps, nil
}

// helmValues merges the user-supplied values of a release: values files,
// then inline values, then --set parameters, as helm install does (maps
// merge deeply, later wins). The chart's own values.yaml is coalesced
// under them by chartutil.ToRenderValues.
func (r *Renderer) helmValues(t *Target, opts *HelmOptions) (map[string]any, error) {
	base := map[string]any{}
	for _, name := range opts.ValueFiles {
		f, err := r.fs.Rel(name)
		if err != nil {
			return nil, errorf(name, 0, "values file is outside the repository")
		}
		// Values files are often shared by several targets: read once.
		// Their parsed form is not shared, because helm coalesces values
		// in place.
		data, err := r.files.readFile(f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, errorf(f, 0, "values file does not exist")
			}
			return nil, errorf(f, 0, "read values file: %v", unwrapPathErr(err))
		}
		v, err := chartutil.ReadValues(bytes.TrimPrefix(data, utf8BOM))
		if err != nil {
			if e := yamlLineError(f, 0, err); e != nil {
				return nil, e
			}
			return nil, errorf(f, 0, "invalid values file: %v", err)
		}
		base = mergeValues(base, v)
	}
	for _, iv := range opts.Values {
		v, err := inlineValues(iv)
		if err != nil {
			return nil, err
		}
		base = mergeValues(base, v)
	}
	file, line := t.Path, 0
	if t.Via != nil {
		file, line = t.Via.File, t.Via.Line
	}
	for _, s := range opts.Set {
		if err := strvals.ParseInto(s, base); err != nil {
			return nil, errorf(file, line, "helm parameter %q: %v", s, err)
		}
	}
	return base, nil
}

// inlineValues decodes inline values the way helm reads a values file, so
// that numbers and strings get the same types.
func inlineValues(iv InlineValues) (map[string]any, error) {
	n := iv.Node
	if n == nil {
		return map[string]any{}, nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	var data []byte
	lineOffset := -1 // lines of re-encoded values do not match the file
	switch {
	case n.Kind == yaml.MappingNode:
		out, err := yaml.Marshal(deepCopy(n))
		if err != nil {
			return nil, errorf(iv.File, n.Line, "inline values: %v", err)
		}
		data = out
	case n.Kind == yaml.ScalarNode && (n.Tag == "!!str" || n.Tag == "!!null"):
		data = []byte(n.Value)
		if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			lineOffset = n.Line
		}
	default:
		return nil, errorf(iv.File, n.Line, "inline values must be a mapping")
	}
	v, err := chartutil.ReadValues(data)
	if err != nil {
		if lineOffset >= 0 {
			if e := yamlLineError(iv.File, lineOffset, err); e != nil {
				return nil, e
			}
		}
		return nil, errorf(iv.File, n.Line, "invalid inline values: %v", err)
	}
	return v, nil
}

// mergeValues merges b into a copy of a: maps merge deeply, anything else in
// b replaces what a has. It is the merge helm install applies to -f files.
func mergeValues(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if om, ok := out[k].(map[string]any); ok {
				out[k] = mergeValues(om, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// validateSchemas checks values against the values.schema.json of the
// chart and of each subchart, as helm install does, except that a schema
// may not refer to anything outside itself: Helm's own validator fetches
// http(s) references and reads file:// references from the local disk.
func validateSchemas(c *chart.Chart, vals map[string]any, ix chartIndex) error {
	if c.Schema != nil {
		if err := validateSchema(c.Schema, vals); err != nil {
			file := ""
			if t := ix.tree(c); t != nil {
				file = t.dir
				if !t.archive {
					file = path.Join(t.dir, "values.schema.json")
				}
			}
			var bad badSchemaError
			if errors.As(err, &bad) {
				return errorf(file, 0, "cannot use values.schema.json: %v", bad.err)
			}
			return errorf(file, 0, "values do not match the chart's schema: %v", err)
		}
	}
	for _, sub := range c.Dependencies() {
		sv, ok := vals[sub.Name()].(map[string]any)
		if !ok {
			continue
		}
		if err := validateSchemas(sub, sv, ix); err != nil {
			return err
		}
	}
	return nil
}

// noLoader refuses every schema reference the schema does not contain.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema reference %s refused: kubeharden never reads or downloads referenced schemas", url)
}

// badSchemaError is a schema that cannot be used, as opposed to values
// that do not match it.
type badSchemaError struct{ err error }

func (e badSchemaError) Error() string { return e.err.Error() }

// validateSchema validates values against one values.schema.json.
func validateSchema(schemaJSON []byte, vals map[string]any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = badSchemaError{fmt.Errorf("schema validation failed: %v", p)}
		}
	}()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return badSchemaError{fmt.Errorf("invalid JSON: %w", err)}
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(noLoader{})
	if err := comp.AddResource("file:///values.schema.json", doc); err != nil {
		return badSchemaError{err}
	}
	sch, err := comp.Compile("file:///values.schema.json")
	if err != nil {
		return badSchemaError{err}
	}
	if err := sch.Validate(map[string]any(chartutil.Values(vals).AsMap())); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "jsonschema validation failed with 'file:///values.schema.json#'\n"))
	}
	return nil
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
	values chartutil.Values
}

// renderHelmWith is renderHelm with extra values merged over everything
// the target sets (values files, inline values, parameters), as a last
// layer; the values prober uses it to place sentinels. extra is not
// modified.
func (r *Renderer) renderHelmWith(ctx context.Context, t *Target, extra map[string]any) (helmRun, error) {
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
	// never blocks.
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: errorf(dir, 0, "helm rendering failed: %v", p)}
			}
		}()
		run, err := r.renderChart(ctx, dir, t, opts, extra)
		done <- result{run, err}
	}()
	select {
	case res := <-done:
		return res.run, res.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return helmRun{}, errorf(dir, 0, "rendering took longer than %s", r.opts.Timeout)
		}
		return helmRun{}, errorf(dir, 0, "rendering cancelled: %v", ctx.Err())
	}
}

// renderChart does the work of renderHelmWith, synchronously.
func (r *Renderer) renderChart(ctx context.Context, dir string, t *Target, opts *HelmOptions, extra map[string]any) (helmRun, error) {
	b := &helmBuild{r: r, ix: chartIndex{}}
	ch, src, err := b.build(dir, nil)
	if err != nil {
		return helmRun{}, err
	}
	caps, err := r.capabilities()
	if err != nil {
		return helmRun{}, errorf(dir, 0, "%v", err)
	}
	if src.kubeVersion != "" && !chartutil.IsCompatibleRange(src.kubeVersion, caps.KubeVersion.String()) {
		return helmRun{}, errorf(src.chartFile, src.kubeVersionLine,
			"chart requires kubeVersion %s, which Kubernetes %s does not satisfy", src.kubeVersion, caps.KubeVersion.String())
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
	if err := chartutil.ProcessDependenciesWithMerge(ch, vals); err != nil {
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
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, chartutil.ReleaseOptions{
		Name: release, Namespace: ns, IsInstall: true, Revision: 1,
	}, caps, true)
	if err != nil {
		return helmRun{}, errorf(dir, 0, "compute values: %v", err)
	}
	values, _ := top["Values"].(chartutil.Values)
	if values != nil {
		if err := validateSchemas(ch, values, b.ix); err != nil {
			return helmRun{}, err
		}
	}

	tmpls := templateFiles(ch, b.ix)
	g := &helmGuard{ctx: ctx, limit: r.opts.MaxOutput}
	out, err := renderGuarded(ch, top, g, tmpls)
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

	objs, err := crdObjects(ch, b.ix)
	if err != nil {
		return helmRun{}, err
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
		got, err := templateObjects(dir, k, text, tmpls[k], opts.IncludeTests)
		if err != nil {
			return helmRun{}, err
		}
		objs = append(objs, got...)
	}
	return helmRun{objs: objs, values: values}, nil
}

// copyValues copies the maps and lists of a values tree, so that helm,
// which coalesces values in place, cannot change the original.
func copyValues(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyValues(v)
	case chartutil.Values:
		return copyValues(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	}
	return v
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
func templateFiles(c *chart.Chart, ix chartIndex) map[string]*tmplFile {
	m := map[string]*tmplFile{}
	var walk func(c *chart.Chart)
	walk = func(c *chart.Chart) {
		t := ix.tree(c)
		for _, f := range c.Templates {
			if f == nil || t == nil {
				continue
			}
			tf := &tmplFile{file: t.dir, archive: t.archive, src: f.Data}
			if !t.archive {
				tf.file = path.Join(t.dir, f.Name)
			}
			m[path.Join(c.ChartFullPath(), f.Name)] = tf
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
	msg := err.Error()
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

// crdObjects returns the objects in the crds/ directories of the chart
// and its enabled subcharts, which helm install creates before anything
// else. They are not templates: their source is the file itself.
func crdObjects(c *chart.Chart, ix chartIndex) ([]*Object, error) {
	var objs []*Object
	t := ix.tree(c)
	for _, f := range c.Files {
		ext := path.Ext(f.Name)
		if !strings.HasPrefix(f.Name, "crds/") || ext != ".yaml" && ext != ".yml" && ext != ".json" || t == nil {
			continue
		}
		if t.archive {
			docs, err := parseDocuments(t.dir, f.Data)
			if err != nil {
				return nil, errorf(t.dir, 0, "%s: %v", f.Name, err)
			}
			for _, d := range docs {
				for _, n := range expandLists(d) {
					if isObject(n) {
						objs = append(objs, &Object{Node: n, Source: archiveSource{File: t.dir, Origin: OriginManifest}})
					}
				}
			}
			continue
		}
		got, err := manifestObjects(path.Join(t.dir, f.Name), OriginManifest, f.Data)
		if err != nil {
			return nil, err
		}
		for _, o := range got {
			o.Node = deepCopy(o.Node)
			objs = append(objs, o)
		}
	}
	for _, d := range c.Dependencies() {
		got, err := crdObjects(d, ix)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// archiveSource locates every field at one place: a file whose lines are
// unknown (a vendored chart archive).
type archiveSource Location

func (f archiveSource) Locate(ypath.Path) Location { return Location(f) }

// templateObjects splits the output of one template into objects, each
// with a source map into the template.
// dir is the chart, blamed when the template's file is unknown.
// gluedDocSep is a document separator with text glued to it.
var gluedDocSep = regexp.MustCompile(`(?m)^---([^\s-])`)

func templateObjects(dir, key, text string, tf *tmplFile, includeTests bool) ([]*Object, error) {
	file := dir
	if tf != nil {
		file = tf.file
	}
	// Helm splits its output on "---" wherever a line starts with it, so
	// charts write "---# comment"; YAML needs a space after the marker.
	// The line count stays the same.
	text = gluedDocSep.ReplaceAllString(text, "--- $1")
	docs, over, e := decodeDocuments(file, []byte(text))
	if e != nil {
		// The line is one of the rendered output, not of the template.
		if over {
			return nil, errorf(file, 0, "rendered output (line %d): %s", e.Line, e.Message)
		}
		return nil, errorf(file, 0, "rendered output is not valid YAML (output line %d): %s", e.Line, strings.TrimPrefix(e.Message, "invalid YAML: "))
	}
	var tdocs []*tmplDoc
	if tf != nil && !tf.archive {
		tdocs = splitTemplate(tf.src)
	}
	var objs []*Object
	from := 0
	for k, d := range docs {
		items := expandLists(d)
		var doc *tmplDoc
		if len(tdocs) > 0 {
			j := matchTemplateDoc(k, len(docs), scalar(d, "kind"), tdocs, from)
			from, doc = j, tdocs[j]
		}
		for i, n := range items {
			if !isObject(n) || !includeTests && isTestHook(n) {
				continue
			}
			src := &helmTemplateSource{file: file, doc: doc, node: n}
			if n != d {
				// An item of a List: its fields are written under items.
				src.prefix = ypath.Path{"items", ypath.Index(i)}
			}
			objs = append(objs, &Object{Node: n, Source: src})
		}
	}
	return objs, nil
}

// isTestHook reports whether an object is a Helm test hook.
func isTestHook(n *yaml.Node) bool {
	hooks := scalar(n, "metadata", "annotations", "helm.sh/hook")
	for _, h := range strings.Split(hooks, ",") {
		switch strings.TrimSpace(h) {
		case "test", "test-success", "test-failure":
			return true
		}
	}
	return false
}

// matchTemplateDoc picks the template document that produced the k-th of n
// rendered documents, whose kind is kind. Documents are matched by their
// literal kind, then by position when the counts agree, and otherwise
// fall back to the first document that writes YAML. from is the document
// the previous one matched, so that documents repeated by a range loop
// keep matching the same template document.
func matchTemplateDoc(k, n int, kind string, tdocs []*tmplDoc, from int) int {
	if n == len(tdocs) && kind != "" && tdocs[k].kind == kind {
		return k
	}
	if kind != "" {
		for j := from; j < len(tdocs); j++ {
			if tdocs[j].kind == kind {
				return j
			}
		}
		for j := 0; j < from; j++ {
			if tdocs[j].kind == kind {
				return j
			}
		}
	}
	if n == len(tdocs) && tdocs[k].kind == "" && tdocs[k].start >= 0 {
		return k
	}
	for j, d := range tdocs {
		if d.start >= 0 && d.kind == "" {
			return j
		}
	}
	for j, d := range tdocs {
		if d.start >= 0 {
			return j
		}
	}
	return 0
}

// tline is one line of a template with its template actions removed.
type tline struct {
	no     int // 1-based line number in the template file
	indent int // spaces before the text
	// col is the 0-based column where what the line writes starts: the
	// indentation, or the dash of a list element.
	col    int
	text   string // the line without actions, indentation or trailing space
	action bool   // the line has (part of) a template action
	// plain is set for literal YAML: not blank, a comment, only actions,
	// or the content of a block scalar.
	plain bool
}

// tmplDoc is one YAML document of a template (the text between "---"
// lines).
type tmplDoc struct {
	lines []tline
	start int    // index in lines of the first literal YAML line; -1 if none
	first int    // index of the first line with any content; -1 if none
	kind  string // the literal top-level kind, or ""
}

var tmplDocSepRE = regexp.MustCompile(`^---(\s|$)`)

// splitTemplate splits template source into documents and classifies
// each line.
func splitTemplate(src []byte) []*tmplDoc {
	stripped, actions := stripActions(string(src))
	raw := strings.Split(string(src), "\n")
	var docs []*tmplDoc
	cur := &tmplDoc{}
	flush := func() {
		cur.classify()
		if cur.first >= 0 {
			docs = append(docs, cur)
		}
		cur = &tmplDoc{}
	}
	for i, s := range stripped {
		if tmplDocSepRE.MatchString(raw[i]) {
			flush()
			continue
		}
		body := strings.TrimRight(s, " \t\r")
		trimmed := strings.TrimLeft(body, " \t")
		cur.lines = append(cur.lines, tline{
			no:     i + 1,
			indent: len(body) - len(trimmed),
			col:    len(body) - len(trimmed),
			text:   trimmed,
			action: actions[i],
		})
	}
	flush()
	return docs
}

var tmplBlockScalarRE = regexp.MustCompile(`(^|:\s+|^-\s+)[|>][-+0-9]*\s*(#.*)?$`)

// classify marks literal YAML lines and finds the document's start and
// kind.
func (d *tmplDoc) classify() {
	d.start, d.first = -1, -1
	blockIndent := -1 // inside a block scalar indented more than this
	for i := range d.lines {
		l := &d.lines[i]
		if blockIndent >= 0 {
			if l.text == "" || l.indent > blockIndent {
				continue
			}
			blockIndent = -1
		}
		if l.text != "" || l.action {
			if d.first < 0 && !strings.HasPrefix(l.text, "#") {
				d.first = i
			}
		}
		l.plain = l.text != "" && !strings.HasPrefix(l.text, "#")
		if !l.plain {
			continue
		}
		if d.start < 0 {
			d.start = i
		}
		if tmplBlockScalarRE.MatchString(l.text) {
			blockIndent = l.indent
			if rest, ok := strings.CutPrefix(l.text, "- "); ok {
				blockIndent += 2 + len(rest) - len(strings.TrimLeft(rest, " "))
				if _, _, isKey := tmplKey(rest); !isKey {
					blockIndent = l.indent
				}
			}
		}
	}
	if d.start >= 0 {
		top := d.lines[d.start].indent
		for _, l := range d.lines {
			if !l.plain || l.indent != top || l.action {
				continue
			}
			if k, v, ok := tmplKey(l.text); ok && k == "kind" {
				d.kind = tmplUnquote(strings.TrimSpace(tmplStripComment(v)))
				break
			}
		}
	}
}

// stripActions removes Go template actions from src and returns its
// lines, and for each line whether it had (part of) an action. Actions
// may span lines; quoted strings and comments inside them are skipped.
// There is one result line per line of src.
func stripActions(src string) ([]string, []bool) {
	var lines []string
	var actions []bool
	var b strings.Builder
	inAction, had := false, false
	// skipTo skips src[i:to+1] inside an action, ending the lines it spans.
	skipTo := func(i, to int) int {
		to = min(to, len(src)-1)
		for k := i; k <= to; k++ {
			if src[k] == '\n' {
				lines = append(lines, b.String())
				actions = append(actions, true)
				b.Reset()
			}
		}
		return to
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\n' {
			lines = append(lines, b.String())
			actions = append(actions, had)
			b.Reset()
			had = inAction
			continue
		}
		if !inAction {
			if c == '{' && i+1 < len(src) && src[i+1] == '{' {
				inAction, had = true, true
				i++
				continue
			}
			b.WriteByte(c)
			continue
		}
		switch {
		case c == '}' && i+1 < len(src) && src[i+1] == '}':
			inAction = false
			i++
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				i = skipTo(i, len(src)-1)
				continue
			}
			i = skipTo(i, i+2+end+1)
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(src) && src[j] != c {
				if c != '`' && src[j] == '\n' {
					break // unterminated: the newline ends it
				}
				if c != '`' && src[j] == '\\' {
					j++
				}
				j++
			}
			if j < len(src) && src[j] == '\n' && c != '`' {
				j--
			}
			i = skipTo(i, j)
		}
	}
	lines = append(lines, b.String())
	actions = append(actions, had)
	return lines, actions
}

// tmplKey splits "key: value" (the key possibly quoted) into key and value.
func tmplKey(text string) (key, value string, ok bool) {
	if text == "" || tmplIsDash(text) {
		return "", "", false
	}
	if q := text[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(text[1:], q)
		if end < 0 {
			return "", "", false
		}
		rest := strings.TrimLeft(text[end+2:], " ")
		if !strings.HasPrefix(rest, ":") || len(rest) > 1 && rest[1] != ' ' {
			return "", "", false
		}
		return text[1 : end+1], strings.TrimLeft(rest[1:], " "), true
	}
	if strings.ContainsRune("{[#&*!|>%@`?", rune(text[0])) {
		return "", "", false
	}
	i := strings.Index(text, ": ")
	if i < 0 {
		if !strings.HasSuffix(text, ":") {
			return "", "", false
		}
		i = len(text) - 1
	}
	k := strings.TrimRight(text[:i], " ")
	if k == "" || strings.Contains(k, " #") {
		return "", "", false
	}
	return k, strings.TrimLeft(text[i+1:], " "), true
}

func tmplStripComment(v string) string {
	if strings.HasPrefix(v, "#") {
		return ""
	}
	if i := strings.Index(v, " #"); i >= 0 {
		return v[:i]
	}
	return v
}

func tmplUnquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		return v[1 : len(v)-1]
	}
	return v
}

// helmTemplateSource locates the fields of an object rendered from a Helm
// template in the template's source text. It is best-effort: the keys of
// the path are looked up by indentation among the template's literal YAML
// lines, list elements by a literal value of their selecting field. A
// field that the rendered object has and the template writes literally is
// Exact; a field written by an action (toYaml of a values subtree, say) or
// absent from the object is reported at the nearest ancestor the template
// writes, with Exact false. When the template document is unknown the
// Location has Line 0 and File set: lines are never guessed.
type helmTemplateSource struct {
	file string
	doc  *tmplDoc   // nil when unknown (or the chart is an archive)
	node *yaml.Node // the rendered object
	// prefix is where the object is in the document: items[i] for the
	// items of a List, else empty.
	prefix ypath.Path
}

// Locate implements SourceMap.
func (h *helmTemplateSource) Locate(p ypath.Path) Location {
	loc := Location{File: h.file, Origin: OriginHelmTemplate}
	d := h.doc
	if d == nil || d.first < 0 {
		return loc
	}
	startIdx := d.start
	if startIdx < 0 {
		startIdx = d.first
	}
	start := d.lines[startIdx]
	loc.Line, loc.Column = start.no, start.indent+1
	if d.start < 0 {
		return loc // the document is all actions: only its start is known
	}
	full := h.prefix.Append(p...)
	scope := d.lines[d.start:]
	sure := true
	depth := 0
	for _, seg := range full {
		if len(seg) >= 2 && seg[0] == '[' && seg[len(seg)-1] == ']' {
			items := tmplListItems(scope)
			if len(items) == 0 {
				break
			}
			it, ok := tmplSelectItem(items, seg[1:len(seg)-1])
			sure = sure && ok
			scope = it
			loc.Line, loc.Column = it[0].no, it[0].col+1 // the dash
			depth++
			continue
		}
		i, ok := tmplFindKey(scope, seg)
		if !ok {
			break
		}
		loc.Line, loc.Column = scope[i].no, scope[i].indent+1
		scope = tmplChildren(scope, i)
		depth++
	}
	if depth < len(h.prefix) {
		// The List item itself is not written literally.
		loc.Line, loc.Column = start.no, start.indent+1
		return loc
	}
	loc.Exact = depth == len(full) && sure && ypath.Walk(h.node, p).Depth == len(p)
	return loc
}

// tmplMinIndent is the indentation of the least indented literal line.
func tmplMinIndent(scope []tline) int {
	m := -1
	for _, l := range scope {
		if l.plain && (m < 0 || l.indent < m) {
			m = l.indent
		}
	}
	return m
}

func tmplIsDash(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

// tmplFindKey returns the index of the line in scope that writes key at the
// scope's top level.
func tmplFindKey(scope []tline, key string) (int, bool) {
	top := tmplMinIndent(scope)
	for i, l := range scope {
		if !l.plain || l.indent != top || tmplIsDash(l.text) {
			continue
		}
		if k, _, ok := tmplKey(l.text); ok && tmplUnquote(k) == key {
			return i, true
		}
	}
	return 0, false
}

// tmplChildren returns the lines below the key at scope[i]: the more indented
// ones, and a list written at the key's own indentation.
func tmplChildren(scope []tline, i int) []tline {
	key := scope[i]
	end := i + 1
	for ; end < len(scope); end++ {
		l := scope[end]
		if !l.plain || l.indent > key.indent || l.indent == key.indent && tmplIsDash(l.text) {
			continue
		}
		break
	}
	return scope[i+1 : end]
}

// tmplListItems splits a scope that is a sequence into its elements. The
// first line of each element is rewritten without its dash, at the
// indentation of the text after the dash, so that an element can be
// searched like a mapping.
func tmplListItems(scope []tline) [][]tline {
	top := tmplMinIndent(scope)
	var items [][]tline
	for _, l := range scope {
		if l.plain && l.indent == top {
			if !tmplIsDash(l.text) {
				return nil
			}
			rest := strings.TrimPrefix(l.text, "-")
			trimmed := strings.TrimLeft(rest, " ")
			head := l
			head.indent = l.indent + 1 + len(rest) - len(trimmed)
			head.text = trimmed
			head.plain = trimmed != ""
			items = append(items, []tline{head})
			continue
		}
		if len(items) > 0 {
			items[len(items)-1] = append(items[len(items)-1], l)
		}
	}
	return items
}

// tmplSelectItem picks the element a selector ("name=web", "=NET_RAW", "2")
// means. ok is false when the choice is a guess.
func tmplSelectItem(items [][]tline, sel string) ([]tline, bool) {
	key, want, isKV := strings.Cut(sel, "=")
	if !isKV {
		i, err := strconv.Atoi(sel)
		if err == nil && i >= 0 && i < len(items) {
			return items[i], len(items) > 1 || i == 0
		}
		return items[0], len(items) == 1
	}
	var maybe [][]tline // elements whose selecting value is templated
	for _, it := range items {
		var l tline
		if key == "" {
			l = it[0]
			if !l.plain {
				maybe = append(maybe, it)
				continue
			}
			if l.action {
				maybe = append(maybe, it)
			} else if tmplUnquote(tmplStripComment(l.text)) == want {
				return it, true
			}
			continue
		}
		i, ok := tmplFindKey(it, key)
		if !ok {
			maybe = append(maybe, it)
			continue
		}
		l = it[i]
		_, v, _ := tmplKey(l.text)
		if l.action {
			maybe = append(maybe, it)
		} else if tmplUnquote(strings.TrimSpace(tmplStripComment(v))) == want {
			return it, true
		}
	}
	if len(maybe) > 0 {
		return maybe[0], len(maybe) == 1
	}
	return items[0], false
}
