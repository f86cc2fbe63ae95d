package lint

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Settings are the run-wide knobs rules may read.
type Settings struct {
	// KubernetesVersion is the cluster version the repo targets, "1.37".
	KubernetesVersion string
	// PodSecurity is the level and version used for namespaces that do
	// not label their own.
	PodSecurity PodSecurityLevel
	// Rules overrides rule defaults by ID.
	Rules map[string]RuleSettings
	// Exemptions are the exemptions written in the config.
	Exemptions []Exemption
	// MaxExemptionDays bounds how far away an exemption may expire; 0
	// means DefaultMaxExemptionDays.
	MaxExemptionDays int
	// KnownRule reports whether an ID names a rule, for validating
	// exemptions; nil accepts every ID.
	KnownRule func(id string) bool
	// Now is the time exemptions are judged at; zero means time.Now().
	Now time.Time
	// Audit is the API server audit log that RBAC fixes narrow roles
	// from (kubeharden fix --audit-log); nil means no evidence.
	Audit *AuditLog
	// Unrendered maps a namespace to the GitOps objects that deploy into
	// it from sources the linter cannot render (a chart of a remote Helm
	// repository, another Git repository), as "Kind name (file)": its
	// workloads are not all among the linted objects.
	Unrendered map[string][]string
	// Prior, when set, is what the commit this run is compared with (a
	// pull request's base) exempts by annotation: every annotation that
	// grants more than it — a rule on an object it does not exempt, or a
	// later expiry — is reported as exemption-added. Nil: no comparison,
	// and no such findings.
	Prior *PriorExemptions
}

// RuleSettings overrides a rule's defaults. Nil fields keep the default.
type RuleSettings struct {
	Enabled  *bool
	Severity *Severity
	// Options are rule-specific settings, as decoded from the config.
	Options map[string]any
}

// PodSecurityLevel is a Pod Security Standards level ("privileged",
// "baseline", "restricted") at a policy version ("latest" or "v1.30").
type PodSecurityLevel struct {
	Level   string
	Version string
}

// The namespace labels the PodSecurity admission reads.
const (
	LabelEnforce        = "pod-security.kubernetes.io/enforce"
	LabelEnforceVersion = "pod-security.kubernetes.io/enforce-version"
	LabelWarn           = "pod-security.kubernetes.io/warn"
	LabelWarnVersion    = "pod-security.kubernetes.io/warn-version"
	LabelAudit          = "pod-security.kubernetes.io/audit"
	LabelAuditVersion   = "pod-security.kubernetes.io/audit-version"
)

// Enabled returns the rules that are on under s, in catalogue order.
func (s *Settings) Enabled(all []*Rule) []*Rule {
	var out []*Rule
	for _, r := range all {
		on := !r.Off
		if rs, ok := s.Rules[r.ID]; ok && rs.Enabled != nil {
			on = *rs.Enabled
		}
		if on {
			out = append(out, r)
		}
	}
	return out
}

// Pass is what a rule sees while it runs: the objects, the settings and a
// way to report. A Pass is shared by the rule's Check calls.
type Pass struct {
	Rule     *Rule
	Objects  []*Object
	Settings *Settings
	run      *runState
}

type runState struct {
	mu       sync.Mutex
	findings []Finding
	cache    sync.Map // key -> *cacheEntry
	nsLevels map[string][]nsLevel
	// context are the objects rules see but do not report on
	// (RunWithContext); nil when there are none.
	context map[*Object]bool
}

// Reports reports whether findings on o are kept: false for the context
// objects of RunWithContext. A rule that walks Pass.Objects itself skips
// the others rather than doing work whose findings are dropped.
func (p *Pass) Reports(o *Object) bool { return !p.run.context[o] }

type cacheEntry struct {
	once sync.Once
	v    any
}

// Report records a finding. Severity defaults to the rule's (after config
// overrides) and Location to the source of f.Field.
func (p *Pass) Report(f Finding) {
	f.Rule = p.Rule
	f.Severity = p.severity()
	f.Secret = f.Secret || p.Rule.SecretValues
	if f.Location == (Location{}) {
		f.Location = f.Object.Location(f.Field)
	}
	p.run.mu.Lock()
	p.run.findings = append(p.run.findings, f)
	p.run.mu.Unlock()
}

// Reportf reports a finding on field of o with a formatted message.
func (p *Pass) Reportf(o *Object, field Path, format string, args ...any) {
	p.Report(Finding{Object: o, Field: field, Message: fmt.Sprintf(format, args...)})
}

func (p *Pass) severity() Severity {
	if rs, ok := p.Settings.Rules[p.Rule.ID]; ok && rs.Severity != nil {
		return *rs.Severity
	}
	return p.Rule.Severity
}

// Option returns the rule option named key, or nil when the config does
// not set it. Like go/analysis with undeclared fact types, it panics when
// the rule does not declare key in its Options: the config validates only
// declared options, so an undeclared one would be read unchecked.
func (p *Pass) Option(key string) any {
	if !slices.ContainsFunc(p.Rule.Options, func(o Option) bool { return o.Name == key }) {
		panic(fmt.Sprintf("rule %s reads option %q, which its Options do not declare", p.Rule.ID, key))
	}
	return p.Settings.Rules[p.Rule.ID].Options[key]
}

// Cached returns the value compute produces for key, computing it once per
// run however many rules ask. Rules of one family use it to share work,
// such as evaluating every Pod Security check of an object once.
func (p *Pass) Cached(key any, compute func() any) any {
	e, _ := p.run.cache.LoadOrStore(key, &cacheEntry{})
	ce := e.(*cacheEntry)
	ce.once.Do(func() { ce.v = compute() })
	return ce.v
}

// PodSecurity returns the Pod Security level and version that the
// PodSecurity admission would enforce on object o: the enforce labels of
// the Namespace object of o's namespace in the repo when one sets them,
// else the defaults. Where several Namespace objects of that name set a
// level (overlays for different clusters, or a conflict), the one o's own
// target renders decides, else the strictest: never the order in which
// targets happen to be read.
func (p *Pass) PodSecurity(o *Object) PodSecurityLevel {
	lv := p.Settings.PodSecurity
	if got, ok := pickLevel(p.run.nsLevels[o.Resource.Namespace], o.Target); ok {
		if got.Level != "" {
			lv.Level = got.Level
		}
		if got.Version != "" {
			lv.Version = got.Version
		}
	}
	if lv.Level == "" {
		lv.Level = "restricted"
	}
	if lv.Version == "" {
		lv.Version = "latest"
	}
	return lv
}

// nsLevel is the enforce level one Namespace object sets, and the target
// it is rendered from.
type nsLevel struct {
	target string
	lv     PodSecurityLevel
}

// podSecurityRank orders the Pod Security levels, weakest first; an
// unknown level ranks below them all.
func podSecurityRank(level string) int {
	return slices.Index([]string{"privileged", "baseline", "restricted"}, level)
}

// pickLevel returns the level of the entry from target, else the
// strictest entry (by level, then the first target in byte order), or
// false when there is none.
func pickLevel(es []nsLevel, target string) (PodSecurityLevel, bool) {
	if len(es) == 0 {
		return PodSecurityLevel{}, false
	}
	for _, e := range es {
		if e.target == target {
			return e.lv, true
		}
	}
	best := es[0]
	for _, e := range es[1:] {
		if r, b := podSecurityRank(e.lv.Level), podSecurityRank(best.lv.Level); r > b || r == b && e.target < best.target {
			best = e
		}
	}
	return best.lv, true
}

// NamespaceDefinitions returns, for each namespace that several Namespace
// objects of the repo define with different enforce levels, those
// objects; the namespace-pss-level rule reports the conflict.
func NamespaceDefinitions(objs []*Object) map[string][]*Object {
	by := map[string][]*Object{}
	for _, o := range objs {
		if o.Resource.Kind == "Namespace" && o.Resource.APIVersion == "v1" {
			by[o.Resource.Name] = append(by[o.Resource.Name], o)
		}
	}
	for name, os := range by {
		first := os[0].String(Path{"metadata", "labels", LabelEnforce})
		if !slices.ContainsFunc(os[1:], func(o *Object) bool { return o.String(Path{"metadata", "labels", LabelEnforce}) != first }) {
			delete(by, name)
		}
	}
	return by
}

func namespaceLevels(objs []*Object) map[string][]nsLevel {
	m := map[string][]nsLevel{}
	for _, o := range objs {
		if o.Resource.Kind != "Namespace" || o.Resource.APIVersion != "v1" {
			continue
		}
		labels := Path{"metadata", "labels"}
		m[o.Resource.Name] = append(m[o.Resource.Name], nsLevel{target: o.Target, lv: PodSecurityLevel{
			Level:   o.String(labels.Append(LabelEnforce)),
			Version: o.String(labels.Append(LabelEnforceVersion)),
		}})
	}
	return m
}

// Result is the outcome of a run.
type Result struct {
	// Findings are reported, in stable order.
	Findings []Finding
	// Suppressed are the findings an exemption silences, each with its
	// Exemption set.
	Suppressed []Finding
}

// Run applies rules to objs and returns the findings in the runner's
// canonical order (by rule, then object, in the order given, then field
// and message), without those an exemption silences. The canonical order
// only makes runs reproducible; output is ordered by package report. Rules run concurrently; each rule
// sees every object.
func Run(ctx context.Context, objs []*Object, rules []*Rule, s *Settings) ([]Finding, error) {
	res, err := RunAll(ctx, objs, rules, s)
	return res.Findings, err
}

// RunAll is Run returning the suppressed findings too.
func RunAll(ctx context.Context, objs []*Object, rules []*Rule, s *Settings) (Result, error) {
	return RunWithContext(ctx, objs, nil, rules, s)
}

// RunWithContext is RunAll for a part of a repository: rules report on
// objs only, but see context too (Pass.Objects holds both), so that what
// one object's findings depend on elsewhere in the repository — the
// Namespace's Pod Security labels, NetworkPolicies, RBAC bindings,
// ServiceAccounts, the workloads of a namespace — is judged as in a run
// over everything. Findings on context objects are dropped, exemption
// annotations of context objects are not checked, and a config exemption
// is reported unused only when no context object could match it (its
// findings elsewhere are not computed). A context object of a kind no
// rule reads across objects may carry its identity and location only
// (see driver's context view).
func RunWithContext(ctx context.Context, objs, context []*Object, rules []*Rule, s *Settings) (Result, error) {
	all := objs
	if len(context) > 0 {
		all = append(slices.Clip(objs), context...)
	}
	st := &runState{nsLevels: namespaceLevels(all)}
	if len(context) > 0 {
		st.context = make(map[*Object]bool, len(context))
		for _, o := range context {
			st.context[o] = true
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers())
	for _, r := range rules {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		if r.ReportedByRunner() {
			continue
		}
		p := &Pass{Rule: r, Objects: all, Settings: s, run: st}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if r.Run != nil {
				r.Run(p)
				return
			}
			for _, o := range objs {
				if r.AppliesTo(o.Resource.Kind) {
					r.Check(p, o)
				}
			}
		}()
	}
	wg.Wait()
	if st.context != nil {
		st.findings = slices.DeleteFunc(st.findings, func(f Finding) bool { return st.context[f.Object] })
	}
	canonicalOrder(st.findings, objs, rules)
	kept, suppressed := applyExemptions(objs, context, st.findings, rules, s)
	return Result{Findings: kept, Suppressed: suppressed}, ctx.Err()
}

// canonicalOrder sorts findings by the position of their rule in rules and
// of their object in objs, then by field and message: the same for every
// run over the same input, however the rules' goroutines interleave.
// Findings of rules or objects not in the lists (the runner's own) come
// after those that are.
func canonicalOrder(fs []Finding, objs []*Object, rules []*Rule) {
	ruleAt := make(map[*Rule]int, len(rules))
	for i, r := range rules {
		ruleAt[r] = i
	}
	objAt := make(map[*Object]int, len(objs))
	for i, o := range objs {
		objAt[o] = i
	}
	at := func(m map[*Rule]int, r *Rule) int {
		if i, ok := m[r]; ok {
			return i
		}
		return len(m)
	}
	slices.SortStableFunc(fs, func(a, b Finding) int {
		oa, ok := objAt[a.Object]
		if !ok {
			oa = len(objAt)
		}
		ob, ok := objAt[b.Object]
		if !ok {
			ob = len(objAt)
		}
		return cmp.Or(
			cmp.Compare(at(ruleAt, a.Rule), at(ruleAt, b.Rule)),
			cmp.Compare(oa, ob),
			cmp.Compare(a.Field.String(), b.Field.String()),
			cmp.Compare(a.Message, b.Message),
		)
	})
}
