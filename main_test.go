package main

import (
	"bytes"
	"context"
	"flag"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kubeharden/kubeharden/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite testscript expectations (cmp files) with actual output")

// TestScripts runs the CLI scenarios in testdata/script. Each scenario is a
// txtar archive holding a repository, the commands to run and the
// expected output. kubeharden runs in-process through runIn; `exit N`
// asserts the exit code of the last kubeharden command.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: *update,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"kubeharden": func(ts *testscript.TestScript, neg bool, args []string) {
				var stdout, stderr bytes.Buffer
				code := runIn(context.Background(), ts.MkAbs("."), args, bytes.NewReader(nil), &stdout, &stderr)
				ts.Stdout().Write(stdout.Bytes())
				ts.Stderr().Write(stderr.Bytes())
				ts.Setenv("EXIT", strconv.Itoa(code))
				if code != 0 && !neg {
					ts.Fatalf("kubeharden exited %d\n%s", code, stderr.String())
				}
				if code == 0 && neg {
					ts.Fatalf("kubeharden succeeded unexpectedly")
				}
			},
			"validjson": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 || args[0] != "stdout" {
					ts.Fatalf("usage: validjson stdout")
				}
				err := reporttest.Validate([]byte(ts.ReadFile("stdout")))
				if (err != nil) != neg {
					ts.Fatalf("schema validation: %v", err)
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
