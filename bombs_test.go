package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// bombChildEnv makes the test binary run kubeharden instead of the tests,
// so that a bomb runs in a process of its own under an address-space
// limit: a bound that fails can exhaust only that process, never the
// machine.
const bombChildEnv = "KUBEHARDEN_BOMB_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(bombChildEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// bombAddressSpace is the address-space limit of the child (in KiB, for
// ulimit -v): above the 1 GiB the test asserts, so that a bound that
// fails shows as RSS over 1 GiB or an allocation failure, below what
// would hurt the machine.
const bombAddressSpace = 3 << 20

// bombs are Helm charts whose work grows with their values: one
// template (templates/cm.yaml) and its values.yaml each.
var bombs = []struct {
	name, template, values string
}{
	{"until", `{{ range until (int .Values.count) }}x{{ end }}`, "count: 300000000\n"},
	{"printf-doubling",
		`{{ $s := .Values.s }}{{ range until 31 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ $s }}`, "s: x\n"},
	{"repeat", `{{ repeat (int .Values.times) "x" }}`, "times: 2000000000\n"},
	{"value-in-loop", `{{ range until 5000 }}{{ $.Values.big }}{{ end }}`,
		"big: " + strings.Repeat("x", 1<<20) + "\n"},
}

// TestBombs runs kubeharden lint on a repository with one bomb chart and
// a plain manifest, in a child process: the bomb is an error entry naming
// the chart (exit 2), the manifest is still linted, and the child's peak
// RSS stays under 1 GiB. Each bomb must be stopped by a budget, early.
func TestBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	for _, b := range bombs {
		t.Run(b.name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				".git/HEAD":                        "ref: refs/heads/main\n",
				"ok/pod.yaml":                      okPod,
				"charts/bomb/Chart.yaml":           "apiVersion: v2\nname: bomb\nversion: 0.1.0\n",
				"charts/bomb/values.yaml":          b.values,
				"charts/bomb/templates/cm.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  x: |\n    " + b.template + "\n",
				"charts/bomb/templates/_empty.tpl": "",
			}
			for name, text := range files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.Command("/bin/sh", "-c", `ulimit -v "$0" && exec "$@"`,
				fmt.Sprint(bombAddressSpace), os.Args[0], "lint", "--format", "json", "--fail-on", "none", ".")
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), bombChildEnv+"=1")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
			t.Logf("peak RSS %d MiB", rss>>10)
			if code := cmd.ProcessState.ExitCode(); code != 2 {
				t.Fatalf("exit %d (%v), want 2\nstderr: %s", code, err, tail(stderr.String()))
			}
			var out struct {
				Findings []struct {
					Target string `json:"target"`
				} `json:"findings"`
				Errors []struct {
					Target, File, Message string
				} `json:"errors"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("output is not JSON: %v\nstdout: %s\nstderr: %s", err, tail(stdout.String()), tail(stderr.String()))
			}
			if len(out.Errors) != 1 || !strings.HasPrefix(out.Errors[0].Target+out.Errors[0].File, "charts/bomb") {
				t.Errorf("errors = %+v, want one naming charts/bomb", out.Errors)
			} else {
				t.Logf("error: %s: %s", out.Errors[0].File, out.Errors[0].Message)
			}
			linted := false
			for _, f := range out.Findings {
				linted = linted || strings.HasPrefix(f.Target, "ok/")
			}
			if !linted {
				t.Errorf("no finding on the other target (ok); findings: %+v", out.Findings)
			}
			if rss >= 1<<20 {
				t.Errorf("peak RSS %d MiB, want under 1 GiB", rss>>10)
			}
		})
	}
}

// okPod is a manifest with findings, linted next to each bomb.
const okPod = `apiVersion: v1
kind: Pod
metadata:
  name: ok
  namespace: a
spec:
  containers:
    - name: c
      image: c:1
`

// tail is the end of a long output.
func tail(s string) string {
	if len(s) > 2000 {
		return "..." + s[len(s)-2000:]
	}
	return s
}
