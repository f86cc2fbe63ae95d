package github

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// worktree checks out a commit of the clone at repo into a new temporary
// directory and returns the directory and a function that removes it.
// git runs with every repository-controlled helper off: no hooks, no
// fsmonitor; the commit must already be in the clone (nothing is
// fetched).
func worktree(ctx context.Context, repo, sha string) (string, func(), error) {
	if !shaRE.MatchString(sha) {
		return "", nil, fmt.Errorf("bad commit %q: want a full hexadecimal SHA", sha)
	}
	if _, err := git(ctx, repo, "cat-file", "-e", sha+"^{commit}"); err != nil {
		return "", nil, fmt.Errorf("commit %s is not in the clone at %s; check out with full history (actions/checkout: fetch-depth: 0)", sha, repo)
	}
	tmp, err := os.MkdirTemp("", "kubeharden-")
	if err != nil {
		return "", nil, err
	}
	dir := filepath.Join(tmp, sha[:12])
	cleanup := func() {
		// A background context: cleanup runs when the run's own is done.
		git(context.Background(), repo, "worktree", "remove", "--force", dir)
		os.RemoveAll(tmp)
		git(context.Background(), repo, "worktree", "prune")
	}
	if _, err := git(ctx, repo, "worktree", "add", "--detach", "--force", dir, sha); err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}

// git runs git in dir with the repository's hooks and fsmonitor off, and
// no external diff or text conversion program.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	full := append([]string{"-C", dir, "-c", "core.fsmonitor=false", "-c", "core.hooksPath=" + os.DevNull,
		"-c", "diff.external=", "-c", "advice.detachedHead=false"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
