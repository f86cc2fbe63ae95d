package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// kustomizationNames are the file names kustomize accepts, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// kustomization is the part of a kustomization file that discovery, the
// pre-build safety checks and the source map need, with line numbers.
type kustomization struct {
	dir  string // root-relative directory
	file string // root-relative file
	node *yaml.Node
	src  []byte
	// resources lists resources, bases and components in order.
	resources []entry
	// patches lists strategic-merge and JSON 6902 patches in order.
	patches   []patchEntry
	namespace string
}

// entry is a string item of a kustomization list, with its line.
type entry struct {
	value string
	line  int
}

// patchEntry is one patch of a kustomization: from a file or inline.
type patchEntry struct {
	path   string     // root-relative patch file, "" when inline
	inline *yaml.Node // the inline patch scalar, when not a file
	line   int
	target *selector
	json   bool // listed under patchesJson6902 (always JSON 6902)
}

// selector is a patch target selector.
type selector struct {
	group, version, kind, namespace string
	name                            *regexp.Regexp
}

func (s *selector) matches(apiVersion, kind, namespace string, names ...string) bool {
	if s == nil {
		return true
	}
	group, version := "", apiVersion
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		group, version = apiVersion[:i], apiVersion[i+1:]
	}
	if s.kind != "" && s.kind != kind || s.group != "" && s.group != group ||
		s.version != "" && s.version != version || s.namespace != "" && namespace != "" && s.namespace != namespace {
		return false
	}
	if s.name == nil {
		return true
	}
	for _, n := range names {
		if s.name.MatchString(n) {
			return true
		}
	}
	return false
}

// findKustomization returns the kustomization file in dir, or "".
// KustomizationFile returns the root-relative path of the kustomization
// file in dir (kustomization.yaml, .yml or Kustomization, in kustomize's
// order), or "" when dir has none.
func KustomizationFile(f *FS, dir string) string { return findKustomization(f, dir) }

func findKustomization(f *FS, dir string) string {
	for _, n := range kustomizationNames {
		p := path.Join(dir, n)
		if st, err := f.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	return ""
}

// readKustomization parses the kustomization file in dir and checks it
// for what kubeharden refuses to build: remote bases, Helm inflation and
// plugins that execute code.
func readKustomization(f *FS, dir string) (*kustomization, error) {
	return readKustomizationWith(f, dir, f.ReadFile)
}

// readKustomizationWith is readKustomization reading the kustomization
// file itself with read (a Renderer's file cache).
func readKustomizationWith(f *FS, dir string, read func(string) ([]byte, error)) (*kustomization, error) {
	file := findKustomization(f, dir)
	if file == "" {
		return nil, errorf(dir, 0, "no kustomization.yaml")
	}
	src, err := read(file)
	if err != nil {
		return nil, fileError(file, err)
	}
	docs, err := parseDocuments(file, src)
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 || docs[0].Kind != yaml.MappingNode {
		return nil, errorf(file, 0, "kustomization is not a YAML mapping")
	}
	k := &kustomization{dir: dir, file: file, node: docs[0], src: src, namespace: scalar(docs[0], "namespace")}
	for _, field := range []string{"helmCharts", "helmChartInflationGenerator", "helmGlobals"} {
		if key, _ := lookup(k.node, field); key != nil {
			return nil, errorf(file, key.Line, "%s is not supported: kubeharden does not execute helm from kustomize; render the chart as its own target", field)
		}
	}
	for _, field := range []string{"resources", "bases", "components"} {
		_, list := lookup(k.node, field)
		for _, it := range seqItems(list) {
			if it.Kind != yaml.ScalarNode {
				continue
			}
			if isRemoteRef(it.Value) && !f.Exists(path.Join(dir, it.Value)) {
				return nil, errorf(file, it.Line, "remote %s %q refused: kubeharden renders offline and never fetches; vendor it into the repository", strings.TrimSuffix(field, "s"), it.Value)
			}
			k.resources = append(k.resources, entry{value: it.Value, line: it.Line})
		}
	}
	for _, field := range []string{"generators", "transformers", "validators"} {
		_, list := lookup(k.node, field)
		for _, it := range seqItems(list) {
			if it.Kind == yaml.ScalarNode && !strings.Contains(it.Value, "\n") && isRemoteRef(it.Value) {
				return nil, errorf(file, it.Line, "remote %s %q refused: kubeharden renders offline", field, it.Value)
			}
			if isFunctionConfig(f, dir, it) {
				return nil, errorf(file, it.Line, "%s entry runs a KRM function (exec or container); kubeharden never executes code from the repository", field)
			}
		}
	}
	if err := k.readPatches(); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *kustomization) readPatches() error {
	_, smp := lookup(k.node, "patchesStrategicMerge")
	for _, it := range seqItems(smp) {
		if it.Kind != yaml.ScalarNode {
			continue
		}
		if strings.Contains(it.Value, "\n") || strings.Contains(it.Value, "kind:") {
			k.patches = append(k.patches, patchEntry{inline: it, line: it.Line})
		} else {
			k.patches = append(k.patches, patchEntry{path: path.Join(k.dir, it.Value), line: it.Line})
		}
	}
	for _, field := range []string{"patches", "patchesJson6902"} {
		_, list := lookup(k.node, field)
		for _, it := range seqItems(list) {
			if it.Kind != yaml.MappingNode {
				continue
			}
			pe := patchEntry{line: it.Line, json: field == "patchesJson6902"}
			if p := scalar(it, "path"); p != "" {
				if isRemoteRef(p) {
					return errorf(k.file, it.Line, "remote patch %q refused: kubeharden renders offline", p)
				}
				pe.path = path.Join(k.dir, p)
			} else if _, inl := lookup(it, "patch"); inl != nil {
				pe.inline = inl
			}
			if _, t := lookup(it, "target"); t != nil {
				s := &selector{group: scalar(t, "group"), version: scalar(t, "version"), kind: scalar(t, "kind"), namespace: scalar(t, "namespace")}
				if n := scalar(t, "name"); n != "" {
					re, err := regexp.Compile("^(?:" + n + ")$")
					if err != nil {
						return errorf(k.file, t.Line, "patch target name %q: %v", n, err)
					}
					s.name = re
				}
				pe.target = s
			}
			k.patches = append(k.patches, pe)
		}
	}
	return nil
}

func seqItems(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// isRemoteRef reports whether a kustomization reference points at a
// remote repository or URL rather than a path in the repository.
func isRemoteRef(s string) bool {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") || strings.HasPrefix(s, "git@") || strings.HasPrefix(s, "git::") || strings.HasPrefix(s, "gh:") {
		return true
	}
	if strings.Contains(s, "?ref=") || strings.Contains(s, "?version=") || strings.Contains(s, ".git//") || strings.HasSuffix(s, ".git") {
		return true
	}
	host, _, _ := strings.Cut(s, "/")
	return strings.Contains(host, ".") && (strings.HasSuffix(host, ".com") || strings.HasSuffix(host, ".org") ||
		strings.HasSuffix(host, ".io") || strings.HasSuffix(host, ".net") || strings.Contains(host, "github") || strings.Contains(host, "gitlab"))
}

// isFunctionConfig reports whether a generators/transformers/validators
// entry configures a KRM function, which kustomize would execute.
func isFunctionConfig(f *FS, dir string, it *yaml.Node) bool {
	var docs []*yaml.Node
	switch it.Kind {
	case yaml.MappingNode:
		docs = []*yaml.Node{it}
	case yaml.ScalarNode:
		if strings.Contains(it.Value, "\n") {
			docs, _ = parseDocuments("", []byte(it.Value))
			break
		}
		src, err := f.ReadFile(path.Join(dir, it.Value))
		if err != nil {
			return false
		}
		docs, _ = parseDocuments("", src)
	}
	for _, d := range docs {
		_, meta := lookup(d, "metadata")
		_, ann := lookup(meta, "annotations")
		for _, key := range []string{"config.kubernetes.io/function", "config.k8s.io/function"} {
			if k, _ := lookup(ann, key); k != nil {
				return true
			}
		}
	}
	return false
}

// kustomizeGraphWith reads the kustomization in dir and every
// kustomization it reaches through resources, bases and components,
// refusing cycles; the result is in depth-first order, dir first.
// Directories are told apart by where they really are, so that a symlink
// to a directory on the way makes a cycle rather than an endless path.
// Each kustomization is read with read (the renderer's cache).
func kustomizeGraphWith(f *FS, dir string, read func(dir string) (*kustomization, error)) ([]*kustomization, error) {
	var out []*kustomization
	seen := map[string]bool{}
	key := func(dir string) string {
		if real, err := f.resolve(dir); err == nil {
			return real
		}
		return dir // only in an overlay
	}
	// stack holds the directories being visited and their keys.
	var stack, keys []string
	var visit func(dir string) error
	visit = func(dir string) error {
		k, err := read(dir)
		if err != nil {
			return err
		}
		seen[key(dir)] = true
		out = append(out, k)
		stack, keys = append(stack, dir), append(keys, key(dir))
		defer func() { stack, keys = stack[:len(stack)-1], keys[:len(keys)-1] }()
		for _, r := range k.resources {
			child, err := f.Rel(path.Join(dir, r.value))
			if err != nil {
				return errorf(k.file, r.line, "resource %q: %v", r.value, err)
			}
			st, err := f.Stat(child)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return errorf(k.file, r.line, "resource %q not found", r.value)
				}
				return errorf(k.file, r.line, "resource %q: %v", r.value, unwrapPathErr(err))
			}
			if !st.IsDir() {
				if !st.Mode().IsRegular() {
					return errorf(k.file, r.line, "resource %q is not a regular file", r.value)
				}
				if st.Size() > f.maxSize() {
					return errorf(k.file, r.line, "resource %q is %d bytes, over the %d byte limit", r.value, st.Size(), f.maxSize())
				}
				continue
			}
			if findKustomization(f, child) == "" {
				return errorf(k.file, r.line, "resource %q is a directory without a kustomization.yaml", r.value)
			}
			if i := slices.Index(keys, key(child)); i >= 0 {
				cycle := append(slices.Clone(stack[i:]), child)
				return errorf(k.file, r.line, "kustomization cycle: %s", strings.Join(cycle, " -> "))
			}
			if seen[key(child)] {
				continue
			}
			if err := visit(child); err != nil {
				return err
			}
		}
		return nil
	}
	return out, visit(dir)
}

func (k *kustomization) String() string { return fmt.Sprintf("kustomization %s", k.file) }
