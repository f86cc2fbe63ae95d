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
	"github.com/kubeharden/kubeharden/internal/loc"
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
// link, when it is read-only for its owner (it is skipped, never
// replaced), or, for a new file, when it has appeared meanwhile. The
// errors say which files were left alone and why.
//
// Before writing anything, every file the fix run read is read again:
// when one of them changed, was removed or appeared since, the fixes were
// verified against content that is gone, and no file is written (each
// error is a *ChangedError). WriteFiles never leaves a file half-written.
func (r *Repo) WriteFiles(res *FixResult) []error {
	var errs []error
	if res.reads != nil {
		for _, rel := range res.reads.Stale(r.fs) {
			errs = append(errs, &ChangedError{File: rel})
		}
		if len(errs) > 0 {
			return errs
		}
	}
	files := slices.Sorted(maps.Keys(res.Files))
	for _, rel := range files {
		if err := r.writeFile(rel, res.Orig[rel], res.Files[rel]); err != nil {
			errs = append(errs, &WriteError{File: rel, Err: err})
		}
	}
	return errs
}

// WriteError is a file WriteFiles left alone, and why.
type WriteError struct {
	File string // root-relative
	Err  error
}

func (e *WriteError) Error() string {
	return fmt.Sprintf("%s: not written: %v", loc.Escape(e.File), e.Err)
}
func (e *WriteError) Unwrap() error { return e.Err }

// Written returns res as WriteFiles left the disk, given its errors:
// Applied holds only the fixes whose files were all written, the others
// move to Skipped with the write error as the reason, and Files and Orig
// hold only the written files. After a *ChangedError nothing was written.
// With no errors it returns res.
func (res *FixResult) Written(errs []error) *FixResult {
	if len(errs) == 0 {
		return res
	}
	failed := map[string]string{}
	all := false
	for _, err := range errs {
		var we *WriteError
		var ce *ChangedError
		switch {
		case errors.As(err, &ce):
			all = true
		case errors.As(err, &we):
			failed[we.File] = err.Error()
		}
	}
	out := *res
	out.Applied, out.Skipped = nil, slices.Clone(res.Skipped)
	out.Files, out.Orig = map[string][]byte{}, map[string][]byte{}
	for f, b := range res.Files {
		if _, bad := failed[f]; !bad && !all {
			out.Files[f], out.Orig[f] = b, res.Orig[f]
		}
	}
	for _, a := range res.Applied {
		reason := ""
		for _, f := range a.Files {
			if why, bad := failed[f]; bad && reason == "" {
				reason = "verified but not written: " + why
			}
		}
		if all {
			reason = "verified but not written: " + errs[0].Error()
		}
		if reason == "" {
			out.Applied = append(out.Applied, a)
		} else {
			out.Skipped = append(out.Skipped, SkippedFix{Finding: a.Finding, Reason: reason})
		}
	}
	return &out
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
	case err == nil && st.Mode().Perm()&0o200 == 0:
		return fmt.Errorf("read-only (mode %04o); make it writable to let kubeharden fix it", st.Mode().Perm())
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
