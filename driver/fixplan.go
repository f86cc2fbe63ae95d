package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/render"
)

// plan is the edits a set of candidate findings needs, by file.
type plan struct {
	// tmpl are the patches planned into Helm templates, by file (in the
	// order of tmplFiles), and tmplWhy why each candidate's go there (no
	// values key reaches the field); raw are the edits they lower to.
	tmpl      map[string][]fix.TemplatePatch
	tmplFiles []string
	tmplWhy   map[int]string
	raw       []fix.OwnedEdit
	orig      map[string][]byte // content before the plan (nil: new file)
	files     map[string][]byte // content after
	// by[i] are the files candidate i's fix touches.
	by map[int][]string
	// failed[i] says why candidate i cannot be fixed.
	failed map[int]string
	// inline are the edits of inline Helm values, by the file of the
	// GitOps object that holds them: that object changes there, as
	// intended.
	inline map[string][]inlineEdit
}

func (p *plan) touched(i int) []string {
	out := slices.Clone(p.by[i])
	slices.Sort(out)
	return slices.Compact(out)
}

// docKey identifies a document of a file by the position of its node.
type docKey struct {
	file      string
	line, col int
}

// docEdit is the patches that go into one existing document.
type docEdit struct {
	file    string
	node    *yaml.Node
	patches []fix.Patch
	owners  []int // candidate of each patch
}

// newDoc is a document the plan creates: an overlay patch or a new object,
// in a file of its own.
type newDoc struct {
	file    string
	node    *yaml.Node // skeleton to lower patches onto, or the whole object
	patches []fix.Patch
	owners  []int
	// list names the kustomization that must list the file, and under
	// which key (patches or resources).
	kustomization, list string
}

// baseUse is a patch a candidate wants in a Kustomize base resource.
type baseUse struct {
	cand    int
	obj     *lint.Object
	patches []fix.Patch
}

func (f *fixer) plan(ctx context.Context, snap *Snapshot, cands []lint.Finding) *plan {
	p := &plan{orig: map[string][]byte{}, files: map[string][]byte{}, by: map[int][]string{}, failed: map[int]string{}}
	docs := map[docKey]*docEdit{}
	var docOrder []docKey
	addDoc := func(d render.Doc, i int, ps ...fix.Patch) {
		k := docKey{d.File, d.Node.Line, d.Node.Column}
		de := docs[k]
		if de == nil {
			de = &docEdit{file: d.File, node: d.Node}
			docs[k] = de
			docOrder = append(docOrder, k)
		}
		for _, pt := range ps {
			de.patches = append(de.patches, pt)
			de.owners = append(de.owners, i)
		}
	}
	news := map[string]*newDoc{}
	var newOrder []string
	bases := map[docKey][]baseUse{}
	var baseOrder []docKey

	for i, c := range cands {
		src := snap.sources[c.Object]
		for _, n := range c.Fix.New {
			if err := f.placeNew(snap.renderer.FS(), news, &newOrder, src.target, n, i); err != nil {
				p.failed[i] = err.Error()
			}
		}
		if len(c.Fix.Patches) == 0 {
			continue
		}
		docsOf := src.object.Docs()
		if len(docsOf) == 0 && src.target.Kind == render.KindHelm {
			if err := f.helmValues(ctx, snap, c, i, addDoc, p); err != nil {
				p.failed[i] = err.Error()
			}
			continue
		}
		if len(docsOf) == 0 {
			p.failed[i] = noSourceReason(c)
			continue
		}
		base := docsOf[len(docsOf)-1]
		for _, pt := range c.Fix.Patches {
			loc := src.object.Source.Locate(pt.Path)
			if d, at, ok := patchDoc(docsOf, loc, pt); ok {
				pt.Path = at
				addDoc(d, i, pt)
				continue
			}
			if base.At != nil {
				p.failed[i] = fmt.Sprintf("%s is built from JSON 6902 operations only (%s); edit them by hand", c.Object.Resource, base.File)
				continue
			}
			if base.Origin != lint.OriginKustomizeBase {
				addDoc(base, i, pt)
				continue
			}
			k := docKey{base.File, base.Node.Line, base.Node.Column}
			uses := bases[k]
			if len(uses) == 0 || uses[len(uses)-1].obj != c.Object {
				if len(uses) == 0 {
					baseOrder = append(baseOrder, k)
				}
				uses = append(uses, baseUse{cand: i, obj: c.Object})
			}
			uses[len(uses)-1].patches = append(uses[len(uses)-1].patches, pt)
			bases[k] = uses
		}
	}

	// A patch goes into a base resource when every object rendered from
	// the base wants it; otherwise into a patch of each overlay that does.
	users := snap.baseUsers()
	for _, k := range baseOrder {
		uses := bases[k]
		wantedBy := map[string]int{}
		for _, u := range uses {
			for _, pt := range patchSet(u.patches) {
				wantedBy[pt]++
			}
		}
		for _, u := range uses {
			var own []fix.Patch
			for _, pt := range u.patches {
				if wantedBy[pt.String()] == len(users[k]) && !snap.brokenReads(k.file) {
					addDoc(render.Doc{File: k.file, Node: baseNode(snap, u.obj)}, u.cand, pt)
				} else {
					own = append(own, pt)
				}
			}
			if len(own) == 0 {
				continue
			}
			u.patches = own
			if err := f.overlayPatch(news, &newOrder, addDoc, snap, u); err != nil {
				p.failed[u.cand] = err.Error()
			}
		}
	}

	f.templateEdits(p)
	f.lowerPlan(p, docs, docOrder, news, newOrder)
	return p
}

// templateEdits lowers the planned template patches of every candidate
// together, file by file, so that the fields several fixes add to one
// mapping go in as one entry and an edit several targets want is made
// once (fix.TemplateEdits).
func (f *fixer) templateEdits(p *plan) {
	for _, file := range p.tmplFiles {
		edits, failed := fix.TemplateEdits(file, f.read(file), p.tmpl[file])
		p.raw = append(p.raw, edits...)
		for o, reason := range failed {
			if _, ok := p.failed[o]; !ok {
				p.failed[o] = fmt.Sprintf("%s (no template edit: %s)", p.tmplWhy[o], reason)
			}
		}
	}
}

// helmValues plans a Helm-rendered finding's patches into the values
// that render the fields: the values file (or inline values of the GitOps
// object) the deployment uses, found by probing the chart.
func (f *fixer) helmValues(ctx context.Context, snap *Snapshot, c lint.Finding, i int, addDoc func(render.Doc, int, ...fix.Patch), p *plan) error {
	src := snap.sources[c.Object]
	type planned struct {
		doc render.Doc
		p   fix.Patch
	}
	var out []planned
	type inTemplate struct {
		file string
		tp   fix.TemplatePatch
	}
	var tmpl []inTemplate
	why := ""
	for _, pt := range c.Fix.Patches {
		site, err := snap.renderer.ValuesSite(ctx, src.target, src.object, pt.Path)
		var nk *render.NoValuesKeyError
		if errors.As(err, &nk) && nk.Template.File != "" {
			// No values key reaches the field: edit the template's
			// literal YAML, where it has the field's parent as a plain
			// line (lowered with the other candidates' template
			// patches, in templateEdits).
			tmpl = append(tmpl, inTemplate{nk.Template.File, fix.TemplatePatch{Line: nk.Template.Line, Obj: src.object.Node, Patch: pt, Owner: i}})
			if why == "" {
				why = err.Error()
			}
			continue
		}
		if err != nil {
			return err
		}
		vp := pt
		vp.Path = site.Path
		if site.Layer == render.LayerInline {
			if p.inline == nil {
				p.inline = map[string][]inlineEdit{}
			}
			p.inline[site.File] = append(p.inline[site.File], inlineEdit{site.Node.Line, site.Node.Column, site.Path})
		}
		out = append(out, planned{render.Doc{File: site.File, Origin: lint.OriginHelmValues, Node: site.Node}, vp})
	}
	for _, pl := range out {
		addDoc(pl.doc, i, pl.p)
	}
	for _, pl := range tmpl {
		if p.tmpl == nil {
			p.tmpl, p.tmplWhy = map[string][]fix.TemplatePatch{}, map[int]string{}
		}
		if _, ok := p.tmpl[pl.file]; !ok {
			p.tmplFiles = append(p.tmplFiles, pl.file)
		}
		p.tmpl[pl.file] = append(p.tmpl[pl.file], pl.tp)
		p.tmplWhy[i] = why
	}
	return nil
}

// inlineEdit is a path written in the inline values mapping at line:col.
type inlineEdit struct {
	line, col int
	path      ypath.Path
}

// noSourceReason says why a finding's object, not rendered by Helm (whose
// findings go to helmValues), has no document to edit.
func noSourceReason(c lint.Finding) string {
	switch c.Location.Origin {
	case lint.OriginUnknown, "":
		return fmt.Sprintf("%s is generated (not written in a file of the repository)", c.Object.Resource)
	}
	return fmt.Sprintf("%s cannot be edited where it is written (%s)", c.Object.Resource, c.Location.Origin)
}

// patchDoc returns the overlay patch document that writes the field (or
// its deepest written ancestor), if the field comes from one, and the
// path of the field in it. Several inline patches share their
// kustomization's file: the one that writes most of the path is the
// one, the last applied on a tie (docs are in precedence order). A JSON
// 6902 operation is edited only where it writes the field or an ancestor
// (its value), and never by deleting its value.
func patchDoc(docs []render.Doc, loc render.Location, pt fix.Patch) (render.Doc, ypath.Path, bool) {
	if loc.Origin != lint.OriginKustomizePatch {
		return render.Doc{}, nil, false
	}
	best, bestAt, depth := render.Doc{}, ypath.Path(nil), -1
	for _, d := range docs {
		if d.File != loc.File || d.Origin != lint.OriginKustomizePatch {
			continue
		}
		at, ok := d.Path(pt.Path)
		if !ok || d.At != nil && pt.Op == fix.OpDelete && len(at) == 1 {
			continue
		}
		// Depth in the object's terms: an operation's value is at At.
		if m := ypath.Walk(d.Node, at); m.Depth+len(pt.Path)-len(at) > depth {
			best, bestAt, depth = d, at, m.Depth+len(pt.Path)-len(at)
		}
	}
	return best, bestAt, depth >= 0
}

// baseUsers maps each Kustomize base document to the objects rendered
// from it, across every target; computed once per snapshot.
func (snap *Snapshot) baseUsers() map[docKey][]*lint.Object {
	if snap.users != nil {
		return snap.users
	}
	out := map[docKey][]*lint.Object{}
	for _, o := range snap.objects {
		ds := snap.sources[o].object.Docs()
		if len(ds) == 0 || ds[len(ds)-1].Origin != lint.OriginKustomizeBase {
			continue
		}
		b := ds[len(ds)-1]
		k := docKey{b.File, b.Node.Line, b.Node.Column}
		out[k] = append(out[k], o)
	}
	snap.users = out
	return out
}

// brokenReads reports whether a target that failed to render reads file:
// the objects it would render from it are not among the file's users, so
// a base edit would reach objects nobody checked (an overlay whose remote
// resource is refused still deploys the base it shares).
func (snap *Snapshot) brokenReads(file string) bool {
	if v, ok := snap.broken[file]; ok {
		return v
	}
	if snap.broken == nil {
		snap.broken = map[string]bool{}
	}
	v := snap.readByBroken(file)
	snap.broken[file] = v
	return v
}

// readByBroken computes brokenReads.
func (snap *Snapshot) readByBroken(file string) bool {
	fsys := snap.renderer.FS()
	for _, t := range snap.targets {
		res, ok := snap.results[t.ID()]
		if !ok || res.err == nil {
			continue
		}
		if render.Affects(snap.renderer.Inputs(t), file) ||
			t.Kind == render.KindKustomize && render.Affects(localTree(fsys, t.Path), file) {
			return true
		}
	}
	// Kustomizations that discovery could not make targets of (a refused
	// remote resource) are errors naming their kustomization file.
	for _, e := range snap.Errors {
		if e.Target != "" || render.KustomizationFile(fsys, path.Dir(e.File)) != e.File {
			continue
		}
		if render.Affects(localTree(fsys, path.Dir(e.File)), file) {
			return true
		}
	}
	return false
}

// localTree returns the directory of a kustomization and, recursively
// (bounded), the local resources, bases and components it reaches, read
// as plain YAML so that a tree krusty refuses (a remote resource deep
// inside) is still known.
func localTree(fsys *render.FS, dir string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(dir string, depth int)
	walk = func(dir string, depth int) {
		if seen[dir] || depth > 32 || len(seen) > 4096 {
			return
		}
		seen[dir] = true
		out = append(out, dir)
		kfile := render.KustomizationFile(fsys, dir)
		if kfile == "" {
			return
		}
		for _, r := range localResources(fsys, kfile) {
			if fsys.IsDir(r) {
				walk(r, depth+1)
			} else {
				out = append(out, r)
			}
		}
	}
	walk(dir, 0)
	return out
}

// localResources returns the root-relative paths of the local resources,
// bases and components a kustomization file lists (remote ones left out),
// read as plain YAML: the file may be one krusty refuses.
func localResources(fsys *render.FS, kfile string) []string {
	src, err := fsys.ReadFile(kfile)
	if err != nil {
		return nil
	}
	var k struct {
		Resources  []string `yaml:"resources"`
		Bases      []string `yaml:"bases"`
		Components []string `yaml:"components"`
	}
	if yaml.Unmarshal(src, &k) != nil {
		return nil
	}
	var out []string
	for _, r := range slices.Concat(k.Resources, k.Bases, k.Components) {
		if strings.Contains(r, "://") || strings.HasPrefix(r, "github.com/") {
			continue
		}
		if p, err := fsys.Rel(fsys.Abs(path.Join(path.Dir(kfile), r))); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func patchSet(ps []fix.Patch) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func baseNode(snap *Snapshot, o *lint.Object) *yaml.Node {
	ds := snap.sources[o].object.Docs()
	return ds[len(ds)-1].Node
}

// overlayPatch plans a strategic-merge patch in the object's own overlay
// carrying the patches, listed in the overlay's kustomization. An overlay
// patch kubeharden wrote before is extended instead.
func (f *fixer) overlayPatch(news map[string]*newDoc, order *[]string, addDoc func(render.Doc, int, ...fix.Patch), snap *Snapshot, u baseUse) error {
	src := snap.sources[u.obj]
	t := src.target
	if t.Kind != render.KindKustomize {
		return fmt.Errorf("%s comes from a shared base but is not built by a kustomization", u.obj.Resource)
	}
	kfile := render.KustomizationFile(snap.renderer.FS(), t.Path)
	if kfile == "" {
		return fmt.Errorf("%s has no kustomization file", t.Path)
	}
	base := baseNode(snap, u.obj)
	kind, name := nodeString(base, "kind"), nodeString(base, "metadata", "name")
	file := path.Join(t.Path, "kubeharden-"+fileSafe(strings.ToLower(kind))+"-"+fileSafe(name)+".yaml")
	for _, d := range src.object.Docs() {
		if d.File == file && d.Origin == lint.OriginKustomizePatch {
			addDoc(d, u.cand, u.patches...)
			return nil
		}
	}
	if f.read(file) != nil {
		return fmt.Errorf("%s exists but is not a patch of %s in %s; remove or list it", file, u.obj.Resource, kfile)
	}
	nd := news[file]
	if nd == nil {
		skel := &yaml.Node{Kind: yaml.MappingNode}
		setScalar(skel, "apiVersion", nodeString(base, "apiVersion"))
		setScalar(skel, "kind", kind)
		meta := &yaml.Node{Kind: yaml.MappingNode}
		setScalar(meta, "name", name)
		if ns := nodeString(base, "metadata", "namespace"); ns != "" {
			setScalar(meta, "namespace", ns)
		}
		skel.Content = append(skel.Content, scalarNode("metadata"), meta)
		nd = &newDoc{file: file, node: skel, kustomization: kfile, list: "patches"}
		news[file] = nd
		*order = append(*order, file)
	}
	for _, pt := range u.patches {
		pt, err := smpPatch(u.obj, pt)
		if err != nil {
			return err
		}
		addElements(nd.node, pt.Path)
		nd.patches = append(nd.patches, pt)
		nd.owners = append(nd.owners, u.cand)
	}
	return nil
}

// smpPatch turns a patch of the rendered object into one for a strategic
// merge patch document: lists of scalars are replaced whole by a merge
// patch, so ensuring an item sets the whole list; a deletion would need
// a $patch directive and is refused.
func smpPatch(o *lint.Object, p fix.Patch) (fix.Patch, error) {
	switch p.Op {
	case fix.OpDelete:
		return p, fmt.Errorf("cannot delete %s through an overlay patch; edit the base", p.Path)
	case fix.OpEnsureItem:
		var items []any
		if n := o.Get(p.Path); n != nil {
			if err := n.Decode(&items); err != nil {
				return p, fmt.Errorf("%s: %v", p.Path, err)
			}
		}
		var item any
		if err := p.Value.Decode(&item); err != nil {
			return p, err
		}
		if !slices.Contains(items, item) {
			items = append(items, item)
		}
		return fix.Set(p.Path, items), nil
	}
	return p, nil
}

// addElements adds to the skeleton n the mappings and named list elements
// that path p passes through, so that lowering p only has to fill in the
// field (fixes never create list elements, but a patch document must
// name the element it patches).
func addElements(n *yaml.Node, p ypath.Path) {
	for i, seg := range p {
		last := i == len(p)-1
		if key, val, ok := ypath.SplitElem(seg); ok {
			if n.Kind != yaml.SequenceNode {
				return
			}
			var el *yaml.Node
			for _, c := range n.Content {
				if nodeString(c, key) == val {
					el = c
				}
			}
			if el == nil {
				el = &yaml.Node{Kind: yaml.MappingNode}
				setScalar(el, key, val)
				n.Content = append(n.Content, el)
			}
			n = el
			continue
		}
		if last || n.Kind != yaml.MappingNode {
			return
		}
		_, v := ypath.Lookup(n, seg)
		if v == nil {
			if _, _, isElem := ypath.SplitElem(p[i+1]); isElem {
				v = &yaml.Node{Kind: yaml.SequenceNode}
			} else if hasElem(p[i+1:]) {
				v = &yaml.Node{Kind: yaml.MappingNode}
			} else {
				return // the rest is created by lowering
			}
			n.Content = append(n.Content, scalarNode(seg), v)
		}
		n = v
	}
}

func hasElem(p ypath.Path) bool {
	return slices.ContainsFunc(p, func(s string) bool { _, _, ok := ypath.SplitElem(s); return ok })
}

// placeNew plans a new object written in a file of its own next to the
// target's sources: in a kustomize overlay (listed under resources), or in
// the manifest directory.
func (f *fixer) placeNew(state *render.FS, news map[string]*newDoc, order *[]string, t *render.Target, n *yaml.Node, i int) error {
	kind, name := nodeString(n, "kind"), nodeString(n, "metadata", "name")
	ns := nodeString(n, "metadata", "namespace")
	base := fileSafe(strings.ToLower(kind)) + "-" + fileSafe(name)
	var dir, kfile string
	switch t.Kind {
	case render.KindKustomize:
		dir = t.Path
		if kfile = render.KustomizationFile(state, dir); kfile == "" {
			return fmt.Errorf("%s has no kustomization file", dir)
		}
	case render.KindManifests:
		dir = t.Path
		if !state.IsDir(dir) {
			dir = path.Dir(dir)
		}
		if ns != "" {
			base = fileSafe(ns) + "-" + base
		}
	case render.KindHelm:
		// Next to the Argo CD or Flux object that deploys the chart: the
		// chart may be shared or not the repository's to change, and the
		// GitOps object's directory is what the cluster syncs.
		if t.Via == nil || t.Via.File == "" {
			return fmt.Errorf("adding %s %s to the Helm chart %s is not supported; add it to the chart's templates", kind, name, t.Path)
		}
		dir = path.Dir(t.Via.File)
		if ns != "" {
			base = fileSafe(ns) + "-" + base
		}
	default:
		return fmt.Errorf("cannot add %s %s to %s", kind, name, t.Path)
	}
	file := path.Join(dir, base+".yaml")
	if nd := news[file]; nd != nil {
		if !equalYAML(nd.node, n) {
			return fmt.Errorf("%s is planned twice with different content", file)
		}
		nd.owners = append(nd.owners, i)
		return nil
	}
	if f.read(file) != nil {
		return fmt.Errorf("%s already exists; add the %s there by hand", file, kind)
	}
	news[file] = &newDoc{file: file, node: n, owners: []int{i}, kustomization: kfile, list: "resources"}
	*order = append(*order, file)
	return nil
}

// lowerPlan turns the planned document edits and new documents into file
// contents: new files are written here, the kustomizations that must list
// them are patched, and fix.LowerFiles lowers and applies the rest.
func (f *fixer) lowerPlan(p *plan, docs map[docKey]*docEdit, docOrder []docKey, news map[string]*newDoc, newOrder []string) {
	// Kustomization entries for new files, by kustomization.
	kpatches := map[string]*docEdit{}
	var kOrder []string

	for _, file := range newOrder {
		nd := news[file]
		text, err := f.newFileText(nd)
		if err != nil {
			for _, o := range nd.owners {
				p.failed[o] = err.Error()
			}
			continue
		}
		p.orig[file] = nil
		p.files[file] = text
		for _, o := range nd.owners {
			p.by[o] = append(p.by[o], file)
		}
		ke := kpatches[nd.kustomization]
		if nd.kustomization == "" {
			continue
		}
		if ke == nil {
			ke = &docEdit{file: nd.kustomization}
			kpatches[nd.kustomization] = ke
			kOrder = append(kOrder, nd.kustomization)
		}
		rel := strings.TrimPrefix(file, path.Dir(nd.kustomization)+"/")
		var item any = rel
		if nd.list == "patches" {
			item = map[string]any{"path": rel}
		}
		for _, o := range nd.owners {
			ke.patches = append(ke.patches, fix.EnsureItem(ypath.Path{nd.list}, item))
			ke.owners = append(ke.owners, o)
		}
	}
	for _, kf := range kOrder {
		ke := kpatches[kf]
		src := f.read(kf)
		root, err := documentRoot(src)
		if err != nil {
			for _, o := range ke.owners {
				p.failed[o] = fmt.Sprintf("%s: %v", kf, err)
			}
			continue
		}
		ke.node = root
		k := docKey{kf, root.Line, root.Column}
		if de := docs[k]; de != nil {
			de.patches = append(de.patches, ke.patches...)
			de.owners = append(de.owners, ke.owners...)
		} else {
			docs[k] = ke
			docOrder = append(docOrder, k)
		}
	}

	var dps []fix.DocPatches
	for _, k := range docOrder {
		de := docs[k]
		dps = append(dps, fix.DocPatches{File: de.file, Node: de.node, Patches: de.patches, Owners: de.owners})
	}
	low := fix.LowerFiles(f.read, dps, p.raw)
	maps.Copy(p.orig, low.Orig)
	maps.Copy(p.files, low.Files)
	maps.Copy(p.failed, low.Failed)
	for o, files := range low.Touched {
		p.by[o] = append(p.by[o], files...)
	}
}

// newFileText writes a new document: the skeleton with the patches
// lowered onto it, or the new object, after a header comment.
func (f *fixer) newFileText(nd *newDoc) ([]byte, error) {
	var buf bytes.Buffer
	if nd.list == "patches" {
		buf.WriteString("# Added by kubeharden fix: hardening for this overlay only, since the base is shared.\n")
	} else {
		buf.WriteString("# Added by kubeharden fix.\n")
	}
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(nd.node); err != nil {
		return nil, fmt.Errorf("%s: %v", nd.file, err)
	}
	enc.Close()
	src := buf.Bytes()
	if len(nd.patches) == 0 {
		return src, nil
	}
	root, err := documentRoot(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", nd.file, err)
	}
	es, err := fix.LowerAll(src, root, nd.patches)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", nd.file, err)
	}
	return fix.Apply(src, es)
}

// documentRoot parses the first document of src and returns its root
// mapping.
func documentRoot(src []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("not a YAML mapping")
	}
	return doc.Content[0], nil
}

func nodeString(n *yaml.Node, keys ...string) string {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return ""
		}
		_, n = ypath.Lookup(n, k)
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

func scalarNode(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
}

func setScalar(m *yaml.Node, k, v string) {
	m.Content = append(m.Content, scalarNode(k), scalarNode(v))
}

func equalYAML(a, b *yaml.Node) bool { return len(diffPaths(a, b, nil)) == 0 }

// fileSafe keeps the characters of s that are safe in a file name.
func fileSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_':
			return r
		}
		return '-'
	}, s)
	s = strings.Trim(s, ".-")
	if s == "" {
		return "object"
	}
	return s
}
