package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries enforces the package arrows of DESIGN.md: rules
// and the packages below them never reach the renderer, the reporters,
// Helm, Kustomize's builder or client-go's REST machinery, and render
// imports none of our packages but ypath.
func TestImportBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	deps := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	const mod = "github.com/kubeharden/kubeharden/"
	forbidden := map[string][]string{
		mod + "rules": {mod + "render", mod + "report", mod + "github", mod + "config",
			"helm.sh/", "sigs.k8s.io/kustomize/api", "k8s.io/client-go/rest", "k8s.io/client-go/kubernetes"},
		mod + "lint": {mod + "render", mod + "report", mod + "rules", mod + "config",
			"helm.sh/", "sigs.k8s.io/kustomize/api", "k8s.io/client-go/rest"},
		mod + "report": {mod + "render", mod + "rules", "helm.sh/", "sigs.k8s.io/kustomize/api"},
		mod + "render": {mod + "lint", mod + "rules", mod + "report", mod + "config"},
	}
	// Rules are pure functions of the objects: no file system, no network.
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, mod+"rules").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range strings.Fields(string(out)) {
		if imp == "os" || imp == "net" || strings.HasPrefix(imp, "net/") || imp == "os/exec" {
			t.Errorf("rules imports %s", imp)
		}
	}
	for pkg, bad := range forbidden {
		for _, d := range deps(pkg) {
			for _, b := range bad {
				if d == strings.TrimSuffix(b, "/") || strings.HasPrefix(d, b) && (strings.HasSuffix(b, "/") || strings.HasPrefix(d, b+"/")) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}
