package lint

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/internal/loc"
)

// Finding is one violation of a rule by one field of one object.
type Finding struct {
	Rule     *Rule
	Severity Severity
	// Message is lowercase and names the user's objects.
	Message string
	Object  *Object
	// Field is the path of the offending field in the rendered object.
	Field Path
	// Key tells apart findings of one rule that share an object and a
	// field (the ingress and the egress default-deny finding of a
	// namespace, two containers reported at their pod's field): a short
	// stable word or path, never a message or a position. It is part of
	// the fingerprint when set; a rule leaves it empty when its Field
	// alone identifies the finding, which keeps older fingerprints.
	Key string
	// Secret marks that the value written at Field (and below it) is a
	// credential: an env literal, a Secret's data. Outputs never print it:
	// they mask the value part of any source line they show at Location
	// (MaskSecretLine) and show no fix text there. The runner sets it for
	// the findings of rules with SecretValues.
	Secret bool
	// Location is where Field is written in the sources (filled by the
	// runner from Object.Locate when left zero).
	Location Location
	// PSS is set on Pod Security findings.
	PSS *PSS
	// Fix describes the automatic fix, when there is one.
	Fix *FixInfo
	// Exemption is the exemption that silences the finding, if any.
	Exemption *Exemption
}

// secretMask replaces a secret value in printed text; its length says
// nothing about the value's.
const secretMask = "********"

// MaskSecretLine returns a source line (YAML, or a template writing YAML)
// with its value masked, for printing at a Secret finding's location,
// column col (1-based; 0 when unknown). What is before col stays (a flow
// mapping's other keys); from col on, the indentation, list dashes and the
// first key stay and everything after that key's ": " becomes a mask; a
// part with no key (a list item, a block scalar's line) is masked whole.
// A line that ends at its key ("data:") has no value on it and is kept.
func MaskSecretLine(line string, col int) string {
	start := 0
	if col > 1 && col <= len(line) {
		start = col - 1
	}
	lead, body := line[:start], line[start:]
	rest := strings.TrimLeft(body, " \t")
	lead, body = lead+body[:len(body)-len(rest)], rest
	for strings.HasPrefix(body, "- ") {
		lead, body = lead+"- ", strings.TrimLeft(body[2:], " ")
	}
	if body == "" || strings.HasPrefix(body, "#") {
		return line
	}
	if i := strings.Index(body, ": "); i >= 0 {
		if strings.TrimSpace(body[i+2:]) == "" {
			return line
		}
		return lead + body[:i+2] + secretMask
	}
	if strings.HasSuffix(body, ":") && !strings.ContainsAny(body, " \t") {
		return line
	}
	return lead + secretMask
}

// PSS records the Pod Security Standards verdict behind a finding: the
// level and version evaluated and the upstream check ID that failed.
type PSS struct {
	Level   string `json:"level"`
	Version string `json:"version"`
	Check   string `json:"check"`
}

// FixInfo describes an automatic fix offered for a finding: what must
// become true of the rendered object, never how its sources are written.
// The fix planner lowers it onto the files the object comes from.
type FixInfo struct {
	// Description is a verb phrase: "set runAsNonRoot: true".
	Description string
	// Patches change the finding's object; they are applied together.
	Patches []fix.Patch
	// New are whole objects the fix adds (a NetworkPolicy), in the
	// finding's namespace, written next to the object's sources.
	New []*yaml.Node
	// Deferred marks a fix that depends on the outcome of the others (a
	// namespace's Pod Security level): the planner applies it only once
	// no other fix is left to apply.
	Deferred bool
	// Risk says whether the fix can stop a workload that works today.
	// Every automatic fix declares it; an empty Risk is treated as
	// FixMayBreak.
	Risk FixRisk
	// RiskReason says why, as a lowercase clause ("the image may run as
	// root"); required for FixMayBreak, where it says what can break.
	RiskReason string
}

// FixRisk is the risk class of an automatic fix: whether merging it can
// stop a working workload. The classes are ordered, FixSafe first.
type FixRisk string

// The risk classes, from the least risky.
const (
	// FixSafe fixes cannot stop a working workload: seccomp
	// RuntimeDefault, allowPrivilegeEscalation: false, RBAC narrowed to
	// what the audit log shows was used.
	FixSafe FixRisk = "safe"
	// FixMayBreak fixes can stop a working workload (runAsNonRoot on an
	// image that runs as root, a default-deny NetworkPolicy); roll them
	// out with a test of the workload.
	FixMayBreak FixRisk = "may-break"
)

// FixRisks are the risk classes, from the least risky.
var FixRisks = []FixRisk{FixSafe, FixMayBreak}

// ParseFixRisk reads a risk class by its name; anything else is an error
// naming the classes.
func ParseFixRisk(s string) (FixRisk, error) {
	for _, r := range FixRisks {
		if s == string(r) {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown fix risk %q (want %s or %s)", s, FixSafe, FixMayBreak)
}

// Class is r as declared, with an undeclared risk taken as FixMayBreak.
func (r FixRisk) Class() FixRisk {
	if r == FixSafe {
		return FixSafe
	}
	return FixMayBreak
}

// AtMost reports whether r is no riskier than limit; an empty limit
// allows every class.
func (r FixRisk) AtMost(limit FixRisk) bool {
	return limit == "" || limit.Class() == FixMayBreak || r.Class() == FixSafe
}

// Error is a target or file that could not be discovered, rendered or
// parsed (package loc's); its text is escaped for the terminal.
type Error = loc.Error

// SortErrors orders errors by file, line and target.
func SortErrors(es []Error) {
	slices.SortStableFunc(es, func(a, b Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Target, b.Target),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
