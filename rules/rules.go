// Package rules is kubeharden's rule catalogue. Each rule is a value of
// type lint.Rule built from data (ID, title, rationale, remediation,
// severity, before/after examples) and a pure function over the rendered
// object view; All lists them explicitly, in catalogue order. Nothing
// registers itself from init.
//
// Rules never render, print, touch the file system or the network: they
// see lint.Objects and report lint.Findings through a lint.Pass.
package rules

import "github.com/kubeharden/kubeharden/lint"

// All returns the catalogue: every rule kubeharden knows, in a stable
// order, as a new slice the caller may modify. Rule values are shared and
// must not be modified.
func All() []*lint.Rule {
	var all []*lint.Rule
	all = append(all, podSecurityRules()...)
	all = append(all, workloadRules()...)
	all = append(all, clusterRules()...)
	all = append(all, exemptionRules()...)
	return all
}
