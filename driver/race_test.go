package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestFixWhileFilesChange races a writer that keeps rewriting, removing
// and recreating repository files against Repo.Fix and WriteFiles (run it
// with -race). Whatever the interleaving, a run never panics, an error
// names a file, and every file on disk afterwards is one whole version:
// the writer's or a fix's, never a mix (each parses as YAML).
func TestFixWhileFilesChange(t *testing.T) {
	ctx := context.Background()
	for run := range 6 {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			dir := t.TempDir()
			genRepo(t, dir, 1)
			// A config exemption for objects of a file the writer removes:
			// while it is gone, the exemption matches nothing.
			writeTestFile(t, filepath.Join(dir, ".kubeharden.yaml"), []byte(`podSecurity:
  level: restricted
exemptions:
  - rules: [default-service-account]
    reason: the race test needs an exemption whose objects come and go
    expires: 2026-12-31
    match:
      name: svc1
`))
			files := []string{"plain/team0/apps.yaml", "kustomize/app0/base/svc1.yaml", "kustomize/app0/prod/patch.yaml", "charts/chart0/values.yaml", "kustomize/app0/base/kustomization.yaml"}
			orig := map[string][]byte{}
			for _, f := range files {
				b, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				orig[f] = b
			}
			r, err := Open(ctx, dir, nil, Options{Now: func() time.Time { return time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) }})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-done:
						return
					default:
					}
					f := files[(i+run)%len(files)]
					name := filepath.Join(dir, filepath.FromSlash(f))
					switch i % 3 {
					case 0: // rewrite in place
						os.WriteFile(name, append(append([]byte{}, orig[f]...), fmt.Sprintf("# edit %d\n", i)...), 0o644)
					case 1: // remove
						os.Remove(name)
					case 2: // back to the original
						os.WriteFile(name, orig[f], 0o644)
					}
					if i > 1000000 {
						return
					}
				}
			}()
			res, err := r.Fix(ctx, FixOptions{})
			var errs []error
			if err == nil {
				errs = r.WriteFiles(res)
			}
			close(done)
			wg.Wait()
			var changed *ChangedError
			switch {
			case err != nil && !errors.As(err, &changed):
				t.Errorf("Fix error is not a ChangedError: %v", err)
			case err != nil && !slices.Contains(files, changed.File):
				t.Errorf("Fix error names %q, which the writer did not touch", changed.File)
			}
			for _, e := range errs {
				if !errors.As(e, &changed) || !slices.Contains(files, changed.File) {
					t.Errorf("write error names no file the writer touched: %v", e)
				}
			}
			t.Logf("fix: %v; write: %v", err, errs)
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() || !isYAMLFile(p) || strings.Contains(p, "templates") {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				if err := parsesStrictly(b); err != nil {
					t.Errorf("%s half-written: %v", p, err)
				}
				if strings.Contains(filepath.Base(p), ".kubeharden-") {
					t.Errorf("temporary file left: %s", p)
				}
				return nil
			})
		})
	}
}
