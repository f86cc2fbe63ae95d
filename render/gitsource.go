package render

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// The sources a GitOps object may name, and whether they are this
// repository. A source is rendered from the repository's own files only
// when it is this repository: its URL is one of DiscoverOptions.RepoURLs
// (the repository's git remotes and the config's gitops.repoURLs), or the
// URL of a Flux GitRepository named flux-system (the one flux bootstrap
// writes to sync the repository it is written in). When none of these is
// known, every Git source is assumed to be this repository, as before
// sources were compared, and Repo.Notes says so once.

// NormalizeRepoURL returns the form of a Git URL that compares equal for
// the spellings of one repository: https, http, git and ssh URLs and
// scp-like "git@host:org/repo" all become "host/org/repo", without user,
// port, ".git" suffix or trailing slash, in lower case (hosting services
// compare repository names without case, as Argo CD does). A string that
// is no URL is returned trimmed and in lower case.
func NormalizeRepoURL(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	host, p := "", ""
	if i := strings.Index(s, "://"); i >= 0 {
		if u, err := url.Parse(s); err == nil && u.Host != "" {
			host, p = u.Hostname(), u.Path
		} else {
			rest := s[i+3:]
			host, p, _ = strings.Cut(rest, "/")
			p = "/" + p
		}
	} else if at, rest, ok := strings.Cut(s, ":"); ok && !strings.Contains(at, "/") {
		// scp-like: [user@]host:path
		if _, h, ok := strings.Cut(at, "@"); ok {
			at = h
		}
		host, p = at, "/"+rest
	} else {
		return strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(s, "/"), ".git"))
	}
	p = strings.TrimSuffix(strings.TrimSuffix(p, "/"), ".git")
	p = strings.TrimSuffix(p, "/")
	return strings.ToLower(host + "/" + strings.TrimPrefix(p, "/"))
}

// gitRepository is a Flux GitRepository object of the repository.
type gitRepository struct {
	namespace, name, url string
}

// readGitRepositories collects the Flux GitRepository objects of the
// repository, and adds the URL of flux-system to the URLs of this
// repository.
func (d *discovery) readGitRepositories() {
	d.thisRepo = map[string]bool{}
	for _, u := range d.opts.RepoURLs {
		if n := NormalizeRepoURL(u); n != "" {
			d.thisRepo[n] = true
		}
	}
	hasFlux := func(src []byte) bool { return bytes.Contains(src, []byte("source.toolkit.fluxcd.io")) }
	d.eachGitOpsObject(hasFlux, func(_ string, n *yaml.Node) {
		group, _, _ := strings.Cut(scalar(n, "apiVersion"), "/")
		if group != "source.toolkit.fluxcd.io" || scalar(n, "kind") != "GitRepository" {
			return
		}
		g := gitRepository{namespace: scalar(n, "metadata", "namespace"), name: scalar(n, "metadata", "name"), url: scalar(n, "spec", "url")}
		d.gitRepos = append(d.gitRepos, g)
		if g.name == "flux-system" && g.url != "" {
			d.thisRepo[NormalizeRepoURL(g.url)] = true
		}
	})
}

// isThisRepo reports whether a Git URL is this repository's. With no URL
// of this repository known, every URL is assumed to be, and the
// assumption is noted once.
func (d *discovery) isThisRepo(u string) bool {
	if len(d.thisRepo) == 0 {
		d.assumed()
		return true
	}
	return d.thisRepo[NormalizeRepoURL(u)]
}

// NoteAssumedSource is the note of a discovery that could not tell
// which Git sources are this repository.
const NoteAssumedSource = "no git remote in .git/config, no gitops.repoURLs in the config and no flux-system GitRepository: every Git source of an Argo CD or Flux object is assumed to be this repository"

func (d *discovery) assumed() {
	if !d.assumedNoted {
		d.assumedNoted = true
		d.repo.Notes = append(d.repo.Notes, NoteAssumedSource)
	}
}

// fluxGitSource decides whether a Flux sourceRef (kind GitRepository) of
// an object in namespace ns is this repository, and returns a detail for
// the skip when it is not. flux-system is this repository unless the
// repository defines it with another URL; another GitRepository must be
// defined in the repository with a URL of it.
func (d *discovery) fluxGitSource(ref *yaml.Node, ns string) (bool, string) {
	name := scalar(ref, "name")
	if rns := scalar(ref, "namespace"); rns != "" {
		ns = rns
	}
	for _, g := range d.gitRepos {
		if g.name == name && (g.namespace == ns || g.namespace == "" || ns == "") {
			if d.isThisRepo(g.url) {
				return true, ""
			}
			return false, fmt.Sprintf("GitRepository %s: %s", name, g.url)
		}
	}
	if name == "flux-system" {
		return true, ""
	}
	if len(d.thisRepo) == 0 {
		d.assumed()
		return true, ""
	}
	return false, fmt.Sprintf("GitRepository %s is not defined in the repository", name)
}

// skipSource records a GitOps object whose source is not rendered: a
// skip naming it, and its namespace as unrendered.
func (d *discovery) skipSource(ns string, via *Via, reason, detail string) {
	d.repo.Skipped = append(d.repo.Skipped, Skipped{File: via.File, Line: via.Line, Reason: reason,
		Detail: strings.TrimSpace(via.Kind + " " + via.Name + ": " + detail)})
	d.unrendered(ns, via)
}
