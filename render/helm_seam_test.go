package render

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// helmSeam is the one package of the module that may import Helm, so that
// moving to another Helm major changes it alone.
const helmSeam = "render/internal/helm"

// TestHelmSeam fails when a Go file of the module outside helmSeam, test
// files included, imports helm.sh/... directly.
func TestHelmSeam(t *testing.T) {
	root := ".." // the module root
	seamImportsHelm := false
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			// What the go command ignores.
			if p != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		for _, imp := range f.Imports {
			ip, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(ip, "helm.sh/") {
				continue
			}
			if path.Dir(rel) == helmSeam {
				seamImportsHelm = true
				continue
			}
			t.Errorf("%s imports %s: only %s may import Helm", rel, ip, helmSeam)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !seamImportsHelm {
		t.Errorf("no file of %s imports helm.sh/...: the check found nothing to check", helmSeam)
	}
}
