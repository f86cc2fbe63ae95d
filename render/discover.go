package render

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/loc"
)

// DiscoverOptions control which parts of the repository are linted.
type DiscoverOptions struct {
	// Include, when non-empty, keeps only targets whose path (or a parent
	// directory of it) matches one of these doublestar globs.
	Include []string
	// Exclude skips files and directories matching these globs.
	Exclude []string
	// IncludeHelmTests renders Helm test hooks too.
	IncludeHelmTests bool
	// RepoURLs are the Git URLs of this repository (its remotes and the
	// config's gitops.repoURLs), in any spelling NormalizeRepoURL
	// accepts: a GitOps object is rendered from the repository's files
	// only when its source is one of them (see gitsource.go).
	RepoURLs []string
	// Verdicts, when set, remembers what discovery concluded about each
	// YAML file from its content alone (FileVerdict), so that a file the
	// cache vouches for is not read and parsed again. Files that may hold
	// GitOps objects are always parsed.
	Verdicts FileVerdicts
}

// FileVerdicts is a cache of FileVerdict by root-relative file. Verdict
// reports one only when the file is certainly the one it was computed
// from; anything in doubt is no verdict, and the file is parsed.
type FileVerdicts interface {
	Verdict(file string) (FileVerdict, bool)
	SetVerdict(file string, v FileVerdict)
}

// FileVerdict is what discovery needs of a YAML file's content: the
// rest it reads again (other files, directories).
type FileVerdict struct {
	// GitOps: the file may hold GitOps objects or Flux GitRepositories;
	// discovery parses it.
	GitOps bool
	// Kind is manifestKind of the file: "" for a manifest, else the
	// reason it is skipped.
	Kind string
	// TemplateLine is the line of the first "{{", 0 when there is none;
	// Plain says the file parses with no mapping key that is not a
	// scalar (unpackagedTemplate).
	TemplateLine int
	Plain        bool
}

// Repo is what a repository deploys.
type Repo struct {
	// Targets are in a stable order: by path, then by deploying object.
	Targets []*Target
	// Errors are files that could not be read or understood; the targets
	// that do not depend on them are still listed.
	Errors []*Error
	// Skipped are the YAML and JSON files (and the directories) under the
	// root that discovery left out of every target and that are not
	// errors, each with its reason (one of the Skip* constants), sorted
	// by file.
	Skipped []Skipped
	// Unrendered are the GitOps objects that deploy from a source
	// kubeharden does not render (a chart of a Helm or OCI repository,
	// another Git repository), into a namespace the object names: that
	// namespace receives workloads the linter never sees. In file order.
	Unrendered []Unrendered
	// Notes say what discovery assumed, once each (NoteAssumedSource).
	Notes []string
	// Bases maps each kustomization that is linted only through the
	// kustomizations that include it (not a Component) to those, in
	// file order: when none of them renders, the base can be linted on
	// its own.
	Bases map[string][]string
}

// Unrendered is a GitOps object deploying what kubeharden cannot render
// into Namespace.
type Unrendered struct {
	Namespace string
	Via       *Via
}

// Skipped is a file discovery left out of every target, with the reason
// (package loc's type).
type Skipped = loc.Skipped

// The reasons of Skipped: a closed list, so that the text report can
// count files by reason.
const (
	SkipNotKubernetes = "not Kubernetes (no apiVersion and kind)"
	SkipNotYAML       = "not YAML or JSON (does not parse, no apiVersion and kind lines)"
	SkipPatch         = "strategic merge patch fragments ($patch)"
	SkipGitHub        = "GitHub configuration (.github/)"
	SkipSymlinkOut    = "symlink leaving the root (not followed)"
	SkipSymlinkLoop   = "symlink loop (not followed)"
	SkipSymlinkDir    = "symlink to a directory of the repository (linted where it points)"
	SkipExcluded      = "excluded by the config"
	SkipVendored      = "node_modules directory"
	// The GitOps objects whose source is not rendered (Skipped.Line and
	// Detail name the object and its source).
	SkipOtherRepo     = "GitOps source in another Git repository (not rendered)"
	SkipChartRepo     = "GitOps source in a Helm, OCI or bucket repository (not rendered)"
	SkipNotInCheckout = "GitOps source path not in this checkout (not rendered)"
)

// skipDirs are never descended into, with the reason they are skipped
// ("" for directories that are not reported).
var skipDirs = map[string]string{".git": "", "node_modules": SkipVendored}

// Discover walks the repository and returns its targets: every chart,
// kustomization and manifest file that is deployed on its own, and one
// target per Argo CD Application, Flux HelmRelease or Flux Kustomization
// that deploys a path of the repository (with that object's values and
// namespace). A chart or kustomization deployed by such an object, or used
// as a base by another kustomization, is linted through them only.
//
// A YAML or JSON file outside charts and kustomizations is a manifest
// when one of its documents, parsed, is an object with apiVersion and
// kind (in any style: block, flow or JSON). Every other such file is
// listed in Repo.Skipped with the reason, or in Repo.Errors when it could
// not be read.
func Discover(ctx context.Context, f *FS, opts DiscoverOptions) (*Repo, error) {
	return discover(ctx, f, newFileCache(f), opts)
}

// Discover is Discover over the renderer's file system, sharing its file
// cache: each file discovery parses to decide whether it is a manifest
// is not parsed again to be rendered.
func (r *Renderer) Discover(ctx context.Context, opts DiscoverOptions) (*Repo, error) {
	return discover(ctx, r.fs, r.files, opts)
}

func discover(ctx context.Context, f *FS, files *fileCache, opts DiscoverOptions) (*Repo, error) {
	d := &discovery{fs: f, files: files, opts: opts, repo: &Repo{}, consumed: map[string]bool{}, used: map[string]bool{}}
	if err := d.walk(ctx); err != nil {
		return nil, err
	}
	d.readKustomizations()
	d.readGitRepositories()
	d.readGitOps()
	d.addStandalone()
	d.reportCycles()
	d.filter()
	d.repo.Bases = map[string][]string{}
	for b, users := range d.bases {
		if k := d.kusts[b]; k != nil && !strings.EqualFold(scalar(k.node, "kind"), "Component") {
			d.repo.Bases[b] = users
		}
	}
	slices.SortFunc(d.repo.Targets, func(a, b *Target) int {
		return cmp.Or(cmp.Compare(a.Path, b.Path), cmp.Compare(a.ID(), b.ID()))
	})
	slices.SortFunc(d.repo.Skipped, func(a, b Skipped) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Reason, b.Reason), cmp.Compare(a.Detail, b.Detail))
	})
	slices.SortFunc(d.repo.Errors, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Message, b.Message))
	})
	return d.repo, nil
}

type discovery struct {
	fs    *FS
	files *fileCache
	opts  DiscoverOptions
	repo  *Repo

	charts    []string // chart directories (not subcharts)
	kustDirs  []string // directories with a kustomization file
	yamlFiles []string // YAML files outside charts
	kusts     map[string]*kustomization
	// consumed marks files and directories that a kustomization or a
	// GitOps object renders, so they are not linted on their own.
	consumed map[string]bool
	// used marks charts and kustomizations that something else renders.
	used map[string]bool

	// bases are the kustomizations others include, with those (Repo.Bases).
	bases map[string][]string

	// thisRepo are the normalised URLs of this repository; gitRepos the
	// Flux GitRepository objects of the repository (gitsource.go).
	thisRepo     map[string]bool
	gitRepos     []gitRepository
	assumedNoted bool
}

func (d *discovery) excluded(rel string) bool {
	for _, pat := range d.opts.Exclude {
		if ok, _ := doublestar.Match(pat, rel); ok {
			return true
		}
	}
	return false
}

func (d *discovery) skip(rel, reason string) {
	d.repo.Skipped = append(d.repo.Skipped, Skipped{File: rel, Reason: reason})
}

// walk lists the charts, kustomization directories and YAML and JSON
// files under the root. Nothing it meets ends the walk but the context:
// a directory that cannot be read is an error entry naming it, a symlink
// that leaves the root or loops is not followed (an error entry for a
// manifest file name, a skip for anything else).
func (d *discovery) walk(ctx context.Context) error {
	// The walk goes through the FS, so that files a fix holds in memory
	// (an overlay) are discovered like files on disk.
	var visit func(rel string, e fs.DirEntry) error
	visit = func(rel string, e fs.DirEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if rel != "." && d.excluded(rel) {
			if e.IsDir() || isManifestName(e.Name()) {
				d.skip(rel, SkipExcluded)
			}
			return nil
		}
		if e != nil && e.Type()&fs.ModeSymlink != 0 {
			st, err := d.fs.Stat(rel)
			switch {
			case err != nil && isManifestName(e.Name()):
				d.repo.Errors = append(d.repo.Errors, fileError(rel, err))
				return nil
			case errors.Is(err, ErrEscapesRoot):
				d.skip(rel, SkipSymlinkOut)
				return nil
			case errors.Is(err, errSymlinkLoop):
				d.skip(rel, SkipSymlinkLoop)
				return nil
			case err == nil && st.IsDir():
				// The directory is walked where it is; following the link
				// too would lint it twice, or forever in a loop.
				d.skip(rel, SkipSymlinkDir)
				return nil
			}
		}
		if e == nil || e.IsDir() {
			if rel != "." {
				if reason, ok := skipDirs[e.Name()]; ok {
					if reason != "" {
						d.skip(rel, reason)
					}
					return nil
				}
			}
			if d.fs.Exists(path.Join(rel, "Chart.yaml")) {
				// The chart loader reads the chart's files.
				d.charts = append(d.charts, rel)
				return nil
			}
			if findKustomization(d.fs, rel) != "" {
				d.kustDirs = append(d.kustDirs, rel)
			}
			ents, err := d.fs.ReadDir(rel)
			if err != nil {
				d.repo.Errors = append(d.repo.Errors, errorf(rel, 0, "cannot list directory: %v", unwrapPathErr(err)))
				return nil
			}
			for _, c := range ents {
				if err := visit(path.Join(rel, c.Name()), c); err != nil {
					return err
				}
			}
			return nil
		}
		if isManifestName(e.Name()) {
			d.yamlFiles = append(d.yamlFiles, rel)
		}
		return nil
	}
	return visit(".", nil)
}

// readKustomizations parses every kustomization, marks the files and
// directories they consume, and the kustomizations used as bases.
func (d *discovery) readKustomizations() {
	d.kusts = map[string]*kustomization{}
	d.bases = map[string][]string{}
	for _, dir := range d.kustDirs {
		k, err := readKustomization(d.fs, dir)
		if err != nil {
			d.repo.Errors = append(d.repo.Errors, asError(dir, err))
			d.consumed[dir] = true
			continue
		}
		d.kusts[dir] = k
		d.consumed[dir] = true
		if strings.EqualFold(scalar(k.node, "kind"), "Component") {
			d.used[dir] = true
		}
		for _, r := range k.resources {
			child, err := d.fs.Rel(path.Join(dir, r.value))
			if err != nil {
				continue
			}
			if findKustomization(d.fs, child) != "" {
				d.used[child] = true
				d.bases[child] = append(d.bases[child], dir)
			}
			d.consumed[child] = true
		}
		for _, p := range k.patches {
			if p.path != "" {
				d.consumed[p.path] = true
			}
		}
	}
}

func asError(file string, err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return errorf(file, 0, "%v", err)
}

// consumedFile reports whether a YAML file is rendered by something else:
// it is listed by a kustomization, lies in a kustomization directory, or
// lies under a directory a GitOps object deploys.
func (d *discovery) consumedFile(rel string) bool {
	if d.consumed[rel] {
		return true
	}
	for dir := path.Dir(rel); ; dir = path.Dir(dir) {
		if d.consumed[dir] && (dir == path.Dir(rel) || d.consumed[dir+"/**"]) {
			return true
		}
		if dir == "." {
			return false
		}
	}
}

// readGitOps finds Argo CD Applications and Flux HelmReleases and
// Kustomizations and adds a target for each path of this repository they
// deploy.
func (d *discovery) readGitOps() {
	d.eachGitOpsObject(mayBeGitOps, d.gitOpsObject)
}

// eachGitOpsObject calls f for every object (Lists expanded) of the YAML
// files that may hold GitOps objects and whose text has, by want, a
// chance to hold the ones asked for. Files that do not parse are left to
// the lint of the file itself, which reports them.
func (d *discovery) eachGitOpsObject(want func(src []byte) bool, f func(file string, n *yaml.Node)) {
	for _, file := range d.yamlFiles {
		if githubFile(file) {
			continue
		}
		if v, ok := d.verdict(file); !ok || !v.GitOps {
			continue
		}
		src, docs, perr, err := d.files.parsed(file)
		if err != nil || perr != nil || !want(src) {
			continue
		}
		for _, doc := range docs {
			for _, n := range expandLists(doc) {
				f(file, n)
			}
		}
	}
}

func mayBeGitOps(src []byte) bool {
	s := string(src)
	return strings.Contains(s, "argoproj.io") || strings.Contains(s, "toolkit.fluxcd.io")
}

func (d *discovery) gitOpsObject(file string, n *yaml.Node) {
	d.gitOpsObjectVia(file, n, &Via{Kind: scalar(n, "kind"), Name: scalar(n, "metadata", "name"), File: file, Line: n.Line})
}

func (d *discovery) gitOpsObjectVia(file string, n *yaml.Node, via *Via) {
	av, kind := scalar(n, "apiVersion"), scalar(n, "kind")
	group, _, _ := strings.Cut(av, "/")
	switch {
	case group == "argoproj.io" && kind == "Application":
		d.argoApplication(file, n, via)
	case group == "argoproj.io" && kind == "ApplicationSet":
		d.argoApplicationSet(file, n, via)
	case group == "helm.toolkit.fluxcd.io" && kind == "HelmRelease":
		d.fluxHelmRelease(file, n, via)
	case group == "kustomize.toolkit.fluxcd.io" && kind == "Kustomization":
		d.fluxKustomization(file, n, via)
	}
}

// repoPath resolves a path written in a GitOps object, relative to the
// repository root, and reports whether it exists in this repository.
func (d *discovery) repoPath(p string) (string, bool) {
	rel, err := d.fs.Rel(strings.TrimPrefix(p, "/"))
	if err != nil || !d.fs.Exists(rel) {
		return "", false
	}
	return rel, true
}

func (d *discovery) argoApplication(file string, n *yaml.Node, via *Via) {
	_, spec := lookup(n, "spec")
	ns := scalar(spec, "destination", "namespace")
	var sources []*yaml.Node
	if _, s := lookup(spec, "source"); s != nil {
		sources = append(sources, s)
	}
	_, multi := lookup(spec, "sources")
	sources = append(sources, seqItems(multi)...)
	refs := map[string]string{} // "$values" -> root-relative dir of a ref source
	for _, s := range sources {
		if ref := scalar(s, "ref"); ref != "" && scalar(s, "chart") == "" && d.isThisRepo(scalar(s, "repoURL")) {
			refs["$"+ref] = strings.TrimPrefix(scalar(s, "path"), "/")
			if refs["$"+ref] == "" {
				refs["$"+ref] = "."
			}
		} else if ref != "" {
			refs["$"+ref] = otherRepoRef
		}
	}
	for _, s := range sources {
		p := scalar(s, "path")
		if c := scalar(s, "chart"); c != "" {
			d.skipSource(ns, via, SkipChartRepo, fmt.Sprintf("chart %s from %s", c, scalar(s, "repoURL")))
			continue
		}
		if p == "" {
			continue // a values-only ref
		}
		if u := scalar(s, "repoURL"); !d.isThisRepo(u) {
			d.skipSource(ns, via, SkipOtherRepo, fmt.Sprintf("path %s of %s", p, u))
			continue
		}
		dir, ok := d.repoPath(p)
		if !ok {
			d.skipSource(ns, via, SkipNotInCheckout, fmt.Sprintf("path %s", p))
			continue
		}
		_, helm := lookup(s, "helm")
		t := &Target{Namespace: ns, Via: via}
		switch {
		case d.isChart(dir):
			t.Kind, t.Path = KindHelm, dir
			t.Helm = d.argoHelm(file, dir, helm, refs, via)
			if t.Helm.ReleaseName == "" {
				t.Helm.ReleaseName = scalar(n, "metadata", "name")
			}
		case findKustomization(d.fs, dir) != "":
			t.Kind, t.Path = KindKustomize, dir
		default:
			t.Kind, t.Path = KindManifests, dir
			t.Recurse = scalar(s, "directory", "recurse") == "true"
		}
		d.addVia(t)
	}
}

// otherRepoRef marks an Argo CD ref source of another repository, whose
// value files are not read.
const otherRepoRef = "\x00other"

// argoApplicationSet expands the list generators of an ApplicationSet
// into Applications by substituting each element's values into the
// template ({{name}} and, with goTemplate, {{ .name }}). Other generators
// need a cluster or a remote repository and are skipped.
func (d *discovery) argoApplicationSet(file string, n *yaml.Node, via *Via) {
	_, spec := lookup(n, "spec")
	_, tmpl := lookup(spec, "template")
	if tmpl == nil {
		return
	}
	_, gens := lookup(spec, "generators")
	for _, g := range seqItems(gens) {
		_, list := lookup(g, "list")
		_, elems := lookup(list, "elements")
		for _, el := range seqItems(elems) {
			vals := map[string]string{}
			for i := 0; el.Kind == yaml.MappingNode && i+1 < len(el.Content); i += 2 {
				if v := el.Content[i+1]; v.Kind == yaml.ScalarNode {
					vals[el.Content[i].Value] = v.Value
				}
			}
			app := substitute(deepCopy(tmpl), vals)
			name := scalar(app, "metadata", "name")
			d.argoApplication(file, app, &Via{Kind: via.Kind, Name: via.Name + "/" + name, File: via.File, Line: el.Line})
		}
	}
}

var templateVarRE = regexp.MustCompile(`\{\{\s*\.?([A-Za-z0-9_.\-]+)\s*\}\}`)

// substitute replaces {{key}} and {{ .key }} in every scalar of n.
func substitute(n *yaml.Node, vals map[string]string) *yaml.Node {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "{{") {
		n.Value = templateVarRE.ReplaceAllStringFunc(n.Value, func(m string) string {
			if v, ok := vals[templateVarRE.FindStringSubmatch(m)[1]]; ok {
				return v
			}
			return m
		})
	}
	for _, c := range n.Content {
		substitute(c, vals)
	}
	return n
}

func (d *discovery) isChart(dir string) bool { return d.fs.Exists(path.Join(dir, "Chart.yaml")) }

func (d *discovery) argoHelm(file, dir string, helm *yaml.Node, refs map[string]string, via *Via) *HelmOptions {
	h := &HelmOptions{ReleaseName: scalar(helm, "releaseName"), IncludeTests: d.opts.IncludeHelmTests}
	_, vf := lookup(helm, "valueFiles")
	for _, it := range seqItems(vf) {
		v := it.Value
		var p string
		if ref, rest, ok := strings.Cut(v, "/"); ok && strings.HasPrefix(ref, "$") {
			base, known := refs[ref]
			if base == otherRepoRef {
				d.repo.Skipped = append(d.repo.Skipped, Skipped{File: file, Line: it.Line, Reason: SkipOtherRepo,
					Detail: fmt.Sprintf("%s %s: value file %s", via.Kind, via.Name, v)})
				continue
			}
			if !known {
				d.repo.Errors = append(d.repo.Errors, errorf(file, it.Line, "value file %q uses unknown source ref %s", v, ref))
				continue
			}
			p = path.Join(base, rest)
		} else {
			p = path.Join(dir, v)
		}
		rel, err := d.fs.Rel(p)
		if err != nil {
			d.repo.Errors = append(d.repo.Errors, errorf(file, it.Line, "value file %q: %v", v, err))
			continue
		}
		if _, err := d.fs.Stat(rel); err != nil {
			switch {
			case !errors.Is(err, fs.ErrNotExist):
				d.repo.Errors = append(d.repo.Errors, errorf(file, it.Line, "value file %q: %v", v, unwrapPathErr(err)))
			case scalar(helm, "ignoreMissingValueFiles") != "true":
				d.repo.Errors = append(d.repo.Errors, errorf(file, it.Line, "value file %q not found (looked for %s)", v, rel))
			}
			continue
		}
		h.ValueFiles = append(h.ValueFiles, rel)
	}
	if _, v := lookup(helm, "values"); v != nil {
		if v.Kind == yaml.ScalarNode {
			if docs, err := parseDocuments(file, []byte(v.Value)); err == nil && len(docs) == 1 {
				src, _ := d.fs.ReadFile(file)
				inl := inlineDocs(src, v)
				if len(inl) == 1 {
					h.Values = append(h.Values, InlineValues{Node: inl[0], File: file})
				}
			} else if err != nil {
				d.repo.Errors = append(d.repo.Errors, errorf(file, v.Line, "helm.values: %v", err))
			}
		} else if v.Kind == yaml.MappingNode {
			h.Values = append(h.Values, InlineValues{Node: v, File: file})
		}
	}
	if _, v := lookup(helm, "valuesObject"); v != nil && v.Kind == yaml.MappingNode {
		h.Values = append(h.Values, InlineValues{Node: v, File: file})
	}
	_, params := lookup(helm, "parameters")
	for _, it := range seqItems(params) {
		if name := scalar(it, "name"); name != "" {
			h.Set = append(h.Set, name+"="+scalar(it, "value"))
		}
	}
	return h
}

func (d *discovery) fluxHelmRelease(file string, n *yaml.Node, via *Via) {
	_, spec := lookup(n, "spec")
	_, chartSpec := lookup(spec, "chart")
	_, chartSpec = lookup(chartSpec, "spec")
	ns := scalar(spec, "targetNamespace")
	if ns == "" {
		ns = scalar(n, "metadata", "namespace")
	}
	_, ref := lookup(chartSpec, "sourceRef")
	if k := scalar(ref, "kind"); k != "GitRepository" {
		if k == "" {
			k = "chartRef " + scalar(spec, "chartRef", "kind")
		}
		d.skipSource(ns, via, SkipChartRepo, fmt.Sprintf("chart %s from %s %s", scalar(chartSpec, "chart"), k, scalar(ref, "name")))
		return
	}
	if ok, detail := d.fluxGitSource(ref, scalar(n, "metadata", "namespace")); !ok {
		d.skipSource(ns, via, SkipOtherRepo, detail)
		return
	}
	dir, ok := d.repoPath(scalar(chartSpec, "chart"))
	if !ok || !d.isChart(dir) {
		d.skipSource(ns, via, SkipNotInCheckout, "chart "+scalar(chartSpec, "chart"))
		return
	}
	release := scalar(spec, "releaseName")
	if release == "" {
		release = via.Name
		if tns := scalar(spec, "targetNamespace"); tns != "" {
			release = tns + "-" + via.Name
		}
	}
	h := &HelmOptions{ReleaseName: release, IncludeTests: d.opts.IncludeHelmTests}
	_, vfs := lookup(chartSpec, "valuesFiles")
	for _, it := range seqItems(vfs) {
		rel, ok := d.repoPath(it.Value)
		if !ok {
			d.repo.Errors = append(d.repo.Errors, errorf(file, it.Line, "values file %q not found in the repository", it.Value))
			continue
		}
		h.ValueFiles = append(h.ValueFiles, rel)
	}
	if _, v := lookup(spec, "values"); v != nil && v.Kind == yaml.MappingNode {
		h.Values = append(h.Values, InlineValues{Node: v, File: file})
	}
	d.addVia(&Target{Kind: KindHelm, Path: dir, Namespace: ns, Helm: h, Via: via})
}

func (d *discovery) fluxKustomization(file string, n *yaml.Node, via *Via) {
	_, spec := lookup(n, "spec")
	_, ref := lookup(spec, "sourceRef")
	tns := scalar(spec, "targetNamespace")
	switch k := scalar(ref, "kind"); {
	case k == "GitRepository":
		if ok, detail := d.fluxGitSource(ref, scalar(n, "metadata", "namespace")); !ok {
			d.skipSource(tns, via, SkipOtherRepo, detail)
			return
		}
	case k != "" && k != "Bucket":
		d.skipSource(tns, via, SkipChartRepo, fmt.Sprintf("%s %s", k, scalar(ref, "name")))
		return
	}
	p := scalar(spec, "path")
	if p == "" {
		p = "."
	}
	dir, ok := d.repoPath(p)
	if !ok {
		d.skipSource(tns, via, SkipNotInCheckout, "path "+p)
		return
	}
	t := &Target{Path: dir, Via: via, Namespace: scalar(spec, "targetNamespace")}
	t.ForceNamespace = t.Namespace != ""
	if findKustomization(d.fs, dir) != "" {
		t.Kind = KindKustomize
		d.addVia(t)
		return
	}
	// Flux generates a kustomization for a path without one: the manifests
	// of the tree, where a directory with a kustomization of its own is
	// built by kustomize (and not read file by file: its files may be
	// patches and bases). Kustomizations used as bases there are built
	// through their overlays only.
	t.Kind, t.Recurse = KindManifests, true
	d.addVia(t)
	for _, k := range d.kustDirs {
		if !strings.HasPrefix(k, dir+"/") && dir != "." || d.used[k] || d.kusts[k] == nil || d.underKustomization(k, dir) {
			continue
		}
		d.addVia(&Target{Kind: KindKustomize, Path: k, Via: via, Namespace: t.Namespace, ForceNamespace: t.ForceNamespace})
	}
}

// underKustomization reports whether dir lies below another directory
// with a kustomization, strictly between top and dir: Flux's generator
// does not descend into that directory.
func (d *discovery) underKustomization(dir, top string) bool {
	for p := path.Dir(dir); p != top && p != "."; p = path.Dir(p) {
		if d.kusts[p] != nil || findKustomization(d.fs, p) != "" {
			return true
		}
	}
	return false
}

// unrendered records a GitOps object whose source is not rendered, when
// it names the namespace it deploys into (objects that do not may deploy
// anywhere their manifests say, which cannot be known).
func (d *discovery) unrendered(ns string, via *Via) {
	if ns != "" {
		d.repo.Unrendered = append(d.repo.Unrendered, Unrendered{Namespace: ns, Via: via})
	}
}

// addVia adds a target deployed by a GitOps object and marks its path as
// consumed, so it is not also linted on its own with defaults.
func (d *discovery) addVia(t *Target) {
	d.repo.Targets = append(d.repo.Targets, t)
	d.used[t.Path] = true
	d.consumed[t.Path] = true
	if t.Kind == KindManifests && t.Recurse {
		d.consumed[t.Path+"/**"] = true
	}
}

// addStandalone adds the charts, kustomizations and manifest files that
// nothing else in the repository renders.
func (d *discovery) addStandalone() {
	for _, c := range d.charts {
		if !d.used[c] {
			d.repo.Targets = append(d.repo.Targets, &Target{Kind: KindHelm, Path: c, Helm: &HelmOptions{IncludeTests: d.opts.IncludeHelmTests}})
		}
	}
	for _, k := range d.kustDirs {
		if _, ok := d.kusts[k]; ok && !d.used[k] {
			d.repo.Targets = append(d.repo.Targets, &Target{Kind: KindKustomize, Path: k})
		}
	}
	valueFiles := map[string]bool{}
	for _, t := range d.repo.Targets {
		if t.Helm != nil {
			for _, v := range t.Helm.ValueFiles {
				valueFiles[v] = true
			}
		}
	}
	for _, f := range d.yamlFiles {
		if d.consumedFile(f) || d.consumedRecursively(f) {
			continue
		}
		if githubFile(f) {
			d.skip(f, SkipGitHub)
			continue
		}
		if f == configFileName {
			continue // the config: read, not skipped
		}
		v, ok := d.verdict(f)
		if !ok {
			_, _, _, err := d.files.parsed(f)
			d.repo.Errors = append(d.repo.Errors, fileError(f, err))
			continue
		}
		if e := d.unpackagedTemplate(f, v); e != nil {
			d.repo.Errors = append(d.repo.Errors, e)
			continue
		}
		switch kind := v.Kind; {
		case kind == "":
			d.repo.Targets = append(d.repo.Targets, &Target{Kind: KindManifests, Path: f})
		case valueFiles[f]:
			// A values file of a release: an input of its target.
		default:
			d.skip(f, kind)
		}
	}
}

// manifestKind decides on a parsed file: "" when it is a manifest (one
// of its documents is an object with apiVersion and kind, or it does not
// parse but has apiVersion and kind lines: rendering reports the error
// with its line), else the reason it is skipped.
func manifestKind(docs []*yaml.Node, perr error, src []byte) string {
	objects := false
	for _, doc := range docs {
		for _, n := range expandLists(doc) {
			if isPatchFragment(n) {
				// The file holds strategic merge patches (of an overlay
				// that lists it, or of one that no longer does).
				return SkipPatch
			}
			objects = objects || isObject(n)
		}
	}
	switch {
	case objects:
		return ""
	case perr != nil && looksLikeManifest(src):
		return ""
	case perr != nil:
		return SkipNotYAML
	}
	return SkipNotKubernetes
}

// configFileName is kubeharden's config file, at the root.
const configFileName = ".kubeharden.yaml"

// githubFile reports whether a file is GitHub's configuration (workflows,
// issue templates, dependabot): never deployed, though a workflow may
// quote a manifest.
func githubFile(rel string) bool { return strings.HasPrefix(rel, ".github/") }

// unpackagedTemplate returns an error for a YAML file that is a Helm
// template of a chart with no Chart.yaml in the repository (a chart whose
// Chart.yaml a release build generates from Chart.template.yaml, or
// partial chart sources): a file in a templates directory beside a
// values.yaml, with template actions, that is not plain YAML (it does
// not parse, or it parses only as flow mappings used as keys, which is
// what "{{ .Values.x }}" reads as). Such a file cannot be rendered
// without its chart. A file there that parses, with "{{" only in a
// comment or a string, is plain YAML and nil is returned.
func (d *discovery) unpackagedTemplate(file string, v FileVerdict) *Error {
	dir := path.Dir(file)
	for ; dir != "." && path.Base(dir) != "templates"; dir = path.Dir(dir) {
	}
	if path.Base(dir) != "templates" || v.TemplateLine == 0 {
		return nil
	}
	chart := path.Dir(dir)
	if !d.fs.Exists(path.Join(chart, "values.yaml")) && !d.fs.Exists(path.Join(chart, "Chart.template.yaml")) {
		return nil
	}
	if v.Plain {
		return nil
	}
	return errorf(file, v.TemplateLine, "looks like a Helm template outside a chart (%s has no Chart.yaml); not linted", chart)
}

// verdict returns the FileVerdict of a YAML file, from opts.Verdicts or
// by parsing it; false when it cannot be read (parsed says why).
func (d *discovery) verdict(file string) (FileVerdict, bool) {
	if d.opts.Verdicts != nil {
		if v, ok := d.opts.Verdicts.Verdict(file); ok {
			return v, true
		}
	}
	src, docs, perr, err := d.files.parsed(file)
	if err != nil {
		return FileVerdict{}, false
	}
	v := fileVerdict(src, docs, perr)
	if d.opts.Verdicts != nil {
		d.opts.Verdicts.SetVerdict(file, v)
	}
	return v, true
}

// fileVerdict computes the FileVerdict of a parsed file.
func fileVerdict(src []byte, docs []*yaml.Node, perr error) FileVerdict {
	v := FileVerdict{
		GitOps: mayBeGitOps(src) || strings.Contains(string(src), "source.toolkit.fluxcd.io"),
		Kind:   manifestKind(docs, perr, src),
		Plain:  perr == nil && !slices.ContainsFunc(docs, hasNodeKey),
	}
	if i := bytes.Index(src, []byte("{{")); i >= 0 {
		v.TemplateLine = 1 + bytes.Count(src[:i], []byte("\n"))
	}
	return v
}

// hasNodeKey reports whether a mapping under n has a key that is not a
// scalar: "{{ .Values.x }}" parses as a flow mapping whose key is one.
func hasNodeKey(n *yaml.Node) bool {
	if n.Kind == yaml.MappingNode {
		for i := 0; i < len(n.Content); i += 2 {
			if n.Content[i].Kind != yaml.ScalarNode {
				return true
			}
		}
	}
	return slices.ContainsFunc(n.Content, hasNodeKey)
}

var (
	kindLineRE       = regexp.MustCompile(`(?m)^\s*(?:-\s+)?kind:\s*\S`)
	apiVersionLineRE = regexp.MustCompile(`(?m)^\s*(?:-\s+)?apiVersion:\s*\S`)
)

// looksLikeManifest reports whether a file that does not parse has kind
// and apiVersion lines: a manifest with a syntax error, which rendering
// reports at its line, rather than some other file.
func looksLikeManifest(src []byte) bool {
	return kindLineRE.Match(src) && apiVersionLineRE.Match(src)
}

// reportCycles reports the kustomizations that include each other in a
// cycle that no target reaches: they are all "used", so none is a target
// whose rendering would say so, and they would silently not be linted.
func (d *discovery) reportCycles() {
	children := func(dir string) []entry {
		var out []entry
		for _, r := range d.kusts[dir].resources {
			if child, err := d.fs.Rel(path.Join(dir, r.value)); err == nil && d.kusts[child] != nil {
				out = append(out, entry{value: child, line: r.line})
			}
		}
		return out
	}
	done := map[string]bool{} // reached by a target, or searched already
	var reach func(dir string)
	reach = func(dir string) {
		if done[dir] {
			return
		}
		done[dir] = true
		for _, c := range children(dir) {
			reach(c.value)
		}
	}
	for _, t := range d.repo.Targets {
		if t.Kind == KindKustomize && d.kusts[t.Path] != nil {
			reach(t.Path)
		}
	}
	var stack []string
	var search func(dir string)
	search = func(dir string) {
		done[dir] = true
		stack = append(stack, dir)
		for _, c := range children(dir) {
			if i := slices.Index(stack, c.value); i >= 0 {
				cycle := strings.Join(append(slices.Clone(stack[i:]), c.value), " -> ")
				d.repo.Errors = append(d.repo.Errors, errorf(d.kusts[dir].file, c.line, "kustomization cycle: %s", cycle))
			} else if !done[c.value] {
				search(c.value)
			}
		}
		stack = stack[:len(stack)-1]
	}
	for _, dir := range d.kustDirs {
		if d.kusts[dir] != nil && !done[dir] {
			search(dir)
		}
	}
}

func (d *discovery) consumedRecursively(f string) bool {
	for dir := path.Dir(f); ; dir = path.Dir(dir) {
		if d.consumed[dir+"/**"] {
			return true
		}
		if dir == "." {
			return false
		}
	}
}

// filter keeps only the targets under the include globs, if any.
func (d *discovery) filter() {
	if len(d.opts.Include) == 0 {
		return
	}
	d.repo.Targets = slices.DeleteFunc(d.repo.Targets, func(t *Target) bool {
		for p := t.Path; ; p = path.Dir(p) {
			for _, pat := range d.opts.Include {
				if ok, _ := doublestar.Match(pat, p); ok {
					return false
				}
			}
			if p == "." || p == "/" {
				return true
			}
		}
	})
}
