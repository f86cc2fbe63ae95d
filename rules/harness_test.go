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
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/fix"
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
//   - fixed.yaml (for rules with an automatic fix): bad.yaml with the
//     patches of every finding's fix applied (see testFixes), beside
//     fixes.txt, which lists each fix's description and patches, and
//     new.yaml, the objects the fixes add, if any. The # want comments of
//     bad.yaml stay in fixed.yaml: fixes keep comments.
//
// go test ./rules -run TestRuleFixtures -update rewrites the fix goldens.
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
	return &lint.Settings{
		Rules:     map[string]lint.RuleSettings{r.ID: {Enabled: &on}},
		Now:       fixtureNow,
		KnownRule: func(id string) bool { return known[id] },
	}
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

// fixResult is what applying the fixes of one fixture produced.
type fixResult struct {
	findings []lint.Finding // of the input, in the runner's order
	fixed    []byte         // the input with every patch applied
	fixes    string         // fixes.txt: descriptions and patches
	news     []byte         // the added objects, a YAML stream
}

// applyFixes runs rules over the objects of src and applies the patches
// of every finding's fix that keep accepts (nil accepts all, deferred ones
// too) the way the planner does: one fix.LowerAll per object over the
// nodes of the same parse, then fix.Apply over all the edits.
func applyFixes(t *testing.T, rules []*lint.Rule, s *lint.Settings, file string, src []byte, keep func(*lint.FixInfo) bool) fixResult {
	t.Helper()
	objs := loadObjects(t, file, src)
	fs, err := lint.Run(context.Background(), objs, rules, s)
	if err != nil {
		t.Fatal(err)
	}
	report.SortFindings(fs)
	res := fixResult{findings: fs}
	patches := map[*lint.Object][]fix.Patch{}
	var desc strings.Builder
	var news []string
	for _, f := range fs {
		if f.Fix == nil || keep != nil && !keep(f.Fix) {
			continue
		}
		fmt.Fprintf(&desc, "%s:%d: %s\n", file, f.Location.Line, f.Fix.Description)
		if f.Fix.Description == "" || f.Fix.Description != strings.TrimSpace(f.Fix.Description) ||
			unicode.IsUpper([]rune(f.Fix.Description)[0]) || strings.HasSuffix(f.Fix.Description, ".") {
			t.Errorf("%s:%d: fix description %q is not a lowercase verb phrase", file, f.Location.Line, f.Fix.Description)
		}
		if len(f.Fix.Patches) == 0 && len(f.Fix.New) == 0 {
			t.Errorf("%s:%d: fix %q changes nothing", file, f.Location.Line, f.Fix.Description)
		}
		for _, p := range f.Fix.Patches {
			fmt.Fprintf(&desc, "\t%s\n", p)
		}
		patches[f.Object] = append(patches[f.Object], f.Fix.Patches...)
		for _, n := range f.Fix.New {
			var b strings.Builder
			enc := yaml.NewEncoder(&b)
			enc.SetIndent(2)
			if err := enc.Encode(n); err != nil {
				t.Fatalf("%s:%d: marshal new object: %v", file, f.Location.Line, err)
			}
			fmt.Fprintf(&desc, "\tnew %s\n", newObjectName(n))
			if !slices.Contains(news, b.String()) {
				news = append(news, b.String())
			}
		}
		if f.Fix.Deferred {
			fmt.Fprintf(&desc, "\tdeferred\n")
		}
	}
	res.fixes = desc.String()
	res.news = []byte(strings.Join(news, "---\n"))
	var edits []fix.Edit
	for _, o := range objs {
		if len(patches[o]) == 0 {
			continue
		}
		es, err := fix.LowerAll(src, o.Node, patches[o])
		if err != nil {
			t.Errorf("%s: lower the fixes of %s: %v", file, o.Resource, err)
			continue
		}
		edits = append(edits, es...)
	}
	if res.fixed, err = fix.Apply(src, edits); err != nil {
		t.Fatalf("%s: apply: %v", file, err)
	}
	return res
}

// newObjectName names an added object for fixes.txt.
func newObjectName(n *yaml.Node) string {
	o := lint.NewObject(n, "", nil)
	return o.Resource.String()
}

// testFixes checks the fixes of r's findings on dir/bad against the
// goldens dir/fixed, fixes.txt and new.yaml, and that they are effective
// (the fixed text, with the added objects, has no finding at a field a
// fix was for, and no finding with a fix at all) and idempotent (the same
// patches lower to no edit on the fixed text).
func testFixes(t *testing.T, r *lint.Rule, s *lint.Settings, dir, bad, fixed string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, bad))
	if err != nil {
		t.Fatal(err)
	}
	res := applyFixes(t, []*lint.Rule{r}, s, bad, src, nil)
	base := strings.TrimSuffix(fixed, ".yaml")
	golden.Check(t, filepath.Join(dir, fixed), res.fixed)
	golden.Check(t, filepath.Join(dir, strings.Replace(base, "fixed", "fixes", 1)+".txt"), []byte(res.fixes))
	newFile := filepath.Join(dir, strings.Replace(base, "fixed", "new", 1)+".yaml")
	if len(res.news) > 0 {
		golden.Check(t, newFile, res.news)
	} else if _, err := os.Stat(newFile); err == nil {
		t.Errorf("%s exists but no fix adds an object", newFile)
	}
	if res.fixes == "" {
		t.Errorf("%s: no finding has a fix", bad)
	}

	after := loadObjects(t, fixed, res.fixed)
	withNew := append(slices.Clone(after), loadObjects(t, "new.yaml", res.news)...)
	again, err := lint.Run(context.Background(), withNew, []*lint.Rule{r}, s)
	if err != nil {
		t.Fatal(err)
	}
	type place struct{ resource, field string }
	fixedAt := map[place]bool{}
	for _, f := range res.findings {
		if f.Fix != nil {
			fixedAt[place{f.Object.Resource.String(), f.Field.String()}] = true
		}
	}
	for _, f := range again {
		if f.Fix != nil {
			t.Errorf("%s:%d: after the fixes, still fixable: %q (%s)", fixed, f.Location.Line, f.Message, f.Fix.Description)
		} else if fixedAt[place{f.Object.Resource.String(), f.Field.String()}] {
			t.Errorf("%s:%d: the fix did not remove %q", fixed, f.Location.Line, f.Message)
		}
	}

	// Idempotent: the patches, lowered again on the fixed text, change
	// nothing (objects keep their order: fixes add no document).
	before := loadObjects(t, bad, src)
	if len(before) != len(after) {
		t.Fatalf("%s has %d objects, %s %d", bad, len(before), fixed, len(after))
	}
	patches := map[int][]fix.Patch{}
	for _, f := range res.findings {
		if f.Fix == nil {
			continue
		}
		i := slices.IndexFunc(before, func(o *lint.Object) bool { return o.Resource == f.Object.Resource && o.Node.Line == f.Object.Node.Line })
		patches[i] = append(patches[i], f.Fix.Patches...)
	}
	for i, ps := range patches {
		es, err := fix.LowerAll(res.fixed, after[i].Node, ps)
		if err != nil {
			t.Errorf("%s: lower the fixes of %s again: %v", fixed, after[i].Resource, err)
		} else if len(es) > 0 {
			t.Errorf("%s: the fixes of %s are not idempotent: a second run edits %+v", fixed, after[i].Resource, es)
		}
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
