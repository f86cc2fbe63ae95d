package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
)

// The rules carry metadata as the catalogue's do, except ruleLatestTag,
// which has none, so that formats that print it also show their fallbacks.
var (
	ruleRunAsNonRoot = &lint.Rule{
		ID: "pss-run-as-non-root", Severity: lint.High,
		Title:       "containers must run as a non-root user",
		Doc:         "A container that runs as root is one kernel bug away from root on the node.\n\nThis is the `runAsNonRoot` check of the [Pod Security Standards](https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted) restricted level.",
		Remediation: "Set securityContext.runAsNonRoot: true on the pod or the container.",
		Links:       []string{"https://kubernetes.io/docs/concepts/security/pod-security-standards/"},
	}
	ruleLimits = &lint.Rule{
		ID: "resources-limits", Severity: lint.Medium,
		Title:       "containers must set a memory limit",
		Doc:         "Without a memory limit one container can exhaust its node's memory.",
		Remediation: "Set resources.limits.memory on every container.",
	}
	ruleLatestTag   = &lint.Rule{ID: "image-latest-tag", Severity: lint.Low}
	ruleNSLabel     = &lint.Rule{ID: "namespace-pss-label", Severity: lint.Info, Title: "namespaces should set a pod security level"}
	ruleHostNetwork = &lint.Rule{
		ID: "pss-host-network", Severity: lint.Critical,
		Title:       "pods must not use the host network",
		Remediation: "Remove hostNetwork from the pod spec.",
	}
)

// object builds the lint view of a small manifest, as render would.
func object(t testing.TB, target, manifest string) *lint.Object {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(manifest), &doc); err != nil {
		t.Fatalf("parse test manifest: %v", err)
	}
	return lint.NewObject(doc.Content[0], target, nil)
}

func path(t testing.TB, s string) lint.Path {
	t.Helper()
	p, err := ypath.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sampleReport has a finding of every origin, a Helm template finding
// whose line is unknown, a finding whose source is unknown, a Pod
// Security finding, fixes, a cluster-scoped object, a Kustomize base
// rendered by two overlays and two errors, all passed out of order.
func sampleReport(t testing.TB) *Report {
	t.Helper()
	web := object(t, "deploy/web", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
`)
	ns := object(t, "deploy/web", `
apiVersion: v1
kind: Namespace
metadata: {name: prod}
`)
	stagingAPI := object(t, "overlays/staging", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: staging}
`)
	prodAPI := object(t, "overlays/prod", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: prod}
`)
	chart := object(t, "charts/worker", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: worker, namespace: jobs}
`)
	settings := object(t, "overlays/prod", `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: prod}
`)
	return &Report{
		Tool:    Tool{Name: "kubeharden", Version: "v0.1.0-test"},
		Targets: 4,
		Objects: 9,
		Findings: []lint.Finding{
			{
				Rule: ruleLatestTag, Severity: lint.Low, Object: settings,
				Message: `configmap "settings" is generated from an image reference with tag "latest"`,
				Field:   path(t, "data.image"),
				// Zero Location: the source map did not know.
			},
			{
				Rule: ruleLimits, Severity: lint.Medium, Object: chart,
				Message:  `container "worker" has no memory limit`,
				Field:    path(t, "spec.template.spec.containers[name=worker].resources.limits.memory"),
				Location: lint.Location{File: "charts/worker/templates/deployment.yaml", Origin: lint.OriginHelmTemplate},
			},
			{
				Rule: ruleRunAsNonRoot, Severity: lint.High, Object: web,
				Message:  `container "web" must set securityContext.runAsNonRoot=true`,
				Field:    path(t, "spec.template.spec.containers[name=web].securityContext.runAsNonRoot"),
				Location: lint.Location{File: "deploy/web/deployment.yaml", Line: 12, Column: 7, Origin: lint.OriginManifest},
				PSS:      &lint.PSS{Level: "restricted", Version: "latest", Check: "runAsNonRoot"},
				Fix: &lint.FixInfo{Description: "set securityContext.runAsNonRoot: true",
					Risk: lint.FixMayBreak, RiskReason: "the image may run as root"},
			},
			{
				Rule: ruleNSLabel, Severity: lint.Info, Object: ns,
				Message:  `namespace "prod" has no pod-security.kubernetes.io/enforce label`,
				Field:    path(t, `metadata.labels["pod-security.kubernetes.io/enforce"]`),
				Location: lint.Location{File: "deploy/web/namespace.yaml", Line: 4, Column: 3, Origin: lint.OriginManifest},
			},
			{
				Rule: ruleHostNetwork, Severity: lint.Critical, Object: stagingAPI,
				Message:  `pod of deployment "api" must not set hostNetwork=true`,
				Field:    path(t, "spec.template.spec.hostNetwork"),
				Location: lint.Location{File: "overlays/staging/patch-api.yaml", Line: 9, Column: 7, Origin: lint.OriginKustomizePatch},
				PSS:      &lint.PSS{Level: "baseline", Version: "v1.30", Check: "hostNamespaces"},
				Fix:      &lint.FixInfo{Description: "remove hostNetwork"},
			},
			{
				Rule: ruleLimits, Severity: lint.Medium, Object: stagingAPI,
				Message:  `container "api" has no memory limit`,
				Field:    path(t, "spec.template.spec.containers[name=api].resources.limits.memory"),
				Location: lint.Location{File: "base/api/deployment.yaml", Line: 18, Column: 9, Origin: lint.OriginKustomizeBase},
			},
			{
				Rule: ruleLimits, Severity: lint.Medium, Object: prodAPI,
				Message:  `container "api" has no memory limit`,
				Field:    path(t, "spec.template.spec.containers[name=api].resources.limits.memory"),
				Location: lint.Location{File: "base/api/deployment.yaml", Line: 18, Column: 9, Origin: lint.OriginKustomizeBase},
			},
			{
				Rule: ruleRunAsNonRoot, Severity: lint.High, Object: chart,
				Message:  `container "worker" must set securityContext.runAsNonRoot=true`,
				Field:    path(t, "spec.template.spec.containers[name=worker].securityContext.runAsNonRoot"),
				Location: lint.Location{File: "charts/worker/values.yaml", Line: 14, Column: 3, Origin: lint.OriginHelmValues},
				PSS:      &lint.PSS{Level: "restricted", Version: "latest", Check: "runAsNonRoot"},
				Fix: &lint.FixInfo{Description: "set securityContext.seccompProfile.type: RuntimeDefault in values",
					Risk: lint.FixSafe, RiskReason: "the runtime's default profile allows what ordinary containers do"},
			},
		},
		Errors: []lint.Error{
			{Target: "overlays/remote", Message: "remote base github.com/example/base refused: rendering never uses the network"},
			{Target: "charts/broken", File: "charts/broken/values.yaml", Line: 3, Message: "yaml: line 3: did not find expected key"},
		},
		// Out of order; base/api/deployment.yaml is an input of two
		// targets and is one SARIF artifact.
		Rendered: []Target{
			describedTarget("overlays/prod", "overlays/prod", "kustomize", nil, map[string]string{
				"base/api/deployment.yaml":         "kind: Deployment\n",
				"base/api/kustomization.yaml":      "resources: [deployment.yaml]\n",
				"overlays/prod/kustomization.yaml": "resources: [../../base/api]\n",
			}),
			describedTarget("charts/worker (HelmRelease worker)", "charts/worker", "helm",
				&lint.Via{Kind: "HelmRelease", Name: "worker", File: "flux/worker.yaml", Line: 1}, map[string]string{
					"charts/worker/Chart.yaml":  "name: worker\n",
					"charts/worker/values.yaml": "image: worker\n",
				}),
			describedTarget("overlays/staging", "overlays/staging", "kustomize", nil, map[string]string{
				"base/api/deployment.yaml":            "kind: Deployment\n",
				"base/api/kustomization.yaml":         "resources: [deployment.yaml]\n",
				"overlays/staging/kustomization.yaml": "resources: [../../base/api]\n",
			}),
		},
	}
}

// describedTarget is a Target whose digest and file digests are those of
// files, with an empty settings input.
func describedTarget(id, path, kind string, via *lint.Via, files map[string]string) Target {
	t := Target{ID: id, Path: path, Kind: kind, Via: via}
	inputs := map[string][]byte{SettingsInput: nil}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		b := []byte(files[p])
		inputs[p] = b
		sum := sha256.Sum256(b)
		t.Files = append(t.Files, InputFile{Path: p, Size: len(b), SHA256: hex.EncodeToString(sum[:])})
	}
	t.Digest = InputDigest(inputs)
	return t
}

func emptyReport() *Report {
	return &Report{Tool: Tool{Name: "kubeharden", Version: "v0.1.0-test"}, Targets: 3, Objects: 7}
}

func write(t testing.TB, format string, r *Report, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, r, opts); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	tests := []struct {
		golden string
		format string
		report func(testing.TB) *Report
		opts   Options
	}{
		{"report.txt.golden", FormatText, sampleReport, Options{}},
		{"report.color.txt.golden", FormatText, sampleReport, Options{Color: true}},
		{"report.json.golden", FormatJSON, sampleReport, Options{}},
		{"empty.txt.golden", FormatText, func(testing.TB) *Report { return emptyReport() }, Options{Color: true}},
		{"empty.json.golden", FormatJSON, func(testing.TB) *Report { return emptyReport() }, Options{}},
		{"report.sarif.golden", FormatSARIF, sampleReport, Options{}},
		{"empty.sarif.golden", FormatSARIF, func(testing.TB) *Report { return emptyReport() }, Options{}},
		{"report.github.golden", FormatGitHub, sampleReport, Options{}},
		{"empty.github.golden", FormatGitHub, func(testing.TB) *Report { return emptyReport() }, Options{}},
		{"report.xml.golden", FormatJUnit, sampleReport, Options{}},
		{"empty.xml.golden", FormatJUnit, func(testing.TB) *Report { return emptyReport() }, Options{}},
		{"report.md.golden", FormatMarkdown, sampleReport, Options{}},
		{"empty.md.golden", FormatMarkdown, func(testing.TB) *Report { return emptyReport() }, Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			got := write(t, tt.format, tt.report(t), tt.opts)
			golden.Check(t, filepath.Join("testdata", tt.golden), got)
		})
	}
}

// TestDeterministic checks that the output does not depend on the order
// the caller passes findings and errors in, and that the caller's slices
// are left as they were.
func TestDeterministic(t *testing.T) {
	for _, format := range Formats() {
		r := sampleReport(t)
		want := write(t, format, r, Options{})

		rev := sampleReport(t)
		slices.Reverse(rev.Findings)
		slices.Reverse(rev.Errors)
		before := slices.Clone(rev.Findings)
		got := write(t, format, rev, Options{})
		if !bytes.Equal(got, want) {
			t.Errorf("%s: output depends on input order:\n%s\nvs\n%s", format, got, want)
		}
		for i := range before {
			if before[i].Rule != rev.Findings[i].Rule || before[i].Location != rev.Findings[i].Location {
				t.Fatalf("%s: Write reordered or modified the caller's findings", format)
			}
		}
	}
}

func TestFormats(t *testing.T) {
	if got, want := Formats(), []string{"text", "json", "sarif", "github", "junit", "markdown"}; !slices.Equal(got, want) {
		t.Errorf("Formats() = %q, want %q", got, want)
	}
	f := Formats()
	f[0] = "changed"
	if Formats()[0] != "text" {
		t.Error("Formats returned a shared slice")
	}
}

func TestUnknownFormat(t *testing.T) {
	for _, format := range []string{"", "SARIF", "JSON", "txt", "gitlab", "md", "xml"} {
		var buf bytes.Buffer
		err := Write(&buf, format, sampleReport(t), Options{})
		if err == nil {
			t.Errorf("Write(%q): no error", format)
			continue
		}
		if !strings.Contains(err.Error(), "text, json, sarif, github, junit, markdown") {
			t.Errorf("Write(%q) error %q does not list the formats", format, err)
		}
		if buf.Len() > 0 {
			t.Errorf("Write(%q) wrote output despite the error: %q", format, buf.String())
		}
	}
}

// TestWriteRejectsInvalidFindings checks that Write refuses, rather than
// prints, findings the JSON contract cannot express.
func TestWriteRejectsInvalidFindings(t *testing.T) {
	tests := map[string]func(f *lint.Finding){
		"no rule":         func(f *lint.Finding) { f.Rule = nil },
		"no object":       func(f *lint.Finding) { f.Object = nil },
		"no message":      func(f *lint.Finding) { f.Message = "" },
		"bad rule ID":     func(f *lint.Finding) { f.Rule = &lint.Rule{ID: "Run As Root"} },
		"bad severity":    func(f *lint.Finding) { f.Severity = lint.Critical + 1 },
		"bad origin":      func(f *lint.Finding) { f.Location.Origin = "helm-chart" },
		"bad PSS level":   func(f *lint.Finding) { f.PSS.Level = "strict" },
		"bad PSS version": func(f *lint.Finding) { f.PSS.Version = "1.30" },
		"no PSS check":    func(f *lint.Finding) { f.PSS.Check = "" },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			for _, format := range Formats() {
				r := sampleReport(t)
				i := slices.IndexFunc(r.Findings, func(f lint.Finding) bool { return f.PSS != nil })
				mutate(&r.Findings[i])
				var buf bytes.Buffer
				if err := Write(&buf, format, r, Options{}); err == nil {
					t.Errorf("%s: no error", format)
				} else if buf.Len() > 0 {
					t.Errorf("%s: wrote output despite the error", format)
				}
			}
		})
	}
}

// TestUnknownSourceIsNeverLineOne checks that a location that does not
// name a real source is printed as unknown, whatever line it carries.
func TestUnknownSourceIsNeverLineOne(t *testing.T) {
	obj := object(t, "overlays/prod", "{apiVersion: v1, kind: ConfigMap, metadata: {name: x}}")
	for _, loc := range []lint.Location{
		{},
		{Line: 1, Column: 1},
		{Line: 1, Column: 1, Origin: lint.OriginManifest},
		{File: "x.yaml", Line: 1, Column: 1, Origin: lint.OriginUnknown},
		{File: "x.yaml", Line: 1, Column: 1},
	} {
		r := &Report{Findings: []lint.Finding{{Rule: ruleLatestTag, Object: obj, Message: "m", Location: loc}}}
		out := decodeJSON(t, write(t, FormatJSON, r, Options{}))
		src := out["findings"].([]any)[0].(map[string]any)["source"].(map[string]any)
		if src["origin"] != "unknown" || src["file"] != "" || src["line"] != float64(0) || src["column"] != float64(0) {
			t.Errorf("location %+v written as %v, want unknown with no file and line 0", loc, src)
		}
		text := string(write(t, FormatText, r, Options{}))
		if !strings.Contains(text, "(unknown source)\n  -  info") || strings.Contains(text, ":1") {
			t.Errorf("location %+v printed as:\n%s", loc, text)
		}
	}
}

func TestTextColor(t *testing.T) {
	plain := string(write(t, FormatText, sampleReport(t), Options{}))
	if strings.Contains(plain, "\x1b") {
		t.Errorf("text without Options.Color contains ANSI escapes:\n%q", plain)
	}
	color := string(write(t, FormatText, sampleReport(t), Options{Color: true}))
	for _, want := range []string{
		ansiBold + "deploy/web/deployment.yaml" + ansiReset,
		ansiRed + "high" + ansiReset,
		ansiBoldRed + "critical" + ansiReset,
	} {
		if !strings.Contains(color, want) {
			t.Errorf("coloured text lacks %q", want)
		}
	}
	// Stripping the escapes must give the plain text: colour never
	// changes the layout.
	stripped := color
	for _, code := range []string{ansiReset, ansiBold, ansiBoldRed, ansiRed, ansiYellow, ansiCyan, ansiDim} {
		stripped = strings.ReplaceAll(stripped, code, "")
	}
	if stripped != plain {
		t.Errorf("coloured text without escapes differs from plain text:\n%s\nvs\n%s", stripped, plain)
	}
	if json := write(t, FormatJSON, sampleReport(t), Options{Color: true}); bytes.Contains(json, []byte("\x1b")) {
		t.Error("JSON contains ANSI escapes")
	}
}

// TestTextEscapesControlCharacters checks that content from the linted
// repository, which may come from an untrusted pull request, cannot write
// terminal escapes or fake lines into the text output.
func TestTextEscapesControlCharacters(t *testing.T) {
	obj := object(t, "evil\x1b[2J", `{apiVersion: v1, kind: ConfigMap, metadata: {name: "x\e[31m\nerror: fake"}}`)
	r := &Report{
		Findings: []lint.Finding{{
			Rule: ruleLatestTag, Object: obj, Message: "bad\rname \u202eevil \xff",
			Location: lint.Location{File: "a\nb.yaml", Line: 1, Column: 1, Origin: lint.OriginManifest},
		}},
		Errors: []lint.Error{{Target: "t\x07", File: "f\x1b.yaml", Line: 2, Message: "m\x00"}},
	}
	text := string(write(t, FormatText, r, Options{}))
	if strings.ContainsAny(text, "\x1b\r\x07\x00\u202e") {
		t.Errorf("text output contains control characters: %q", text)
	}
	if lines := strings.Count(text, "\n"); lines != 6 {
		t.Errorf("text output has %d lines, want 6 (no injected lines):\n%s", lines, text)
	}
	for _, want := range []string{`a\nb.yaml`, `x\x1b[31m\nerror: fake`, `bad\rname \u202eevil \xff`, `"f\x1b.yaml":2: m\x00 (target t\a)`} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks escaped %q:\n%s", want, text)
		}
	}
}

func TestSummaryLine(t *testing.T) {
	one := object(t, "d", "{apiVersion: v1, kind: Pod, metadata: {name: p}}")
	tests := []struct {
		r    *Report
		want string
	}{
		{&Report{Targets: 1, Objects: 1}, "no findings in 1 target (1 object)\n"},
		{&Report{Targets: 0, Objects: 0}, "no findings in 0 targets (0 objects)\n"},
		{&Report{Targets: 2, Errors: []lint.Error{{Message: "boom"}}}, "error: boom (found while discovering targets)\n\nno findings in 2 targets (0 objects), 1 error\n"},
		{
			&Report{Targets: 1, Objects: 1, Findings: []lint.Finding{{Rule: ruleHostNetwork, Severity: lint.Critical, Object: one, Message: "m"}}},
			"(unknown source)\n  -  critical  pss-host-network  m  [Pod/p in d]\n\n1 finding (1 critical) in 1 target (1 object)\n",
		},
	}
	for _, tt := range tests {
		if got := string(write(t, FormatText, tt.r, Options{})); got != tt.want {
			t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
		}
	}
	got := string(write(t, FormatText, sampleReport(t), Options{}))
	want := "\n8 findings (1 critical, 2 high, 3 medium, 1 low, 1 info) in 4 targets (9 objects), 2 errors\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("summary of the sample report: got\n%s\nwant suffix %q", got, want)
	}
}

func TestNilReport(t *testing.T) {
	for _, format := range Formats() {
		if err := Write(&bytes.Buffer{}, format, nil, Options{}); err != nil {
			t.Errorf("%s: %v", format, err)
		}
	}
}

// TestTextQuotesSourceLines: with a Source, the text format quotes each
// finding's line once per position, with a caret under the column, and
// quotes nothing for lines it cannot read or that are out of range.
func TestTextQuotesSourceLines(t *testing.T) {
	r := sampleReport(t)
	r.Source = func(file string) ([]byte, error) {
		if file == "deploy/web/deployment.yaml" {
			return []byte(strings.Repeat("x\n", 11) + "      runAsUser: 0\t# root\n"), nil
		}
		return nil, fmt.Errorf("no %s", file)
	}
	out := string(write(t, FormatText, r, Options{}))
	want := "  12:7  high      pss-run-as-non-root  container \"web\" must set securityContext.runAsNonRoot=true  [Deployment/prod/web]\n" +
		"        fix: set securityContext.runAsNonRoot: true (kubeharden fix, may-break: the image may run as root)\n" +
		"        12 |       runAsUser: 0 # root\n" +
		"           |       ^\n"
	if !strings.Contains(out, want) {
		t.Errorf("output lacks the quoted line:\n%s\nwant:\n%s", out, want)
	}
	if strings.Count(out, " |") != 2 {
		t.Errorf("lines quoted for unreadable files:\n%s", out)
	}
}
