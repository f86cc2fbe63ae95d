package render

import (
	"sync"

	yaml "go.yaml.in/yaml/v3"
)

// fileCache holds the repository files a Renderer reads for Kustomize
// targets and Helm values, what it parsed of them, and the
// kustomizations it read, keyed by root-relative path: a base shared by
// twenty overlays is read, parsed and checked once per run instead of
// twenty times (BenchmarkRenderKustomizeSharedBase). Like FS's symlink
// cache it assumes the tree does not change during a run; a Renderer made
// by WithFS starts with an empty cache.
//
// Cached nodes and kustomizations are shared by every target rendered
// and must not be modified; rendering copies what it changes (deepCopy,
// enableOriginAnnotations). It is safe for concurrent use: each entry is
// filled once, and a second target asking for an entry being filled
// waits for it.
type fileCache struct {
	fs    *FS
	mu    sync.Mutex
	files map[string]*cachedFile
	kusts map[string]*cachedKustomization
}

func newFileCache(fsys *FS) *fileCache {
	return &fileCache{fs: fsys, files: map[string]*cachedFile{}, kusts: map[string]*cachedKustomization{}}
}

// cachedFile is one file, read at most once, parsed and checked against
// the YAML bounds at most once, each on first use.
type cachedFile struct {
	read sync.Once
	data []byte
	err  error

	parse sync.Once
	docs  []*yaml.Node
	perr  error

	bounds sync.Once
	over   *Error
}

type cachedKustomization struct {
	once sync.Once
	k    *kustomization
	err  error
}

func (c *fileCache) file(rel string) *cachedFile {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.files[rel]
	if !ok {
		e = &cachedFile{}
		c.files[rel] = e
	}
	return e
}

// readFile is FS.ReadFile, once per path.
func (c *fileCache) readFile(rel string) ([]byte, error) {
	e := c.file(rel)
	e.read.Do(func() { e.data, e.err = c.fs.ReadFile(rel) })
	return e.data, e.err
}

// documents returns the documents parseDocuments finds in a file (as many
// as parse before an error), or the error reading it. Parse errors are
// left to krusty, which reports them with its own context.
func (c *fileCache) documents(rel string) ([]*yaml.Node, error) {
	data, err := c.readFile(rel)
	if err != nil {
		return nil, err
	}
	e := c.file(rel)
	e.parse.Do(func() { e.docs, e.perr = parseDocuments(rel, data) })
	return e.docs, nil
}

// parsed returns a file's content, the documents parseDocuments finds in
// it (as many as parse before an error) and the parse error: discovery
// decides on these whether a file is a manifest, and the manifest
// renderer renders the same nodes, so a file is parsed once per run.
func (c *fileCache) parsed(rel string) (data []byte, docs []*yaml.Node, perr, rerr error) {
	data, err := c.readFile(rel)
	if err != nil {
		return nil, nil, nil, err
	}
	e := c.file(rel)
	e.parse.Do(func() { e.docs, e.perr = parseDocuments(rel, data) })
	return data, e.docs, e.perr, nil
}

// overBounds is overBounds of the file's content, computed once.
func (c *fileCache) overBounds(rel string, data []byte) *Error {
	e := c.file(rel)
	e.bounds.Do(func() { e.over = overBounds(rel, data) })
	return e.over
}

// kustomization is readKustomization of dir, once per directory, reading
// the file through the cache (krusty reads it again, and finds it there).
func (c *fileCache) kustomization(dir string) (*kustomization, error) {
	c.mu.Lock()
	e, ok := c.kusts[dir]
	if !ok {
		e = &cachedKustomization{}
		c.kusts[dir] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.k, e.err = readKustomizationWith(c.fs, dir, c.readFile) })
	return e.k, e.err
}

// kustomizeGraph is kustomizeGraph over the renderer's cached
// kustomizations.
func (r *Renderer) kustomizeGraph(dir string) ([]*kustomization, error) {
	return kustomizeGraphWith(r.fs, dir, r.files.kustomization)
}
