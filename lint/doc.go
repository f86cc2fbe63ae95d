// Package lint is kubeharden's vocabulary: rules, findings, locations and
// the object view that rules inspect, plus the runner that applies a list
// of rules to a set of rendered objects.
//
// The package knows nothing of how objects were rendered or how findings
// are printed: render produces objects, report prints findings, and main
// wires the two together. A rule is a value of type Rule; the catalogue is
// the explicit slice returned by rules.All.
package lint
