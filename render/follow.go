package render

import (
	"context"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// Rendered is a GitOps object that a target of the repository renders
// (an Argo CD app of apps: a chart or kustomization whose output holds
// Applications), with where it is written.
type Rendered struct {
	Node *yaml.Node
	// File and Line are where the object is written (the template or
	// manifest line), for Via.
	File string
	Line int
}

// IsGitOps reports whether a rendered object is an Argo CD Application
// or ApplicationSet, or a Flux Kustomization or HelmRelease.
func IsGitOps(n *yaml.Node) bool {
	group, _, _ := strings.Cut(scalar(n, "apiVersion"), "/")
	switch kind := scalar(n, "kind"); {
	case group == "argoproj.io":
		return kind == "Application" || kind == "ApplicationSet"
	case group == "helm.toolkit.fluxcd.io":
		return kind == "HelmRelease"
	case group == "kustomize.toolkit.fluxcd.io":
		return kind == "Kustomization"
	}
	return false
}

// Follow returns the targets that rendered GitOps objects deploy, as
// Discover finds them for the objects written in the repository (the
// same source checks, skips and unrendered namespaces). Inline values of
// a rendered object are applied but not written to by fixes: their
// lines are the render's, not a file's.
func (r *Renderer) Follow(ctx context.Context, opts DiscoverOptions, objs []Rendered) (*Repo, error) {
	d := &discovery{fs: r.fs, files: r.files, opts: opts, repo: &Repo{}, consumed: map[string]bool{}, used: map[string]bool{}}
	if err := d.walk(ctx); err != nil {
		return nil, err
	}
	d.readKustomizations()
	d.readGitRepositories()
	d.repo.Skipped, d.repo.Errors, d.repo.Notes = nil, nil, nil // said by Discover already
	for _, o := range objs {
		via := &Via{Kind: scalar(o.Node, "kind"), Name: scalar(o.Node, "metadata", "name"), File: o.File, Line: o.Line}
		d.gitOpsObjectVia(renderedFile(o.File), o.Node, via)
	}
	d.filter()
	return d.repo, nil
}

// renderedFile names the inline values of a rendered object: no file of
// the repository, so that the values probe finds no site to edit there.
func renderedFile(file string) string { return file + " (rendered)" }
