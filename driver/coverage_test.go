package driver

import (
	"context"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// TestCoverage: every YAML and JSON file of the demo repository is read
// by some target's render, or listed as skipped with a reason: nothing a
// repository holds is left out without a word. (The config is read by
// Open.)
func TestCoverage(t *testing.T) {
	ctx := context.Background()
	demo, err := filepath.Abs("../testdata/demo")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, demo, nil, Options{})
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
	err = filepath.WalkDir(r.Root(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(r.Root(), p)
		rel = filepath.ToSlash(rel)
		if ext := path.Ext(rel); ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return nil
		}
		if covered[rel] == "" && !strings.HasPrefix(rel, ".git/") {
			t.Errorf("%s is in no target and not skipped", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
