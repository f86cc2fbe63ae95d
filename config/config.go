// Package config reads .kubeharden.yaml, the repository's settings for
// kubeharden: which rules run at what severity, which paths are linted,
// how charts are rendered, and the Pod Security defaults.
//
// Decoding is strict: an unknown key, a wrong type, an unknown severity or
// Pod Security level is an error naming the file and line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/lint"
)

// FileName is the config file's name at the repository root.
const FileName = ".kubeharden.yaml"

// Config is the decoded .kubeharden.yaml. The zero value is the default
// configuration.
type Config struct {
	// KubernetesVersion is the cluster version to render and check for,
	// such as "1.37"; empty means the newest the tool knows.
	KubernetesVersion string `yaml:"kubernetesVersion"`
	// PodSecurity is the level and version applied to namespaces whose
	// Namespace object does not set the enforce labels.
	PodSecurity PodSecurity `yaml:"podSecurity"`
	// Include and Exclude are doublestar globs relative to the root.
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	// Rules turns rules on or off and overrides severities, by rule ID.
	Rules map[string]Rule `yaml:"rules"`
	// Helm configures chart rendering.
	Helm Helm `yaml:"helm"`
	// GitOps says which Git sources of Argo CD and Flux objects are this
	// repository.
	GitOps GitOps `yaml:"gitops"`
	// Exemptions silence rules for matching objects, each with a reason
	// and an expiry date.
	Exemptions []lint.Exemption `yaml:"exemptions"`
	// MaxExemptionDays bounds how far away an exemption may expire
	// (default 365).
	MaxExemptionDays int `yaml:"maxExemptionDays"`
	// Limits bound the work done per file and per target.
	Limits Limits `yaml:"limits"`

	// lines remembers where each rule ID is written, for errors.
	lines map[string]int
}

// PodSecurity is a Pod Security Standards level and version.
type PodSecurity struct {
	Level   string `yaml:"level"`
	Version string `yaml:"version"`
}

// Rule overrides one rule's defaults.
type Rule struct {
	Enabled  *bool          `yaml:"enabled"`
	Severity string         `yaml:"severity"`
	Options  map[string]any `yaml:"options"`
}

// Limits bound the work kubeharden does on the repository's input, which
// it treats as untrusted. Zero fields keep the defaults; a limit may be
// raised up to a ceiling, so that no config makes the work unbounded.
type Limits struct {
	// MaxFileSize is the largest file read, in bytes (default 16 MiB,
	// at most 1 GiB).
	MaxFileSize int `yaml:"maxFileSize"`
	// RenderTimeout bounds the rendering of one target, as a Go duration
	// such as "30s" (default 30s, at most 10m).
	RenderTimeout string `yaml:"renderTimeout"`
	// MaxRenderOutput is the most bytes one target may render (default
	// 64 MiB, at most 1 GiB).
	MaxRenderOutput int `yaml:"maxRenderOutput"`
	// MaxMemory is the memory budget of the whole run, in bytes
	// (default 1 GiB, from 64 MiB to 64 GiB): the Go runtime's soft
	// memory limit, and what the renders in flight may make together
	// before one is stopped with an error for its target.
	MaxMemory int `yaml:"maxMemory"`
}

// Ceilings of the configurable limits.
const (
	MaxFileSizeCeiling     = 1 << 30
	RenderTimeoutCeiling   = 10 * time.Minute
	MaxRenderOutputCeiling = 1 << 30
	MaxMemoryFloor         = 64 << 20
	MaxMemoryCeiling       = 64 << 30
)

// Timeout returns RenderTimeout as a duration; 0 when unset. Parse has
// checked it.
func (l Limits) Timeout() time.Duration {
	d, _ := time.ParseDuration(l.RenderTimeout)
	return d
}

// Helm configures chart rendering.
type Helm struct {
	// IncludeTests lints Helm test hooks too.
	IncludeTests bool `yaml:"includeTests"`
}

// GitOps configures how Argo CD and Flux objects are followed.
type GitOps struct {
	// RepoURLs are Git URLs of this repository besides the remotes in
	// .git/config (a mirror, the URL the cluster uses, or the only ones
	// when the root is a folder below the git top level): an object whose
	// source is another URL is not rendered from this repository's files.
	RepoURLs []string `yaml:"repoURLs"`
}

// (?s): a message may quote a value with line breaks.
var typeErrLine = regexp.MustCompile(`(?s)^line (\d+): (.*)$`)
var unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

// Parse decodes a config file. file names it in errors.
func Parse(file string, src []byte) (*Config, error) {
	c := &Config{lines: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		return nil, decodeError(file, err)
	}
	c.lines = map[string]int{}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return nil, decodeError(file, err)
	}
	if len(root.Content) > 0 {
		if _, rules := lookup(root.Content[0], "rules"); rules != nil {
			for _, kv := range entries(rules, 0) {
				if _, seen := c.lines[kv[0].Value]; !seen {
					c.lines[kv[0].Value] = kv[0].Line
				}
			}
		}
		if _, ex := lookup(root.Content[0], "exemptions"); ex != nil && ex.Kind == yaml.SequenceNode {
			for i, item := range ex.Content {
				if i < len(c.Exemptions) {
					c.Exemptions[i].Location = lint.Location{File: file, Line: item.Line, Column: item.Column, Origin: lint.OriginManifest}
				}
			}
		}
	}
	if err := c.validate(file, &root); err != nil {
		return nil, err
	}
	return c, nil
}

func lookup(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	for _, kv := range entries(n, 0) {
		if kv[0].Value == key {
			return kv[0], kv[1]
		}
	}
	return nil, nil
}

// entries returns the key/value pairs of the mapping n in order, aliases
// resolved, with the pairs that merge keys (<<) bring in after its own,
// as the decoder sees them; a key's first pair wins.
func entries(n *yaml.Node, depth int) [][2]*yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && depth < 16 {
		n, depth = n.Alias, depth+1
	}
	if n == nil || n.Kind != yaml.MappingNode || depth > 16 {
		return nil
	}
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value != "<<" || k.Tag == "!!str" && k.Style != 0 {
			own = append(own, [2]*yaml.Node{k, v})
			continue
		}
		if v.Kind == yaml.SequenceNode {
			for _, m := range v.Content {
				merged = append(merged, entries(m, depth+1)...)
			}
		} else {
			merged = append(merged, entries(v, depth+1)...)
		}
	}
	return append(own, merged...)
}

// Error is a config problem at a line of the config file.
type Error struct {
	File    string
	Line    int
	Message string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Message)
	}
	return e.File + ": " + e.Message
}

func decodeError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := typeErrLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		text := m[2]
		if f := unknownField.FindStringSubmatch(text); f != nil {
			text = fmt.Sprintf("unknown key %q", f[1])
		}
		return &Error{File: file, Line: n, Message: text}
	}
	return &Error{File: file, Message: msg}
}

func (c *Config) validate(file string, root *yaml.Node) error {
	var doc *yaml.Node
	if len(root.Content) > 0 {
		doc = root.Content[0]
	}
	line := func(keys ...string) int {
		n := doc
		l := 0
		for _, k := range keys {
			var key *yaml.Node
			key, n = lookup(n, k)
			if key == nil {
				return l
			}
			l = key.Line
		}
		return l
	}
	switch c.PodSecurity.Level {
	case "", "privileged", "baseline", "restricted":
	default:
		return &Error{file, line("podSecurity", "level"), fmt.Sprintf("unknown Pod Security level %q (want privileged, baseline or restricted)", c.PodSecurity.Level)}
	}
	if v := c.PodSecurity.Version; v != "" && v != "latest" && !regexp.MustCompile(`^v1\.\d+$`).MatchString(v) {
		return &Error{file, line("podSecurity", "version"), fmt.Sprintf("bad Pod Security version %q (want latest or v1.N)", v)}
	}
	if v := c.KubernetesVersion; v != "" && !regexp.MustCompile(`^v?1\.\d+(\.\d+)?$`).MatchString(v) {
		return &Error{file, line("kubernetesVersion"), fmt.Sprintf("bad Kubernetes version %q (want 1.N)", v)}
	}
	if c.MaxExemptionDays < 0 {
		return &Error{file, line("maxExemptionDays"), "maxExemptionDays must be positive"}
	}
	if l := c.Limits.MaxFileSize; l < 0 || l > MaxFileSizeCeiling {
		return &Error{file, line("limits", "maxFileSize"), fmt.Sprintf("limits.maxFileSize must be between 1 and %d bytes", MaxFileSizeCeiling)}
	}
	if l := c.Limits.MaxRenderOutput; l < 0 || l > MaxRenderOutputCeiling {
		return &Error{file, line("limits", "maxRenderOutput"), fmt.Sprintf("limits.maxRenderOutput must be between 1 and %d bytes", MaxRenderOutputCeiling)}
	}
	if l := c.Limits.MaxMemory; l != 0 && (l < MaxMemoryFloor || l > MaxMemoryCeiling) {
		return &Error{file, line("limits", "maxMemory"), fmt.Sprintf("limits.maxMemory must be between %d and %d bytes", MaxMemoryFloor, MaxMemoryCeiling)}
	}
	if t := c.Limits.RenderTimeout; t != "" {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 || d > RenderTimeoutCeiling {
			return &Error{file, line("limits", "renderTimeout"), fmt.Sprintf("limits.renderTimeout %q must be a duration between 1ms and %s, such as 30s", t, RenderTimeoutCeiling)}
		}
	}
	for i, u := range c.GitOps.RepoURLs {
		if strings.TrimSpace(u) == "" {
			return &Error{file, line("gitops", "repoURLs"), fmt.Sprintf("gitops.repoURLs[%d] is empty", i)}
		}
	}
	for id, r := range c.Rules {
		if r.Severity != "" {
			if _, err := lint.ParseSeverity(r.Severity); err != nil {
				return &Error{file, c.lines[id], fmt.Sprintf("rule %s: %v", id, err)}
			}
		}
	}
	return nil
}

// CheckOptions returns an error naming the line of the first rule whose
// options validate rejects.
func (c *Config) CheckOptions(file string, validate func(id string, options map[string]any) error) error {
	ids := make([]string, 0, len(c.Rules))
	for id := range c.Rules {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return c.lines[ids[i]] < c.lines[ids[j]] })
	for _, id := range ids {
		if opts := c.Rules[id].Options; len(opts) > 0 {
			if err := validate(id, opts); err != nil {
				return &Error{File: file, Line: c.lines[id], Message: err.Error()}
			}
		}
	}
	return nil
}

// CheckRules returns an error naming the line of the first rule ID in the
// config that is not in known.
func (c *Config) CheckRules(file string, known func(id string) bool) error {
	var bad []string
	for id := range c.Rules {
		if !known(id) {
			bad = append(bad, id)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	first := bad[0]
	for _, id := range bad {
		if c.lines[id] < c.lines[first] {
			first = id
		}
	}
	return &Error{File: file, Line: c.lines[first], Message: fmt.Sprintf("unknown rule %q (see kubeharden rules)", first)}
}

// Settings converts the config into the runner's settings.
func (c *Config) Settings() *lint.Settings {
	s := &lint.Settings{
		KubernetesVersion: c.KubernetesVersion,
		PodSecurity:       lint.PodSecurityLevel{Level: c.PodSecurity.Level, Version: c.PodSecurity.Version},
		Rules:             map[string]lint.RuleSettings{},
		Exemptions:        c.Exemptions,
		MaxExemptionDays:  c.MaxExemptionDays,
	}
	for id, r := range c.Rules {
		rs := lint.RuleSettings{Enabled: r.Enabled, Options: r.Options}
		if r.Severity != "" {
			sev, _ := lint.ParseSeverity(r.Severity)
			rs.Severity = &sev
		}
		s.Rules[id] = rs
	}
	return s
}
