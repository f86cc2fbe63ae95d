package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// TestWorkflows checks the GitHub Action (action.yml), this repository's
// workflows and the example CI configurations in docs/examples: they parse
// as YAML, every action input is used and every input used is declared,
// each `kubeharden ...` they run names a command that exists, the action is
// given only commands it knows, third-party actions are pinned by commit
// (see checkUses) and every GitHub workflow sets its own permissions.
func TestWorkflows(t *testing.T) {
	files := []string{"action.yml", ".pre-commit-hooks.yaml"}
	for _, pattern := range []string{".github/workflows/*.y*ml", "docs/examples/*.y*ml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 4 {
		t.Fatalf("found only %v", files)
	}

	actionCommands := actionCommandList(t)
	// Every pin of one action, across all files: "SHA # vX.Y.Z" and where.
	pins := map[string]struct{ pin, where string }{}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var node yaml.Node
		if err := yaml.Unmarshal(src, &node); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		var doc any
		if err := node.Decode(&doc); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		// `uses` from the node tree: the version is in the line comment.
		walkNodes(&node, func(key, value *yaml.Node) {
			if key.Value != "uses" || value.Kind != yaml.ScalarNode {
				return
			}
			if msg := checkUses(value.Value, value.LineComment); msg != "" {
				t.Errorf("%s:%d: %s", file, value.Line, msg)
				return
			}
			name, ref, _ := strings.Cut(value.Value, "@")
			if !fullSHA.MatchString(ref) {
				return
			}
			pin := ref + " " + value.LineComment
			if prev, ok := pins[name]; ok && prev.pin != pin {
				t.Errorf("%s:%d: %s is pinned to %s here and to %s in %s; pin one commit and version everywhere", file, value.Line, name, pin, prev.pin, prev.where)
			} else if !ok {
				pins[name] = struct{ pin, where string }{pin, fmt.Sprintf("%s:%d", file, value.Line)}
			}
		})
		if doc, ok := doc.(map[string]any); ok && doc["jobs"] != nil {
			if _, ok := doc["on"]; ok {
				if _, ok := doc["permissions"]; !ok {
					t.Errorf("%s: no top-level permissions; say what the workflow needs", file)
				}
			}
		}
		walkYAML(doc, "", func(path, key string, v any) {
			switch key {
			case "run", "script", "before_script", "after_script", "entry":
				for _, script := range scripts(v) {
					for _, c := range invokedCommands(script) {
						if !slices.Contains(cliCommands, c) {
							t.Errorf("%s: %s runs `kubeharden %s`, not a command (want one of %s)", file, path, c, strings.Join(cliCommands, ", "))
						}
					}
				}
			}
		})
		// Steps that use this action may only ask for its commands.
		walkYAML(doc, "", func(path, key string, v any) {
			step, ok := v.(map[string]any)
			if !ok {
				return
			}
			uses, _ := step["uses"].(string)
			if uses != "./" && !strings.HasPrefix(uses, "kubeharden/kubeharden@") {
				return
			}
			with, _ := step["with"].(map[string]any)
			if c, ok := with["command"].(string); ok && !slices.Contains(actionCommands, c) {
				t.Errorf("%s: %s: the action has no command %q (want one of %s)", file, path, c, strings.Join(actionCommands, ", "))
			}
		})
	}
}

// cliCommands are kubeharden's commands, as `kubeharden <these>` runs them.
var cliCommands = []string{"lint", "fix", "render", "rules", "baseline", "version", "github review", "github remediate", "completion"}

// invokedCommand finds `kubeharden COMMAND` in a script: the binary's name
// (possibly after a path or a closing quote) followed by a word.
var invokedCommand = regexp.MustCompile(`(?m)(?:^|[\s/"'])kubeharden["']?[ \t]+([a-z][a-z-]*)(?:[ \t]+([a-z][a-z-]*))?`)

func invokedCommands(script string) []string {
	var out []string
	for _, m := range invokedCommand.FindAllStringSubmatch(script, -1) {
		c := m[1]
		if c == "github" {
			c += " " + m[2]
		}
		out = append(out, c)
	}
	return out
}

// firstParty is this project's own action. It is exempt from the commit
// pin: `uses: ./` in this repository's workflows runs the checkout itself,
// and the examples in docs/examples name kubeharden/kubeharden@v1 because
// they are for users to copy: a commit there would go stale with every
// release, and a user who pins by commit takes the SHA of the release they
// choose. Pinning is against code that others can move under a tag; these
// are the project's own releases, which its users trust anyway.
const firstParty = "kubeharden/kubeharden"

var (
	fullSHA = regexp.MustCompile(`^[0-9a-f]{40}$`)
	// The version comment: "# v1.2.3", or a pre-release "# v1.2.3-rc.1".
	versionComment = regexp.MustCompile(`^# v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$`)
	actionName     = regexp.MustCompile(`^[\w.-]+/[\w.-]+(/[\w./-]+)?$`)
)

// checkUses says what is wrong with a step's `uses` and the comment on its
// line, or "". Local actions (./) are fine, and so is this project's own
// (firstParty) at a version tag. Every other action is pinned by full
// commit SHA, which no one can move, with the release it is in a comment:
// OWNER/REPO[/PATH]@<40 hex> # vX.Y.Z. A container image (docker://) is
// pinned by digest.
func checkUses(uses, comment string) string {
	if strings.HasPrefix(uses, "./") {
		return ""
	}
	if image, ok := strings.CutPrefix(uses, "docker://"); ok {
		if !regexp.MustCompile(`@sha256:[0-9a-f]{64}$`).MatchString(image) {
			return uses + ": pin the image by digest (IMAGE@sha256:...)"
		}
		return ""
	}
	name, ref, ok := strings.Cut(uses, "@")
	if !ok || !actionName.MatchString(name) {
		return uses + ": want OWNER/REPO[/PATH]@REF"
	}
	if name == firstParty || strings.HasPrefix(name, firstParty+"/") {
		if !regexp.MustCompile(`^v\d+(\.\d+){0,2}$`).MatchString(ref) {
			return uses + ": name a release of kubeharden (v1, v1.2.3), not " + ref
		}
		return ""
	}
	if !fullSHA.MatchString(ref) {
		return uses + ": pin a third-party action by full commit SHA, not " + ref + " (OWNER/REPO@<40 hex> # vX.Y.Z)"
	}
	if !versionComment.MatchString(strings.TrimSpace(comment)) {
		return uses + ": say which release the commit is in a comment, # vX.Y.Z (have " + strconv.Quote(comment) + ")"
	}
	return ""
}

// walkNodes calls f for every key and value of every mapping under n.
func walkNodes(n *yaml.Node, f func(key, value *yaml.Node)) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			f(n.Content[i], n.Content[i+1])
		}
	}
	for _, c := range n.Content {
		walkNodes(c, f)
	}
}

// actionCommandList reads action.yml: the values of its command input that
// its run script handles, and checks that its inputs are all used and
// that it uses no undeclared input.
func actionCommandList(t *testing.T) []string {
	t.Helper()
	src, err := os.ReadFile("action.yml")
	if err != nil {
		t.Fatal(err)
	}
	var action struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
		} `yaml:"inputs"`
		Runs yaml.Node `yaml:"runs"`
	}
	if err := yaml.Unmarshal(src, &action); err != nil {
		t.Fatalf("action.yml: %v", err)
	}
	runs, err := yaml.Marshal(&action.Runs)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`inputs\.([A-Za-z0-9_-]+)`).FindAllStringSubmatch(string(runs), -1) {
		used[m[1]] = true
	}
	for name, in := range action.Inputs {
		if !used[name] {
			t.Errorf("action.yml: input %q is never used", name)
		}
		if in.Description == "" {
			t.Errorf("action.yml: input %q has no description", name)
		}
	}
	for name := range used {
		if _, ok := action.Inputs[name]; !ok {
			t.Errorf("action.yml: uses undeclared input %q", name)
		}
	}
	// The run script dispatches on the command in `case` arms: "lint) ...".
	var commands []string
	for _, m := range regexp.MustCompile(`(?m)^\s*([a-z][a-z-]*)\) kubeharden `).FindAllStringSubmatch(string(runs), -1) {
		commands = append(commands, m[1])
	}
	for _, want := range []string{"lint", "fix", "github-review", "github-remediate"} {
		if !slices.Contains(commands, want) {
			t.Errorf("action.yml: the run script does not handle command %q (handles %v)", want, commands)
		}
	}
	return commands
}

// scripts returns the shell text of a run/script value: a string, or a
// list of strings (GitLab).
func scripts(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// walkYAML calls f for every mapping value and list item under v, with its
// path and the key it is under ("" for list items).
func walkYAML(v any, path string, f func(path, key string, v any)) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			p := path + "." + k
			f(p, k, v[k])
			walkYAML(v[k], p, f)
		}
	case []any:
		for i, e := range v {
			p := path + "[" + strconv.Itoa(i) + "]"
			f(p, "", e)
			walkYAML(e, p, f)
		}
	}
}

func TestInvokedCommands(t *testing.T) {
	for script, want := range map[string][]string{
		"kubeharden lint --fail-on high .":              {"lint"},
		"go run . lint":                                 nil,
		`"$bin/kubeharden" version`:                     {"version"},
		"/kubeharden lint\nkubeharden github review -x": {"lint", "github review"},
		"uses: kubeharden/kubeharden@v1":                nil,
		"kubeharden-bin/x lint":                         nil,
		"kubeharden lnt":                                {"lnt"},
	} {
		if got := invokedCommands(script); !slices.Equal(got, want) {
			t.Errorf("invokedCommands(%q) = %q, want %q", script, got, want)
		}
	}
	const sha = "0123456789abcdef0123456789abcdef01234567"
	for _, tt := range []struct {
		uses, comment string
		ok            bool
	}{
		{"actions/checkout@" + sha, "# v6.1.0", true},
		{"anchore/sbom-action/download-syft@" + sha, "# v0.24.0", true},
		{"actions/checkout@" + sha, "# v6.1.0-rc.1", true},
		{"actions/checkout@v6", "", false},
		{"actions/checkout@v6", "# v6.1.0", false},
		{"actions/checkout@v4.2.1", "", false},
		{"anchore/sbom-action/download-syft@v0", "", false},
		{"actions/checkout@main", "", false},
		{"actions/checkout", "", false},
		{"actions/checkout@" + sha, "", false},
		{"actions/checkout@" + sha, "# v6", false},
		{"actions/checkout@" + sha, "# main", false},
		{"actions/checkout@" + sha[:39], "# v6.1.0", false},
		{"actions/checkout@" + strings.ToUpper(sha), "# v6.1.0", false},
		{"./", "", true},
		{"./.github/actions/x", "", true},
		{"kubeharden/kubeharden@v1", "", true},
		{"kubeharden/kubeharden@v1.2.3", "", true},
		{"kubeharden/kubeharden@main", "", false},
		{"kubeharden/kubeharden-fork@v1", "", false},
		{"docker://alpine", "", false},
		{"docker://alpine:3.20", "", false},
		{"docker://alpine@sha256:" + strings.Repeat("ab", 32), "", true},
	} {
		if got := checkUses(tt.uses, tt.comment) == ""; got != tt.ok {
			t.Errorf("checkUses(%q, %q) = %q, want ok=%v", tt.uses, tt.comment, checkUses(tt.uses, tt.comment), tt.ok)
		}
	}
}
