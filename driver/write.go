package driver

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/lint"
)

// FixedFiles returns the files a fix run changes, sorted.
func (res *FixResult) FixedFiles() []string {
	var out []string
	for f, b := range res.Files {
		if !bytes.Equal(b, res.Orig[f]) || res.Orig[f] == nil {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

// Changes returns the file changes of a fix run, sorted by path.
func (res *FixResult) Changes() []fix.FileChange {
	var out []fix.FileChange
	for _, f := range res.FixedFiles() {
		out = append(out, fix.FileChange{Path: f, Old: res.Orig[f], New: res.Files[f]})
	}
	return out
}

// Unfixable returns the findings left after the fixes that have no
// automatic fix (those whose fix failed are the skipped ones).
func (res *FixResult) Unfixable() (unfixable []lint.Finding) {
	for _, f := range res.Final.Findings {
		if !HasFix(f) {
			unfixable = append(unfixable, f)
		}
	}
	return unfixable
}

// WriteFiles writes the fixed files under the repository root. Each file
// is written whole through a temporary file in its directory and a rename,
// keeping its mode. A file is not written when it changed on disk since it
// was read, when it or a directory above it (below the root) is a symbolic
// link, or, for a new file, when it has appeared meanwhile. The errors say
// which files were left alone and why.
func (r *Repo) WriteFiles(res *FixResult) []error {
	var errs []error
	files := slices.Sorted(maps.Keys(res.Files))
	for _, rel := range files {
		if err := r.writeFile(rel, res.Orig[rel], res.Files[rel]); err != nil {
			errs = append(errs, fmt.Errorf("%s: not written: %w", rel, err))
		}
	}
	return errs
}

func (r *Repo) writeFile(rel string, orig, data []byte) error {
	if bytes.Equal(orig, data) && orig != nil {
		return nil
	}
	if strings.HasPrefix(rel, "../") || rel == ".." || filepath.IsAbs(rel) {
		return errors.New("outside the repository")
	}
	name := r.fs.Abs(rel)
	// No symbolic link on the way: every directory from the root down is
	// a real directory.
	dir := r.root
	for _, part := range strings.Split(filepath.Dir(filepath.FromSlash(rel)), string(filepath.Separator)) {
		if part == "." || part == "" {
			continue
		}
		dir = filepath.Join(dir, part)
		st, err := os.Lstat(dir)
		if err != nil {
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", part)
		}
	}
	mode := fs.FileMode(0o644)
	st, err := os.Lstat(name)
	switch {
	case err == nil && orig == nil:
		return errors.New("the file appeared after it was planned; run kubeharden fix again")
	case err == nil && !st.Mode().IsRegular():
		return errors.New("not a regular file (a symbolic link?)")
	case err == nil:
		mode = st.Mode().Perm()
		cur, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		if !bytes.Equal(cur, orig) {
			return errors.New("the file changed on disk while kubeharden was fixing it; run kubeharden fix again")
		}
	case errors.Is(err, fs.ErrNotExist) && orig != nil:
		return errors.New("the file was removed while kubeharden was fixing it")
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	tmp, err := writeTemp(name, data, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if orig == nil {
		// A hard link fails if the name exists: a new file never
		// replaces one that appeared meanwhile.
		return os.Link(tmp, name)
	}
	return os.Rename(tmp, name)
}

// WriteFileAtomic writes data to name through a temporary file in the
// same directory and a rename, so readers never see a half-written file.
func WriteFileAtomic(name string, data []byte) error {
	tmp, err := writeTemp(name, data, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Rename(tmp, name)
}

// writeTemp writes data to a new temporary file next to name, with the
// given mode, synced to disk, and returns the temporary file's name. The
// caller moves it into place (rename or link) and removes it afterwards.
func writeTemp(name string, data []byte, mode fs.FileMode) (string, error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".kubeharden-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	return tmp.Name(), nil
}
