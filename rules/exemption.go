package rules

import "github.com/kubeharden/kubeharden/lint"

// exemptionRules report exemptions that are invalid, expired or unused.
// The runner produces their findings, since only it sees what every other
// rule reported; the catalogue lists them like any other rule.
func exemptionRules() []*lint.Rule { return lint.ExemptionRules() }
