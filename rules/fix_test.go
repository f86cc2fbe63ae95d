package rules

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/lint"
)

// TestFixesCompose fixes one repository with the whole catalogue (every
// rule on, off-by-default ones too) in one run of the real fix planner,
// which applies the fixes, then, in a later round on the fixed state, the
// deferred ones. It checks the outcome: in.yaml becomes the golden
// fixed.yaml and the added files new.yaml, fixes.txt lists the applied
// fixes round by round, no finding with a fix remains, every workload
// passes the restricted Pod Security level by the upstream checks, and a
// second run changes nothing.
func TestFixesCompose(t *testing.T) {
	dir := filepath.Join("testdata", "fix-compose")
	src, err := os.ReadFile(filepath.Join(dir, "in.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	all := All()
	on := true
	s := &lint.Settings{Now: fixtureNow, Rules: map[string]lint.RuleSettings{}}
	for _, r := range all {
		s.Rules[r.ID] = lint.RuleSettings{Enabled: &on}
	}
	p := plan(t, all, s, "in.yaml", src)
	golden.Check(t, filepath.Join(dir, "fixed.yaml"), p.Fixed)
	checkNews(t, filepath.Join(dir, "new.yaml"), p.News)

	// The planner applies the deferred fixes in a round after the others.
	i := slices.IndexFunc(p.Applied, func(f lint.Finding) bool { return f.Fix.Deferred })
	if i < 0 {
		t.Fatal("no deferred fix applied")
	}
	fixes := describeFixes(t, p.Applied[:i]) + "# deferred round\n" + describeFixes(t, p.Applied[i:])
	golden.Check(t, filepath.Join(dir, "fixes.txt"), []byte(fixes))

	checkPlanned(t, filepath.Join(dir, "skipped.txt"), nil, p)
	objs := append(loadObjects(t, "fixed.yaml", p.Fixed), loadObjects(t, "new.yaml", p.News)...)
	for _, o := range objs {
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
