package github

import (
	"context"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/lint"
)

// Finding is one finding as the bot sees it.
type Finding struct {
	// Fingerprint is lint.Fingerprint: stable across moved lines and
	// reformatting, so base and head findings match by it.
	Fingerprint string
	Rule        string
	Severity    lint.Severity
	Message     string
	// URL is the rule's documentation.
	URL string
	// Resource names the object: "Deployment/prod/web in deploy/web".
	Resource string
	// File is where the finding is written in that checkout, relative to
	// its root with forward slashes; "" when unknown. Line 0 means the
	// line is unknown.
	File         string
	Line, Column int
	// Fix is the finding's own fix alone, when it has one that changes a
	// single file; never set on a Secret finding.
	Fix *fix.FileChange
	// Secret is lint.Finding.Secret: the value at the finding's line is a
	// credential, and no comment shows that line (no suggestion block).
	Secret bool
	// FixRisk and FixRiskReason are the risk class of the finding's
	// automatic fix and why (lint.FixInfo's); empty when it has none.
	FixRisk       lint.FixRisk
	FixRiskReason string
	// Exemption says which exemption silences the finding, where it is
	// written and why ("config exemption at .kubeharden.yaml:12 (vendor
	// chart)"); "" for a finding that is reported.
	Exemption string
}

// LintResult is what linting one checkout found.
type LintResult struct {
	Findings []Finding
	// Errors are targets or files that could not be rendered or parsed,
	// one line each ("charts/web/values.yaml:3: ... (target charts/web)").
	Errors []string
	// Suppressed are the findings an exemption silences, each with its
	// Exemption.
	Suppressed []Finding
	// Objects name every linted object as Finding.Resource does.
	Objects []string
	// Disabled are the IDs of the rules the policy turns off.
	Disabled []string
	// Grants are what the checkout's exemption annotations grant: the
	// Prior of a checkout compared with this one.
	Grants []lint.Grant
}

// Policy is a .kubeharden.yaml as one commit has it: the rules and
// their severities, include and exclude, exemptions, limits and
// rendering settings a checkout is judged by.
type Policy struct {
	// Commit is the commit it was read from.
	Commit string
	// Config is the file's content; nil when the commit has none, and
	// the defaults apply.
	Config []byte
}

// LintOptions say how a checkout is judged.
type LintOptions struct {
	// Policy, when set, is the policy to judge by instead of the
	// checkout's own .kubeharden.yaml.
	Policy *Policy
	// Prior, when set, are the exemption grants of the commit the
	// checkout is compared with: annotations granting more are reported
	// as exemption-added.
	Prior *lint.PriorExemptions
}

// Engine is the part of kubeharden the bot drives.
type Engine interface {
	// Lint lints the checkout at dir as o says.
	Lint(ctx context.Context, dir string, o LintOptions) (*LintResult, error)
	// Fix plans and verifies the fixes for the checkout at dir and
	// returns the changed files; it writes nothing.
	Fix(ctx context.Context, dir string) (*Remediation, error)
}

// Remediation is the outcome of planning the fixes of a checkout.
type Remediation struct {
	// Files are the changed files, root-relative with forward slashes,
	// in a stable order.
	Files []fix.FileChange
	// Applied describes each fix that the files carry.
	Applied []AppliedFix
	// Remaining are the findings left without an automatic fix.
	Remaining []Finding
}

// AppliedFix is one fix applied by a remediation: the evidence the fix
// pull request shows for it.
type AppliedFix struct {
	Rule     string
	Resource string
	// Files are the files the fix changes or creates, root-relative.
	Files []string
	// Description says what changed, as a verb phrase: "set
	// runAsNonRoot: true".
	Description string
	// URL is the rule's documentation.
	URL string
	// Evidence is what justified the change beyond the rule (an audit
	// log excerpt for an RBAC narrowing); "" when none.
	Evidence string
	// Risk is the fix's risk class (an empty one counts as
	// lint.FixMayBreak), RiskReason why.
	Risk       lint.FixRisk
	RiskReason string
}
