package rules

import (
	"testing"

	"github.com/kubeharden/kubeharden/lint"
)

// The harness checks fixes with the real fix planner, driver.Repo.Fix.
// driver imports rules, so only the external test package can call it:
// planner_test.go (package rules_test) installs it here with SetPlanner
// from its init, which runs before any test.

// Planned is what the fix planner did with a repository of one fixture
// file, fixed until nothing more applies.
type Planned struct {
	// Fixed is the fixture's content after the fixes (the input when no
	// fix edits it).
	Fixed []byte
	// News are the files the fixes add (objects of Fix.New), joined with
	// "---\n" in path order.
	News []byte
	// Applied are the findings whose fix was applied, round by round.
	Applied []lint.Finding
	// Skipped are the fixes the planner did not apply, one
	// "file:line: rule: reason" each.
	Skipped []string
	// Final is the lint of the fixed repository.
	Final []lint.Finding
	// Again are the files a second fix run, over the fixed repository as
	// written, would change; empty when the fixes are idempotent.
	Again []string
}

// planFixes runs the planner with rules and s over a repository holding
// src as file; nil until SetPlanner.
var planFixes func(t *testing.T, rules []*lint.Rule, s *lint.Settings, file string, src []byte) Planned

// SetPlanner installs the fix planner the harness runs.
func SetPlanner(f func(t *testing.T, rules []*lint.Rule, s *lint.Settings, file string, src []byte) Planned) {
	planFixes = f
}

// plan runs the installed planner.
func plan(t *testing.T, rules []*lint.Rule, s *lint.Settings, file string, src []byte) Planned {
	t.Helper()
	if planFixes == nil {
		t.Fatal("no fix planner installed (planner_test.go calls rules.SetPlanner)")
	}
	return planFixes(t, rules, s, file, src)
}
