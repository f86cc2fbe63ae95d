// Package render finds what a repository deploys and renders it, offline
// and in-process, into Kubernetes objects that remember where each of
// their fields is written.
//
// Discover walks the repository for targets: Helm charts, Kustomize
// overlays, plain manifest files, and the Argo CD and Flux objects that
// point at them. Renderer.Render turns one target into objects, each with
// a SourceMap from field paths to file, line and column.
//
// The repository is untrusted input. Everything is read through FS, which
// refuses paths and symlinks that leave the repository root; nothing is
// fetched from the network and nothing is executed: remote Kustomize bases,
// chart repository dependencies, Kustomize plugins and functions and Helm
// post-renderers are refused with an error naming the file and line.
// Only this package imports Helm and Kustomize.
package render
