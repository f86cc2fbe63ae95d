package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/github"
	"github.com/kubeharden/kubeharden/github/githubtest"
	"github.com/kubeharden/kubeharden/internal/golden"
)

// scriptToken is the token the github scenarios authenticate with; the
// token-leak scenario checks it never reaches the output.
const scriptToken = "ghp_kubehardenScriptToken0123456789"

type fakeKey struct{}

// waitsKey holds the waits the client asked for, instead of sleeping.
type waitsKey struct{}

type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

// TestGitHubScripts runs the github-*.txtar scenarios in testdata/script
// against a fake GitHub (githubtest) started for each scenario, with
// GITHUB_API_URL and GITHUB_TOKEN pointing at it. kubeharden runs
// in-process; the client never sleeps (its waits are recorded) and gives
// up on a response after half a second. A scenario fails if the fake saw
// any request or sent any response that GitHub's API description does
// not allow.
func TestGitHubScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/script/github-*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	testscript.Run(t, testscript.Params{
		Files:         files,
		UpdateScripts: golden.Update(),
		Setup:         githubScriptSetup,
		Cmds:          githubScriptCmds(),
	})
}

// nonGitHubScripts lists the scenarios other than the github ones, which
// need the fake server of TestGitHubScripts.
func nonGitHubScripts(t *testing.T) []string {
	all, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range all {
		if !strings.HasPrefix(filepath.Base(f), "github-") {
			out = append(out, f)
		}
	}
	return out
}

func githubScriptSetup(env *testscript.Env) error {
	srv, err := githubtest.NewServer()
	if err != nil {
		return err
	}
	srv.AllowToken(scriptToken)
	env.Values[fakeKey{}] = srv
	env.Values[waitsKey{}] = &waits{}
	env.Setenv("GITHUB_API_URL", srv.URL)
	env.Setenv("GITHUB_SERVER_URL", srv.WebURL())
	env.Setenv("GITHUB_TOKEN", scriptToken)
	env.Setenv("GITHUB_REPOSITORY", "acme/gitops")
	env.Setenv("WEB", srv.WebURL())
	env.Setenv("HOME", env.WorkDir)
	env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	for _, k := range []string{"GIT_AUTHOR", "GIT_COMMITTER"} {
		env.Setenv(k+"_NAME", "Dev")
		env.Setenv(k+"_EMAIL", "dev@example.com")
		env.Setenv(k+"_DATE", "2026-01-02T03:04:05Z")
	}
	env.Defer(func() {
		srv.Close()
		if v := srv.Violations(); len(v) > 0 {
			env.T().Fatal("fake GitHub saw requests or sent responses outside GitHub's API description:\n" + strings.Join(v, "\n"))
		}
	})
	return nil
}

func githubScriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"kubeharden": runGitHubKubeharden,
		"fakegithub": fakeGitHubCmd,
		// sha NAME REV sets $NAME to the commit REV names in the
		// current directory's git repository.
		"sha": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 2 {
				ts.Fatalf("usage: sha NAME REV")
			}
			ts.Setenv(args[0], gitOutput(ts, "rev-parse", args[1]))
		},
		"exit": func(ts *testscript.TestScript, neg bool, args []string) {
			if len(args) != 1 {
				ts.Fatalf("usage: exit CODE")
			}
			if got := ts.Getenv("EXIT"); got != args[0] {
				ts.Fatalf("exit code %s, want %s", got, args[0])
			}
		},
	}
}

// runGitHubKubeharden runs kubeharden in-process with only the github
// command, its environment taken from the script.
func runGitHubKubeharden(ts *testscript.TestScript, neg bool, args []string) {
	wt := ts.Value(waitsKey{}).(*waits)
	deps := githubDeps{
		getenv: ts.Getenv,
		// Exemptions are judged on a fixed date, so that scenarios with
		// expiry dates do not age.
		eng: githubEngine{now: func() time.Time { return time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) }},
		retry: github.Retry{
			AttemptTimeout: 500 * time.Millisecond,
			Sleep: func(_ context.Context, d time.Duration) error {
				wt.mu.Lock()
				wt.d = append(wt.d, d)
				wt.mu.Unlock()
				return nil
			},
		},
	}
	var stdout, stderr bytes.Buffer
	wd := ts.MkAbs(".")
	root := &cobra.Command{Use: "kubeharden", SilenceUsage: true, SilenceErrors: true}
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.AddCommand(githubCommand(wd, deps))
	root.SetArgs(args)
	code := execute(context.Background(), root, &stderr)
	scriptOutcome(ts, neg, code, &stdout, &stderr)
}

func gitOutput(ts *testscript.TestScript, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = ts.MkAbs(".")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+ts.Getenv("HOME"))
	out, err := cmd.Output()
	if err != nil {
		ts.Fatalf("git %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// fakeGitHubCmd sets up and inspects the fake GitHub:
//
//	fakegithub repo BRANCH REV            acme/gitops, default branch at REV
//	fakegithub ref BRANCH REV             point a branch at REV
//	fakegithub pr N BASE HEAD             pull request N from feature into main, files from git diff
//	fakegithub event FILE N BASE HEAD     write a pull_request event and set GITHUB_EVENT_PATH
//	fakegithub fault OP STATUS [retry-after=S] [reset=S] [times=N] [delay=D] [echo]
//	fakegithub app ID INSTALLATION KEYFILE  register an app, write its private key
//	fakegithub calls | writes | comments | reviews | pulls | waits
//	fakegithub file BRANCH PATH           a file on a branch, as written through the API
func fakeGitHubCmd(ts *testscript.TestScript, neg bool, args []string) {
	srv := ts.Value(fakeKey{}).(*githubtest.Server)
	if len(args) == 0 {
		ts.Fatalf("usage: fakegithub SUBCOMMAND ...")
	}
	out := ts.Stdout()
	sha := func(rev string) string { return gitOutput(ts, "rev-parse", rev) }
	switch args[0] {
	case "repo":
		srv.AddRepo("acme", "gitops", args[1], sha(args[2]))
	case "ref":
		srv.SetRef("acme", "gitops", "heads/"+args[1], sha(args[2]))
	case "pr":
		n, _ := strconv.Atoi(args[1])
		base, head := sha(args[2]), sha(args[3])
		files, err := githubtest.DiffFiles(ts.MkAbs("."), base, head)
		if err != nil {
			ts.Fatalf("%v", err)
		}
		srv.AddPull("acme", "gitops", githubtest.Pull{Number: n, Title: "change", Head: "feature", Base: "main",
			BaseSHA: base, HeadSHA: head, Files: files})
	case "event":
		n, _ := strconv.Atoi(args[2])
		ev := map[string]any{"action": "synchronize", "number": n, "pull_request": map[string]any{
			"number": n, "base": map[string]any{"sha": sha(args[3])}, "head": map[string]any{"sha": sha(args[4])}}}
		data, _ := json.Marshal(ev)
		if err := os.WriteFile(ts.MkAbs(args[1]), data, 0o644); err != nil {
			ts.Fatalf("%v", err)
		}
		ts.Setenv("GITHUB_EVENT_PATH", ts.MkAbs(args[1]))
	case "fault":
		status, _ := strconv.Atoi(args[2])
		f := githubtest.Fault{Op: args[1], Status: status}
		for _, a := range args[3:] {
			k, v, _ := strings.Cut(a, "=")
			n, _ := strconv.Atoi(v)
			switch k {
			case "retry-after":
				f.RetryAfter = n
			case "reset":
				f.Reset = n
			case "times":
				f.Times = n
			case "delay":
				d, err := time.ParseDuration(v)
				if err != nil {
					ts.Fatalf("%v", err)
				}
				f.Delay = d
			case "echo":
				f.Echo = true
			default:
				ts.Fatalf("unknown fault option %q", a)
			}
		}
		srv.Inject(f)
	case "app":
		id, _ := strconv.ParseInt(args[1], 10, 64)
		inst, _ := strconv.ParseInt(args[2], 10, 64)
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			ts.Fatalf("%v", err)
		}
		pemData := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		if err := os.WriteFile(ts.MkAbs(args[3]), pemData, 0o600); err != nil {
			ts.Fatalf("%v", err)
		}
		srv.AddApp(id, &key.PublicKey, inst)
	case "calls", "writes":
		for _, c := range srv.Calls() {
			if args[0] == "calls" || c.Writes() {
				fmt.Fprintln(out, c)
			}
		}
	case "comments":
		for _, c := range srv.Comments("acme", "gitops") {
			lines := strconv.Itoa(c.Line)
			if c.StartLine != 0 {
				lines = strconv.Itoa(c.StartLine) + "-" + lines
			}
			fmt.Fprintf(out, "== comment %s:%s %s edits=%d\n%s\n", c.Path, lines, c.Side, c.Edits, c.Body)
		}
	case "reviews":
		for _, r := range srv.Reviews("acme", "gitops") {
			fmt.Fprintf(out, "== review %s on %s with %d comments\n%s\n", r.State, r.CommitID, len(r.Comments), r.Body)
		}
	case "pulls":
		for _, p := range srv.Pulls("acme", "gitops") {
			fmt.Fprintf(out, "== pull #%d %s %s -> %s labels=%s\ntitle: %s\n%s\n", p.Number, p.State, p.Head, p.Base, strings.Join(p.Labels, ","), p.Title, p.Body)
		}
	case "waits":
		wt := ts.Value(waitsKey{}).(*waits)
		wt.mu.Lock()
		for _, d := range wt.d {
			fmt.Fprintln(out, d.Round(time.Second))
		}
		wt.mu.Unlock()
	case "file":
		data, ok := srv.FileAt("acme", "gitops", "heads/"+args[1], args[2])
		if !ok {
			ts.Fatalf("no %s on %s", args[2], args[1])
		}
		out.Write(data)
	default:
		ts.Fatalf("unknown fakegithub command %q", args[0])
	}
}
