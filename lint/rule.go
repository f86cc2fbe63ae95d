package lint

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DocsBase is where the rule catalogue is published; a rule's URL is
// DocsBase + "#" + its ID and is never written by hand.
const DocsBase = "https://github.com/kubeharden/kubeharden/blob/main/docs/rules.md"

// Rule is one check of the catalogue: metadata as data, in the manner of
// go/analysis's Analyzer and staticcheck's rule documentation. Rules are
// package-level values in package rules, each written as one composite
// literal. Exactly one of Check and Run is set, except for the rules the
// runner reports itself (ReportedByRunner), which set neither.
type Rule struct {
	// ID is the stable kebab-case identifier used in config, exemptions,
	// baselines and output. It never changes once released.
	ID string
	// Title is a lowercase one-line summary.
	Title string
	// Doc explains why the rule matters, in Markdown.
	Doc string
	// Remediation says in one sentence what to change.
	Remediation string
	// Fix says in one sentence what the automatic fix attached to the
	// rule's findings changes, for the catalogue; empty means the rule
	// attaches none and a human must act on Remediation. A rule with Fix
	// set may still leave some findings without a fix (the finding's
	// message then says why).
	Fix string
	// FixRisk says in one sentence, for the catalogue, which risk class
	// the rule's fixes declare (FixInfo.Risk) and why: "may-break: the
	// image may run as root". Required when Fix is set, and it names
	// every class the fixes declare.
	FixRisk string
	// Links point at the Kubernetes documentation or hardening guides.
	Links []string
	// Severity is the default severity of the rule's findings.
	Severity Severity
	// Off reports whether the rule is disabled unless the config enables it.
	Off bool
	// SecretValues marks a rule whose findings point at credentials (env
	// literals, a Secret's data): each of its findings is Secret, and no
	// output prints the value at its location.
	SecretValues bool
	// Since is the kubeharden version the rule first appeared in, "v0.1.0".
	Since string
	// Kinds limits Check to objects of these kinds; empty means all kinds.
	Kinds []string
	// Before and After are YAML examples of a failing and a passing object.
	Before, After string
	// Options are the settings the rule reads from the config's
	// rules.<ID>.options (through Pass.Option), in the order the docs list
	// them; nil means it takes none. ValidateOptions checks a config
	// against them.
	Options []Option
	// Check inspects one object; the runner calls it for each object whose
	// kind is in Kinds.
	Check func(p *Pass, o *Object)
	// Run inspects the whole object set, for rules that relate objects.
	Run func(p *Pass)
}

// Option is one setting of a rule, read from the config.
type Option struct {
	// Name is the option's key under rules.<ID>.options.
	Name string
	// Validate reports why a value from the config cannot be used; nil
	// means the rule can use any value.
	Validate func(v any) error
}

// ReportedByRunner reports whether the runner itself produces the rule's
// findings: the exemption rules (ExemptionInvalidID and the others), which
// have neither Check nor Run.
func (r *Rule) ReportedByRunner() bool {
	switch r.ID {
	case ExemptionInvalidID, ExemptionExpiredID, ExemptionUnusedID, ExemptionAddedID:
		return true
	}
	return false
}

// ValidateOptions reports an error for an option the rule does not read
// or a value it cannot use, so that a typo in the config is a usage error
// instead of a silently ignored setting. Keys are checked in sorted order,
// so the error is the same on every run.
func (r *Rule) ValidateOptions(options map[string]any) error {
	for _, k := range slices.Sorted(maps.Keys(options)) {
		i := slices.IndexFunc(r.Options, func(o Option) bool { return o.Name == k })
		if i < 0 {
			if len(r.Options) == 0 {
				return fmt.Errorf("rule %s has no option %q (it takes none)", r.ID, k)
			}
			names := make([]string, len(r.Options))
			for j, o := range r.Options {
				names[j] = o.Name
			}
			slices.Sort(names)
			return fmt.Errorf("rule %s has no option %q (want one of %s)", r.ID, k, strings.Join(names, ", "))
		}
		if validate := r.Options[i].Validate; validate != nil {
			if err := validate(options[k]); err != nil {
				return fmt.Errorf("rule %s option %s: %w", r.ID, k, err)
			}
		}
	}
	return nil
}

// URL is the rule's documentation link, derived from its ID.
func (r *Rule) URL() string { return DocsBase + "#" + r.ID }

// AppliesTo reports whether Check should see objects of kind.
func (r *Rule) AppliesTo(kind string) bool {
	if len(r.Kinds) == 0 {
		return true
	}
	for _, k := range r.Kinds {
		if strings.EqualFold(k, kind) {
			return true
		}
	}
	return false
}
