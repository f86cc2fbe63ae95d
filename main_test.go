package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/report/reporttest"
)

// TestScripts runs the CLI scenarios in testdata/script. Each scenario is a
// txtar archive holding a repository, the commands to run and the
// expected output. kubeharden runs in-process through runIn, reading
// stdin from FILE when its last argument is <FILE; `exit N` asserts the
// exit code of the last kubeharden command.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Files:         nonGitHubScripts(t), // github-*.txtar run in TestGitHubScripts (cmd_github_test.go)
		UpdateScripts: golden.Update(),
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"kubeharden": func(ts *testscript.TestScript, neg bool, args []string) {
				var stdout, stderr bytes.Buffer
				// A last argument "<FILE" is kubeharden's stdin, as in a
				// shell (testscript's own stdin command feeds only exec).
				stdin := ""
				if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "<") {
					stdin, args = ts.ReadFile(args[n-1][1:]), args[:n-1]
				}
				code := runIn(context.Background(), ts.MkAbs("."), args, strings.NewReader(stdin), &stdout, &stderr)
				scriptOutcome(ts, neg, code, &stdout, &stderr)
			},
			"validjson": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 1 || args[0] != "stdout" || len(args) > 2 || len(args) == 2 && args[1] != "fix" {
					ts.Fatalf("usage: validjson stdout [fix]")
				}
				validate := reporttest.Validate
				if len(args) == 2 {
					validate = reporttest.ValidateFix
				}
				err := validate([]byte(ts.ReadFile("stdout")))
				if (err != nil) != neg {
					ts.Fatalf("schema validation: %v", err)
				}
			},
			// dates sets $SOON (in 30 days), $PAST (yesterday) and $FAR
			// (in 400 days), for exemption expiries that stay meaningful
			// whenever the test runs.
			"dates": func(ts *testscript.TestScript, neg bool, args []string) {
				now := time.Now()
				ts.Setenv("SOON", now.AddDate(0, 0, 30).Format(time.DateOnly))
				ts.Setenv("PAST", now.AddDate(0, 0, -1).Format(time.DateOnly))
				ts.Setenv("FAR", now.AddDate(0, 0, 400).Format(time.DateOnly))
			},
			// expand replaces $VAR references in files with the script's
			// environment.
			"expand": func(ts *testscript.TestScript, neg bool, args []string) {
				for _, f := range args {
					data := ts.ReadFile(f)
					data = os.Expand(data, ts.Getenv)
					if err := os.WriteFile(ts.MkAbs(f), []byte(data), 0o644); err != nil {
						ts.Fatalf("%v", err)
					}
				}
			},
			"exit": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: exit CODE")
				}
				if got := ts.Getenv("EXIT"); got != args[0] {
					ts.Fatalf("exit code %s, want %s", got, args[0])
				}
			},
		},
	})
}

// TestDemo lints the bundled demo repository, as the README's demo command
// does, and compares the report with testdata/demo.golden (-update to
// rewrite). The demo has a target of every kind, so the golden file pins
// file:line:column for manifest, Kustomize base and patch, and Helm
// template sources. The JSON report must validate against the schema.
// demoNow is the date the demo's exemptions are judged at, so that the
// golden output does not change as their expiry dates come closer.
var demoNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// demoEnv runs kubeharden in dir with exemptions judged at demoNow.
func demoEnv(dir string) env {
	return env{wd: dir, now: func() time.Time { return demoNow }}
}

func TestDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := runEnv(context.Background(), demoEnv("."), []string{"lint", "testdata/demo"}, nil, &stdout, &stderr)
	if code != exitFindings {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitFindings, stderr.String())
	}
	golden.Check(t, "testdata/demo.golden", stdout.Bytes())
	// The nightly report CronJob is hardened: no Pod Security or
	// hardening rule may report it (no false positives).
	if strings.Contains(stdout.String(), "nightly-report") || strings.Contains(stdout.String(), "manifests/report-job.yaml") {
		t.Errorf("findings on the compliant CronJob:\n%s", stdout.String())
	}

	stdout.Reset()
	runEnv(context.Background(), demoEnv("."), []string{"lint", "--format", "json", "testdata/demo"}, nil, &stdout, &stderr)
	if err := reporttest.Validate(stdout.Bytes()); err != nil {
		t.Errorf("JSON report does not validate: %v", err)
	}
}

// scriptOutcome passes a kubeharden run's output to the script, records
// its exit code for `exit N`, and fails the script when the code does not
// match the command's negation.
func scriptOutcome(ts *testscript.TestScript, neg bool, code int, stdout, stderr *bytes.Buffer) {
	ts.Stdout().Write(stdout.Bytes())
	ts.Stderr().Write(stderr.Bytes())
	ts.Setenv("EXIT", strconv.Itoa(code))
	if code != 0 && !neg {
		ts.Fatalf("kubeharden exited %d\n%s", code, stderr.String())
	}
	if code == 0 && neg {
		ts.Fatalf("kubeharden succeeded unexpectedly")
	}
}

// TestRulesDoc keeps docs/rules.md in step with the rule metadata
// (go test -run TestRulesDoc -update regenerates it).
func TestRulesDoc(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runIn(context.Background(), ".", []string{"rules", "--markdown"}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	golden.Check(t, "docs/rules.md", stdout.Bytes())
}
