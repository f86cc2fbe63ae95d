package driver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/lint"
)

// FuzzFixRoundTrip runs lint → fix → lint on a one-file repository with
// the whole rule catalogue: every file the fix writes parses, the fixed
// findings are gone, and a second fix changes nothing. Inputs the
// renderer rejects are fine (they are reported as errors, not fixed).
func FuzzFixRoundTrip(f *testing.F) {
	for _, s := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\nspec:\n  containers:\n  - name: c\n    image: x:1\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: b}\nspec:\n  template:\n    spec:\n      securityContext: {runAsUser: 1}\n      containers: [{name: c, image: 'x:1', securityContext: {capabilities: {add: [NET_BIND_SERVICE]}}}]\n",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata:\n    name: j\n    namespace: c\nspec:\n    jobTemplate:\n        spec:\n            template:\n                spec:\n                    containers:\n                        - name: j\n                          image: x:1 # pinned\n",
		"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: r\nrules:\n- apiGroups: ['*']\n  resources: ['*']\n  verbs: ['*']\n",
		"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\nspec:\r\n  containers:\r\n  - name: c\r\n    image: x:1\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, manifest string) {
		if len(manifest) > 8<<10 {
			return
		}
		dir := t.TempDir()
		writeTestFile(t, filepath.Join(dir, ".git", "HEAD"), []byte("ref: refs/heads/main\n"))
		writeTestFile(t, filepath.Join(dir, "app.yaml"), []byte(manifest))
		ctx := context.Background()
		open := func() *Repo {
			r, err := Open(context.Background(), dir, nil, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		r := open()
		res, err := r.Fix(ctx, FixOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range res.FixedFiles() {
			if err := parsesAsYAML(res.Files[file]); err != nil {
				t.Fatalf("%s does not parse after the fix: %v\n%s", file, err, res.Files[file])
			}
		}
		remaining := map[string]bool{}
		for _, fd := range res.Final.Findings {
			remaining[lint.Fingerprint(fd)] = true
		}
		for _, a := range res.Applied {
			if remaining[lint.Fingerprint(a.Finding)] {
				t.Fatalf("fixed finding still reported: %s %s", a.Finding.Rule.ID, a.Finding.Message)
			}
		}
		if errs := r.WriteFiles(res); len(errs) > 0 {
			t.Fatal(errs)
		}
		again, err := open().Fix(ctx, FixOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if files := again.FixedFiles(); len(files) > 0 {
			b, _ := os.ReadFile(filepath.Join(dir, "app.yaml"))
			t.Fatalf("second fix changes %v; app.yaml after the first:\n%s", files, b)
		}
	})
}

func parsesAsYAML(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
