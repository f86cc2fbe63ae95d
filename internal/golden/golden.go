// Package golden is the one golden-file helper of the test suites: a
// test compares what it produced with a checked-in file, and
// `go test -update` rewrites the file instead. Every package's tests use
// this flag and this comparison, so regenerating expectations works the
// same way everywhere.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// update is the single -update flag. It is registered once, in every
// test binary that imports this package.
var update = flag.Bool("update", false, "rewrite golden files (and other checked-in expectations) with what the tests produce")

// Update reports whether the test run was asked to rewrite its goldens.
func Update() bool { return *update }

// Check compares got with the content of file. Under -update it writes
// got to file (creating its directory) and passes. A missing file or a
// difference fails t with a line diff and the command that accepts it.
func Check(t testing.TB, file string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (go test -run '%s' -update creates it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -run '%s' -update accepts it):\n%s", file, t.Name(), Diff(string(want), string(got)))
	}
}

// Diff is a line diff from want to got, "-" for want's lines and "+" for
// got's, with unchanged lines indented.
func Diff(want, got string) string {
	dmp := diffmatchpatch.New()
	a, b, lines := dmp.DiffLinesToChars(want, got)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(a, b, false), lines)
	var out bytes.Buffer
	for _, d := range diffs {
		prefix := "  "
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			prefix = "- "
		case diffmatchpatch.DiffInsert:
			prefix = "+ "
		}
		for _, l := range bytes.SplitAfter([]byte(d.Text), []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			out.WriteString(prefix)
			out.Write(l)
			if l[len(l)-1] != '\n' {
				out.WriteString("\n")
			}
		}
	}
	return out.String()
}
