package driver

import (
	"slices"
	"testing"
)

func TestGitRemoteURLs(t *testing.T) {
	src := `# comment
[core]
	url = not-a-remote
[remote "origin"]
	url = git@github.com:acme/fleet.git
	fetch = +refs/heads/*:refs/remotes/origin/*
[branch "main"]
	remote = origin
[remote "upstream"]
	URL = "https://github.com/upstream/fleet" ; a comment
[includeIf "gitdir:x"]
	path = other
`
	got := gitRemoteURLs([]byte(src))
	want := []string{"git@github.com:acme/fleet.git", "https://github.com/upstream/fleet"}
	if !slices.Equal(got, want) {
		t.Errorf("gitRemoteURLs = %q, want %q", got, want)
	}
}
