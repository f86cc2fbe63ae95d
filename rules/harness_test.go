package rules

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/report"
)

// The shared rule harness. Every rule ID has a directory
// testdata/<ID>/ with two multi-document manifests:
//
//   - bad.yaml: each line where the rule must report carries a comment
//     # want "regexp" (several: # want "re1" "re2"); the rule's findings
//     at that line must match, one finding per regexp, and it must report
//     nowhere else;
//   - good.yaml: the rule reports nothing;
//   - fixed.yaml (for rules with an automatic fix): bad.yaml as the fix
//     planner (driver.Repo.Fix) leaves it, beside fixes.txt, which lists
//     each finding's fix (description and patches), and new.yaml, the
//     files the fixes add, if any (see testFixes). The # want comments of
//     bad.yaml stay in fixed.yaml: fixes keep comments. A fix the planner
//     skips fails the test with the planner's reason unless skipped.txt
//     lists it.
//
// go test ./rules -run TestRuleFixtures -update rewrites the fix goldens
// (skipped.txt only where it exists: -update never accepts a skip).
//
// Only the rule under test runs, over every object of the file, so rules
// that relate objects (bindings, namespaces, policies) see them all. A
// rule's test is one call: testRule(t, "rule-id").

var wantRE = regexp.MustCompile(`#\s*want((?:\s+"(?:[^"\\]|\\.)*")+)\s*$`)
var quotedRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// fixtureSettings are the settings fixtures are linted with; tests may
// change them through testRuleWith.
// Exemptions are judged on a fixed date, so fixtures with expiry dates
// keep their meaning.
func fixtureSettings(r *lint.Rule) *lint.Settings {
	on := true
	known := map[string]bool{}
	for _, r := range All() {
		known[r.ID] = true
	}
	s := &lint.Settings{
		Rules:     map[string]lint.RuleSettings{r.ID: {Enabled: &on}},
		Now:       fixtureNow,
		KnownRule: func(id string) bool { return known[id] },
	}
	if r.ID == lint.ExemptionAddedID {
		// Compared with a commit that exempts nothing.
		s.Prior = &lint.PriorExemptions{}
	}
	return s
}

var fixtureNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// loadObjects parses a manifest into lint objects whose locations are
// exact lines of the file (nearest written ancestor for absent fields).
func loadObjects(t testing.TB, file string, src []byte) []*lint.Object {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var objs []*lint.Object
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		root := doc.Content[0]
		locate := func(p lint.Path) lint.Location {
			m := ypath.Walk(root, p)
			line, col := m.Pos()
			if m.Depth == 0 {
				line, col = root.Content[0].Line, root.Content[0].Column
			}
			return lint.Location{File: file, Line: line, Column: col, Origin: lint.OriginManifest}
		}
		objs = append(objs, lint.NewObject(root, "fixture", locate))
	}
	return objs
}

// runRule runs one rule over the objects of src.
func runRule(t testing.TB, r *lint.Rule, s *lint.Settings, file string, src []byte) []lint.Finding {
	t.Helper()
	fs, err := lint.Run(context.Background(), loadObjects(t, file, src), []*lint.Rule{r}, s)
	if err != nil {
		t.Fatal(err)
	}
	report.SortFindings(fs)
	return fs
}

// wants reads the # want comments of src, by line.
func wants(t testing.TB, src []byte) map[int][]*regexp.Regexp {
	t.Helper()
	out := map[int][]*regexp.Regexp{}
	for i, line := range strings.Split(string(src), "\n") {
		m := wantRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, q := range quotedRE.FindAllString(m[1], -1) {
			s, err := strconv.Unquote(q)
			if err != nil {
				t.Fatalf("line %d: bad want %s: %v", i+1, q, err)
			}
			out[i+1] = append(out[i+1], regexp.MustCompile(s))
		}
	}
	return out
}

func ruleByID(t testing.TB, id string) *lint.Rule {
	t.Helper()
	r := ByID(id)
	if r == nil {
		t.Fatalf("no rule %q in All()", id)
	}
	return r
}

// testRule checks a rule against its bad and good fixtures.
func testRule(t *testing.T, id string) {
	t.Helper()
	r := ruleByID(t, id)
	testRuleWith(t, r, fixtureSettings(r))
}

// testRuleWith is testRule with explicit settings.
func testRuleWith(t *testing.T, r *lint.Rule, s *lint.Settings) {
	t.Helper()
	dir := filepath.Join("testdata", r.ID)
	bad, err := os.ReadFile(filepath.Join(dir, "bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(dir, "good.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := wants(t, bad)
	if len(want) == 0 {
		t.Fatalf("%s/bad.yaml has no # want comment", dir)
	}
	byLine := map[int][]lint.Finding{}
	for _, f := range runRule(t, r, s, "bad.yaml", bad) {
		byLine[f.Location.Line] = append(byLine[f.Location.Line], f)
	}
	for line, res := range want {
		got := byLine[line]
		delete(byLine, line)
		used := make([]bool, len(got))
	next:
		for _, re := range res {
			for i, f := range got {
				if !used[i] && re.MatchString(f.Message) {
					used[i] = true
					continue next
				}
			}
			t.Errorf("bad.yaml:%d: no finding matching %q; got %s", line, re, messages(got))
		}
		for i, f := range got {
			if !used[i] {
				t.Errorf("bad.yaml:%d: unexpected finding %q", line, f.Message)
			}
		}
	}
	for line, fs := range byLine {
		t.Errorf("bad.yaml:%d: unexpected findings %s", line, messages(fs))
	}
	for _, f := range runRule(t, r, s, "good.yaml", good) {
		t.Errorf("good.yaml:%d: unexpected finding %q", f.Location.Line, f.Message)
	}
	if _, err := os.Stat(filepath.Join(dir, "fixed.yaml")); err == nil || golden.Update() && r.Fix != "" {
		testFixes(t, r, s, dir, "bad.yaml", "fixed.yaml")
	}
}

// describeFixes lists the fixes of findings for fixes.txt: each fix's
// description and patches, the objects it adds, and whether it is
// deferred. It checks that each describes a change in a lowercase verb
// phrase.
func describeFixes(t *testing.T, findings []lint.Finding) string {
	t.Helper()
	var desc strings.Builder
	for _, f := range findings {
		if f.Fix == nil {
			continue
		}
		at := fmt.Sprintf("%s:%d", f.Location.File, f.Location.Line)
		fmt.Fprintf(&desc, "%s: %s\n", at, f.Fix.Description)
		if f.Fix.Description == "" || f.Fix.Description != strings.TrimSpace(f.Fix.Description) ||
			unicode.IsUpper([]rune(f.Fix.Description)[0]) || strings.HasSuffix(f.Fix.Description, ".") {
			t.Errorf("%s: fix description %q is not a lowercase verb phrase", at, f.Fix.Description)
		}
		if len(f.Fix.Patches) == 0 && len(f.Fix.New) == 0 {
			t.Errorf("%s: fix %q changes nothing", at, f.Fix.Description)
		}
		for _, p := range f.Fix.Patches {
			fmt.Fprintf(&desc, "\t%s\n", p)
		}
		for _, n := range f.Fix.New {
			fmt.Fprintf(&desc, "\tnew %s\n", newObjectName(n))
		}
		if f.Fix.Deferred {
			fmt.Fprintf(&desc, "\tdeferred\n")
		}
		fmt.Fprintf(&desc, "\trisk %s: %s\n", f.Fix.Risk, f.Fix.RiskReason)
		checkFixRisk(t, at, f.Rule, f.Fix)
	}
	return desc.String()
}

// newObjectName names an added object for fixes.txt.
func newObjectName(n *yaml.Node) string {
	o := lint.NewObject(n, "", nil)
	return o.Resource.String()
}

// testFixes fixes dir/bad with the real fix planner (see Planned) and
// checks the outcome against the goldens dir/fixed (bad's new content),
// fixes.txt (the fixes of r's findings, see describeFixes) and new.yaml
// (the files the fixes add), and checks it with checkPlanned.
func testFixes(t *testing.T, r *lint.Rule, s *lint.Settings, dir, bad, fixed string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, bad))
	if err != nil {
		t.Fatal(err)
	}
	findings := runRule(t, r, s, bad, src)
	fixes := describeFixes(t, findings)
	if fixes == "" {
		t.Errorf("%s: no finding has a fix", bad)
	}
	p := plan(t, []*lint.Rule{r}, s, bad, src)
	base := strings.TrimSuffix(fixed, ".yaml")
	golden.Check(t, filepath.Join(dir, fixed), p.Fixed)
	golden.Check(t, filepath.Join(dir, strings.Replace(base, "fixed", "fixes", 1)+".txt"), []byte(fixes))
	checkNews(t, filepath.Join(dir, strings.Replace(base, "fixed", "new", 1)+".yaml"), p.News)
	checkPlanned(t, filepath.Join(dir, strings.Replace(base, "fixed", "skipped", 1)+".txt"), findings, p)
}

// checkNews compares the files the fixes add with the golden file, which
// must not exist when they add none.
func checkNews(t *testing.T, file string, news []byte) {
	t.Helper()
	if len(news) > 0 {
		golden.Check(t, file, news)
	} else if _, err := os.Stat(file); err == nil {
		t.Errorf("%s exists but no fix adds an object", file)
	}
}

// checkPlanned checks what the planner did with the fixes of findings:
// it applied them all (a fix it skips fails the test with the planner's
// reason, unless the fixture's skipFile golden lists it), they are
// effective (the fixed repository has no finding at a field a fix was
// for, and no finding with a fix at all) and idempotent (a second run
// over the fixed repository changes nothing).
func checkPlanned(t *testing.T, skipFile string, findings []lint.Finding, p Planned) {
	t.Helper()
	if _, err := os.Stat(skipFile); err == nil {
		golden.Check(t, skipFile, []byte(strings.Join(p.Skipped, "\n")+"\n"))
	} else {
		for _, sk := range p.Skipped {
			t.Errorf("the planner skips a fix: %s", sk)
		}
	}

	type place struct{ resource, field string }
	fixedAt := map[place]bool{}
	for _, f := range findings {
		if f.Fix != nil {
			fixedAt[place{f.Object.Resource.String(), f.Field.String()}] = true
		}
	}
	for _, f := range p.Final {
		at := fmt.Sprintf("%s:%d", f.Location.File, f.Location.Line)
		if f.Fix != nil {
			t.Errorf("%s: after the fixes, still fixable: %q (%s)", at, f.Message, f.Fix.Description)
		} else if fixedAt[place{f.Object.Resource.String(), f.Field.String()}] {
			t.Errorf("%s: the fix did not remove %q", at, f.Message)
		}
	}
	if len(p.Again) > 0 {
		t.Errorf("the fixes are not idempotent: a second run changes %s", strings.Join(p.Again, ", "))
	}
}

func messages(fs []lint.Finding) string {
	if len(fs) == 0 {
		return "none"
	}
	var s []string
	for _, f := range fs {
		s = append(s, strconv.Quote(f.Message))
	}
	return strings.Join(s, ", ")
}
