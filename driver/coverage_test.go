package driver

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestCoverage: every YAML and JSON file of the repositories under
// testdata/ (the demo, the privileged Pod, and the repository each
// testscript archive holds, with the symlinks its script makes) is read
// by some target's render, listed as skipped with a reason, or named by
// an error entry: nothing a repository holds is left out without a word.
// (The config is read by Open.)
func TestCoverage(t *testing.T) {
	for _, dir := range []string{"demo", "privileged-pod"} {
		t.Run(dir, func(t *testing.T) {
			abs, err := filepath.Abs(filepath.Join("../testdata", dir))
			if err != nil {
				t.Fatal(err)
			}
			checkCoverage(t, abs, nil)
		})
	}
	archives, err := filepath.Glob("../testdata/script/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no archives: %v", err)
	}
	for _, a := range archives {
		name := strings.TrimSuffix(filepath.Base(a), ".txtar")
		t.Run(name, func(t *testing.T) {
			ar, err := txtar.ParseFile(a)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			for _, f := range ar.Files {
				if strings.HasPrefix(f.Name, "want/") {
					continue // expected output, not the repository
				}
				p := filepath.Join(dir, filepath.FromSlash(f.Name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			// The script's symlinks, as its symlink command makes them.
			for _, l := range strings.Split(string(ar.Comment), "\n") {
				f := strings.Fields(l)
				if len(f) == 4 && f[0] == "symlink" && f[2] == "->" {
					if err := os.Symlink(filepath.FromSlash(f[3]), filepath.Join(dir, filepath.FromSlash(f[1]))); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The repository is the archive's folder holding .git, else
			// the archive itself (its script runs git init there).
			root := dir
			for _, f := range ar.Files {
				if d, ok := strings.CutSuffix(f.Name, "/.git/HEAD"); ok {
					root = filepath.Join(dir, filepath.FromSlash(d))
				}
			}
			checkCoverage(t, root, coverageExempt[name])
		})
	}
}

// coverageExempt lists, by archive, the files its script does not lint
// as they stand in the archive, with the reason. None today: every file
// of every archive, the config variants its script copies into place
// included, is linted, skipped or named by an error as it stands.
var coverageExempt = map[string]map[string]string{}

func checkCoverage(t *testing.T, dir string, exempt map[string]string) {
	t.Helper()
	ctx := context.Background()
	r, err := Open(ctx, dir, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := r.Lint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]string{".kubeharden.yaml": "config"}
	for _, res := range snap.results {
		for _, f := range res.files {
			covered[f] = "target " + res.target.ID()
		}
	}
	for _, s := range snap.Skipped {
		covered[s.File] = "skipped: " + s.Reason
	}
	for _, e := range snap.Errors {
		if e.File != "" {
			covered[e.File] = "error: " + e.Message
		}
	}
	for f, why := range exempt {
		covered[f] = "exempt: " + why
	}
	var missing []string
	// Only the linted folder is walked: testdata/privileged-pod's root is
	// this repository.
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r.Root(), p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := path.Ext(rel); ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return nil
		}
		if covered[rel] == "" {
			missing = append(missing, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("%s is in no target, not skipped and in no error", m)
	}
}
