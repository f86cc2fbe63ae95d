package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/golden"
	"github.com/kubeharden/kubeharden/rules"
)

// The config schema (docs/config.schema.json) is what editors with the YAML
// language server use to complete and check .kubeharden.yaml. These tests
// keep it equal to what kubeharden accepts: the keys of Config, the rule
// catalogue, and the verdict on every config in the repository.

const (
	schemaFile = "../docs/config.schema.json"
	repoRoot   = ".."
)

// TestSchemaCatalogue checks the generated parts of the schema against the
// rule catalogue: $defs.ruleID (every rule ID) and rules.properties (one
// entry per rule, with its title, default severity and the options it
// takes). -update rewrites them; the rest of the file is written by hand.
func TestSchemaCatalogue(t *testing.T) {
	src, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := decodeOrdered(src)
	if err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	root := doc.(*jsonObject)
	defs := root.obj(t, "$defs")
	ruleProps := root.obj(t, "properties").obj(t, "rules")

	var ids []any
	entries := &jsonObject{}
	wantOptionDefs := map[string]bool{}
	for _, r := range rules.All() {
		ids = append(ids, r.ID)
		desc := fmt.Sprintf("%s. Default: %s", r.Title, r.Severity)
		if r.Off {
			desc += ", off unless enabled"
		}
		desc += ". " + r.URL()
		options := "#/$defs/noOptions"
		if names := ruleOptionNames(t, r.ID); len(names) > 0 {
			def := "options." + r.ID
			options = "#/$defs/" + def
			wantOptionDefs[def] = true
			got, ok := defs.get(def).(*jsonObject)
			if !ok {
				t.Errorf("rule %s takes options %v: add $defs/%s to %s by hand", r.ID, names, def, schemaFile)
				continue
			}
			if props, _ := got.get("properties").(*jsonObject); props == nil || !slices.Equal(slices.Sorted(slices.Values(props.keys)), names) {
				t.Errorf("$defs/%s: properties must be the options the rule reads, %v", def, names)
			}
			checkOptionValues(t, r.ID, got)
		}
		entry := &jsonObject{}
		entry.set("description", desc)
		entry.set("$ref", "#/$defs/rule")
		opts := &jsonObject{}
		opts.set("options", obj("$ref", options))
		entry.set("properties", opts)
		entries.set(r.ID, entry)
	}
	for _, k := range defs.keys {
		if strings.HasPrefix(k, "options.") && !wantOptionDefs[k] {
			t.Errorf("$defs/%s: no rule of that ID takes options; remove it", k)
		}
	}

	oldIDs, _ := defs.obj(t, "ruleID").get("enum").([]any)
	if missing, extra := diff(ids, oldIDs); len(missing)+len(extra) > 0 && !golden.Update() {
		t.Errorf("$defs/ruleID enum differs from rules.All(): missing %v, not in the catalogue %v", missing, extra)
	}
	defs.obj(t, "ruleID").set("enum", ids)
	ruleProps.set("properties", entries)

	var out bytes.Buffer
	encodeOrdered(&out, root, "", 0)
	out.WriteByte('\n')
	// A difference means the schema is out of date with the rule catalogue
	// or not in canonical layout.
	golden.Check(t, schemaFile, out.Bytes())
}

// ruleOptionNames are the names of the options a rule declares, sorted.
func ruleOptionNames(t *testing.T, id string) []string {
	t.Helper()
	var names []string
	for _, o := range rules.ByID(id).Options {
		names = append(names, o.Name)
	}
	slices.Sort(names)
	return names
}

// checkOptionValues checks that every value an option's enum allows is
// accepted by the rule, and that a string option accepts the empty string
// (which turns the built-in default off).
func checkOptionValues(t *testing.T, id string, def *jsonObject) {
	t.Helper()
	props, _ := def.get("properties").(*jsonObject)
	if props == nil {
		return
	}
	for _, name := range props.keys {
		p := props.vals[name].(*jsonObject)
		var values []any
		if enum, ok := p.get("enum").([]any); ok {
			values = enum
		} else if p.get("type") == "string" {
			values = []any{""}
		}
		for _, v := range values {
			if err := rules.ValidateOptions(id, map[string]any{name: v}); err != nil {
				t.Errorf("$defs/options.%s: %s=%v is allowed by the schema but the rule rejects it: %v", id, name, v, err)
			}
		}
	}
}

// TestSchemaKeys walks the yaml tags of Config and checks that the schema
// has exactly those properties at the same places, closed with
// additionalProperties: false as the strict decoder is, and that every
// property in the schema has a description for editors to show.
func TestSchemaKeys(t *testing.T) {
	src, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(src, &root); err != nil {
		t.Fatal(err)
	}
	resolve := func(s map[string]any) map[string]any { return resolveRef(root, s) }
	var walk func(path string, typ reflect.Type, s map[string]any)
	walk = func(path string, typ reflect.Type, s map[string]any) {
		if s == nil {
			t.Errorf("%s: no schema", path)
			return
		}
		s = resolve(s)
		switch typ.Kind() {
		case reflect.Pointer:
			walk(path, typ.Elem(), s)
		case reflect.Struct:
			if s["type"] != "object" || s["additionalProperties"] != false {
				t.Errorf("%s: want type object with additionalProperties false (config rejects unknown keys)", path)
			}
			props, _ := s["properties"].(map[string]any)
			var tags []string
			for f := range typ.Fields() {
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				if !f.IsExported() || name == "-" {
					continue
				}
				if name == "" {
					t.Fatalf("%s.%s: no yaml tag; this test needs one", path, f.Name)
				}
				tags = append(tags, name)
				sub, _ := props[name].(map[string]any)
				walk(path+"."+name, f.Type, sub)
			}
			if missing, extra := diff(anySlice(slices.Sorted(slices.Values(tags))), anySlice(slices.Sorted(maps.Keys(props)))); len(missing)+len(extra) > 0 {
				t.Errorf("%s: keys config accepts but the schema lacks: %v; keys in the schema config rejects: %v", path, missing, extra)
			}
		case reflect.Slice:
			if s["type"] != "array" {
				t.Errorf("%s: want type array", path)
			}
			items, _ := s["items"].(map[string]any)
			walk(path+"[]", typ.Elem(), items)
		case reflect.Map:
			if s["type"] != "object" {
				t.Errorf("%s: want type object", path)
			}
			if typ.Elem().Kind() == reflect.Interface {
				return // free-form (rule options): checked against the catalogue
			}
			// Rules: one property per rule ID, each the same value type.
			props, _ := s["properties"].(map[string]any)
			if len(props) == 0 {
				t.Errorf("%s: no properties", path)
			}
			for _, k := range slices.Sorted(maps.Keys(props)) {
				walk(path+"."+k, typ.Elem(), props[k].(map[string]any))
			}
		case reflect.String:
			if !allowsType(s, "string") {
				t.Errorf("%s: want a string schema, have %v", path, s)
			}
		case reflect.Bool:
			if !allowsType(s, "boolean") {
				t.Errorf("%s: want a boolean schema", path)
			}
		case reflect.Int:
			if !allowsType(s, "integer") {
				t.Errorf("%s: want an integer schema", path)
			}
		default:
			t.Errorf("%s: %s fields are not handled by this test", path, typ)
		}
	}
	walk("config", reflect.TypeFor[Config](), root)

	// Every property has a description.
	var describe func(path string, v any)
	describe = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if props, ok := v["properties"].(map[string]any); ok {
				for k, p := range props {
					if p, ok := p.(map[string]any); ok && p["description"] == nil && resolveRef(root, p)["description"] == nil {
						t.Errorf("%s.properties.%s: no description", path, k)
					}
				}
			}
			for k, sub := range v {
				describe(path+"."+k, sub)
			}
		case []any:
			for i, sub := range v {
				describe(fmt.Sprintf("%s[%d]", path, i), sub)
			}
		}
	}
	describe("schema", root)
}

// resolveRef follows local $refs ("#/$defs/x") from s to the schema they
// name.
func resolveRef(root, s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		target := any(root)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			target = target.(map[string]any)[part]
		}
		s = target.(map[string]any)
	}
}

// allowsType reports whether a schema admits values of JSON type typ: by
// type, by an enum of such values, or through one branch of anyOf.
func allowsType(s map[string]any, typ string) bool {
	if s["type"] == typ {
		return true
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		_, isString := enum[0].(string)
		return typ == "string" && isString
	}
	if branches, ok := s["anyOf"].([]any); ok {
		for _, b := range branches {
			if b, ok := b.(map[string]any); ok && allowsType(b, typ) {
				return true
			}
		}
	}
	if ref, ok := s["$ref"].(string); ok {
		return ref == "#/$defs/severity" && typ == "string"
	}
	return false
}

// TestSchemaFixtures checks that the schema agrees with kubeharden about
// every config in the repository: the demo's, those in testscript and
// other txtar archives (files named .kubeharden.yaml and those a script
// copies there), the configs in this package's tests and the README's
// example. What kubeharden accepts (accepted below) validates; what it
// rejects does not.
func TestSchemaFixtures(t *testing.T) {
	schema := compileSchema(t)
	fixtures := repoConfigs(t)
	if len(fixtures) < 5 {
		t.Fatalf("found only %d config fixtures; is the repository layout different?", len(fixtures))
	}
	for _, fx := range fixtures {
		v, err := yamlToJSON([]byte(fx.src))
		if err != nil {
			continue // not YAML: nothing for a schema to say
		}
		why := accepted(fx.src)
		verr := schema.Validate(v)
		switch {
		case why == "" && verr != nil:
			t.Errorf("%s: kubeharden accepts it, the schema does not:\n%v\n%s", fx.name, verr, fx.src)
		case why != "" && verr == nil:
			t.Errorf("%s: kubeharden rejects it (%s), the schema accepts it:\n%s", fx.name, why, fx.src)
		}
	}
}

// TestSchemaVerdicts checks hand-written configs: those kubeharden rejects
// are rejected by the schema, and the few places where the two disagree by
// design are pinned, so that a change on either side is noticed.
func TestSchemaVerdicts(t *testing.T) {
	schema := compileSchema(t)
	soon := time.Now().AddDate(0, 0, 30).Format(time.DateOnly)
	rejected := map[string]string{
		"unknown key":                 "podsecurity:\n  level: baseline\n",
		"unknown nested key":          "podSecurity:\n  levle: baseline\n",
		"level":                       "podSecurity:\n  level: strict\n",
		"level case":                  "podSecurity:\n  level: Restricted\n",
		"pss version":                 "podSecurity:\n  version: \"1.30\"\n",
		"pss version number":          "podSecurity:\n  version: 1.30\n",
		"kubernetes version":          "kubernetesVersion: banana\n",
		"kubernetes version 2":        "kubernetesVersion: \"2.1\"\n",
		"kubernetes version int":      "kubernetesVersion: 1\n",
		"exclude scalar":              "exclude: 3\n",
		"include nested list":         "include: [[a]]\n",
		"include map":                 "include: {a: b}\n",
		"unknown rule":                "rules:\n  pss-run-as-nonroot: {enabled: false}\n",
		"severity":                    "rules:\n  pss-privileged:\n    severity: urgent\n",
		"enabled":                     "rules:\n  pss-privileged:\n    enabled: maybe\n",
		"unknown rule key":            "rules:\n  pss-privileged:\n    disabled: true\n",
		"rule without options":        "rules:\n  pss-privileged:\n    options: {x: 1}\n",
		"unknown option":              "rules:\n  env-secret-literal:\n    options: {pattern: x}\n",
		"option type":                 "rules:\n  env-secret-literal:\n    options: {namePattern: [x]}\n",
		"option enum":                 "rules:\n  namespace-pss-level:\n    options: {minLevel: strictest}\n",
		"helm key":                    "helm:\n  tests: true\n",
		"helm type":                   "helm:\n  includeTests: sometimes\n",
		"gitops key":                  "gitops:\n  repoURL: https://example.com/r\n",
		"gitops urls scalar":          "gitops:\n  repoURLs: https://example.com/r\n",
		"gitops url empty":            "gitops:\n  repoURLs: [\"\"]\n",
		"max days negative":           "maxExemptionDays: -1\n",
		"exemptions map":              "exemptions: {rules: [pss-privileged]}\n",
		"exemption key":               "exemptions:\n  - rules: [pss-privileged]\n    reason: r\n    expires: " + soon + "\n    why: typo\n",
		"match key":                   "exemptions:\n  - rules: [pss-privileged]\n    reason: r\n    expires: " + soon + "\n    match: {labels: x}\n",
		"exemption without rules":     "exemptions:\n  - rules: []\n    reason: r\n    expires: " + soon + "\n",
		"exemption unknown rule":      "exemptions:\n  - rules: [pss-privilege]\n    reason: r\n    expires: " + soon + "\n",
		"exemption without reason":    "exemptions:\n  - rules: [pss-privileged]\n    expires: " + soon + "\n",
		"exemption blank reason":      "exemptions:\n  - rules: [pss-privileged]\n    reason: \"  \"\n    expires: " + soon + "\n",
		"exemption without expiry":    "exemptions:\n  - rules: [pss-privileged]\n    reason: r\n",
		"exemption expiry not a date": "exemptions:\n  - rules: [pss-privileged]\n    reason: r\n    expires: next year\n",
		"exemption expiry no day":     "exemptions:\n  - rules: [pss-privileged]\n    reason: r\n    expires: 2026-02-30\n",
		"exemption expiry short":      "exemptions:\n  - rules: [pss-privileged]\n    reason: r\n    expires: 2026-2-3\n",
		"max memory too small":        "limits:\n  maxMemory: 1048576\n",
		"max memory too large":        "limits:\n  maxMemory: 137438953472\n",
		"max memory not a number":     "limits:\n  maxMemory: 1GiB\n",
	}
	for name, src := range rejected {
		if why := accepted(src); why == "" {
			t.Errorf("%s: kubeharden accepts it; move it to the accepted cases:\n%s", name, src)
		}
		if err := validateYAML(schema, src); err == nil {
			t.Errorf("%s: the schema accepts it:\n%s", name, src)
		}
	}

	validEverywhere := map[string]string{
		"empty":                  "",
		"comment only":           "# nothing\n",
		"unquoted version":       "kubernetesVersion: 1.33\n",
		"v-prefixed patch":       "kubernetesVersion: v1.33.2\n",
		"option patterns off":    "rules:\n  env-secret-literal:\n    options: {namePattern: \"\", ignoreNamePattern: \"(?i)_REF$\"}\n",
		"min level":              "rules:\n  namespace-pss-level:\n    options: {minLevel: baseline}\n    severity: high\n",
		"off rule enabled":       "rules:\n  image-not-digest-pinned: {enabled: true}\n",
		"exemption expiry today": "exemptions:\n  - rules: [pss-privileged, pss-host-namespaces]\n    reason: vendor chart\n    expires: \"" + soon + "\"\n    match: {kind: DaemonSet, target: vendor/**}\n",
		"anchors":                "include: &dirs [apps/**]\nexclude: *dirs\n",
		"max memory":             "limits:\n  maxMemory: 2147483648\n",
		"gitops urls":            "gitops:\n  repoURLs: [https://github.com/acme/fleet, \"git@github.com:acme/fleet.git\"]\n",
	}
	for name, src := range validEverywhere {
		if why := accepted(src); why != "" {
			t.Errorf("%s: kubeharden rejects it: %s", name, why)
		}
		if err := validateYAML(schema, src); err != nil {
			t.Errorf("%s: the schema rejects it: %v", name, err)
		}
	}

	// What the schema cannot see: kubeharden rejects these, the schema
	// accepts them.
	beyondSchema := map[string]string{
		// RE2 syntax is not the schema's regex dialect; only compiling
		// tells.
		"bad pattern": "rules:\n  env-secret-literal:\n    options: {namePattern: \"(\"}\n",
		// A duplicate key: the YAML parser rejects it before any schema
		// sees the document (the YAML language server reports it itself).
		"duplicate key": "include: [a]\ninclude: [b]\n",
	}
	for name, src := range beyondSchema {
		if why := accepted(src); why == "" {
			t.Errorf("%s: kubeharden now accepts it; move it to the accepted cases", name)
		}
		if err := validateYAML(schema, src); err != nil {
			t.Errorf("%s: the schema now rejects it; move it to the rejected cases", name)
		}
	}

	// Where the schema is stricter on purpose, so that editors steer
	// towards the documented spelling: severities in lowercase, strings
	// written as strings, YAML 1.2 booleans, whole numbers, no null
	// placeholders.
	stricter := map[string]string{
		"yaml 1.1 boolean": "helm:\n  includeTests: yes\n",
		"fraction":         "maxExemptionDays: 1.5\n",
		"severity case":    "rules:\n  pss-privileged:\n    severity: HIGH\n",
		"number reason":    "exemptions:\n  - rules: [pss-privileged]\n    reason: 42\n    expires: " + soon + "\n",
		"number glob":      "include: [1]\n",
		"null rule":        "rules:\n  pss-privileged:\n",
		"null top level":   "podSecurity:\n",
		"null severity":    "rules:\n  pss-privileged:\n    enabled: true\n    severity: null\n",
	}
	for name, src := range stricter {
		if why := accepted(src); why != "" {
			t.Errorf("%s: kubeharden rejects it too (%s); move it to the rejected cases", name, why)
		}
		if err := validateYAML(schema, src); err == nil {
			t.Errorf("%s: the schema accepts it", name)
		}
	}
}

// accepted says why kubeharden would reject a config, or "" when it
// accepts it: Parse, then the rule IDs and options as the CLI checks them,
// then the exemption checks that turn a config exemption into an
// exemption-invalid finding (without the date window, which depends on
// the day).
func accepted(src string) string {
	c, err := Parse(FileName, []byte(src))
	if err != nil {
		return err.Error()
	}
	known := map[string]bool{}
	for _, r := range rules.All() {
		known[r.ID] = true
	}
	if err := c.CheckRules(FileName, func(id string) bool { return known[id] }); err != nil {
		return err.Error()
	}
	if err := c.CheckOptions(FileName, rules.ValidateOptions); err != nil {
		return err.Error()
	}
	for i, e := range c.Exemptions {
		switch {
		case len(e.Rules) == 0:
			return fmt.Sprintf("exemption %d names no rules", i)
		case strings.TrimSpace(e.Reason) == "":
			return fmt.Sprintf("exemption %d has no reason", i)
		case e.Expires == "":
			return fmt.Sprintf("exemption %d has no expiry", i)
		}
		if _, err := time.Parse(time.DateOnly, e.Expires); err != nil {
			return fmt.Sprintf("exemption %d: expiry: %v", i, err)
		}
		for _, id := range e.Rules {
			if !known[id] {
				return fmt.Sprintf("exemption %d names unknown rule %q", i, id)
			}
		}
	}
	return ""
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("config.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func validateYAML(s *jsonschema.Schema, src string) error {
	v, err := yamlToJSON([]byte(src))
	if err != nil {
		return err
	}
	return s.Validate(v)
}

// yamlToJSON converts a YAML document to the JSON value the YAML language
// server validates: YAML 1.2 core types, so an unquoted date is a string.
func yamlToJSON(src []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return map[string]any{}, nil
	}
	v, err := nodeValue(doc.Content[0], 0)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func nodeValue(n *yaml.Node, depth int) (any, error) {
	if depth > 100 {
		return nil, fmt.Errorf("nesting too deep")
	}
	switch n.Kind {
	case yaml.AliasNode:
		return nodeValue(n.Alias, depth+1)
	case yaml.SequenceNode:
		out := []any{}
		for _, c := range n.Content {
			v, err := nodeValue(c, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := nodeValue(n.Content[i+1], depth+1)
			if err != nil {
				return nil, err
			}
			if n.Content[i].ShortTag() == "!!merge" {
				if m, ok := v.(map[string]any); ok {
					for k, mv := range m {
						if _, set := out[k]; !set {
							out[k] = mv
						}
					}
				}
				continue
			}
			out[n.Content[i].Value] = v
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool", "!!int", "!!float":
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, err
			}
			if f, ok := v.(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
				return n.Value, nil
			}
			return v, nil
		}
		return n.Value, nil
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

type fixture struct{ name, src string }

// repoConfigs collects the configs written in the repository.
func repoConfigs(t *testing.T) []fixture {
	t.Helper()
	var out []fixture
	now := time.Now()
	dates := map[string]string{ // as the testscript "dates" command sets them
		"SOON": now.AddDate(0, 0, 30).Format(time.DateOnly),
		"PAST": now.AddDate(0, 0, -1).Format(time.DateOnly),
		"FAR":  now.AddDate(0, 0, 400).Format(time.DateOnly),
	}
	expand := func(name, s string) string {
		return os.Expand(s, func(v string) string {
			d, ok := dates[v]
			if !ok {
				t.Fatalf("%s: unknown variable $%s; teach repoConfigs its value", name, v)
			}
			return d
		})
	}
	copyToConfig := regexp.MustCompile(`(?m)^\s*cp\s+(\S+)\s+(\S*/)?\.kubeharden\.yaml\s*$`)
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "node_modules" || rel == "config/testdata/fuzz" {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case d.Name() == FileName:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out = append(out, fixture{rel, string(b)})
		case strings.HasSuffix(d.Name(), ".txtar"):
			a, err := txtar.ParseFile(path)
			if err != nil {
				return err
			}
			copied := map[string]bool{}
			for _, m := range copyToConfig.FindAllStringSubmatch(string(a.Comment), -1) {
				copied[m[1]] = true
			}
			for _, f := range a.Files {
				if filepath.Base(f.Name) == FileName || copied[f.Name] {
					name := rel + ":" + f.Name
					out = append(out, fixture{name, expand(name, string(f.Data))})
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Configs written as string literals in this package's tests.
	fset := token.NewFileSet()
	tests, _ := filepath.Glob("*_test.go")
	for _, file := range tests {
		if file == "schema_test.go" || file == "fuzz_test.go" {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err == nil && looksLikeConfig(s) {
				out = append(out, fixture{fset.Position(lit.Pos()).String(), s})
			}
			return true
		})
	}

	// The README's configuration example.
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range regexp.MustCompile("(?ms)^```ya?ml\n(.*?)^```").FindAllStringSubmatch(string(readme), -1) {
		if looksLikeConfig(m[1]) {
			out = append(out, fixture{fmt.Sprintf("README.md yaml block %d", i+1), m[1]})
		}
	}
	return out
}

// looksLikeConfig reports whether s is a YAML mapping with at least one
// top-level config key, which tells configs from other strings in tests.
func looksLikeConfig(s string) bool {
	var doc yaml.Node
	if yaml.Unmarshal([]byte(s), &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return false
	}
	top := map[string]bool{}
	for f := range reflect.TypeFor[Config]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		top[name] = true
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if top[m.Content[i].Value] {
			return true
		}
	}
	return false
}

// diff returns the elements of want missing from got and of got missing
// from want.
func diff(want, got []any) (missing, extra []any) {
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	return missing, extra
}

func anySlice[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// jsonObject is a JSON object that keeps its key order, so that the
// schema can be rewritten without shuffling the hand-written parts.
type jsonObject struct {
	keys []string
	vals map[string]any
}

func obj(kv ...any) *jsonObject {
	o := &jsonObject{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.set(kv[i].(string), kv[i+1])
	}
	return o
}

func (o *jsonObject) get(k string) any { return o.vals[k] }

func (o *jsonObject) set(k string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
}

func (o *jsonObject) obj(t *testing.T, k string) *jsonObject {
	t.Helper()
	v, ok := o.vals[k].(*jsonObject)
	if !ok {
		t.Fatalf("schema: %q is not an object", k)
	}
	return v
}

func decodeOrdered(src []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("data after the top-level value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &jsonObject{vals: map[string]any{}}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			if _, dup := o.vals[k.(string)]; dup {
				return nil, fmt.Errorf("duplicate key %q", k)
			}
			o.set(k.(string), v)
		}
		_, err := dec.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return a, err
	}
	return tok, nil
}

// encodeOrdered writes v with two-space indentation, starting at column
// col of a line indented by indent; an object or array that fits in 100
// columns is written on one line.
func encodeOrdered(w *bytes.Buffer, v any, indent string, col int) {
	if line := compact(v); col+len(line) <= 100 {
		w.WriteString(line)
		return
	}
	inner := indent + "  "
	switch v := v.(type) {
	case *jsonObject:
		w.WriteString("{\n")
		for i, k := range v.keys {
			w.WriteString(inner + quote(k) + ": ")
			encodeOrdered(w, v.vals[k], inner, len(inner)+len(quote(k))+2)
			if i < len(v.keys)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(indent + "}")
	case []any:
		w.WriteString("[\n")
		for i, e := range v {
			w.WriteString(inner)
			encodeOrdered(w, e, inner, len(inner))
			if i < len(v)-1 {
				w.WriteByte(',')
			}
			w.WriteByte('\n')
		}
		w.WriteString(indent + "]")
	default:
		w.WriteString(compact(v))
	}
}

func compact(v any) string {
	switch v := v.(type) {
	case *jsonObject:
		parts := make([]string, len(v.keys))
		for i, k := range v.keys {
			parts[i] = quote(k) + ": " + compact(v.vals[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = compact(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case string:
		return quote(v)
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return "null"
	}
	panic(fmt.Sprintf("unexpected JSON value %T", v))
}

func quote(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
