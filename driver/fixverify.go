package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/render"
	"github.com/kubeharden/kubeharden/rules"
)

// verify checks the state after the plan against the state before and
// returns, for each candidate to drop, why.
func (f *fixer) verify(before, after *Snapshot, p *plan, cands []lint.Finding) map[int]string {
	b := &blamer{cands: cands, by: p.by, blamed: map[int]string{},
		key: func(c lint.Finding) objKey { return objKey{before.targetID(c.Object), c.Object.Resource} }}
	blamed := b.blamed
	was := fingerprints(before)
	now := fingerprints(after)
	for i, c := range cands {
		if now[lint.Fingerprint(c)] {
			blamed[i] = "the finding is still reported after the fix"
		}
	}
	for _, fd := range append(slices.Clone(after.Findings), after.Suppressed...) {
		if !was[lint.Fingerprint(fd)] {
			b.field(objKey{after.targetID(fd.Object), fd.Object.Resource}, fd.Field, f.inputs(after, fd.Object),
				fmt.Sprintf("the fix causes a new finding: %s %s: %s", fd.Rule.ID, fd.Object.Resource, fd.Message))
		}
	}
	oldErrs := map[string]bool{}
	for _, e := range before.Errors {
		oldErrs[e.Error()] = true
	}
	for _, e := range after.Errors {
		if !oldErrs[e.Error()] {
			b.files([]string{e.File}, "the fix breaks rendering: "+e.Error())
		}
	}
	f.verifyObjects(before, after, p, cands, b)
	verifySources(p, b)
	return blamed
}

// verifySources checks that every YAML file the plan edits or creates
// still parses, document by document, with no key written twice in one
// mapping (templates, edited as text, are checked through what they
// render). A failure is the fixes' that edit the file; a file that was
// already so before the plan is not theirs to answer for.
func verifySources(p *plan, b *blamer) {
	templates := map[string]bool{}
	for _, e := range p.raw {
		templates[e.File] = true
	}
	for _, file := range slices.Sorted(maps.Keys(p.files)) {
		if templates[file] || !isYAMLFile(file) {
			continue
		}
		if orig, ok := p.orig[file]; ok && orig != nil && parsesStrictly(orig) != nil {
			continue // broken before the fix: lint reports that, not the fix
		}
		if err := parsesStrictly(p.files[file]); err != nil {
			b.files([]string{file}, fmt.Sprintf("the fix leaves %s unparsable: %v", file, err))
		}
	}
}

// parsesStrictly parses every YAML document of src and reports the first
// syntax error or key written twice in one mapping.
func parsesStrictly(src []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if d := lint.DuplicateKeys(&doc); len(d) > 0 {
			return fmt.Errorf("line %d: key %q written twice in %s", d[0].Key.Line, d[0].Path[len(d[0].Path)-1], d[0].Path[:len(d[0].Path)-1])
		}
	}
}

// verifyPodStart checks the pod-start invariants of a changed workload:
// the kubelet refuses a container that must run as non-root while its
// effective runAsUser (its own, else the pod's) is 0. A violation the
// object did not have before is the fix's that writes those fields.
func verifyPodStart(after *Snapshot, o, prev *lint.Object, inputs []string, b *blamer) {
	bad := rootButNonRoot(o)
	if len(bad) == 0 {
		return
	}
	old := map[string]bool{}
	if prev != nil {
		for _, c := range rootButNonRoot(prev) {
			old[c] = true
		}
	}
	pt, _ := o.PodTemplate()
	for _, c := range bad {
		if old[c] {
			continue
		}
		// Blame whoever wrote the runAsNonRoot that applies: the
		// container's own, else the pod's.
		field := pt.SpecPath.Append("securityContext", "runAsNonRoot")
		for _, ct := range pt.Containers() {
			if at := ct.Path.Append("securityContext", "runAsNonRoot"); ct.Name == c && o.Get(at) != nil {
				field = at
			}
		}
		b.field(objKey{after.targetID(o), o.Resource}, field, inputs,
			fmt.Sprintf("the fix makes container %q of %s unable to start: runAsNonRoot is true while it runs as UID 0", c, o.Resource))
	}
}

// rootButNonRoot returns the containers of a workload whose effective
// runAsNonRoot is true and effective runAsUser is 0.
func rootButNonRoot(o *lint.Object) []string {
	pt, err := o.PodTemplate()
	if err != nil || pt == nil {
		return nil
	}
	pod := pt.SpecPath.Append("securityContext")
	var out []string
	for _, c := range pt.Containers() {
		eff := func(key string) string {
			if v := o.Get(c.Path.Append("securityContext", key)); v != nil {
				return v.Value
			}
			if v := o.Get(pod.Append(key)); v != nil {
				return v.Value
			}
			return ""
		}
		if eff("runAsNonRoot") == "true" && eff("runAsUser") == "0" {
			out = append(out, c.Name)
		}
	}
	return out
}

// targetID is the ID of the target o was rendered from; "" for an object
// no target rendered (the config file that findings about config
// exemptions stand on), so that lookups of such objects never fail.
func (s *Snapshot) targetID(o *lint.Object) string {
	if src, ok := s.sources[o]; ok && src.target != nil {
		return src.target.ID()
	}
	return ""
}

func fingerprints(s *Snapshot) map[string]bool {
	out := map[string]bool{}
	for _, fd := range s.Findings {
		out[lint.Fingerprint(fd)] = true
	}
	for _, fd := range s.Suppressed {
		out[lint.Fingerprint(fd)] = true
	}
	return out
}

// inputs returns the files an object's target is rendered from.
func (f *fixer) inputs(s *Snapshot, o *lint.Object) []string {
	src, ok := s.sources[o]
	if !ok {
		return nil
	}
	return f.r.renderer.Inputs(src.target)
}

// isAdded reports whether res is one of the objects the candidates add,
// as rendered: a kustomization (or the Argo CD Application that deploys
// it) may give the name a prefix or suffix, so the rendered name need
// only contain the added one, with the same kind, API version and
// namespace.
func isAdded(added map[objKey]bool, res lint.Resource) bool {
	if added[objKey{"", res}] {
		return true
	}
	for k := range added {
		a := k.res
		if a.Kind == res.Kind && a.APIVersion == res.APIVersion && a.Name != "" && strings.Contains(res.Name, a.Name) &&
			(a.Namespace == res.Namespace || a.Namespace == "") {
			return true
		}
	}
	return false
}

// objKey identifies a rendered object across two renders.
type objKey struct {
	target string
	res    lint.Resource
}

// verifyObjects checks that the rendered objects differ only in the
// fields the candidates patch, and that only the objects they add appear.
func (f *fixer) verifyObjects(before, after *Snapshot, p *plan, cands []lint.Finding, b *blamer) {
	allowed := map[objKey][]ypath.Path{}
	added := map[objKey]bool{}
	for _, c := range cands {
		k := objKey{before.targetID(c.Object), c.Object.Resource}
		for _, pt := range c.Fix.Patches {
			allowed[k] = append(allowed[k], pt.Path)
		}
		for _, n := range c.Fix.New {
			res := lint.Resource{APIVersion: nodeString(n, "apiVersion"), Kind: nodeString(n, "kind"),
				Namespace: nodeString(n, "metadata", "namespace"), Name: nodeString(n, "metadata", "name")}
			added[objKey{"", res}] = true
		}
	}
	// A target may render two objects of one identity (two clusters'
	// copies of a Flux Kustomization in one tree): they are matched in
	// render order, the n-th with the n-th.
	old := map[objKey][]*lint.Object{}
	for _, o := range before.objects {
		k := objKey{before.targetID(o), o.Resource}
		old[k] = append(old[k], o)
	}
	used := map[objKey]int{}
	var changed, was []*lint.Object
	for _, o := range after.objects {
		k := objKey{after.targetID(o), o.Resource}
		var prev *lint.Object
		if n := used[k]; n < len(old[k]) {
			prev = old[k][n]
		}
		used[k]++
		if prev == nil {
			if !isAdded(added, o.Resource) {
				b.files(f.inputs(after, o), fmt.Sprintf("the fix adds an unexpected object %s to %s", o.Resource, k.target))
			}
			changed = append(changed, o)
			continue
		}
		ok := append(slices.Clone(allowed[k]), inlineValuesPaths(before, prev, p)...)
		diffs := diffPaths(prev.Node, o.Node, nil)
		if len(diffs) > 0 {
			verifyPodStart(after, o, prev, f.inputs(after, o), b)
		}
		if len(diffs) > 0 {
			changed, was = append(changed, o), append(was, prev)
		}
		for _, d := range diffs {
			if !slices.ContainsFunc(ok, func(a ypath.Path) bool { return d.HasPrefix(a) || a.HasPrefix(d) }) {
				b.files(f.inputs(after, o), fmt.Sprintf("the fix changes %s of %s in %s, which it should not", d, o.Resource, k.target))
				break
			}
		}
	}
	for k, os := range old {
		for _, o := range os[min(used[k], len(os)):] {
			b.files(f.inputs(before, o), fmt.Sprintf("the fix removes %s from %s", o.Resource, k.target))
		}
	}
	f.verifyStrict(after, changed, was, b)
}

// verifyStrict checks that every changed or added object still decodes
// strictly as its kind, as the API server will decode it, whether or not
// the invalid-object rule is enabled: an error that was not there before
// the fix is the fix's.
func (f *fixer) verifyStrict(after *Snapshot, changed, was []*lint.Object, b *blamer) {
	if len(changed) == 0 || strictRule == nil {
		return
	}
	run := func(objs []*lint.Object) []lint.Finding {
		res, err := lint.RunAll(context.Background(), objs, []*lint.Rule{strictRule}, &lint.Settings{})
		if err != nil {
			return nil
		}
		return append(res.Findings, res.Suppressed...)
	}
	id := func(fd lint.Finding) string {
		return fd.Object.Target + " " + fd.Object.Resource.String() + " " + fd.Message
	}
	before := map[string]bool{}
	for _, fd := range run(was) {
		before[id(fd)] = true
	}
	for _, o := range changed {
		for _, fd := range run([]*lint.Object{o}) {
			if !before[id(fd)] {
				b.field(objKey{after.targetID(o), o.Resource}, fd.Field, f.inputs(after, o),
					fmt.Sprintf("the fix makes %s invalid: %s", o.Resource, fd.Message))
			}
		}
	}
}

// strictRule is the catalogue's invalid-object rule, which decodes the
// built-in kinds as strictly as the API server does.
var strictRule = rules.ByID("invalid-object")

// inlineValuesPaths returns the fields of the GitOps object o (as in
// snapshot s, before the plan) that the plan's edits of its inline Helm
// values write: the path of the values mapping in o, then the values path.
func inlineValuesPaths(s *Snapshot, o *lint.Object, p *plan) []ypath.Path {
	var out []ypath.Path
	for _, d := range s.sources[o].object.Docs() {
		for _, e := range p.inline[d.File] {
			if at, ok := pathTo(d.Node, e.line, e.col, nil); ok {
				out = append(out, at.Append(e.path...))
			}
		}
	}
	return out
}

// pathTo finds the mapping at line:col below n and returns its path,
// with list elements spelled as diffPaths spells them.
func pathTo(n *yaml.Node, line, col int, at ypath.Path) (ypath.Path, bool) {
	switch n.Kind {
	case yaml.MappingNode:
		if n.Line == line && n.Column == col {
			return at, true
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if p, ok := pathTo(n.Content[i+1], line, col, at.Append(n.Content[i].Value)); ok {
				return p, true
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			seg := ypath.Index(i)
			if named(n) {
				seg = ypath.Elem("name", nodeString(c, "name"))
			}
			if p, ok := pathTo(c, line, col, at.Append(seg)); ok {
				return p, true
			}
		}
	}
	return nil, false
}

// diffPaths returns the paths at which two rendered objects first differ.
// List elements that all have a name are matched by name, others by index.
func diffPaths(a, b *yaml.Node, at ypath.Path) []ypath.Path {
	switch {
	case a == nil || b == nil:
		if a == b {
			return nil
		}
		return []ypath.Path{at}
	case a.Kind != b.Kind:
		return []ypath.Path{at}
	case a.Kind == yaml.ScalarNode:
		if a.Value != b.Value || a.ShortTag() != b.ShortTag() {
			return []ypath.Path{at}
		}
		return nil
	case a.Kind == yaml.MappingNode:
		var out []ypath.Path
		keys := map[string]bool{}
		for i := 0; i+1 < len(a.Content); i += 2 {
			keys[a.Content[i].Value] = true
		}
		for i := 0; i+1 < len(b.Content); i += 2 {
			keys[b.Content[i].Value] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			_, av := ypath.Lookup(a, k)
			_, bv := ypath.Lookup(b, k)
			out = append(out, diffPaths(av, bv, at.Append(k))...)
		}
		return out
	case a.Kind == yaml.SequenceNode:
		if named(a) && named(b) {
			var out []ypath.Path
			names := map[string]bool{}
			for _, n := range append(slices.Clone(a.Content), b.Content...) {
				names[nodeString(n, "name")] = true
			}
			for _, nm := range slices.Sorted(maps.Keys(names)) {
				sel := ypath.Elem("name", nm)
				out = append(out, diffPaths(ypath.Walk(a, ypath.Path{sel}).Value, ypath.Walk(b, ypath.Path{sel}).Value, at.Append(sel))...)
			}
			return out
		}
		if len(a.Content) != len(b.Content) {
			return []ypath.Path{at}
		}
		var out []ypath.Path
		for i := range a.Content {
			out = append(out, diffPaths(a.Content[i], b.Content[i], at.Append(ypath.Index(i)))...)
		}
		return out
	}
	return nil
}

func named(n *yaml.Node) bool {
	for _, c := range n.Content {
		if nodeString(c, "name") == "" {
			return false
		}
	}
	return len(n.Content) > 0
}

// blamer decides which candidates a failed check drops, and why.
type blamer struct {
	cands  []lint.Finding
	by     map[int][]string // files each candidate edits
	key    func(lint.Finding) objKey
	blamed map[int]string
}

// files drops the candidates that edit any of files; when none does,
// every candidate left, since nothing else explains the failure.
func (b *blamer) files(files []string, reason string) {
	if !b.drop(func(i int) bool {
		// files may name directories (a target's inputs): a candidate
		// that edits or adds a file in one is as responsible.
		return slices.ContainsFunc(b.by[i], func(f string) bool { return render.Affects(files, f) })
	}, reason) {
		b.drop(func(int) bool { return true }, reason)
	}
}

// field drops the candidates on object k whose patches write field, its
// parents or below it; when none does, it falls back to files.
func (b *blamer) field(k objKey, field ypath.Path, files []string, reason string) {
	if !b.drop(func(i int) bool {
		c := b.cands[i]
		return b.key(c) == k && slices.ContainsFunc(c.Fix.Patches, func(p fix.Patch) bool {
			return p.Path.HasPrefix(field) || field.HasPrefix(p.Path)
		})
	}, reason) {
		b.files(files, reason)
	}
}

// drop blames the candidates for which match holds (keeping the reason
// of those blamed already), and reports whether any candidate matches: a
// failure that candidates already dropped explain is not charged to the
// others.
func (b *blamer) drop(match func(int) bool, reason string) bool {
	n := 0
	for i := range b.cands {
		if !match(i) {
			continue
		}
		n++
		if _, done := b.blamed[i]; !done {
			b.blamed[i] = reason
		}
	}
	return n > 0
}

func isYAMLFile(name string) bool {
	return strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")
}
