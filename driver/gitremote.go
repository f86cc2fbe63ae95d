package driver

import (
	"bufio"
	"bytes"
	"strings"
)

// repoURLs are the Git URLs of the repository: the remotes of the root's
// .git/config and the config's gitops.repoURLs. .git/config is read as a
// file, never through git, whose helpers the repository could configure;
// it is read only where the root holds a .git directory (a worktree's or
// submodule's .git file points outside the root, and a root below the git
// top level has none): there gitops.repoURLs says which URLs are this
// repository.
func (r *Repo) repoURLs() []string {
	var urls []string
	if st, err := r.fs.Stat(".git"); err == nil && st.IsDir() {
		if b, err := r.fs.ReadFile(".git/config"); err == nil {
			urls = gitRemoteURLs(b)
		}
	}
	return append(urls, r.cfg.GitOps.RepoURLs...)
}

// gitRemoteURLs returns the url values of the [remote "..."] sections of
// a git config file, in file order. It reads the plain syntax git writes
// (section headers, key = value, comments); includes are not followed.
func gitRemoteURLs(src []byte) []string {
	var urls []string
	remote := false
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			header, _, _ := strings.Cut(line[1:], "]")
			name, _, _ := strings.Cut(strings.TrimSpace(header), " ")
			remote = strings.EqualFold(name, "remote")
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !remote || !ok || !strings.EqualFold(strings.TrimSpace(key), "url") {
			continue
		}
		val = strings.TrimSpace(val)
		if q, ok := strings.CutPrefix(val, `"`); ok {
			val, _, _ = strings.Cut(q, `"`)
		} else if i := strings.IndexAny(val, "#;"); i >= 0 {
			val = strings.TrimSpace(val[:i])
		}
		if val != "" {
			urls = append(urls, val)
		}
	}
	return urls
}
