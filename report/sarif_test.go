package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/lint"
)

// The official SARIF 2.1.0 schema; see testdata/SARIF-SCHEMA.md.
const (
	sarifSchemaFile = "testdata/sarif-schema-2.1.0.json"
	sarifSchemaID   = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"
)

var sarifSchemaOnce = sync.OnceValues(func() (*jsonschema.Schema, error) {
	b, err := os.ReadFile(sarifSchemaFile)
	if err != nil {
		return nil, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// Registered under its own $id, so the compiler never fetches it; its
	// draft-07 meta-schema is built into the library.
	if err := c.AddResource(sarifSchemaID, doc); err != nil {
		return nil, err
	}
	return c.Compile(sarifSchemaID)
})

func officialSARIFSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	sch, err := sarifSchemaOnce()
	if err != nil {
		t.Fatalf("compile %s: %v", sarifSchemaFile, err)
	}
	return sch
}

func TestSARIFSchemaFile(t *testing.T) {
	b, err := os.ReadFile(sarifSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var head struct {
		Schema string `json:"$schema"`
		ID     string `json:"$id"`
		Title  string `json:"title"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		t.Fatal(err)
	}
	if head.Schema != "http://json-schema.org/draft-07/schema#" || head.ID != sarifSchemaID || !strings.Contains(head.Title, "2.1.0") {
		t.Errorf("%s is not the OASIS SARIF 2.1.0 draft-07 schema: %+v", sarifSchemaFile, head)
	}
	officialSARIFSchema(t)
}

// sarifReports are reports every SARIF output must validate for.
func sarifReports(t testing.TB) map[string]*Report {
	return map[string]*Report{
		"sample":  sampleReport(t),
		"empty":   emptyReport(),
		"nil":     nil,
		"hostile": hostileReport(t),
		"odd paths": {Findings: []lint.Finding{{
			Rule: ruleLatestTag, Object: object(t, "a dir", "{apiVersion: v1, kind: Pod, metadata: {name: p}}"), Message: "m",
			Location: lint.Location{File: "c:/weird dir/50%/ünï#?.yaml", Line: 2, Origin: lint.OriginManifest},
		}}},
		"via anchor": viaReport(t),
		"fixes":      fixesReport(t),
	}
}

// fixesReport is the sample with the web finding's own fix: an inserted
// line in its manifest and a new file.
func fixesReport(t testing.TB) *Report {
	r := sampleReport(t)
	r.Fixes = map[string][]fix.FileChange{Fingerprint(r.Findings[2]): {
		{Path: "deploy/web/deployment.yaml", Old: []byte("a: 1\nb:\n  c: 2\nd: 3\n"), New: []byte("a: 1\nb:\n  c: 2\n  e: true\nd: 3\n")},
		{Path: "deploy/web/policy.yaml", New: []byte("kind: NetworkPolicy\n")},
	}}
	return r
}

// TestSARIFFixes: a finding's own fix is a SARIF fix whose replacements
// are whole lines: an insertion is an empty region at the line it goes
// before, a new file one insertion at its start.
func TestSARIFFixes(t *testing.T) {
	log := sarifLogOf(t, fixesReport(t))
	var fixes []sarifFix
	for _, r := range log.Runs[0].Results {
		fixes = append(fixes, r.Fixes...)
	}
	if len(fixes) != 1 {
		t.Fatalf("%d fixes, want 1", len(fixes))
	}
	got, _ := json.Marshal(fixes[0])
	want := `{"description":{"text":"set securityContext.runAsNonRoot: true (may-break: the image may run as root)"},"artifactChanges":[` +
		`{"artifactLocation":{"uri":"deploy/web/deployment.yaml","uriBaseId":"%SRCROOT%"},"replacements":[{"deletedRegion":{"startLine":4,"startColumn":1,"endLine":4,"endColumn":1},"insertedContent":{"text":"  e: true\n"}}]},` +
		`{"artifactLocation":{"uri":"deploy/web/policy.yaml","uriBaseId":"%SRCROOT%"},"replacements":[{"deletedRegion":{"startLine":1,"startColumn":1,"endLine":1,"endColumn":1},"insertedContent":{"text":"kind: NetworkPolicy\n"}}]}]}`
	if string(got) != want {
		t.Errorf("fix\n got %s\nwant %s", got, want)
	}
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	sch := officialSARIFSchema(t)
	for name, r := range sarifReports(t) {
		out := write(t, FormatSARIF, r, Options{})
		if err := validate(t, sch, out); err != nil {
			t.Errorf("%s report does not validate against the SARIF 2.1.0 schema: %v\n%s", name, err, out)
		}
	}
}

// TestSARIFSchemaRejects proves the validation has teeth: each case breaks
// a valid log in a way the schema forbids.
func TestSARIFSchemaRejects(t *testing.T) {
	sch := officialSARIFSchema(t)
	valid := write(t, FormatSARIF, sampleReport(t), Options{})
	if err := validate(t, sch, valid); err != nil {
		t.Fatalf("sample does not validate: %v", err)
	}
	run := func(v map[string]any) map[string]any { return v["runs"].([]any)[0].(map[string]any) }
	result := func(v map[string]any) map[string]any { return run(v)["results"].([]any)[0].(map[string]any) }
	physical := func(v map[string]any) map[string]any {
		return result(v)["locations"].([]any)[0].(map[string]any)["physicalLocation"].(map[string]any)
	}
	tests := map[string]func(v map[string]any){
		"severity as level":     func(v map[string]any) { result(v)["level"] = "critical" },
		"line 0 region":         func(v map[string]any) { physical(v)["region"].(map[string]any)["startLine"] = 0 },
		"message without text":  func(v map[string]any) { result(v)["message"] = map[string]any{} },
		"unknown result field":  func(v map[string]any) { result(v)["severity"] = "high" },
		"version 2.0.0":         func(v map[string]any) { v["version"] = "2.0.0" },
		"negative rule index":   func(v map[string]any) { result(v)["ruleIndex"] = -5 },
		"uri with a bad escape": func(v map[string]any) { physical(v)["artifactLocation"].(map[string]any)["uri"] = "a%zz.yaml" },
		"no runs":               func(v map[string]any) { delete(v, "runs") },
		"driver without name":   func(v map[string]any) { delete(run(v)["tool"].(map[string]any)["driver"].(map[string]any), "name") },
		"non-string hash":       func(v map[string]any) { result(v)["partialFingerprints"] = map[string]any{"kubeharden/v1": 1} },
		"bad notification kind": func(v map[string]any) {
			run(v)["invocations"].([]any)[0].(map[string]any)["toolExecutionNotifications"].([]any)[0].(map[string]any)["level"] = "fatal"
		},
		"relative helpUri": func(v map[string]any) {
			run(v)["tool"].(map[string]any)["driver"].(map[string]any)["rules"].([]any)[0].(map[string]any)["helpUri"] = "docs/rules.md"
		},
	}
	for name, damage := range tests {
		t.Run(name, func(t *testing.T) {
			v := decodeJSON(t, valid)
			damage(v)
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(t, sch, b); err == nil {
				t.Fatalf("schema accepts a log with %s", name)
			} else {
				t.Logf("rejected: %v", err)
			}
		})
	}
}

// sarifLogOf decodes a SARIF log into the package's own types, which
// the tests then inspect field by field.
func sarifLogOf(t testing.TB, r *Report) sarifLog {
	t.Helper()
	var l sarifLog
	dec := json.NewDecoder(bytes.NewReader(write(t, FormatSARIF, r, Options{})))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		t.Fatalf("decode sarif: %v", err)
	}
	if len(l.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(l.Runs))
	}
	return l
}

func TestSARIFRulesAndResults(t *testing.T) {
	r := sampleReport(t)
	run := sarifLogOf(t, r).Runs[0]
	rules := run.Tool.Driver.Rules
	wantIDs := []string{"image-latest-tag", "namespace-pss-label", "pss-host-network", "pss-run-as-non-root", "resources-limits"}
	if len(rules) != len(wantIDs) {
		t.Fatalf("%d rules, want one per rule with findings: %v", len(rules), wantIDs)
	}
	for i, id := range wantIDs {
		if rules[i].ID != id {
			t.Errorf("rules[%d] = %s, want %s", i, rules[i].ID, id)
		}
		if rules[i].HelpURI != lint.DocsBase+"#"+id || !strings.Contains(rules[i].Help.Markdown, "("+lint.DocsBase+"#"+id+")") {
			t.Errorf("rule %s lacks its docs link: %+v", id, rules[i])
		}
	}
	nonRoot := rules[3]
	if nonRoot.Name != "PssRunAsNonRoot" || nonRoot.ShortDescription.Text != ruleRunAsNonRoot.Title ||
		nonRoot.FullDescription.Text != ruleRunAsNonRoot.Doc || nonRoot.DefaultConfiguration.Level != "error" ||
		!strings.Contains(nonRoot.Help.Text, ruleRunAsNonRoot.Remediation) || nonRoot.Properties.SecuritySeverity != "8.0" {
		t.Errorf("descriptor of pss-run-as-non-root: %+v", nonRoot)
	}

	if len(run.Results) != len(r.Findings) {
		t.Fatalf("%d results for %d findings", len(run.Results), len(r.Findings))
	}
	fingerprints := map[string]bool{}
	for _, f := range r.Findings {
		fingerprints[Fingerprint(f)] = true
	}
	levels := map[string]string{"critical": "error", "high": "error", "medium": "warning", "low": "warning", "info": "note"}
	for _, res := range run.Results {
		if rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("result %s has ruleIndex %d, which is %s", res.RuleID, res.RuleIndex, rules[res.RuleIndex].ID)
		}
		if levels[res.Properties.Severity] != res.Level {
			t.Errorf("severity %s written as level %s", res.Properties.Severity, res.Level)
		}
		if fp := res.PartialFingerprints["kubeharden/v1"]; !fingerprints[fp] {
			t.Errorf("result %s has fingerprint %q, which is no finding's Fingerprint", res.RuleID, fp)
		}
		if (res.Properties.PSS != nil) != strings.HasPrefix(res.RuleID, "pss-") {
			t.Errorf("result %s: pss properties %+v", res.RuleID, res.Properties.PSS)
		}
	}

	inv := run.Invocations[0]
	if inv.ExecutionSuccessful || len(inv.ToolExecutionNotifications) != 2 {
		t.Errorf("with 2 errors: invocation %+v", inv)
	}
	clean := sarifLogOf(t, emptyReport()).Runs[0]
	if !clean.Invocations[0].ExecutionSuccessful || clean.Invocations[0].ToolExecutionNotifications != nil ||
		clean.Results == nil || len(clean.Tool.Driver.Rules) != 0 {
		t.Errorf("empty report: %+v", clean)
	}
}

// TestSARIFNeverGuessesLines checks every kind of location: a region only
// where the line is known, the file without a region where only the file
// is, and for an unknown source an anchor without a region.
func TestSARIFNeverGuessesLines(t *testing.T) {
	obj := object(t, "overlays/prod", "{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}")
	tests := []struct {
		loc        lint.Location
		uri        string
		line, col  int
		wantSource bool
	}{
		{lint.Location{File: "a.yaml", Line: 5, Column: 3, Origin: lint.OriginManifest}, "a.yaml", 5, 3, true},
		{lint.Location{File: "a.yaml", Line: 5, Origin: lint.OriginManifest}, "a.yaml", 5, 0, true},
		{lint.Location{File: "t/deployment.yaml", Origin: lint.OriginHelmTemplate}, "t/deployment.yaml", 0, 0, true},
		{lint.Location{File: "t/deployment.yaml", Column: 4, Origin: lint.OriginHelmTemplate}, "t/deployment.yaml", 0, 0, true},
		// Unknown, whatever line they carry: anchored on the target.
		{lint.Location{}, "overlays/prod", 0, 0, false},
		{lint.Location{Line: 1, Column: 1}, "overlays/prod", 0, 0, false},
		{lint.Location{Line: 1, Column: 1, Origin: lint.OriginManifest}, "overlays/prod", 0, 0, false},
		{lint.Location{File: "x.yaml", Line: 1, Column: 1, Origin: lint.OriginUnknown}, "overlays/prod", 0, 0, false},
		{lint.Location{File: "x.yaml", Line: 1, Column: 1}, "overlays/prod", 0, 0, false},
	}
	for _, tt := range tests {
		r := &Report{Findings: []lint.Finding{{Rule: ruleLatestTag, Object: obj, Message: "m", Location: tt.loc}}}
		loc := sarifLogOf(t, r).Runs[0].Results[0].Locations[0]
		p := loc.PhysicalLocation
		switch {
		case p == nil:
			t.Errorf("%+v: no physical location (GitHub rejects the upload)", tt.loc)
		case p.ArtifactLocation.URI != tt.uri || p.ArtifactLocation.URIBaseID != "%SRCROOT%":
			t.Errorf("%+v: artifact %+v, want %s", tt.loc, p.ArtifactLocation, tt.uri)
		case tt.line == 0 && p.Region != nil:
			t.Errorf("%+v: region %+v for an unknown line", tt.loc, *p.Region)
		case tt.line > 0 && (p.Region == nil || p.Region.StartLine != tt.line || p.Region.StartColumn != tt.col):
			t.Errorf("%+v: region %+v, want line %d column %d", tt.loc, p.Region, tt.line, tt.col)
		}
		if tt.wantSource != (loc.Message == nil) {
			t.Errorf("%+v: location message %v; want one exactly when the source is unknown", tt.loc, loc.Message)
		}
		if len(loc.LogicalLocations) != 1 || loc.LogicalLocations[0].FullyQualifiedName != "ConfigMap/x" {
			t.Errorf("%+v: logical locations %+v", tt.loc, loc.LogicalLocations)
		}
	}
}

// viaReport has an unknown-source finding on a target deployed by an Argo
// CD Application.
func viaReport(t testing.TB) *Report {
	obj := object(t, "charts/api", "{apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: prod}}")
	obj.Via = &lint.Via{Kind: "Application", Name: "api-prod", File: "apps/api-prod.yaml", Line: 1}
	return &Report{Findings: []lint.Finding{{Rule: ruleLatestTag, Object: obj, Message: "m"}}}
}

func TestSARIFUnknownSourceAnchoredOnGitOpsObject(t *testing.T) {
	loc := sarifLogOf(t, viaReport(t)).Runs[0].Results[0].Locations[0]
	if p := loc.PhysicalLocation; p == nil || p.ArtifactLocation.URI != "apps/api-prod.yaml" || p.Region != nil {
		t.Errorf("physical location %+v, want apps/api-prod.yaml without a region (the Application's line is not the field's)", p)
	}
	if loc.Message == nil || !strings.Contains(loc.Message.Text, "Application api-prod") {
		t.Errorf("location message %+v does not say why", loc.Message)
	}

	// With neither a GitOps object nor a target there is nothing real to
	// point at: a logical location only.
	obj := object(t, "", "{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}")
	loc = sarifLogOf(t, &Report{Findings: []lint.Finding{{Rule: ruleLatestTag, Object: obj, Message: "m"}}}).Runs[0].Results[0].Locations[0]
	if loc.PhysicalLocation != nil || len(loc.LogicalLocations) != 1 {
		t.Errorf("location %+v, want only the logical location", loc)
	}
}

func TestArtifactURI(t *testing.T) {
	for in, want := range map[string]string{
		"deploy/web/deployment.yaml": "deploy/web/deployment.yaml",
		"a b/c.yaml":                 "a%20b/c.yaml",
		"c:/x.yaml":                  "c%3A/x.yaml",
		"50%/ü.yaml":                 "50%25/%C3%BC.yaml",
		"x#y?z.yaml":                 "x%23y%3Fz.yaml",
	} {
		if got := artifactURI(in); got != want {
			t.Errorf("artifactURI(%q) = %q, want %q", in, got, want)
		}
	}
}
