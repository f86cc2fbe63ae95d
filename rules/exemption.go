package rules

import "github.com/kubeharden/kubeharden/lint"

// The rules about exemptions: invalid, expired or unused ones. The runner
// produces their findings (lint.Rule.ReportedByRunner), since only it
// sees what every other rule reported, so they have neither Check nor
// Run; their catalogue entries are here, in the same form as every
// other rule's.

// exemptionInvalidRule reports an exemption that does not apply: no rules,
// reason or expiry, an unknown rule, or an expiry too far away.
var exemptionInvalidRule = &lint.Rule{
	ID:       "exemption-invalid",
	Title:    "exemptions must name known rules, give a reason and expire within the allowed time",
	Severity: lint.Medium,
	Doc: "An exemption silences a rule for an object. To keep exceptions honest, each one must list the " +
		"rules it silences, say why, and expire: `expires` is a date (YYYY-MM-DD) no further away than " +
		"`maxExemptionDays` (default 365). An exemption that breaks these conditions does not apply, so " +
		"the findings it was meant to silence are reported too.",
	Remediation: "Give the exemption known rule IDs, a reason and an expiry date within the allowed window.",
	Links:       []string{"https://github.com/kubeharden/kubeharden#exemptions"},
	Before: `apiVersion: v1
kind: Pod
metadata:
  name: debug
  annotations:
    kubeharden.io/exempt: |
      - rules: [pss-privileged]
        expires: 2026-12-31
spec:
  containers:
    - name: debug
      image: busybox:1.36
`,
	After: `apiVersion: v1
kind: Pod
metadata:
  name: debug
  annotations:
    kubeharden.io/exempt: |
      - rules: [pss-privileged]
        reason: INC-4821 kernel debugging, remove after the postmortem
        expires: 2026-12-31
spec:
  containers:
    - name: debug
      image: busybox:1.36
`,
	Since: "v0.1.0",
}

// exemptionExpiredRule reports an exemption past its expiry date.
var exemptionExpiredRule = &lint.Rule{
	ID:       "exemption-expired",
	Title:    "exemptions must not be past their expiry date",
	Severity: lint.Medium,
	Doc: "An exemption past its `expires` date no longer applies: the findings it silenced are reported " +
		"again, and this finding says why.",
	Remediation: "Fix what the exemption was silencing, or renew it with a new reason and date.",
	Links:       []string{"https://github.com/kubeharden/kubeharden#exemptions"},
	Before: `apiVersion: v1
kind: Pod
metadata:
  name: debug
  annotations:
    kubeharden.io/exempt: |
      - rules: [pss-privileged]
        reason: INC-4821 kernel debugging
        expires: 2025-01-31
spec:
  containers:
    - name: debug
      image: busybox:1.36
`,
	After: `apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: debug
      image: busybox:1.36
`,
	Since: "v0.1.0",
}

// exemptionUnusedRule reports an exemption that silences no finding.
var exemptionUnusedRule = &lint.Rule{
	ID:       "exemption-unused",
	Title:    "exemptions must match a finding",
	Severity: lint.Low,
	Doc: "An exemption that silences nothing — the rule no longer fires, the object was renamed, or the " +
		"rule is turned off — is dead weight that could silence a future finding nobody reviewed.",
	Remediation: "Remove the exemption, or correct its rules or match.",
	Links:       []string{"https://github.com/kubeharden/kubeharden#exemptions"},
	Before: `apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    kubeharden.io/exempt: |
      - rules: [pss-privileged]
        reason: was privileged before the migration
        expires: 2026-12-31
spec:
  containers:
    - name: web
      image: nginx:1.27
`,
	After: `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
    - name: web
      image: nginx:1.27
`,
	Since: "v0.1.0",
}

// exemptionAddedRule reports an exemption annotation that a change adds
// or extends. Only a comparison with another commit can see one, so it
// reports only where the runner is given one (lint.Settings.Prior): in
// kubeharden github review, against the pull request's base.
var exemptionAddedRule = &lint.Rule{
	ID:       "exemption-added",
	Title:    "exemptions a pull request adds or extends are shown to its reviewer",
	Severity: lint.Medium,
	Doc: "An exemption annotation is written in the object it silences, so a pull request can exempt its own " +
		"new finding and nothing else would show it. `kubeharden github review` compares the exemption " +
		"annotations of the head with the base's and reports each object whose annotation exempts a rule the " +
		"base did not exempt there, or until a later date, with the rules, dates and reasons: an exemption is " +
		"always seen by a reviewer. Like every finding of the review it counts for `--fail-on`; give the rule a " +
		"lower severity, or turn it off, in the base branch's `.kubeharden.yaml` to accept exemptions without " +
		"failing the check. Outside a review it reports nothing.",
	Remediation: "Have the exemption reviewed: fix the finding instead, or accept the exemption with its reason and expiry.",
	Links:       []string{"https://github.com/kubeharden/kubeharden#trust-model"},
	Before: `apiVersion: v1
kind: Pod
metadata:
  name: debug
  annotations:
    kubeharden.io/exempt: |
      - rules: [pss-privileged]
        reason: INC-4821 kernel debugging
        expires: 2026-12-31
spec:
  containers:
    - name: debug
      image: busybox:1.36
      securityContext:
        privileged: true
`,
	After: `apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: debug
      image: busybox:1.36
`,
	Since: "v0.1.0",
}
