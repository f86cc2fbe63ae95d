package report

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaURL = "https://raw.githubusercontent.com/kubeharden/kubeharden/main/report/schema/report.v1.json"

// compileSchema compiles the embedded schema; the compiler is given the
// document so that it never tries to fetch the $id.
func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("parse schema: %v", err)
	}
	if id := doc.(map[string]any)["$id"]; id != schemaURL {
		t.Fatalf("schema $id = %v, want %s", id, schemaURL)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// decodeJSON decodes a report the way a consumer would.
func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	return v
}

func validate(t testing.TB, sch *jsonschema.Schema, b []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, b)
	}
	return sch.Validate(v)
}

func TestSchemaFileIsEmbedded(t *testing.T) {
	onDisk, err := os.ReadFile("schema/report.v1.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(Schema(), onDisk) {
		t.Error("Schema() differs from schema/report.v1.json")
	}
	Schema()[0] = 'x'
	if Schema()[0] != '{' {
		t.Error("Schema returned the embedded bytes, not a copy")
	}
}

func TestJSONValidatesAgainstSchema(t *testing.T) {
	sch := compileSchema(t)
	for name, r := range map[string]*Report{
		"sample": sampleReport(t),
		"empty":  emptyReport(),
		"nil":    nil,
	} {
		out := write(t, FormatJSON, r, Options{})
		if err := validate(t, sch, out); err != nil {
			t.Errorf("%s report does not validate: %v\n%s", name, err, out)
		}
	}
}

// TestJSONLayout checks the parts of the contract a golden file shows
// but does not explain.
func TestJSONLayout(t *testing.T) {
	out := write(t, FormatJSON, emptyReport(), Options{})
	if !bytes.HasSuffix(out, []byte("}\n")) || !bytes.HasPrefix(out, []byte("{\n  \"schemaVersion\": 1,\n")) {
		t.Errorf("want schemaVersion first, 2-space indent and a trailing newline:\n%s", out)
	}
	for _, want := range []string{`"findings": []`, `"errors": []`} {
		if !bytes.Contains(out, []byte(want)) {
			t.Errorf("empty report lacks %s:\n%s", want, out)
		}
	}
	if bytes.Contains(out, []byte("null")) {
		t.Errorf("empty report contains null:\n%s", out)
	}

	v := decodeJSON(t, write(t, FormatJSON, sampleReport(t), Options{}))
	var withPSS, withFix, withoutFix int
	for _, f := range v["findings"].([]any) {
		f := f.(map[string]any)
		if _, ok := f["pss"]; ok {
			withPSS++
			if !strings.HasPrefix(f["rule"].(string), "pss-") {
				t.Errorf("pss on a non Pod Security finding: %v", f)
			}
		}
		if _, ok := f["exemption"]; ok {
			t.Errorf("exemption written before exemptions exist: %v", f)
		}
		fix := f["fix"].(map[string]any)
		if fix["available"] == true {
			withFix++
		} else {
			withoutFix++
			if _, ok := fix["description"]; ok {
				t.Errorf("fix description without a fix: %v", fix)
			}
		}
		if want := "https://github.com/kubeharden/kubeharden/blob/main/docs/rules.md#" + f["rule"].(string); f["docs"] != want {
			t.Errorf("docs = %v, want %s", f["docs"], want)
		}
	}
	if withPSS != 3 || withFix != 3 || withoutFix != 5 {
		t.Errorf("got %d pss, %d fixes, %d without fix; want 3, 3, 5", withPSS, withFix, withoutFix)
	}
}

// TestSchemaRejects proves the schema is strict enough to fail: each case
// damages a valid report in one way a consumer would be hurt by.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	valid := write(t, FormatJSON, sampleReport(t), Options{})
	if err := validate(t, sch, valid); err != nil {
		t.Fatalf("sample report does not validate: %v", err)
	}
	finding := func(v map[string]any) map[string]any {
		return v["findings"].([]any)[0].(map[string]any)
	}
	tests := map[string]func(v map[string]any){
		"unknown origin": func(v map[string]any) {
			finding(v)["source"].(map[string]any)["origin"] = "helm-chart"
		},
		"extra field in finding": func(v map[string]any) {
			finding(v)["confidence"] = "high"
		},
		"extra top-level field": func(v map[string]any) { v["generatedAt"] = "2026-01-01" },
		"extra field in source": func(v map[string]any) {
			finding(v)["source"].(map[string]any)["byteOffset"] = 10
		},
		"unknown severity": func(v map[string]any) { finding(v)["severity"] = "error" },
		"unknown source with a line": func(v map[string]any) {
			src := finding(v)["source"].(map[string]any)
			src["origin"], src["file"], src["line"], src["column"] = "unknown", "", 1, 1
		},
		"unknown source with a file": func(v map[string]any) {
			src := finding(v)["source"].(map[string]any)
			src["origin"], src["file"], src["line"], src["column"] = "unknown", "x.yaml", 0, 0
		},
		"known origin without a file": func(v map[string]any) {
			finding(v)["source"].(map[string]any)["file"] = ""
		},
		"column without a line": func(v map[string]any) {
			src := finding(v)["source"].(map[string]any)
			src["line"], src["column"] = 0, 7
		},
		"description without a fix": func(v map[string]any) {
			finding(v)["fix"] = map[string]any{"available": false, "description": "set x"}
		},
		"missing fix":     func(v map[string]any) { delete(finding(v), "fix") },
		"null findings":   func(v map[string]any) { v["findings"] = nil },
		"schemaVersion 2": func(v map[string]any) { v["schemaVersion"] = 2 },
		"negative line":   func(v map[string]any) { finding(v)["source"].(map[string]any)["line"] = -1 },
		"bad pss level": func(v map[string]any) {
			finding(v)["pss"] = map[string]any{"level": "strict", "version": "latest", "check": "x"}
		},
		"missing bySeverity": func(v map[string]any) { delete(v["summary"].(map[string]any), "bySeverity") },
		"exemption no reason": func(v map[string]any) {
			finding(v)["exemption"] = map[string]any{"rules": []any{"x"}, "expires": "2026-12-31"}
		},
		"exemption bad expiry": func(v map[string]any) {
			finding(v)["exemption"] = map[string]any{"rules": []any{"x"}, "reason": "r", "expires": "soon"}
		},
		"error line without file": func(v map[string]any) {
			v["errors"] = []any{map[string]any{"target": "t", "file": "", "line": 3, "message": "m"}}
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
			err = validate(t, sch, b)
			if err == nil {
				t.Fatalf("schema accepts a report with %s", name)
			}
			t.Logf("rejected: %v", err)
		})
	}

	// The reserved exemption object is accepted when well formed, so
	// adding it later does not need a new schema version.
	v := decodeJSON(t, valid)
	finding(v)["exemption"] = map[string]any{"rules": []any{"pss-run-as-non-root"}, "reason": "legacy image", "expires": "2026-12-31"}
	b, _ := json.Marshal(v)
	if err := validate(t, sch, b); err != nil {
		t.Errorf("schema rejects a well-formed exemption: %v", err)
	}
}
