package driver

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kubeharden/kubeharden/render"
)

// The render cache holds, for each target of the context of a
// changed-only run, the cacheEntry its render gave (context.go), so that
// the next pre-commit run does not render the whole repository again. It
// is content-addressed and distrustful:
//
//   - the key (the entry's file name) digests the kubeharden build, the
//     root, the target's settings (renderSettings) and the config's
//     rendering settings, so no entry is used across versions or configs;
//   - an entry lists the files the render read and the listings of the
//     directories it could read more from, each with its SHA-256, and is
//     used only when every one of them is still the same (a new file in a
//     manifest directory or a chart invalidates it);
//   - anything unexpected — unreadable, corrupt, another key — means no
//     entry: the target is rendered again;
//   - entries are written atomically (temp file, rename), only for
//     targets that rendered without error, and the directory is kept
//     under maxCacheBytes by removing the oldest entries.
//
// Where: the git directory of the root (.git/kubeharden-cache), else the
// user cache directory; Options.CacheDir or KUBEHARDEN_CACHE name another
// directory, or "off".

// cacheFormat is the version of the entry format, part of every key.
const cacheFormat = "kubeharden-render-cache-1"

// maxCacheBytes bounds the size of a cache directory.
const maxCacheBytes = 256 << 20

// CacheEnv is the environment variable that sets the render cache's
// directory when Options.CacheDir does not; "off" disables the cache.
const CacheEnv = "KUBEHARDEN_CACHE"

// renderCache is a cache directory; the nil *renderCache caches nothing.
type renderCache struct {
	dir string
}

// renderCache returns the repository's cache, or nil when it has none.
func (r *Repo) renderCache() *renderCache {
	dir := cmp.Or(r.cacheDir, os.Getenv(CacheEnv))
	switch {
	case dir == "off" || r.stdin:
		return nil
	case dir == "":
		if g := gitDir(r.root); g != "" {
			dir = filepath.Join(g, "kubeharden-cache")
		} else if u, err := os.UserCacheDir(); err == nil {
			dir = filepath.Join(u, "kubeharden")
		} else {
			return nil
		}
	}
	return &renderCache{dir: dir}
}

// gitDir returns the git directory of the repository root is in, or "".
// A .git file (a worktree, a submodule) names it.
func gitDir(root string) string {
	for d := root; ; {
		p := filepath.Join(d, ".git")
		if fi, err := os.Stat(p); err == nil {
			if fi.IsDir() {
				return p
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return ""
			}
			g, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir: ")
			if !ok {
				return ""
			}
			if !filepath.IsAbs(g) {
				g = filepath.Join(d, g)
			}
			return g
		}
		up := filepath.Dir(d)
		if up == d {
			return ""
		}
		d = up
	}
}

// buildID identifies the running kubeharden build: its module versions
// and VCS stamp, and the executable's size and time (a rebuild without a
// new stamp changes them).
var buildID = sync.OnceValue(func() string {
	h := sha256.New()
	if bi, ok := debug.ReadBuildInfo(); ok {
		fmt.Fprintln(h, bi.GoVersion, bi.Main.Path, bi.Main.Version, bi.Main.Sum)
		for _, s := range bi.Settings {
			fmt.Fprintln(h, s.Key, s.Value)
		}
		for _, d := range bi.Deps {
			fmt.Fprintln(h, d.Path, d.Version, d.Sum)
		}
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			fmt.Fprintln(h, exe, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
})

// cacheKey is the key of t's entry.
func (r *Repo) cacheKey(t *render.Target) string {
	cfg, err := json.Marshal(struct {
		KubernetesVersion string
		Helm, Limits      any
	}{r.cfg.KubernetesVersion, r.cfg.Helm, r.cfg.Limits})
	if err != nil {
		cfg = []byte(fmt.Sprintf("%#v", r.cfg)) // never equal across runs: no reuse
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(cacheFormat), []byte(buildID()), []byte(r.root), r.renderSettings(t), cfg} {
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// load returns the valid entry of key for t, or nil.
func (c *renderCache) load(r *Repo, t *render.Target, key string) *cacheEntry {
	if c == nil {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(c.dir, key+".json"))
	if err != nil {
		return nil
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil || e.Key != key {
		return nil
	}
	files := make([]string, len(e.Files))
	for i, f := range e.Files {
		files[i] = f.Path
	}
	if !r.filesUnchanged(&e) || !slices.Equal(r.digestDirs(t, files), e.Dirs) {
		return nil
	}
	return &e
}

// filesUnchanged reports whether every file of e is as it was: the same
// stat as recorded, else the same SHA-256.
func (r *Repo) filesUnchanged(e *cacheEntry) bool {
	for i, f := range e.Files {
		if i < len(e.Stamps) && e.Stamps[i] != (fileStamp{}) {
			if st, ok := stampFile(r.fs, f.Path); ok && st == e.Stamps[i] {
				continue
			}
		}
		b, err := r.fs.ReadFile(f.Path)
		if err != nil {
			return false
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.SHA256 {
			return false
		}
	}
	return true
}

// stamps returns the trustworthy stat of each file, taken before the
// files are read (a change after it changes the stat).
func (r *Repo) stamps(files []string) []fileStamp {
	out := make([]fileStamp, len(files))
	limit := time.Now().Add(-racyMargin).UnixNano()
	for i, f := range files {
		if st, ok := stampFile(r.fs, f); ok && st.Mtime < limit && st.Ctime < limit {
			out[i] = st
		}
	}
	return out
}

// store writes e, with the digests of the files its render read, as the
// entry of t. Failures leave the cache as it was: it is only an
// optimisation.
func (c *renderCache) store(r *Repo, t *render.Target, e *cacheEntry, files []string) {
	if c == nil {
		return
	}
	e.Stamps = r.stamps(files)
	e.Files = r.digestFiles(files)
	if len(e.Files) != len(files) {
		return // an input went away: nothing to check the entry by
	}
	e.Dirs = r.digestDirs(t, files)
	b, err := json.Marshal(e)
	if err != nil || os.MkdirAll(c.dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(c.dir, ".entry-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), filepath.Join(c.dir, e.Key+".json")) != nil {
		os.Remove(tmp.Name())
	}
}

// prune removes the oldest entries while the directory holds more than
// maxCacheBytes.
func (c *renderCache) prune() {
	if c == nil {
		return
	}
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	type entry struct {
		name string
		size int64
		mod  int64
	}
	var es []entry
	var total int64
	for _, de := range ents {
		fi, err := de.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		es = append(es, entry{de.Name(), fi.Size(), fi.ModTime().UnixNano()})
		total += fi.Size()
	}
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.mod, b.mod) })
	for _, e := range es {
		if total <= maxCacheBytes {
			return
		}
		if os.Remove(filepath.Join(c.dir, e.name)) == nil {
			total -= e.size
		}
	}
}

// digestFiles returns the SHA-256 of each file that can be read, in order.
func (r *Repo) digestFiles(files []string) []cachedFile {
	out := make([]cachedFile, 0, len(files))
	for _, f := range files {
		b, err := r.fs.ReadFile(f)
		if err != nil {
			continue
		}
		sum := sha256.Sum256(b)
		out = append(out, cachedFile{Path: f, SHA256: hex.EncodeToString(sum[:])})
	}
	return out
}

// digestDirs returns the digests of the listings of the directories a
// render of t could read a new file from: t's directory (every one under
// it for a chart or a recursive manifest target) and those of the files
// it read, in byte order.
func (r *Repo) digestDirs(t *render.Target, files []string) []cachedFile {
	dirs := map[string]bool{}
	for _, f := range files {
		dirs[path.Dir(f)] = true
	}
	var walk func(d string)
	walk = func(d string) {
		dirs[d] = true
		ents, _ := r.fs.ReadDir(d)
		for _, e := range ents {
			if e.IsDir() {
				walk(path.Join(d, e.Name()))
			}
		}
	}
	switch {
	case t.Path == "" || !r.fs.IsDir(t.Path):
	case t.Kind == render.KindHelm || t.Recurse:
		walk(t.Path)
	default:
		dirs[t.Path] = true
	}
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	slices.Sort(names)
	out := make([]cachedFile, 0, len(names))
	for _, d := range names {
		ents, err := r.fs.ReadDir(d)
		var buf bytes.Buffer
		if err != nil {
			buf.WriteString("error")
		}
		for _, e := range ents {
			buf.WriteString(e.Name())
			if e.Type()&fs.ModeDir != 0 {
				buf.WriteByte('/')
			}
			buf.WriteByte('\n')
		}
		sum := sha256.Sum256(buf.Bytes())
		out = append(out, cachedFile{Path: d, SHA256: hex.EncodeToString(sum[:])})
	}
	return out
}
