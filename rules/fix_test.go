package rules

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/lint"
)

// TestFixesCompose applies the fixes of the whole catalogue to one repo
// the way the planner does, in two rounds (the fixes, with the objects
// they add written beside the sources; then the deferred ones, computed
// on the fixed objects), and checks the outcome: it is the golden
// fixed.yaml, no finding with a fix remains, every workload passes the
// restricted Pod Security level by the upstream checks, and a third
// round changes nothing.
func TestFixesCompose(t *testing.T) {
	dir := filepath.Join("testdata", "fix-compose")
	src, err := os.ReadFile(filepath.Join(dir, "in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := &lint.Settings{Now: fixtureNow}
	all := All()

	first := applyFixes(t, all, s, "in.yaml", src, func(fx *lint.FixInfo) bool { return !fx.Deferred })
	text := first.fixed
	if len(first.news) > 0 {
		text = append(append(text, "---\n"...), first.news...)
	}
	second := applyFixes(t, all, s, "in.yaml", text, nil)
	if len(second.news) > 0 {
		t.Errorf("the second round adds objects again:\n%s", second.news)
	}
	golden.Check(t, filepath.Join(dir, "fixed.yaml"), second.fixed)
	golden.Check(t, filepath.Join(dir, "fixes.txt"), []byte(first.fixes+"# deferred round\n"+second.fixes))

	third := applyFixes(t, all, s, "fixed.yaml", second.fixed, nil)
	if third.fixes != "" || !bytes.Equal(third.fixed, second.fixed) {
		t.Errorf("a third round still fixes:\n%s", third.fixes)
	}
	for _, o := range loadObjects(t, "fixed.yaml", second.fixed) {
		if !lint.IsWorkload(o.Resource.Kind) {
			continue
		}
		v := evaluatePodSecurity(o, lint.PodSecurityLevel{Level: "restricted", Version: "latest"}, nil)
		for id, xs := range v.violations {
			for _, x := range xs {
				t.Errorf("%s fails %s after the fixes: %s", o.Resource, id, x.message)
			}
		}
	}
}
