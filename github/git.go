package github

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

var shaRE = regexp.MustCompile(`^[0-9a-f]{40}([0-9a-f]{24})?$`)

// worktree checks out a commit of the clone at repo into a new temporary
// directory and returns the directory and a function that removes it.
// git runs with every repository-controlled helper off: no hooks, no
// fsmonitor; the commit must already be in the clone (nothing is
// fetched).
func worktree(ctx context.Context, repo, sha string) (string, func(), error) {
	if err := haveCommit(ctx, repo, sha); err != nil {
		return "", nil, err
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

// haveCommit checks that sha is a full commit SHA that the clone at repo
// holds.
func haveCommit(ctx context.Context, repo, sha string) error {
	if !shaRE.MatchString(sha) {
		return fmt.Errorf("bad commit %q: want a full hexadecimal SHA", sha)
	}
	if _, err := git(ctx, repo, "cat-file", "-e", sha+"^{commit}"); err != nil {
		return fmt.Errorf("commit %s is not in the clone at %s; check out with full history (actions/checkout: fetch-depth: 0)", sha, repo)
	}
	return nil
}

// configFile is the policy's file name at the root of a commit
// (config.FileName, which this package does not import).
const configFile = ".kubeharden.yaml"

// maxPolicySize bounds the policy file read from a commit: the head's is
// the pull request's, untrusted input like the rest of it.
const maxPolicySize = 1 << 20

// policyAt reads the policy of a commit of the clone at repo from git's
// object store, without a checkout. A commit without the file has the
// default policy (nil Config); a file that is not a regular file (a
// symbolic link, a submodule) or is over maxPolicySize is an error.
func policyAt(ctx context.Context, repo, sha string) (*Policy, error) {
	if err := haveCommit(ctx, repo, sha); err != nil {
		return nil, err
	}
	out, err := git(ctx, repo, "ls-tree", "-z", "--full-tree", sha, "--", configFile)
	if err != nil {
		return nil, err
	}
	p := &Policy{Commit: sha}
	if out == "" {
		return p, nil
	}
	// "<mode> <type> <object>\t<path>\x00"
	meta, _, _ := strings.Cut(out, "\t")
	f := strings.Fields(meta)
	if len(f) != 3 || f[1] != "blob" || f[0] != "100644" && f[0] != "100755" {
		return nil, fmt.Errorf("%s in %s is not a regular file", configFile, sha)
	}
	size, err := git(ctx, repo, "cat-file", "-s", f[2])
	if err != nil {
		return nil, err
	}
	if n, err := strconv.Atoi(strings.TrimSpace(size)); err != nil || n > maxPolicySize {
		return nil, fmt.Errorf("%s in %s is over %d bytes", configFile, sha, maxPolicySize)
	}
	content, err := git(ctx, repo, "cat-file", "blob", f[2])
	if err != nil {
		return nil, err
	}
	p.Config = []byte(content)
	return p, nil
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
