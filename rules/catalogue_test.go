package rules

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/kubeharden/kubeharden/lint"
)

var (
	idRE    = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	sinceRE = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)
)

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
			if ByID(r.ID) != r {
				t.Errorf("ByID(%q) is not the rule All() lists", r.ID)
			}
			if !sinceRE.MatchString(r.Since) {
				t.Errorf("Since %q is not a kubeharden version (v0.1.0)", r.Since)
			}
			checkOptions(t, r)
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

// checkOptions checks the options a rule declares: unique names, each
// with a validator and documented in Doc. That a rule declares every
// option it reads is enforced by lint.Pass.Option, which panics on an
// undeclared one, so the examples and fixtures run here would fail.
func checkOptions(t *testing.T, r *lint.Rule) {
	t.Helper()
	names := map[string]bool{}
	for _, o := range r.Options {
		if names[o.Name] {
			t.Errorf("option %q declared twice", o.Name)
		}
		names[o.Name] = true
		if o.Validate == nil {
			t.Errorf("option %q has no Validate", o.Name)
		}
		if !strings.Contains(r.Doc, "`"+o.Name+"`") {
			t.Errorf("Doc does not document option `%s`", o.Name)
		}
		if err := r.ValidateOptions(map[string]any{o.Name: nil}); err != nil && strings.Contains(err.Error(), "has no option") {
			t.Errorf("ValidateOptions rejects declared option %q: %v", o.Name, err)
		}
	}
	if err := ValidateOptions(r.ID, map[string]any{"\x00undeclared": true}); err == nil {
		t.Errorf("ValidateOptions accepts an undeclared option")
	}
}

// TestCatalogueShape checks that the catalogue has one shape: every rule
// All() lists is a package-level var of this package initialised with a
// &lint.Rule composite literal whose ID is a string literal, each such var
// is listed exactly once, ByID finds nothing else, and the rules the
// runner reports itself are in the catalogue.
func TestCatalogueShape(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	declared := map[string]string{} // ID -> var name
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return !isFunc(n)
			}
			for i, v := range vs.Values {
				u, ok := v.(*ast.UnaryExpr)
				if !ok || u.Op != token.AND {
					continue
				}
				cl, ok := u.X.(*ast.CompositeLit)
				if !ok || !isLintRule(cl.Type) {
					continue
				}
				name := vs.Names[i].Name
				id := ""
				for _, e := range cl.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok && isIdent(kv.Key, "ID") {
						if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
							id, _ = strconv.Unquote(lit.Value)
						}
					}
				}
				if id == "" {
					t.Errorf("%s: ID is not a string literal", name)
					continue
				}
				if other, dup := declared[id]; dup {
					t.Errorf("%s and %s both have ID %q", other, name, id)
				}
				declared[id] = name
			}
			return true
		})
	}
	all := All()
	if len(all) != len(declared) {
		t.Errorf("All() lists %d rules; the package declares %d", len(all), len(declared))
	}
	for _, r := range all {
		if _, ok := declared[r.ID]; !ok {
			t.Errorf("%s: not a package-level &lint.Rule{...} var", r.ID)
		}
	}
	for id, name := range declared {
		if ByID(id) == nil {
			t.Errorf("%s (%s) is not listed in All()", name, id)
		}
	}
	for _, id := range []string{lint.ExemptionInvalidID, lint.ExemptionExpiredID, lint.ExemptionUnusedID, lint.ExemptionAddedID} {
		if r := ByID(id); r == nil || !r.ReportedByRunner() {
			t.Errorf("the runner reports %s, which the catalogue does not list", id)
		}
	}
	if ByID("no-such-rule") != nil || ByID("") != nil {
		t.Errorf("ByID finds a rule for an unknown ID")
	}
}

func isFunc(n ast.Node) bool { _, ok := n.(*ast.FuncDecl); return ok }

func isIdent(e ast.Expr, name string) bool { id, ok := e.(*ast.Ident); return ok && id.Name == name }

func isLintRule(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	return ok && isIdent(sel.X, "lint") && sel.Sel.Name == "Rule"
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
	switch {
	case r.Fix != "" && !strings.HasPrefix(r.FixRisk, string(lint.FixSafe)+" ") && !strings.HasPrefix(r.FixRisk, string(lint.FixMayBreak)+" ") &&
		!strings.HasPrefix(r.FixRisk, string(lint.FixSafe)+":") && !strings.HasPrefix(r.FixRisk, string(lint.FixMayBreak)+":"):
		t.Errorf("FixRisk %q must start with the risk class of the rule's fixes (safe or may-break)", r.FixRisk)
	case r.Fix != "" && !strings.HasSuffix(r.FixRisk, "."):
		t.Errorf("FixRisk %q must be a sentence", r.FixRisk)
	case r.Fix == "" && r.FixRisk != "":
		t.Errorf("FixRisk is set but Fix is empty")
	}
	if r.ReportedByRunner() {
		return
	}
	bad, err := os.ReadFile(filepath.Join("testdata", r.ID, "bad.yaml"))
	if err != nil {
		return
	}
	for _, f := range runRule(t, r, fixtureSettings(r), "bad.yaml", bad) {
		switch {
		case f.Fix != nil && r.Fix == "":
			t.Errorf("bad.yaml:%d: the finding has a fix (%s) but the rule's Fix is empty", f.Location.Line, f.Fix.Description)
		case f.Fix != nil:
			checkFixRisk(t, fmt.Sprintf("bad.yaml:%d", f.Location.Line), r, f.Fix)
		}
	}
}

// checkFixRisk checks that a fix of rule r declares its risk class, with
// a reason (a lowercase clause), and that the rule's FixRisk names the
// class for the catalogue.
func checkFixRisk(t *testing.T, at string, r *lint.Rule, fx *lint.FixInfo) {
	t.Helper()
	if _, err := lint.ParseFixRisk(string(fx.Risk)); err != nil {
		t.Errorf("%s: fix %q declares no risk class: %v", at, fx.Description, err)
		return
	}
	if fx.RiskReason == "" || fx.RiskReason != strings.TrimSpace(fx.RiskReason) ||
		unicode.IsUpper([]rune(fx.RiskReason)[0]) || strings.HasSuffix(fx.RiskReason, ".") {
		t.Errorf("%s: fix %q: risk reason %q is not a lowercase clause", at, fx.Description, fx.RiskReason)
	}
	if !strings.Contains(r.FixRisk, string(fx.Risk)) {
		t.Errorf("%s: fix %q is %s, which the rule's FixRisk %q does not name", at, fx.Description, fx.Risk, r.FixRisk)
	}
}
