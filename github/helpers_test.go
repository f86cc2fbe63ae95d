package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/github/githubtest"
	"github.com/kubeharden/kubeharden/lint"
)

const testToken = "ghp_test0123456789abcdefSECRET"

// startFake starts the fake GitHub and fails the test on any contract
// violation it saw.
func startFake(t *testing.T) *githubtest.Server {
	t.Helper()
	srv, err := githubtest.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	srv.AllowToken(testToken)
	t.Cleanup(func() {
		srv.Close()
		for _, v := range srv.Violations() {
			t.Errorf("fake GitHub: %s", v)
		}
	})
	return srv
}

// sleeps records the waits of a client instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func newTestClient(t *testing.T, srv *githubtest.Server, log *bytes.Buffer, sl *sleeps) *Client {
	t.Helper()
	if sl == nil {
		sl = &sleeps{}
	}
	o := Options{APIURL: srv.URL, Token: testToken, Retry: Retry{Sleep: sl.sleep, AttemptTimeout: 2 * time.Second}}
	if log != nil {
		o.Log = log
	}
	c, err := NewClient(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// gitRepo is a local clone for the flows to make worktrees of.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files ("" deletes one) and commits them; it returns the
// commit's SHA.
func (r *gitRepo) commit(files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if content == "" {
			os.Remove(p)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", "change")
	return r.git("rev-parse", "HEAD")
}

// fakeEngine finds "KEY: bad" lines. The fingerprint is KEY's, so a
// moved line keeps it. "KEY: bad @FILE:LINE" reports the finding at
// FILE:LINE without a fix, as a values change surfacing in a template
// does; otherwise the fix turns the line into "KEY: good".
type fakeEngine struct {
	mu    sync.Mutex
	lints []string // dirs linted
}

var badRE = regexp.MustCompile(`^(\s*)(\w+): bad(?: @(\S+):(\d+))?\s*$`)

func (e *fakeEngine) scan(dir string) ([]Finding, map[string][]byte, error) {
	var out []Finding
	fixed := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() == ".git" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		lines := strings.Split(string(data), "\n")
		orig := slicesClone(lines)
		changed := false
		for i, l := range lines {
			m := badRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			f := Finding{
				Fingerprint: fmt.Sprintf("%x", sha256.Sum256([]byte(m[2]))),
				Rule:        "no-bad", Severity: lint.High,
				Message:  fmt.Sprintf("%s must not be bad", m[2]),
				URL:      lint.DocsBase + "#no-bad",
				Resource: "ConfigMap/default/" + m[2],
				File:     rel, Line: i + 1, Column: len(m[1]) + 1,
			}
			if m[3] != "" {
				f.File = m[3]
				f.Line, _ = strconv.Atoi(m[4])
				f.Severity = lint.Medium
			} else {
				nl := slicesClone(orig)
				nl[i] = m[1] + m[2] + ": good"
				f.Fix = &fix.FileChange{Path: rel, Old: data, New: []byte(strings.Join(nl, "\n"))}
				f.FixRisk, f.FixRiskReason = lint.FixMayBreak, "a reader may want it bad"
				lines[i] = nl[i]
				changed = true
			}
			out = append(out, f)
		}
		if changed {
			fixed[rel] = []byte(strings.Join(lines, "\n"))
		}
		return nil
	})
	return out, fixed, err
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func (e *fakeEngine) Lint(ctx context.Context, dir string, _ LintOptions) (*LintResult, error) {
	e.mu.Lock()
	e.lints = append(e.lints, dir)
	e.mu.Unlock()
	fs, _, err := e.scan(dir)
	return &LintResult{Findings: fs}, err
}

func (e *fakeEngine) Fix(ctx context.Context, dir string) (*Remediation, error) {
	fs, fixed, err := e.scan(dir)
	if err != nil {
		return nil, err
	}
	rem := &Remediation{}
	var names []string
	for n := range fixed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		old, _ := os.ReadFile(filepath.Join(dir, n))
		rem.Files = append(rem.Files, fix.FileChange{Path: n, Old: old, New: fixed[n]})
	}
	for _, f := range fs {
		if f.Fix == nil {
			rem.Remaining = append(rem.Remaining, f)
			continue
		}
		// ConfigMap a's fix may break it, the others' are safe.
		risk, reason := lint.FixSafe, "good is what every reader of the key expects"
		if f.Resource == "ConfigMap/default/a" {
			risk, reason = lint.FixMayBreak, "a reader of a may want it bad"
		}
		rem.Applied = append(rem.Applied, AppliedFix{Rule: f.Rule, Resource: f.Resource, Files: []string{f.File},
			Description: "set " + strings.TrimPrefix(f.Resource, "ConfigMap/default/") + ": good", URL: f.URL,
			Risk: risk, RiskReason: reason})
	}
	return rem, nil
}
