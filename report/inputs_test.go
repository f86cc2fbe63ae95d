package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestInputDigestRecipe computes the documented recipe by hand: entries
// "path NUL length NUL content" in byte order of path, settings (the
// empty path) first.
func TestInputDigestRecipe(t *testing.T) {
	inputs := map[string][]byte{
		"charts/web/values.yaml": []byte("replicas: 2\n"),
		SettingsInput:            []byte(`{"kind":"helm"}`),
		"charts/web/Chart.yaml":  []byte("name: web\n"),
		"charts/web/templates/a": {},
	}
	want := sha256.Sum256([]byte("" + "\x00" + "15" + "\x00" + `{"kind":"helm"}` +
		"charts/web/Chart.yaml\x0010\x00name: web\n" +
		"charts/web/templates/a\x000\x00" +
		"charts/web/values.yaml\x0012\x00replicas: 2\n"))
	if got := InputDigest(inputs); got != hex.EncodeToString(want[:]) {
		t.Errorf("InputDigest = %s, want %x", got, want)
	}
	if got := InputDigest(nil); got != hex.EncodeToString(sha256.New().Sum(nil)) {
		t.Errorf("InputDigest(nil) = %s, want the digest of nothing", got)
	}
}

// TestInputDigestUnambiguous: inputs that would concatenate to the same
// bytes without lengths and separators digest differently.
func TestInputDigestUnambiguous(t *testing.T) {
	sets := []map[string][]byte{
		{"a": []byte("bc")},
		{"ab": []byte("c")},
		{"a": []byte("b"), "c": nil},
		{"a": []byte("b")},
		{"a": []byte("b"), "": nil},
		{"a": []byte("b\x00c\x000\x00")},
	}
	seen := map[string]int{}
	for i, s := range sets {
		d := InputDigest(s)
		if j, ok := seen[d]; ok {
			t.Errorf("inputs %d and %d digest the same: %v %v", j, i, sets[j], s)
		}
		seen[d] = i
	}
}

func TestTargetsValidated(t *testing.T) {
	good := describedTarget("a", "a", "manifests", nil, map[string]string{"a/x.yaml": "x"})
	for name, damage := range map[string]func(*Target){
		"unknown kind":    func(t *Target) { t.Kind = "jsonnet" },
		"short digest":    func(t *Target) { t.Digest = t.Digest[:10] },
		"upper digest":    func(t *Target) { t.Digest = strings.ToUpper(t.Digest) },
		"no path":         func(t *Target) { t.Path = "" },
		"bad file digest": func(t *Target) { t.Files = []InputFile{{Path: "a/x.yaml", SHA256: "x"}} },
	} {
		bad := good
		bad.Files = slices.Clone(good.Files)
		damage(&bad)
		for _, format := range []string{FormatJSON, FormatSARIF} {
			if err := Write(new(strings.Builder), format, &Report{Rendered: []Target{bad}}, Options{}); err == nil {
				t.Errorf("%s: Write(%s) accepted a target with %s", name, format, name)
			}
		}
	}
}

// TestTargetsInSARIF: each input file is one artifact with its own
// digest, and the run's properties carry the targets as the JSON format
// writes them.
func TestTargetsInSARIF(t *testing.T) {
	r := sampleReport(t)
	ids := func() (out []string) {
		for _, t := range r.Rendered {
			out = append(out, t.ID)
		}
		return out
	}
	before := ids()
	run := sarifLogOf(t, r).Runs[0]
	if !slices.Equal(before, ids()) {
		t.Error("Write reordered the caller's targets")
	}
	var uris []string
	for _, a := range run.Artifacts {
		uris = append(uris, a.Location.URI)
		if a.Location.URIBaseID != sarifSrcRoot || len(a.Hashes["sha-256"]) != 64 || a.Length <= 0 {
			t.Errorf("artifact %+v", a)
		}
	}
	want := []string{"base/api/deployment.yaml", "base/api/kustomization.yaml", "charts/worker/Chart.yaml",
		"charts/worker/values.yaml", "overlays/prod/kustomization.yaml", "overlays/staging/kustomization.yaml"}
	if !slices.Equal(uris, want) {
		t.Errorf("artifacts %q, want %q", uris, want)
	}
	var js struct {
		Targets []jsonTarget `json:"targets"`
	}
	if err := json.Unmarshal(write(t, FormatJSON, r, Options{}), &js); err != nil {
		t.Fatal(err)
	}
	if run.Properties == nil || len(js.Targets) != 3 {
		t.Fatalf("run properties %+v; json targets %+v", run.Properties, js.Targets)
	}
	for i := range js.Targets {
		a, b := run.Properties.Targets[i], js.Targets[i]
		if a.Target != b.Target || a.Inputs != b.Inputs || (a.Via == nil) != (b.Via == nil) {
			t.Errorf("target %d: sarif %+v, json %+v", i, a, b)
		}
	}
	if empty := sarifLogOf(t, emptyReport()).Runs[0]; empty.Artifacts != nil || empty.Properties != nil {
		t.Errorf("a report without targets has artifacts or properties: %+v", empty)
	}
}

// TestSchemaTargets: the schema checks the targets it describes and
// accepts reports written before the field was added.
func TestSchemaTargets(t *testing.T) {
	sch := compileSchema(t)
	valid := write(t, FormatJSON, sampleReport(t), Options{})
	target := func(v map[string]any) map[string]any { return v["targets"].([]any)[0].(map[string]any) }
	for name, damage := range map[string]func(map[string]any){
		"unknown kind":       func(v map[string]any) { target(v)["kind"] = "jsonnet" },
		"short digest":       func(v map[string]any) { target(v)["inputs"].(map[string]any)["sha256"] = "abc" },
		"negative files":     func(v map[string]any) { target(v)["inputs"].(map[string]any)["files"] = -1 },
		"no inputs":          func(v map[string]any) { delete(target(v), "inputs") },
		"extra target field": func(v map[string]any) { target(v)["size"] = 3 },
		"via without file":   func(v map[string]any) { delete(target(v)["via"].(map[string]any), "file") },
	} {
		v := decodeJSON(t, valid)
		damage(v)
		b, _ := json.Marshal(v)
		if err := validate(t, sch, b); err == nil {
			t.Errorf("schema accepts a report with %s", name)
		}
	}
	v := decodeJSON(t, valid)
	delete(v, "targets")
	b, _ := json.Marshal(v)
	if err := validate(t, sch, b); err != nil {
		t.Errorf("schema rejects a report without targets: %v", err)
	}
}
