package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/report"
)

// TestSecretsNeverPrinted lints a repository whose env literals, Secret
// stringData and Helm values hold credentials, in every output format
// (with fixes, exemptions and digests shown), and checks that no value
// appears; the text format still quotes the lines, masked.
func TestSecretsNeverPrinted(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		".git/HEAD": "ref: refs/heads/main\n",
		"app/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: example/web:1.0
          env:
            - name: DB_PASSWORD
              value: SUPERSECRET_ENV
            - {name: API_TOKEN, value: SUPERSECRET_FLOW}
`,
		"app/secret.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: shop
stringData: {password: SUPERSECRET_DATA}
`,
		"chart/Chart.yaml":  "apiVersion: v2\nname: chart\nversion: 0.1.0\n",
		"chart/values.yaml": "password: SUPERSECRET_VALUES\n",
		"chart/templates/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
spec:
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api}
    spec:
      containers:
        - name: api
          image: example/api:1.0
          env:
            - name: PASSWORD
              value: {{ .Values.password }}
`,
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, format := range report.Formats() {
		t.Run(format, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := runEnv(context.Background(), demoEnv(dir), []string{"lint", "--format", format, "."}, nil, &stdout, &stderr)
			if code != exitFindings {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
			}
			out := stdout.String() + stderr.String()
			for _, rule := range []string{"env-secret-literal", "secret-in-git"} {
				if !strings.Contains(out, rule) {
					t.Errorf("no %s finding: the test checks nothing", rule)
				}
			}
			if strings.Contains(out, "SUPERSECRET") {
				t.Errorf("a secret value is printed:\n%s", out)
			}
			if format == report.FormatText {
				for _, want := range []string{"value: ********", "- {name: API_TOKEN, value: ********", "stringData: ********"} {
					if !strings.Contains(out, want) {
						t.Errorf("text does not quote the masked line %q:\n%s", want, out)
					}
				}
			}
		})
	}
}
