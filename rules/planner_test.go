package rules_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/driver"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/rules"
)

func init() { rules.SetPlanner(planFixes) }

// planFixes writes src as file into a new repository, fixes it with
// driver.Repo.Fix (only rs, linted with s), writes the result and runs
// the planner once more over what was written.
func planFixes(t *testing.T, rs []*lint.Rule, s *lint.Settings, file string, src []byte) rules.Planned {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name string, data []byte) {
		t.Helper()
		name = filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(".git", "HEAD"), []byte("ref: refs/heads/main\n"))
	write(file, src)
	run := func() (*driver.Repo, *driver.FixResult) {
		t.Helper()
		repo, err := driver.Open(ctx, dir, nil, driver.Options{Rules: rs, Settings: s})
		if err != nil {
			t.Fatal(err)
		}
		res, err := repo.Fix(ctx, driver.FixOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range res.Final.Errors {
			t.Errorf("%s:%d: %s", e.File, e.Line, e.Message)
		}
		return repo, res
	}

	repo, res := run()
	p := rules.Planned{Fixed: src, Final: res.Final.Findings}
	var news [][]byte
	for _, name := range slices.Sorted(maps.Keys(res.Files)) {
		switch {
		case name == file:
			p.Fixed = res.Files[name]
		case res.Orig[name] == nil:
			news = append(news, res.Files[name])
		default:
			t.Errorf("the fixes change %s, which the fixture does not have", name)
		}
	}
	p.News = bytes.Join(news, []byte("---\n"))
	for _, a := range res.Applied {
		p.Applied = append(p.Applied, a.Finding)
	}
	for _, sk := range res.Skipped {
		f := sk.Finding
		p.Skipped = append(p.Skipped, fmt.Sprintf("%s:%d: %s: %s", f.Location.File, f.Location.Line, f.Rule.ID, sk.Reason))
	}

	if errs := repo.WriteFiles(res); len(errs) > 0 {
		t.Fatal(errs)
	}
	_, again := run()
	p.Again = again.FixedFiles()
	return p
}
