// Package rules is kubeharden's rule catalogue. Each rule is a
// package-level *lint.Rule written as one composite literal: data (ID,
// title, rationale, remediation, severity, the version it appeared in,
// before/after examples, the options it reads) and a pure function over
// the rendered object view. All lists them explicitly, in catalogue
// order. Nothing registers itself from init.
//
// Rules never render, print, touch the file system or the network: they
// see lint.Objects and report lint.Findings through a lint.Pass.
package rules

import (
	"fmt"
	"slices"

	"github.com/kubeharden/kubeharden/lint"
)

// All returns the catalogue: every rule kubeharden knows, in a stable
// order, as a new slice the caller may modify. Rule values are shared and
// must not be modified.
func All() []*lint.Rule { return slices.Clone(catalogue) }

// catalogue is the rule list in catalogue order: the Pod Security
// Standards rules, the other workload rules, the cluster rules, then the
// rules about exemptions.
var catalogue = slices.Concat(podSecurityRules, workloadRules, clusterRules, []*lint.Rule{
	exemptionInvalidRule,
	exemptionExpiredRule,
	exemptionUnusedRule,
	exemptionAddedRule,
})

// byID indexes the catalogue.
var byID = func() map[string]*lint.Rule {
	m := make(map[string]*lint.Rule, len(catalogue))
	for _, r := range catalogue {
		m[r.ID] = r
	}
	return m
}()

// ByID returns the rule of the catalogue with the given ID, or nil when
// no rule has it.
func ByID(id string) *lint.Rule { return byID[id] }

// ValidateOptions checks the options the config sets for rule id against
// the rule's declared Options (lint.Rule.ValidateOptions), in the form
// config.CheckOptions takes. An unknown ID is an error.
func ValidateOptions(id string, options map[string]any) error {
	r := ByID(id)
	if r == nil {
		return fmt.Errorf("unknown rule %q", id)
	}
	return r.ValidateOptions(options)
}
