package rules

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
)

// clusterRules are the rules about secrets, network policies, services,
// ingresses, namespaces, RBAC and API versions, in catalogue order.
var clusterRules = []*lint.Rule{
	secretInGitRule,
	longLivedSATokenRule,
	networkPolicyDefaultDenyRule,
	networkPolicyAllowAllRule,
	serviceExposedRule,
	ingressTLSMissingRule,
	namespacePSSLevelRule,
	rbacWildcardRule,
	rbacSecretsReadRule,
	rbacPrivilegeEscalationRule,
	rbacClusterAdminBindingRule,
	deprecatedAPIRule,
	invalidObjectRule,
}

// rbacReferenceURL is the RBAC reference. The cluster rules share
// nsaGuideURL, secretsURL, secretsPracticeURL, serviceAccountsURL and
// rbacPracticesURL with the workload rules.
const rbacReferenceURL = "https://kubernetes.io/docs/reference/access-authn-authz/rbac/"

// namespacePSSLevelRule requires every Namespace in the repo to enforce a
// Pod Security level at least as strict as the configured minimum. The
// minimum is the rule option minLevel, else the configured default level,
// else restricted; a namespace without the enforce label, or with a value
// that is not a level, is reported.
var namespacePSSLevelRule = &lint.Rule{
	ID:    "namespace-pss-level",
	Title: "namespaces must enforce a Pod Security level",
	Doc: "The PodSecurity admission controller enforces the level a namespace's `" + lint.LabelEnforce +
		"` label names. Without the label, pods in the namespace are held only to the cluster-wide default, " +
		"which is `privileged` (no restriction) unless the API server is configured otherwise. A namespace " +
		"labelled with a weaker level than the one the repository aims for lets workloads in it run with " +
		"host namespaces, privileged containers or as root.\n\n" +
		"The required level is the rule option `minLevel` (`privileged`, `baseline` or `restricted`), else the " +
		"configured Pod Security level, else `restricted`.",
	Remediation: "Label the namespace with pod-security.kubernetes.io/enforce: restricted (or the configured minimum level).",
	Links: []string{
		pssAdmissionURL,
		"https://kubernetes.io/docs/tasks/configure-pod-container/enforce-standards-namespace-labels/",
		nsaGuideURL,
	},
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Kinds:    []string{"Namespace"},
	Options: []lint.Option{
		{Name: "minLevel", Validate: validatePSSLevel},
	},
	Before: `apiVersion: v1
kind: Namespace
metadata:
  name: shop
`,
	After: `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
`,
	Fix: "Staged, since an enforce label rejects the pods that fail it: adds the " + lint.LabelWarn + " and " +
		lint.LabelAudit + " labels (and their -version labels), when absent, with the strictest level that every " +
		"workload the repository deploys into the namespace passes once the other fixes are applied, provided that " +
		"level meets the required one; adds " + lint.LabelEnforce + " with that level too only when the namespace " +
		"holds workloads of the repository and no Argo CD or Flux object deploys into it from a source kubeharden " +
		"cannot render (a chart of a Helm repository, another Git repository). Versions are the configured Pod " +
		"Security version, else the targeted Kubernetes version, else latest.",
	FixRisk: riskDoc(riskEnforceLabel) + " The warn and audit labels alone are " + riskDoc(riskWarnAuditLabels),
	Check:   checkNamespacePSSLevel,
}

// reportNamespaceConflict reports a Namespace object whose enforce level
// another Namespace object of the same name, in another target, sets
// differently: which one the cluster keeps depends on the order they are
// applied in. Pods of each target are judged by their own target's
// Namespace, others by the strictest.
func reportNamespaceConflict(p *lint.Pass, o *lint.Object) {
	defs, _ := p.Cached(namespaceDefsKey{}, func() any { return lint.NamespaceDefinitions(p.Objects) }).(map[string][]*lint.Object)
	field := lint.Path{"metadata", "labels", lint.LabelEnforce}
	mine := o.String(field)
	var others []string
	for _, d := range defs[o.Resource.Name] {
		if d != o && d.String(field) != mine {
			level := d.String(field)
			if level == "" {
				level = "no level"
			}
			others = append(others, fmt.Sprintf("%s in %s", level, d.Target))
		}
	}
	if len(others) == 0 {
		return
	}
	slices.Sort(others)
	others = slices.Compact(others)
	if mine == "" {
		mine = "no level"
	}
	p.Report(lint.Finding{Object: o, Field: field[:2], Location: o.Location(field), Message: fmt.Sprintf(
		"namespace %q is labelled %s: %s here but %s elsewhere (%s); the cluster keeps whichever is applied last",
		o.Resource.Name, lint.LabelEnforce, mine, map[bool]string{true: "another level", false: "other levels"}[len(others) == 1], strings.Join(others, ", "))})
}

type namespaceDefsKey struct{}

// pssLevels are the Pod Security levels, weakest first.
var pssLevels = []string{"privileged", "baseline", "restricted"}

func checkNamespacePSSLevel(p *lint.Pass, o *lint.Object) {
	if o.Resource.APIVersion != "v1" {
		return
	}
	reportNamespaceConflict(p, o)
	minLevel := requiredPSSLevel(p)
	field := lint.Path{"metadata", "labels", lint.LabelEnforce}
	got := o.String(field)
	rank := slices.Index(pssLevels, got)
	switch {
	case o.Get(field) == nil:
		fx, note := namespaceLevelFix(p, o, minLevel)
		staged := fx != nil && !slices.ContainsFunc(fx.Patches, func(pt fix.Patch) bool { return pt.Path.String() == field.String() })
		enforceFix := fx
		if staged {
			enforceFix = nil
		}
		p.Report(lint.Finding{Object: o, Field: field, Fix: enforceFix, Message: fmt.Sprintf(
			"namespace %q has no %s label, so its pods are only held to the cluster default (want %s)%s",
			o.Resource.Name, lint.LabelEnforce, minLevel, note)})
		if staged {
			// The first stage only: its own finding, which the labels
			// resolve, while the enforce finding stays.
			p.Report(lint.Finding{Object: o, Field: lint.Path{"metadata", "labels", lint.LabelWarn}, Fix: fx, Message: fmt.Sprintf(
				"namespace %q has no %s label, which reports the pods an enforce label would reject before one is added",
				o.Resource.Name, lint.LabelWarn)})
		}
	case rank < 0:
		p.Reportf(o, field, "namespace %q sets %s to %q, which is not a Pod Security level (want %s)",
			o.Resource.Name, lint.LabelEnforce, got, minLevel)
	case rank < slices.Index(pssLevels, minLevel):
		p.Reportf(o, field, "namespace %q enforces the %s Pod Security level, weaker than the required %s",
			o.Resource.Name, got, minLevel)
	}
}

// namespaceLevelFix labels namespace o with the strictest Pod Security
// level that every workload of the repo in it passes, as the upstream
// evaluator judges them, at the version the namespace's enforce-version
// label sets or else the one namespaceLevelFix writes. The fix is
// deferred: the planner applies it after the workloads' own fixes, and
// the level is computed again on the fixed workloads. Where the
// strictest level is below minLevel there is no fix, since the label
// would leave the namespace below the requirement; the note names a
// workload that holds it back.
func namespaceLevelFix(p *lint.Pass, o *lint.Object, minLevel string) (*lint.FixInfo, string) {
	labels := lint.Path{"metadata", "labels"}
	version := o.String(labels.Append(lint.LabelEnforceVersion))
	setVersion := o.Get(labels.Append(lint.LabelEnforceVersion)) == nil
	if setVersion {
		version = defaultPSSVersion(p.Settings)
	}
	var workloads []*lint.Object
	for _, w := range p.Objects {
		if lint.IsWorkload(w.Resource.Kind) && w.Resource.Namespace == o.Resource.Name {
			workloads = append(workloads, w)
		}
	}
	emulation := emulationVersion(p.Settings.KubernetesVersion)
	// failing returns a workload that fails level, or nil.
	failing := func(level string) *lint.Object {
		want := lint.PodSecurityLevel{Level: level, Version: version}
		for _, w := range workloads {
			key := pssKey{w, want.Level, want.Version, p.Settings.KubernetesVersion}
			v, _ := p.Cached(key, func() any { return evaluatePodSecurity(w, want, emulation) }).(*pssVerdict)
			if v != nil && len(v.violations) > 0 {
				return w
			}
		}
		return nil
	}
	for i := len(pssLevels) - 1; i >= slices.Index(pssLevels, minLevel); i-- {
		level := pssLevels[i]
		w := failing(level)
		if w != nil {
			if level == minLevel {
				return nil, fmt.Sprintf("; the label is added automatically once every workload of the namespace passes %s (%s does not)", level, objectLabel(w))
			}
			continue
		}
		external := p.Settings.Unrendered[o.Resource.Name]
		enforce := len(workloads) > 0 && len(external) == 0
		fx := &lint.FixInfo{Deferred: true}
		var modes []string // the modes labelled with level
		versioned := false
		label := func(key, value string) {
			if o.Get(labels.Append(key)) != nil {
				return
			}
			fx.Patches = append(fx.Patches, fix.Set(labels.Append(key), value))
			mode, isVersion := strings.CutSuffix(strings.TrimPrefix(key, "pod-security.kubernetes.io/"), "-version")
			if isVersion {
				versioned = true
			} else {
				modes = append(modes, mode)
			}
		}
		if enforce {
			label(lint.LabelEnforce, level)
			if setVersion {
				label(lint.LabelEnforceVersion, version)
			}
		}
		// warn and audit report what enforce would reject without
		// rejecting it: the first stage, and the only one where the
		// namespace may hold pods the repo does not show.
		// A mode the namespace labels already keeps its level and version.
		for _, k := range [][2]string{{lint.LabelWarn, lint.LabelWarnVersion}, {lint.LabelAudit, lint.LabelAuditVersion}} {
			if o.Get(labels.Append(k[0])) == nil {
				label(k[0], level)
				label(k[1], version)
			}
		}
		if len(fx.Patches) == 0 {
			return nil, ""
		}
		if slices.Contains(modes, "enforce") {
			withRisk(fx, riskEnforceLabel)
		} else {
			withRisk(fx, riskWarnAuditLabels)
		}
		fx.Description = fmt.Sprintf("label namespace %q pod-security.kubernetes.io/%s", o.Resource.Name, andList(modes))
		if len(modes) > 0 {
			fx.Description += ": " + level
		}
		if versioned {
			fx.Description += " (-version: " + version + ")"
		}
		switch n := len(workloads); {
		case len(external) > 0:
			fx.Description += fmt.Sprintf(" but not %s, since %s deploys into it from a source kubeharden cannot render",
				lint.LabelEnforce, strings.Join(external, " and "))
		case n == 0:
			fx.Description += fmt.Sprintf(" but not %s, as it holds no workload of the repo to judge it by", lint.LabelEnforce)
		case n == 1:
			fx.Description += ", the strictest level its workload passes"
		default:
			fx.Description += fmt.Sprintf(", the strictest level its %d workloads pass", n)
		}
		return fx, ""
	}
	return nil, ""
}

// defaultPSSVersion is the policy version the namespace fix writes: the
// configured Pod Security version, else that of the Kubernetes version
// the repo targets, else latest.
func defaultPSSVersion(s *lint.Settings) string {
	if v := strings.TrimSpace(s.PodSecurity.Version); v != "" {
		return v
	}
	if v := emulationVersion(s.KubernetesVersion); v != nil {
		return v.String()
	}
	return "latest"
}

// requiredPSSLevel is the minimum level: the minLevel option, else the
// configured default, else restricted. Values that are not levels are
// skipped (the config loader reports them).
func requiredPSSLevel(p *lint.Pass) string {
	opt, _ := p.Option("minLevel").(string)
	for _, l := range []string{opt, p.Settings.PodSecurity.Level} {
		if l = strings.ToLower(strings.TrimSpace(l)); slices.Contains(pssLevels, l) {
			return l
		}
	}
	return "restricted"
}

// objectLabel names an object as the cluster rules' messages do, lowercase
// first: `clusterrole "ci-deployer"`.
func objectLabel(o *lint.Object) string {
	return fmt.Sprintf("%s %q", strings.ToLower(o.Resource.Kind), o.Resource.Name)
}

// listNames quotes and joins names for a message, cutting long lists
// short.
func listNames(names []string) string {
	const maxNames = 5
	quoted := make([]string, 0, maxNames)
	for i, n := range names {
		if i == maxNames {
			return strings.Join(quoted, ", ") + " and " + strconv.Itoa(len(names)-maxNames) + " more"
		}
		quoted = append(quoted, strconv.Quote(n))
	}
	return strings.Join(quoted, ", ")
}

// elemSegment returns the path segment of the i-th element of list,
// selected by its key field when that value is unique in the list (so the
// path survives reordering), else by index.
func elemSegment(list *yaml.Node, i int, key string) string {
	value := func(n *yaml.Node) (string, bool) {
		if _, v := ypath.Lookup(n, key); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" && !strings.Contains(v.Value, "]") {
			return v.Value, true
		}
		return "", false
	}
	if list == nil || list.Kind != yaml.SequenceNode || i >= len(list.Content) {
		return ypath.Index(i)
	}
	want, ok := value(list.Content[i])
	if !ok {
		return ypath.Index(i)
	}
	for j, e := range list.Content {
		if v, ok := value(e); j != i && ok && v == want {
			return ypath.Index(i)
		}
	}
	return ypath.Elem(key, want)
}

// validatePSSLevel checks the minLevel option of namespace-pss-level: one
// of the Pod Security levels. The rule declares it in its Options.
func validatePSSLevel(v any) error {
	s, ok := v.(string)
	if !ok || !slices.Contains(pssLevels, s) {
		return fmt.Errorf("want one of %s, got %v", strings.Join(pssLevels, ", "), v)
	}
	return nil
}

// andList joins words as "a, b and c".
func andList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
