package lint

import "strings"

// DocsBase is where the rule catalogue is published; a rule's URL is
// DocsBase + "#" + its ID and is never written by hand.
const DocsBase = "https://github.com/kubeharden/kubeharden/blob/main/docs/rules.md"

// Rule is one check of the catalogue. Rules are package-level values in
// package rules; exactly one of Check and Run is set.
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
	// Links point at the Kubernetes documentation or hardening guides.
	Links []string
	// Severity is the default severity of the rule's findings.
	Severity Severity
	// Off reports whether the rule is disabled unless the config enables it.
	Off bool
	// Kinds limits Check to objects of these kinds; empty means all kinds.
	Kinds []string
	// Before and After are YAML examples of a failing and a passing object.
	Before, After string
	// Check inspects one object; the runner calls it for each object whose
	// kind is in Kinds.
	Check func(p *Pass, o *Object)
	// Run inspects the whole object set, for rules that relate objects.
	Run func(p *Pass)

	// reportedByRunner marks the rules about exemptions, whose findings
	// the runner reports after every other rule has run; they have
	// neither Check nor Run.
	reportedByRunner bool
}

// ReportedByRunner reports whether the runner itself produces the rule's
// findings (the exemption rules), so it has neither Check nor Run.
func (r *Rule) ReportedByRunner() bool { return r.reportedByRunner }

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
