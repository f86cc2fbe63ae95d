package render

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// errReadOnly is returned by kustomizeFS for every write.
var errReadOnly = errors.New("kubeharden renders read-only: kustomize may not write files")

// kustomizeFS presents an FS to krusty as a read-only file system of
// absolute paths under the root. Every read goes through FS, so krusty
// sees the overlay and cannot leave the root or follow escaping symlinks.
//
// krusty cannot be interrupted, so every call checks ctx: once the
// render has timed out, the next file krusty looks at fails and the
// build stops instead of running on unseen. Files krusty reads are also
// checked for YAML alias bombs, because kustomize expands every alias
// of every resource (kio.ByteReader's AnchorsAweigh) before anything
// else could refuse them.
type kustomizeFS struct {
	fs  *FS
	ctx context.Context
	// refused keeps the first file refused as an alias bomb: krusty
	// wraps the error in text of its own.
	refused *atomic.Pointer[Error]
	// cache, when set, serves every file but those in own (the files the
	// target overlays) from the renderer's file cache, so that a base
	// shared by several overlays is read and checked once per run.
	cache *fileCache
	own   map[string][]byte
	// read, when set, records every file krusty reads.
	read *readSet
	// warn, when set, collects the deprecation warnings of the
	// kustomization files krusty reads (see modernizeKustomization).
	warn *warnSet
}

// readSet is the set of root-relative files a build read; safe for
// concurrent use (an abandoned build may still be reading).
type readSet struct {
	mu    sync.Mutex
	files []string
}

func (s *readSet) add(rel string) {
	s.mu.Lock()
	s.files = append(s.files, rel)
	s.mu.Unlock()
}

// list returns the files read so far.
func (s *readSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.files)
}

var _ filesys.FileSystem = kustomizeFS{}

func newKustomizeFS(ctx context.Context, f *FS) kustomizeFS {
	return kustomizeFS{fs: f, ctx: ctx, refused: new(atomic.Pointer[Error])}
}

func (k kustomizeFS) rel(p string) (string, error) {
	if err := k.ctx.Err(); err != nil {
		return "", err
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(k.fs.root, p)
	}
	return k.fs.Rel(p)
}

func (kustomizeFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (kustomizeFS) Mkdir(string) error                  { return errReadOnly }
func (kustomizeFS) MkdirAll(string) error               { return errReadOnly }
func (kustomizeFS) RemoveAll(string) error              { return errReadOnly }
func (kustomizeFS) WriteFile(string, []byte) error      { return errReadOnly }

func (k kustomizeFS) Open(p string) (filesys.File, error) {
	b, err := k.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(b), info: overlayInfo{name: path.Base(p), size: int64(len(b))}}, nil
}

func (k kustomizeFS) IsDir(p string) bool {
	r, err := k.rel(p)
	return err == nil && k.fs.IsDir(r)
}

func (k kustomizeFS) Exists(p string) bool {
	r, err := k.rel(p)
	return err == nil && k.fs.Exists(r)
}

func (k kustomizeFS) ReadDir(p string) ([]string, error) {
	r, err := k.rel(p)
	if err != nil {
		return nil, err
	}
	ents, err := k.fs.ReadDir(r)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}

func (k kustomizeFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	r, err := k.rel(p)
	if err != nil {
		return "", "", err
	}
	if k.fs.IsDir(r) {
		return filesys.ConfirmedDir(k.fs.Abs(r)), "", nil
	}
	dir, file := path.Split(r)
	if dir == "" {
		dir = "."
	}
	if !k.fs.IsDir(dir) {
		return "", "", &fs.PathError{Op: "stat", Path: dir, Err: fs.ErrNotExist}
	}
	return filesys.ConfirmedDir(k.fs.Abs(dir)), file, nil
}

func (k kustomizeFS) Glob(pattern string) ([]string, error) {
	r, err := k.rel(pattern)
	if err != nil {
		return nil, err
	}
	dir, pat := path.Split(r)
	if strings.ContainsAny(dir, "*?[") {
		return nil, errors.New("glob patterns are only supported in the last path element")
	}
	if dir == "" {
		dir = "."
	}
	ents, err := k.fs.ReadDir(path.Clean(dir))
	if err != nil {
		return nil, nil
	}
	var out []string
	for _, e := range ents {
		if ok, _ := path.Match(pat, e.Name()); ok {
			out = append(out, k.fs.Abs(path.Join(dir, e.Name())))
		}
	}
	return out, nil
}

func (k kustomizeFS) ReadFile(p string) ([]byte, error) {
	r, err := k.rel(p)
	if err != nil {
		return nil, err
	}
	_, own := k.own[r]
	cached := k.cache != nil && !own
	var b []byte
	if cached {
		b, err = k.cache.readFile(r)
	} else {
		b, err = k.fs.ReadFile(r)
	}
	if err != nil {
		return nil, err
	}
	if k.read != nil {
		k.read.add(r)
	}
	if k.warn != nil && isKustomizationFile(r) {
		var msgs []string
		if b, msgs = modernizeKustomization(b); len(msgs) > 0 {
			k.warn.add(r, msgs)
		}
	}
	// An alias needs an anchor ("&a") and a reference ("*a"); files
	// without both need no second parse.
	if bytes.IndexByte(b, '&') >= 0 && bytes.IndexByte(b, '*') >= 0 {
		var e *Error
		if cached {
			e = k.cache.overBounds(r, b)
		} else {
			e = overBounds(r, b)
		}
		if e != nil {
			k.refused.CompareAndSwap(nil, e)
			return nil, e
		}
	}
	return b, nil
}

func (k kustomizeFS) Walk(p string, fn filepath.WalkFunc) error {
	r, err := k.rel(p)
	if err != nil {
		return err
	}
	return k.walk(r, fn)
}

func (k kustomizeFS) walk(r string, fn filepath.WalkFunc) error {
	st, err := k.fs.Stat(r)
	if err != nil {
		return fn(k.fs.Abs(r), nil, err)
	}
	if err := fn(k.fs.Abs(r), st, nil); err != nil {
		if errors.Is(err, filepath.SkipDir) && st.IsDir() {
			return nil
		}
		return err
	}
	if !st.IsDir() {
		return nil
	}
	ents, err := k.fs.ReadDir(r)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := k.walk(path.Join(r, e.Name()), fn); err != nil {
			return err
		}
	}
	return nil
}

// memFile is a read-only in-memory filesys.File.
type memFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (*memFile) Write([]byte) (int, error)    { return 0, errReadOnly }
func (*memFile) Close() error                 { return nil }
func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
