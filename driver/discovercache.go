package driver

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kubeharden/kubeharden/render"
)

// The discovery cache keeps, beside the render cache, what discovery
// concluded about each YAML file from its content (render.FileVerdict),
// so that a changed-only run does not read and parse every file of the
// repository to find its targets again. A verdict is used only while
// the file's stat is the same as when it was computed: size, modification
// and status-change times, inode, device and mode (fileStamp). A file
// whose stat is younger than racyMargin when its verdict is computed is
// not cached (it could change again within the timestamps' granularity),
// and a file that cannot be stat-ed that way (an overlay, another
// platform) is always parsed. The status-change time cannot be set by a
// user, so a same-size edit that restores the modification time is still
// seen. One file holds all verdicts; unreadable, corrupt or of another
// key, it holds none.

// racyMargin: a file changed less than this before its verdict is
// computed is not cached. A variable for tests.
var racyMargin = 2 * time.Second

// fileStamp identifies one version of a file on disk.
type fileStamp struct {
	Size, Mtime, Ctime int64
	Ino, Dev           uint64
	Mode               uint32
}

type storedVerdict struct {
	Stamp   fileStamp
	Verdict render.FileVerdict
}

// discoveryFile is the discovery cache's file.
type discoveryFile struct {
	Key      string
	Verdicts map[string]storedVerdict
}

// verdictCache implements render.FileVerdicts over a cache directory.
type verdictCache struct {
	fs   *render.FS
	path string
	key  string

	mu      sync.Mutex
	old     map[string]storedVerdict
	new     map[string]storedVerdict
	changed bool
}

// verdictCache returns the discovery cache of a changed-only run, or nil.
func (r *Repo) verdictCache() *verdictCache {
	c := r.renderCache()
	if c == nil {
		return nil
	}
	lim, err := json.Marshal(r.cfg.Limits)
	if err != nil {
		return nil
	}
	h := sha256.New()
	for _, part := range []string{cacheFormat, "discovery-1", buildID(), r.root, string(lim)} {
		fmt.Fprintf(h, "%d:%s", len(part), part)
	}
	key := hex.EncodeToString(h.Sum(nil))
	v := &verdictCache{fs: r.fs, path: filepath.Join(c.dir, "discovery-"+key[:32]+".gob"), key: key,
		new: map[string]storedVerdict{}}
	if b, err := os.ReadFile(v.path); err == nil {
		var f discoveryFile
		if gob.NewDecoder(bytes.NewReader(b)).Decode(&f) == nil && f.Key == key {
			v.old = f.Verdicts
		}
	}
	return v
}

// Verdict returns the cached verdict of file when its stat is unchanged.
func (v *verdictCache) Verdict(file string) (render.FileVerdict, bool) {
	st, ok := v.stamp(file)
	if !ok {
		return render.FileVerdict{}, false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	sv, ok := v.old[file]
	if !ok || sv.Stamp != st {
		return render.FileVerdict{}, false
	}
	v.new[file] = sv
	return sv.Verdict, true
}

// SetVerdict caches the verdict of file, unless its stat is in doubt.
func (v *verdictCache) SetVerdict(file string, verdict render.FileVerdict) {
	st, ok := v.stamp(file)
	if !ok {
		return
	}
	limit := time.Now().Add(-racyMargin).UnixNano()
	if st.Mtime >= limit || st.Ctime >= limit {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.new[file] = storedVerdict{st, verdict}
	v.changed = true
}

func (v *verdictCache) stamp(file string) (fileStamp, bool) { return stampFile(v.fs, file) }

// stampFile is the fileStamp of a regular file of fsys, when it has one.
func stampFile(fsys *render.FS, file string) (fileStamp, bool) {
	fi, err := fsys.Stat(file)
	if err != nil || !fi.Mode().IsRegular() {
		return fileStamp{}, false
	}
	return statStamp(fi)
}

// save writes the verdicts of this run (those used and those computed)
// when any was computed, atomically; failures leave the file as it was.
func (v *verdictCache) save() {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.changed && len(v.new) == len(v.old) {
		return
	}
	var buf bytes.Buffer
	if gob.NewEncoder(&buf).Encode(discoveryFile{Key: v.key, Verdicts: v.new}) != nil {
		return
	}
	dir := filepath.Dir(v.path)
	if os.MkdirAll(dir, 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".discovery-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(buf.Bytes())
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), v.path) != nil {
		os.Remove(tmp.Name())
	}
}
