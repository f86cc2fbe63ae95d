package render

import (
	"bytes"
	"errors"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/render/internal/helm"
)

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
	files []*helm.File
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
	rules := helm.EmptyIgnore()
	ignoreFile := path.Join(dir, helm.HelmIgnore)
	if data, err := r.fs.ReadFile(ignoreFile); err == nil {
		rules, err = helm.ParseIgnore(data)
		if err != nil {
			return nil, errorf(ignoreFile, 0, "invalid .helmignore: %v", err)
		}
		src.read = append(src.read, ignoreFile)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fileError(ignoreFile, err)
	}
	rules.AddDefaults()

	var files []*helm.File
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
	files, err := helm.LoadArchiveFiles(bytes.NewReader(data))
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
	rules *helm.Ignore
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

var maxChartSize = helm.MaxDecompressedChartSize

func (w *chartWalker) walk(rel string, out *[]*helm.File) error {
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
		*out = append(*out, &helm.File{Name: n, Data: bytes.TrimPrefix(data, utf8BOM)})
	}
	return nil
}

// newChartTree splits the files of a chart (names relative to the chart)
// into its own files and its vendored subcharts, as loader.LoadFiles does,
// remembering where each subchart is written. dir is the chart directory,
// or the .tgz file for archived charts.
func newChartTree(dir string, archive bool, files []*helm.File) (*chartTree, error) {
	t := &chartTree{dir: dir, archive: archive}
	groups := map[string][]*helm.File{}
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
		groups[cname] = append(groups[cname], &helm.File{Name: rest, Data: f.Data})
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
			var sfiles []*helm.File
			sfiles, err = helm.LoadArchiveFiles(bytes.NewReader(group[0].Data))
			if err != nil {
				return nil, errorf(where, 0, "read vendored chart archive: %v", err)
			}
			sub, err = newChartTree(where, true, sfiles)
		} else {
			var sfiles []*helm.File
			for _, f := range group {
				_, name, ok := strings.Cut(f.Name, "/")
				if ok {
					sfiles = append(sfiles, &helm.File{Name: name, Data: f.Data})
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
func (s *chartSource) readMeta(dir string, files []*helm.File) error {
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
type chartIndex map[helm.ChartKey]*chartTree

func (ix chartIndex) tree(c *helm.Chart) *chartTree {
	k, ok := c.Key()
	if !ok {
		return nil
	}
	return ix[k]
}

// assemble builds a fresh *helm.Chart from a tree.
func assemble(t *chartTree, ix chartIndex) (*helm.Chart, error) {
	c, err := helm.LoadFiles(t.files)
	if err != nil {
		return nil, loadError(t, err)
	}
	if k, ok := c.Key(); ok {
		ix[k] = t
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
func (b *helmBuild) build(dir string, stack []string) (*helm.Chart, *chartSource, error) {
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
		if d.version != "" && !helm.IsCompatibleRange(d.version, sub.Version()) {
			return nil, nil, errorf(src.depsFile, d.line, "dependency %q: version %s of the chart in %s does not satisfy %q", d.name, sub.Version(), depDir, d.version)
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
func (b *helmBuild) checkOptional(ch *helm.Chart, vals map[string]any) error {
	if len(b.optional) == 0 {
		return nil
	}
	merged, err := helm.CoalesceValues(ch, copyValues(vals))
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

func dependencyEnabled(d chartDep, vals map[string]any) bool {
	for _, c := range strings.Split(d.condition, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		if v, err := helm.PathValue(vals, c); err == nil {
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
