package main

import (
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
// given only commands it knows, third-party actions are pinned to at least
// a major version, and every GitHub workflow sets its own permissions.
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
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(src, &doc); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if doc, ok := doc.(map[string]any); ok && doc["jobs"] != nil {
			if _, ok := doc["on"]; ok {
				if _, ok := doc["permissions"]; !ok {
					t.Errorf("%s: no top-level permissions; say what the workflow needs", file)
				}
			}
		}
		walkYAML(doc, "", func(path, key string, v any) {
			s, isString := v.(string)
			switch key {
			case "run", "script", "before_script", "after_script", "entry":
				for _, script := range scripts(v) {
					for _, c := range invokedCommands(script) {
						if !slices.Contains(cliCommands, c) {
							t.Errorf("%s: %s runs `kubeharden %s`, not a command (want one of %s)", file, path, c, strings.Join(cliCommands, ", "))
						}
					}
				}
			case "uses":
				if !isString {
					return
				}
				if msg := checkUses(s); msg != "" {
					t.Errorf("%s: %s: %s", file, path, msg)
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

// checkUses says what is wrong with a step's `uses`, or "". Local actions
// are fine; others name a release: a major version or more, or a commit.
func checkUses(uses string) string {
	if strings.HasPrefix(uses, "./") {
		return ""
	}
	if strings.HasPrefix(uses, "docker://") {
		if !strings.Contains(strings.TrimPrefix(uses, "docker://"), ":") {
			return uses + ": pin the image to a tag or digest"
		}
		return ""
	}
	name, ref, ok := strings.Cut(uses, "@")
	if !ok || !regexp.MustCompile(`^[\w.-]+/[\w./-]+$`).MatchString(name) {
		return uses + ": want OWNER/REPO[/PATH]@REF"
	}
	if !regexp.MustCompile(`^(v\d+(\.\d+){0,2}|[0-9a-f]{40})$`).MatchString(ref) {
		return uses + ": pin it to a major version (v4) or a commit, not " + ref
	}
	return ""
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
	for uses, ok := range map[string]bool{
		"actions/checkout@v6":                  true,
		"actions/checkout@v4.2.1":              true,
		"anchore/sbom-action/download-syft@v0": true,
		"actions/checkout@main":                false,
		"actions/checkout":                     false,
		"./":                                   true,
		"docker://alpine":                      false,
		"actions/checkout@0123456789abcdef0123456789abcdef01234567": true,
	} {
		if got := checkUses(uses) == ""; got != ok {
			t.Errorf("checkUses(%q) = %q", uses, checkUses(uses))
		}
	}
}
