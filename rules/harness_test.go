package rules

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
)

// The shared rule harness. Every rule ID has a directory
// testdata/<ID>/ with two multi-document manifests:
//
//   - bad.yaml: each line where the rule must report carries a comment
//     # want "regexp" (several: # want "re1" "re2"); the rule's findings
//     at that line must match, one finding per regexp, and it must report
//     nowhere else;
//   - good.yaml: the rule reports nothing.
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
	for _, r := range All() {
		if r.ID == id {
			return r
		}
	}
	t.Fatalf("no rule %q in All()", id)
	return nil
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
