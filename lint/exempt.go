package lint

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// ExemptAnnotation is the object annotation that holds exemptions: a YAML
// list of {rules: [IDs], reason: text, expires: YYYY-MM-DD}.
const ExemptAnnotation = "kubeharden.io/exempt"

// DefaultMaxExemptionDays is how far in the future an exemption may expire
// unless the config says otherwise.
const DefaultMaxExemptionDays = 365

// Exemption silences findings of some rules on some objects, for a reason
// and until a date. An exemption without both, or one too far out, does
// not apply: break-glass must never quietly become the standard path.
type Exemption struct {
	Rules   []string `yaml:"rules" json:"rules"`
	Reason  string   `yaml:"reason" json:"reason"`
	Expires string   `yaml:"expires" json:"expires"`
	// Match selects objects for exemptions written in the config; glob
	// patterns (path.Match syntax; ** for any target path) per field.
	Match *ExemptionMatch `yaml:"match,omitempty" json:"-"`

	// Location is where the exemption is written.
	Location Location `yaml:"-" json:"-"`
	// object is set for exemptions read from an object's annotation.
	object *Object
}

// ExemptionMatch selects the objects a config exemption applies to. Empty
// fields match everything.
type ExemptionMatch struct {
	Kind      string `yaml:"kind"`
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
	Target    string `yaml:"target"`
}

func (m *ExemptionMatch) matches(o *Object) bool {
	if m == nil {
		return true
	}
	glob := func(pat, s string) bool {
		if pat == "" || pat == "**" {
			return true
		}
		if strings.HasSuffix(pat, "/**") && (s == strings.TrimSuffix(pat, "/**") || strings.HasPrefix(s, strings.TrimSuffix(pat, "**"))) {
			return true
		}
		ok, _ := path.Match(pat, s)
		return ok
	}
	return glob(m.Kind, o.Resource.Kind) && glob(m.Namespace, o.Resource.Namespace) &&
		glob(m.Name, o.Resource.Name) && glob(m.Target, o.Target)
}

// The IDs of the rules whose findings the runner itself reports about
// exemptions, after every other rule has run, since only it sees what
// they reported. Their catalogue entries (title, docs, severity,
// examples) are in package rules like every other rule's.
const (
	ExemptionInvalidID = "exemption-invalid"
	ExemptionExpiredID = "exemption-expired"
	ExemptionUnusedID  = "exemption-unused"
	// ExemptionAddedID is reported only when a run is compared with
	// another commit (Settings.Prior).
	ExemptionAddedID = "exemption-added"
)

// Grant is one rule that an exemption annotation silences on one object
// until a date: what exemption-added compares between two commits. The
// object is named by kind, namespace, name and target, not apiVersion,
// so that moving an object to a new API version grants nothing new.
type Grant struct {
	Kind, Namespace, Name string
	Target                string
	Rule                  string
	// Expires is the exemption's date, YYYY-MM-DD.
	Expires string
}

// PriorExemptions are the grants of the commit a run is compared with.
type PriorExemptions struct {
	Grants []Grant
}

// Grants returns what the exemption annotations of objs grant: one Grant
// per object, rule and well-formed exemption entry, in object order.
// Annotations that do not parse, and entries without an expiry, grant
// nothing (exemption-invalid reports them).
func Grants(objs []*Object) []Grant {
	var out []Grant
	for _, o := range objs {
		for _, st := range annotationExemptions(o) {
			if st.problem != "" || st.ex.Expires == "" {
				continue
			}
			for _, id := range st.ex.Rules {
				out = append(out, grantOf(o, id, st.ex.Expires))
			}
		}
	}
	return out
}

func grantOf(o *Object, rule, expires string) Grant {
	r := o.Resource
	return Grant{Kind: r.Kind, Namespace: r.Namespace, Name: r.Name, Target: o.Target, Rule: rule, Expires: expires}
}

// added says what the annotation exemptions of one object grant beyond
// prior: "pss-privileged until 2026-12-31 (reason)" for a rule prior does
// not exempt on the object, "... extended from 2026-06-30" for a later
// expiry. Dates compare as text: YYYY-MM-DD sorts in date order, and an
// unparsable one is exemption-invalid anyway.
func (p *PriorExemptions) added(states []*exemptionState) []string {
	var out []string
	for _, st := range states {
		if st.problem != "" {
			continue
		}
		for _, id := range st.ex.Rules {
			g := grantOf(st.ex.object, id, st.ex.Expires)
			latest, found := "", false
			for _, pg := range p.Grants {
				if pg.Kind == g.Kind && pg.Namespace == g.Namespace && pg.Name == g.Name && pg.Target == g.Target && pg.Rule == id {
					found = true
					latest = max(latest, pg.Expires)
				}
			}
			switch {
			case !found:
				out = append(out, fmt.Sprintf("%s until %s (%s)", id, g.Expires, strings.TrimSpace(st.ex.Reason)))
			case g.Expires > latest:
				out = append(out, fmt.Sprintf("%s until %s, extended from %s (%s)", id, g.Expires, latest, strings.TrimSpace(st.ex.Reason)))
			}
		}
	}
	return out
}

// exemptionState is an exemption under evaluation.
type exemptionState struct {
	ex      Exemption
	problem string // why it does not apply, for exemption-invalid
	expired bool
	used    bool
}

// annotationExemptions reads the exemptions annotated on o. A value that
// does not parse yields one invalid exemption.
func annotationExemptions(o *Object) []*exemptionState {
	p := Path{"metadata", "annotations", ExemptAnnotation}
	n := o.Get(p)
	if n == nil {
		return nil
	}
	loc := o.Location(p)
	var list []Exemption
	if err := yaml.Unmarshal([]byte(n.Value), &list); err != nil {
		return []*exemptionState{{ex: Exemption{Location: loc, object: o},
			problem: fmt.Sprintf("annotation %s is not a YAML list of {rules, reason, expires}: %v", ExemptAnnotation, strings.TrimPrefix(err.Error(), "yaml: "))}}
	}
	var out []*exemptionState
	for _, e := range list {
		e.Location, e.object = loc, o
		out = append(out, &exemptionState{ex: e})
	}
	return out
}

// validate sets problem or expired.
func (st *exemptionState) validate(s *Settings, now time.Time) {
	if st.problem != "" {
		return
	}
	e := st.ex
	maxDays := s.MaxExemptionDays
	if maxDays <= 0 {
		maxDays = DefaultMaxExemptionDays
	}
	var missing []string
	if len(e.Rules) == 0 {
		missing = append(missing, "rules")
	}
	if strings.TrimSpace(e.Reason) == "" {
		missing = append(missing, "reason")
	}
	if e.Expires == "" {
		missing = append(missing, "expires")
	}
	if len(missing) > 0 {
		st.problem = "exemption has no " + strings.Join(missing, " and no ")
		return
	}
	for _, id := range e.Rules {
		if s.KnownRule != nil && !s.KnownRule(id) {
			st.problem = fmt.Sprintf("exemption names unknown rule %q", id)
			return
		}
	}
	exp, err := time.Parse(time.DateOnly, e.Expires)
	if err != nil {
		st.problem = fmt.Sprintf("exemption expiry %q is not a date (YYYY-MM-DD)", e.Expires)
		return
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	if exp.Before(today) {
		st.expired = true
		return
	}
	if limit := today.AddDate(0, 0, maxDays); exp.After(limit) {
		st.problem = fmt.Sprintf("exemption expires %s, more than %d days away (latest allowed: %s)", e.Expires, maxDays, limit.Format(time.DateOnly))
	}
}

func (st *exemptionState) names(rule string) bool {
	for _, id := range st.ex.Rules {
		if id == rule {
			return true
		}
	}
	return false
}

func (st *exemptionState) applies(f *Finding) bool {
	if st.problem != "" || st.expired || !st.names(f.Rule.ID) {
		return false
	}
	if st.ex.object != nil {
		return st.ex.object == f.Object
	}
	return st.ex.Match.matches(f.Object)
}

// applyExemptions splits findings into those reported and those an
// exemption silences, and adds the findings about the exemptions
// themselves (for whichever exemption rules are enabled).
func applyExemptions(objs, context []*Object, findings []Finding, enabled []*Rule, s *Settings) (kept, suppressed []Finding) {
	var states []*exemptionState
	for _, o := range objs {
		states = append(states, annotationExemptions(o)...)
	}
	for _, e := range s.Exemptions {
		states = append(states, &exemptionState{ex: e})
	}
	if len(states) == 0 {
		return findings, nil
	}
	now := s.Now
	if now.IsZero() {
		now = time.Now()
	}
	for _, st := range states {
		st.validate(s, now)
	}
	for _, f := range findings {
		var by *exemptionState
		for _, st := range states {
			if st.applies(&f) {
				st.used = true
				if by == nil {
					by = st
				}
			}
		}
		if by == nil {
			kept = append(kept, f)
			continue
		}
		ex := by.ex
		f.Exemption = &ex
		suppressed = append(suppressed, f)
	}
	on := map[string]*Rule{}
	for _, r := range enabled {
		if r.ReportedByRunner() {
			on[r.ID] = r
		}
	}
	for _, st := range states {
		var id, msg string
		switch {
		case st.problem != "":
			id, msg = ExemptionInvalidID, st.problem+"; it does not apply"
		case st.expired:
			id, msg = ExemptionExpiredID, fmt.Sprintf("exemption for %s expired on %s; its findings are reported again", strings.Join(st.ex.Rules, ", "), st.ex.Expires)
		case !st.used && st.ex.object == nil && slices.ContainsFunc(context, st.ex.Match.matches):
			// It may silence a finding on an object outside this run's
			// objects, which only a run over those can tell.
		case !st.used:
			id, msg = ExemptionUnusedID, fmt.Sprintf("exemption for %s matches no finding", strings.Join(st.ex.Rules, ", "))
		}
		r := on[id]
		if r == nil {
			continue
		}
		o := st.ex.object
		if o == nil {
			o = configObject(st.ex.Location)
		}
		sev := r.Severity
		if rs, ok := s.Rules[r.ID]; ok && rs.Severity != nil {
			sev = *rs.Severity
		}
		field := Path{"metadata", "annotations", ExemptAnnotation}
		if st.ex.object == nil {
			field = nil
		}
		kept = append(kept, Finding{Rule: r, Severity: sev, Message: msg, Object: o, Field: field, Location: st.ex.Location})
	}
	if r := on[ExemptionAddedID]; r != nil && s.Prior != nil {
		kept = append(kept, addedExemptions(r, states, s)...)
	}
	return kept, suppressed
}

// addedExemptions reports, once per object, the exemption annotations
// that grant more than s.Prior, so that a reviewer always sees an
// exemption a change adds or extends.
func addedExemptions(r *Rule, states []*exemptionState, s *Settings) []Finding {
	sev := r.Severity
	if rs, ok := s.Rules[r.ID]; ok && rs.Severity != nil {
		sev = *rs.Severity
	}
	var out []Finding
	byObject := map[*Object][]*exemptionState{}
	var order []*Object
	for _, st := range states {
		if o := st.ex.object; o != nil {
			if byObject[o] == nil {
				order = append(order, o)
			}
			byObject[o] = append(byObject[o], st)
		}
	}
	for _, o := range order {
		what := s.Prior.added(byObject[o])
		if len(what) == 0 {
			continue
		}
		msg := "exemption added: " + strings.Join(what, "; ")
		out = append(out, Finding{Rule: r, Severity: sev, Message: msg, Object: o,
			Field: Path{"metadata", "annotations", ExemptAnnotation}, Location: byObject[o][0].ex.Location})
	}
	return out
}

// configObject stands for the config file in findings about exemptions
// written there.
func configObject(loc Location) *Object {
	return &Object{
		Resource: Resource{APIVersion: "kubeharden.io/v1", Kind: "Config", Name: path.Base(loc.File)},
		Target:   ".",
		Locate:   func(Path) Location { return loc },
	}
}
