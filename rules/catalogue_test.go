package rules

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/kubeharden/kubeharden/lint"
)

var idRE = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// TestCatalogue checks the metadata of every rule: the catalogue is data
// users read (kubeharden rules, docs/rules.md), so each rule must carry all
// of it, and its examples must behave as documented.
func TestCatalogue(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range All() {
		t.Run(r.ID, func(t *testing.T) {
			if !idRE.MatchString(r.ID) {
				t.Errorf("ID %q is not kebab-case", r.ID)
			}
			if seen[r.ID] {
				t.Errorf("duplicate ID")
			}
			seen[r.ID] = true
			if r.Title == "" || unicode.IsUpper([]rune(r.Title)[0]) || strings.HasSuffix(r.Title, ".") {
				t.Errorf("title %q must be lowercase, without a final period", r.Title)
			}
			if strings.TrimSpace(r.Doc) == "" {
				t.Errorf("no Doc")
			}
			if !strings.HasSuffix(strings.TrimSpace(r.Remediation), ".") {
				t.Errorf("remediation %q must be a sentence", r.Remediation)
			}
			if len(r.Links) == 0 {
				t.Errorf("no Links")
			}
			for _, l := range r.Links {
				if !strings.HasPrefix(l, "https://") {
					t.Errorf("link %q is not https", l)
				}
			}
			if r.ReportedByRunner() {
				if r.Check != nil || r.Run != nil {
					t.Errorf("a rule reported by the runner has neither Check nor Run")
				}
			} else if (r.Check == nil) == (r.Run == nil) {
				t.Errorf("exactly one of Check and Run must be set")
			}
			if r.Check != nil && len(r.Kinds) == 0 {
				t.Errorf("a Check rule must name the kinds it applies to")
			}
			if r.Severity < lint.Info || r.Severity > lint.Critical {
				t.Errorf("bad severity %d", r.Severity)
			}
			for _, f := range []string{"bad.yaml", "good.yaml"} {
				if _, err := os.Stat(filepath.Join("testdata", r.ID, f)); err != nil {
					t.Errorf("fixture missing: %v", err)
				}
			}
			checkFixDoc(t, r)
			s := fixtureSettings(r)
			if r.Before == "" || len(runRule(t, r, s, "before.yaml", []byte(r.Before))) == 0 {
				t.Errorf("the Before example must yield a finding")
			}
			if r.After == "" {
				t.Errorf("no After example")
			} else if fs := runRule(t, r, s, "after.yaml", []byte(r.After)); len(fs) > 0 {
				t.Errorf("the After example yields %s", messages(fs))
			}
		})
	}
}

// TestRuleFixtures runs every rule against testdata/<ID>/bad.yaml and
// good.yaml through the shared harness.
func TestRuleFixtures(t *testing.T) {
	for _, r := range All() {
		t.Run(r.ID, func(t *testing.T) {
			if _, err := os.Stat(filepath.Join("testdata", r.ID)); err != nil {
				t.Skip("no fixtures (TestCatalogue reports it)")
			}
			testRule(t, r.ID)
		})
	}
}

// checkFixDoc checks that the catalogue says which rules fix: a rule
// with Fix set has fixed.yaml fixtures (which the harness requires to
// hold at least one fix), and a rule without attaches no fix to the
// findings of its bad.yaml.
func checkFixDoc(t *testing.T, r *lint.Rule) {
	t.Helper()
	_, err := os.Stat(filepath.Join("testdata", r.ID, "fixed.yaml"))
	hasGolden := err == nil
	switch {
	case r.Fix != "" && !hasGolden:
		t.Errorf("Fix is set but testdata/%s/fixed.yaml is missing (go test ./rules -update writes it)", r.ID)
	case r.Fix == "" && hasGolden:
		t.Errorf("testdata/%s/fixed.yaml exists but Fix does not say what the fix does", r.ID)
	case r.Fix != "" && (unicode.IsLower([]rune(r.Fix)[0]) || !strings.HasSuffix(r.Fix, ".")):
		t.Errorf("Fix %q must be a sentence", r.Fix)
	}
	if r.Fix != "" || r.ReportedByRunner() {
		return
	}
	bad, err := os.ReadFile(filepath.Join("testdata", r.ID, "bad.yaml"))
	if err != nil {
		return
	}
	for _, f := range runRule(t, r, fixtureSettings(r), "bad.yaml", bad) {
		if f.Fix != nil {
			t.Errorf("bad.yaml:%d: the finding has a fix (%s) but the rule's Fix is empty", f.Location.Line, f.Fix.Description)
		}
	}
}
