package github

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/github/githubtest"
)

func TestRemediateNothingToFix(t *testing.T) {
	t.Parallel()
	repo := newGitRepo(t)
	sha := repo.commit(map[string]string{"deploy.yaml": "a: good\n"})
	srv := startFake(t)
	srv.AddRepo("acme", "gitops", "main", sha)
	var log bytes.Buffer
	c := newTestClient(t, srv, &log, nil)
	res, err := c.Remediate(context.Background(), &fakeEngine{}, RemediateOptions{Owner: "acme", Repo: "gitops", Checkout: repo.dir})
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit != "" || res.Pull != 0 {
		t.Errorf("result %+v", res)
	}
	if w := writes(srv.Calls()); len(w) > 0 {
		t.Errorf("writing calls with nothing to fix: %v", w)
	}
	if !strings.Contains(log.String(), "nothing to fix on main") {
		t.Errorf("log:\n%s", log.String())
	}
}

func TestRemediateFlow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := newGitRepo(t)
	repo.commit(map[string]string{"deploy.yaml": "a: bad\nb: 1\n", "values.yaml": "far: bad @templates/t.yaml:2\n", "run.sh": "#!/bin/sh\nx: bad\n"})
	if err := os.Chmod(filepath.Join(repo.dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	first := repo.commit(nil)
	srv := startFake(t)
	srv.AddRepo("acme", "gitops", "main", first)
	c := newTestClient(t, srv, nil, nil)
	opts := RemediateOptions{Owner: "acme", Repo: "gitops", Checkout: repo.dir, Labels: []string{"security", "automated"}}

	res, err := c.Remediate(ctx, &fakeEngine{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || !res.BranchUpdated || res.Pull == 0 || res.Base != "main" || res.BaseSHA != first {
		t.Errorf("first run: %+v", res)
	}
	if got := srv.Ref("acme", "gitops", "heads/kubeharden/remediation"); got != res.Commit {
		t.Errorf("branch at %s, want %s", got, res.Commit)
	}
	commit, _ := srv.Commit("acme", "gitops", res.Commit)
	if len(commit.Parents) != 1 || commit.Parents[0] != first || !strings.Contains(commit.Message, "apply 2 automatic fixes") {
		t.Errorf("commit %+v", commit)
	}
	if data, ok := srv.FileAt("acme", "gitops", "heads/kubeharden/remediation", "deploy.yaml"); !ok || string(data) != "a: good\nb: 1\n" {
		t.Errorf("deploy.yaml on the branch: %q %v", data, ok)
	}
	pulls := srv.Pulls("acme", "gitops")
	if len(pulls) != 1 {
		t.Fatalf("pulls %+v", pulls)
	}
	pr := pulls[0]
	if pr.Head != "kubeharden/remediation" || pr.Base != "main" || pr.Title != DefaultTitle || strings.Join(pr.Labels, ",") != "security,automated" {
		t.Errorf("pull request %+v", pr)
	}
	for _, want := range []string{
		"### Applied fixes: may-break (1)\n\nEach of these can stop a working workload",
		"### Applied fixes: safe (1)\n\nThese cannot stop a working workload. To roll one back anyway, revert its lines in the listed files; " +
			"to roll back all of them, revert the commit of this pull request.",
		"| Rule | Resource | File | What changed | Risk | Evidence |",
		"| [`no-bad`](" + "https://github.com/kubeharden/kubeharden/blob/main/docs/rules.md#no-bad) | `ConfigMap/default/a` | [`deploy.yaml`](" + srv.WebURL() + "/acme/gitops/blob/" + res.Commit + "/deploy.yaml) | set a: good | a reader of a may want it bad | — |",
		"| `ConfigMap/default/x` | [`run.sh`](" + srv.WebURL() + "/acme/gitops/blob/" + res.Commit + "/run.sh) | set x: good | good is what every reader of the key expects | — |",
		"### Left without an automatic fix (1)",
		"far must not be bad",
	} {
		if !strings.Contains(pr.Body, want) {
			t.Errorf("PR body lacks %q:\n%s", want, pr.Body)
		}
	}
	// The executable bit is kept.
	if !hasCall(srv.Calls(), "POST", "/repos/acme/gitops/git/trees", `"path":"run.sh","mode":"100755"`) {
		t.Error("run.sh not written with mode 100755")
	}

	// Nothing changed: no new commit, no ref update, no PR edit.
	before := len(srv.Calls())
	res2, err := c.Remediate(ctx, &fakeEngine{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res2.BranchUpdated || res2.Created || res2.Commit != res.Commit || res2.Pull != res.Pull {
		t.Errorf("second run: %+v", res2)
	}
	for _, c := range writes(srv.Calls()[before:]) {
		if !strings.HasSuffix(c.Path, "/git/blobs") && !strings.HasSuffix(c.Path, "/git/trees") {
			t.Errorf("second run wrote %v", c)
		}
	}

	// The default branch moves on: the branch is rebuilt on it and
	// force-updated, and the same pull request is updated.
	moved := repo.commit(map[string]string{"other.yaml": "o: bad\n"})
	srv.SetRef("acme", "gitops", "heads/main", moved)
	res3, err := c.Remediate(ctx, &fakeEngine{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res3.BranchUpdated || res3.Created || res3.Pull != res.Pull || res3.BaseSHA != moved {
		t.Errorf("after the default branch moved: %+v", res3)
	}
	commit, _ = srv.Commit("acme", "gitops", srv.Ref("acme", "gitops", "heads/kubeharden/remediation"))
	if len(commit.Parents) != 1 || commit.Parents[0] != moved {
		t.Errorf("branch commit %+v not on %s", commit, moved)
	}
	if !hasCall(srv.Calls(), "PATCH", "/repos/acme/gitops/git/refs/heads/kubeharden/remediation", `"force":true`) {
		t.Error("no forced ref update")
	}
	pulls = srv.Pulls("acme", "gitops")
	if len(pulls) != 1 || !strings.Contains(pulls[0].Body, moved) || !strings.Contains(pulls[0].Body, "o: good") {
		t.Errorf("pull requests after the move: %+v", pulls)
	}
}

// A run that pushed the branch but failed to open the pull request is
// completed by the next run, which opens it without a new commit.
func TestRemediateCompletesPartialRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	repo := newGitRepo(t)
	sha := repo.commit(map[string]string{"deploy.yaml": "a: bad\n"})
	srv := startFake(t)
	srv.AddRepo("acme", "gitops", "main", sha)
	srv.Inject(githubtest.Fault{Op: "pulls/create", Status: 403})
	c := newTestClient(t, srv, nil, nil)
	opts := RemediateOptions{Owner: "acme", Repo: "gitops", Checkout: repo.dir, Branch: "hardening"}
	if _, err := c.Remediate(ctx, &fakeEngine{}, opts); err == nil {
		t.Fatal("no error from the failed run")
	}
	branch := srv.Ref("acme", "gitops", "heads/hardening")
	if branch == "" || len(srv.Pulls("acme", "gitops")) != 0 {
		t.Fatalf("after the failed run: branch %q, pulls %v", branch, srv.Pulls("acme", "gitops"))
	}
	res, err := c.Remediate(ctx, &fakeEngine{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.BranchUpdated || res.Commit != branch || len(srv.Pulls("acme", "gitops")) != 1 {
		t.Errorf("completing run: %+v", res)
	}
}

func TestRemediateRefusesBadInput(t *testing.T) {
	for _, b := range []string{"", "-x", "a..b", "a b", "refs/heads/x", "x.lock", "a//b", "x/"} {
		if checkBranch(b) == nil && b != "" {
			t.Errorf("branch %q accepted", b)
		}
	}
	for _, p := range []string{"/etc/passwd", "../x", "a/../../x", ".git/config", "a/./b", `a\b`} {
		if checkPath(p) == nil {
			t.Errorf("path %q accepted", p)
		}
	}
	if err := checkPath("charts/web/values.yaml"); err != nil {
		t.Error(err)
	}
}

func hasCall(calls []githubtest.Call, method, path, body string) bool {
	for _, c := range calls {
		if c.Method == method && c.Path == path && strings.Contains(string(c.Body), body) {
			return true
		}
	}
	return false
}
