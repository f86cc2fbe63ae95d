package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/kubeharden/kubeharden"

// arrows are the import rules of docs/architecture.md: for each package
// (with its subpackages), the packages its dependencies — direct or not —
// must not include. A prefix ending in "/" matches everything below it.
var arrows = map[string][]string{
	"rules": {"render", "report", "github", "config", "driver",
		"helm.sh/", "sigs.k8s.io/kustomize/api", "k8s.io/client-go/rest", "k8s.io/client-go/kubernetes"},
	"lint": {"render", "report", "rules", "config", "driver", "github",
		"helm.sh/", "sigs.k8s.io/kustomize/api", "k8s.io/client-go/rest"},
	"report": {"render", "rules", "driver", "github", "config", "helm.sh/", "sigs.k8s.io/kustomize/api"},
	"render": {"lint", "rules", "report", "config", "driver", "github", "fix"},
	"github": {"render", "rules", "driver", "config", "helm.sh/", "sigs.k8s.io/kustomize/api"},
	"driver": {"github", "github.com/spf13/cobra"},
	"config": {"render", "rules", "report", "driver", "github", "helm.sh/"},
	// fix is the byte-edit engine: no package of ours but the leaves.
	"fix": {"lint", "rules", "render", "report", "config", "driver", "github", "helm.sh/", "sigs.k8s.io/kustomize/api"},
	// The leaves import nothing of ours outside internal/.
	"internal/": {"lint", "rules", "render", "report", "config", "driver", "github", "fix"},
}

// mainBudget is the most lines (tests excluded) package main may hold:
// flags, help, printing and the adapter for the GitHub bot. The engine
// lives in driver.
const mainBudget = 1500

// TestImportBoundaries enforces the package arrows of DESIGN.md and
// docs/architecture.md: rules and the packages below them never reach the
// renderer, the reporters, Helm, Kustomize's builder or client-go's REST
// machinery; render and fix import none of our packages but the leaves;
// driver knows nothing of the CLI or the GitHub bot.
func TestImportBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	list := func(args ...string) []string {
		out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	ours := func(p string) string {
		if strings.Contains(p, ".") && !strings.HasPrefix(p, module+"/") {
			return p // another module's path, as written
		}
		return module + "/" + p
	}
	for pkg, bad := range arrows {
		pattern := ours(strings.TrimSuffix(pkg, "/")) + "/..."
		for _, d := range list("-deps", pattern) {
			for _, b := range bad {
				b = ours(b)
				if d == strings.TrimSuffix(b, "/") || strings.HasPrefix(d, b) && (strings.HasSuffix(b, "/") || strings.HasPrefix(d, b+"/")) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
	// Rules are pure functions of the objects: no file system, no network.
	for _, imp := range list("-f", `{{join .Imports " "}}`, module+"/rules") {
		if imp == "os" || imp == "net" || strings.HasPrefix(imp, "net/") || imp == "os/exec" {
			t.Errorf("rules imports %s", imp)
		}
	}
}

// TestMainIsThin keeps package main to flags, help and printing.
func TestMainIsThin(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			total++
		}
		fh.Close()
	}
	if total > mainBudget {
		t.Errorf("package main has %d lines, over its budget of %d: move engine code to driver/", total, mainBudget)
	}
}
