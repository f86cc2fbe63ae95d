package render

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultMaxFileSize bounds how much of one file is read.
const DefaultMaxFileSize = 16 << 20

// ErrEscapesRoot is returned for paths and symlinks that leave the root.
var ErrEscapesRoot = errors.New("escapes the repository root")

// FS reads a repository confined to its root directory. Paths are
// relative to the root, with forward slashes. An FS may carry an overlay
// of in-memory file contents that shadow the disk, which lets a fix be
// rendered and verified before anything is written.
type FS struct {
	root    string // absolute, symlinks resolved
	overlay map[string][]byte
	// resolved caches symlink resolution (rel -> real path or error): the
	// tree is not expected to change during a run.
	resolved *sync.Map
	// MaxFileSize bounds the size of one file read; 0 means the default.
	MaxFileSize int64
	// onRead, when set (by tests), is called with every file ReadFile
	// is about to read from disk.
	onRead func(rel string)
	// reads, when set (WithReadLog), records what every disk read saw.
	reads *ReadLog
}

// ReadLog records the content each file had when an FS first read it
// from disk, and the first file a later read found different: the
// evidence that the repository changed while a run was reading it. It is
// safe for concurrent use (targets render in parallel).
type ReadLog struct {
	mu      sync.Mutex
	seen    map[string][sha256.Size]byte // absent files: the zero sum
	changed string
}

// absentSum stands for a file that did not exist when it was read.
var absentSum [sha256.Size]byte

// WithReadLog returns an FS that records its disk reads in log (shared
// by the FSs WithOverlay derives from it). Overlay reads are not
// recorded: they are the run's own content.
func (f *FS) WithReadLog(log *ReadLog) *FS {
	g := *f
	g.reads = log
	return &g
}

func (l *ReadLog) record(rel string, sum [sha256.Size]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string][sha256.Size]byte{}
	}
	if old, ok := l.seen[rel]; !ok {
		l.seen[rel] = sum
	} else if old != sum && l.changed == "" {
		l.changed = rel
	}
}

// Changed returns the first file whose content a read found different
// from an earlier read, or "".
func (l *ReadLog) Changed() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// Stale reads every logged file again from fsys's disk (no overlay) and
// returns those whose content differs from what the run first read, or
// that appeared or disappeared since, sorted.
func (l *ReadLog) Stale(fsys *FS) []string {
	l.mu.Lock()
	seen := maps.Clone(l.seen)
	l.mu.Unlock()
	plain := *fsys
	plain.overlay, plain.reads = nil, nil
	var out []string
	for _, rel := range slices.Sorted(maps.Keys(seen)) {
		if readSum(&plain, rel) != seen[rel] {
			out = append(out, rel)
		}
	}
	return out
}

// readSum is the logged sum of rel as fsys reads it now.
func readSum(fsys *FS, rel string) [sha256.Size]byte {
	b, err := fsys.ReadFile(rel)
	if err != nil {
		return absentSum
	}
	return sha256.Sum256(b)
}

// NewFS returns an FS rooted at dir.
func NewFS(dir string) (*FS, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	return &FS{root: real, resolved: new(sync.Map)}, nil
}

// Root returns the absolute root directory.
func (f *FS) Root() string { return f.root }

// WithOverlay returns an FS that reads files from files (relative path to
// content) before the disk. A nil content hides the file.
func (f *FS) WithOverlay(files map[string][]byte) *FS {
	g := *f
	g.overlay = make(map[string][]byte, len(f.overlay)+len(files))
	for k, v := range f.overlay {
		g.overlay[k] = v
	}
	for k, v := range files {
		g.overlay[k] = v
	}
	return &g
}

// Rel converts an absolute path or a path relative to the root into a
// clean root-relative slash path, refusing anything outside the root.
func (f *FS) Rel(p string) (string, error) {
	if filepath.IsAbs(p) {
		r, err := filepath.Rel(f.root, p)
		if err != nil {
			return "", err
		}
		p = r
	}
	p = path.Clean(filepath.ToSlash(p))
	if p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
		return "", fmt.Errorf("%s %w", p, ErrEscapesRoot)
	}
	return p, nil
}

// Abs returns the absolute path on disk of a root-relative path.
func (f *FS) Abs(rel string) string { return filepath.Join(f.root, filepath.FromSlash(rel)) }

// resolve returns the real on-disk path of rel after checking that every
// symlink on the way stays inside the root.
func (f *FS) resolve(rel string) (string, error) {
	rel, err := f.Rel(rel)
	if err != nil {
		return "", err
	}
	if v, ok := f.resolved.Load(rel); ok {
		r := v.(resolution)
		return r.real, r.err
	}
	real, err := f.evalSymlinks(rel)
	f.resolved.Store(rel, resolution{real, err})
	return real, err
}

type resolution struct {
	real string
	err  error
}

// errSymlinkLoop is a symlink that resolves to itself, or a chain of more
// symlinks than filepath.EvalSymlinks follows (255).
var errSymlinkLoop = errors.New("symlink loop (too many levels of symbolic links)")

func (f *FS) evalSymlinks(rel string) (string, error) {
	abs := f.Abs(rel)
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		// EvalSymlinks names absolute paths, which say where the checkout
		// is rather than which file in it is at fault.
		if strings.HasSuffix(err.Error(), "too many links") {
			return "", errSymlinkLoop
		}
		return "", &fs.PathError{Op: "stat", Path: rel, Err: unwrapPathErr(err)}
	}
	if real != f.root && !strings.HasPrefix(real, f.root+string(filepath.Separator)) {
		return "", fmt.Errorf("symlink %w", ErrEscapesRoot)
	}
	return real, nil
}

func (f *FS) maxSize() int64 {
	if f.MaxFileSize > 0 {
		return f.MaxFileSize
	}
	return DefaultMaxFileSize
}

// ReadFile reads a root-relative file, refusing symlinks that escape the
// root, non-regular files (a FIFO would block, a device never end) and
// files larger than MaxFileSize, which are not read at all. Errors other
// than an escaping symlink or a symlink loop are *fs.PathError on rel.
func (f *FS) ReadFile(rel string) ([]byte, error) {
	rel, err := f.Rel(rel)
	if err != nil {
		return nil, err
	}
	if b, ok := f.overlay[rel]; ok {
		if b == nil {
			return nil, &fs.PathError{Op: "open", Path: rel, Err: fs.ErrNotExist}
		}
		return b, nil
	}
	b, err := f.readDisk(rel)
	if f.reads != nil {
		// Any failure counts as absent: a file that cannot be read now
		// but could before (or the reverse) changed.
		sum := absentSum
		if err == nil {
			sum = sha256.Sum256(b)
		}
		f.reads.record(rel, sum)
	}
	return b, err
}

// readDisk is ReadFile's read of a root-relative file from the disk.
func (f *FS) readDisk(rel string) ([]byte, error) {
	if f.onRead != nil {
		f.onRead(rel)
	}
	real, err := f.resolve(rel)
	if err != nil {
		return nil, err
	}
	// Stat before opening: opening a FIFO blocks until a writer comes,
	// and a device may never end. The open file is checked again below in
	// case the path changed in between.
	st, err := os.Stat(real)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: unwrapPathErr(err)}
	}
	limit := f.maxSize()
	if err := checkReadable(rel, st, limit); err != nil {
		return nil, err
	}
	fh, err := os.Open(real)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: rel, Err: unwrapPathErr(err)}
	}
	defer fh.Close()
	if st, err = fh.Stat(); err != nil {
		return nil, &fs.PathError{Op: "stat", Path: rel, Err: unwrapPathErr(err)}
	}
	if err := checkReadable(rel, st, limit); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: unwrapPathErr(err)}
	}
	if int64(len(b)) > limit {
		return nil, &fs.PathError{Op: "read", Path: rel, Err: fmt.Errorf("file is over the %d byte limit", limit)}
	}
	return b, nil
}

// checkReadable refuses what ReadFile does not read: anything but a
// regular file, and files over limit bytes.
func checkReadable(rel string, st fs.FileInfo, limit int64) error {
	if !st.Mode().IsRegular() {
		return &fs.PathError{Op: "read", Path: rel, Err: errors.New("not a regular file")}
	}
	if st.Size() > limit {
		return &fs.PathError{Op: "read", Path: rel, Err: fmt.Errorf("file is %d bytes, over the %d byte limit", st.Size(), limit)}
	}
	return nil
}

// fileError is the *Error for an error from FS about file: an *Error
// stays as it is, and the file name an *fs.PathError carries is not
// repeated in the message.
func fileError(file string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return errorf(file, 0, "%v", unwrapPathErr(err))
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Stat describes a root-relative path after resolving symlinks safely.
func (f *FS) Stat(rel string) (fs.FileInfo, error) {
	rel, err := f.Rel(rel)
	if err != nil {
		return nil, err
	}
	if b, ok := f.overlay[rel]; ok {
		if b == nil {
			return nil, &fs.PathError{Op: "stat", Path: rel, Err: fs.ErrNotExist}
		}
		return overlayInfo{name: path.Base(rel), size: int64(len(b))}, nil
	}
	real, err := f.resolve(rel)
	if err != nil {
		if f.overlayHasDir(rel) {
			return overlayInfo{name: path.Base(rel), dir: true}, nil
		}
		return nil, err
	}
	return os.Stat(real)
}

// Exists reports whether rel names a file or directory inside the root.
func (f *FS) Exists(rel string) bool {
	_, err := f.Stat(rel)
	return err == nil
}

// IsDir reports whether rel is a directory inside the root.
func (f *FS) IsDir(rel string) bool {
	st, err := f.Stat(rel)
	return err == nil && st.IsDir()
}

// ReadDir lists the names in a root-relative directory, sorted, including
// overlay files. Entries that are symlinks escaping the root are left out.
func (f *FS) ReadDir(rel string) ([]fs.DirEntry, error) {
	rel, err := f.Rel(rel)
	if err != nil {
		return nil, err
	}
	var out []fs.DirEntry
	seen := map[string]bool{}
	if real, err := f.resolve(rel); err == nil {
		ents, err := os.ReadDir(real)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			child := path.Join(rel, e.Name())
			if b, ok := f.overlay[child]; ok && b == nil {
				continue
			}
			seen[e.Name()] = true
			out = append(out, e)
		}
	} else if !f.overlayHasDir(rel) {
		return nil, err
	}
	for p, b := range f.overlay {
		if b == nil || path.Dir(p) != rel || seen[path.Base(p)] {
			continue
		}
		out = append(out, fs.FileInfoToDirEntry(overlayInfo{name: path.Base(p), size: int64(len(b))}))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

func (f *FS) overlayHasDir(rel string) bool {
	prefix := rel + "/"
	if rel == "." {
		prefix = ""
	}
	for p, b := range f.overlay {
		if b != nil && strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

type overlayInfo struct {
	name string
	size int64
	dir  bool
}

func (i overlayInfo) Name() string { return i.name }
func (i overlayInfo) Size() int64  { return i.size }
func (i overlayInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (overlayInfo) ModTime() time.Time { return time.Time{} }
func (i overlayInfo) IsDir() bool      { return i.dir }
func (overlayInfo) Sys() any           { return nil }
