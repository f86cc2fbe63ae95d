package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
)

// The RBAC rules read the rules of Roles and ClusterRoles, and the role
// references of bindings, of any rbac.authorization.k8s.io version. They
// match verbs, API groups and resources the way the RBAC authorizer does
// (k8s.io/component-helpers/auth/rbac/validation): "*" matches anything,
// and a resource "*/scale" matches the scale subresource of every
// resource. Rules of an aggregated ClusterRole (one with an
// aggregationRule) are skipped: the controller manager overwrites them.

// rbacGroup is the API group of roles and bindings.
const rbacGroup = "rbac.authorization.k8s.io"

// The kinds the RBAC rules check.
var (
	roleKinds    = []string{"Role", "ClusterRole"}
	bindingKinds = []string{"RoleBinding", "ClusterRoleBinding"}
)

// roleKey caches the decoded rules of one role for every RBAC rule.
type roleKey struct{ o *lint.Object }

// policyRules returns the rules of a Role or ClusterRole, decoded once per
// run; nil for other objects, aggregated ClusterRoles and objects that do
// not decode.
func policyRules(p *lint.Pass, o *lint.Object) []rbacv1.PolicyRule {
	if !slices.Contains(roleKinds, o.Resource.Kind) || !strings.HasPrefix(o.Resource.APIVersion, rbacGroup+"/") {
		return nil
	}
	rules, _ := p.Cached(roleKey{o}, func() any {
		var role rbacv1.ClusterRole
		if o.Decode(&role) != nil || role.AggregationRule != nil {
			return []rbacv1.PolicyRule(nil)
		}
		return role.Rules
	}).([]rbacv1.PolicyRule)
	return rules
}

// ruleField is the path of item in list (verbs, resources, apiGroups) of
// the i-th rule: rules[0].verbs[=*].
func ruleField(i int, list, item string) lint.Path {
	return lint.Path{"rules", ypath.Index(i), list, ypath.Elem("", item)}
}

// matchesAny reports whether a rule's verbs or API groups (have) match
// any of want, "*" matching everything.
func matchesAny(have []string, want ...string) bool {
	return slices.Contains(have, rbacv1.VerbAll) || slices.ContainsFunc(want, func(w string) bool { return slices.Contains(have, w) })
}

// resourceCovers reports whether a rule's resource entry covers want
// ("pods" or "pods/exec") as the RBAC authorizer matches them.
func resourceCovers(entry, want string) bool {
	if entry == rbacv1.ResourceAll || entry == want {
		return true
	}
	_, sub, ok := strings.Cut(want, "/")
	return ok && entry == "*/"+sub
}

// scope says where a role's permissions apply, for messages.
func scope(o *lint.Object) string {
	if o.Resource.Kind == "ClusterRole" {
		return "in every namespace"
	}
	if o.Resource.Namespace == "" {
		return "in its namespace"
	}
	return fmt.Sprintf("in namespace %q", o.Resource.Namespace)
}

// rbacWildcardRule reports every "*" in the verbs, resources or apiGroups
// of a role's rules, each at its own list item.
var rbacWildcardRule = &lint.Rule{
	ID:    "rbac-wildcard",
	Title: "roles must not use wildcards",
	Doc: "A `*` in the verbs, resources or API groups of an RBAC rule grants everything that exists, " +
		"including verbs, subresources and custom resources added later by any operator installed in the " +
		"cluster. Permissions granted this way are impossible to review and grow without anyone changing " +
		"the role. List the verbs, resources and API groups the subject needs.",
	Remediation: "Replace each \"*\" with the explicit verbs, resources and API groups the subject needs.",
	Links:       []string{rbacPracticesURL + "#least-privilege", rbacReferenceURL, nsaGuideURL},
	Severity:    lint.High,
	Since:       "v0.1.0",
	Kinds:       roleKinds,
	Before: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: deployer
  namespace: shop
rules:
- apiGroups: ["apps"]
  resources: ["*"]
  verbs: ["*"]
`,
	After: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: deployer
  namespace: shop
rules:
- apiGroups: ["apps"]
  resources: ["deployments"]
  verbs: ["get", "list", "watch", "update", "patch"]
`,
	Fix: "Replaces \"*\" in verbs with get, list, watch, create, update, patch, delete and deletecollection. " +
		"Given an audit log (`--audit-log`), it narrows wildcard verbs, resources and API groups to what the " +
		"subjects of the role's bindings in the repository were seen using instead, and leaves a rule they " +
		"never used for a human to remove.",
	FixRisk: "may-break where no audit log narrows the rule: " + riskVerbsWithoutEvidence.reason +
		"; safe where one does: " + riskNarrowedByEvidence.reason + ".",
	Check: checkRBACWildcard,
}

func checkRBACWildcard(p *lint.Pass, o *lint.Object) {
	rules := policyRules(p, o)
	if !slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.APIGroups, "*") || slices.Contains(r.Resources, "*") || slices.Contains(r.Verbs, "*")
	}) {
		return
	}
	var ev *roleEvidence
	if p.Settings.Audit != nil {
		ev = newRoleEvidence(p, o)
	}
	for i, r := range rules {
		for _, l := range []struct {
			name, what string
			items      []string
		}{
			{"apiGroups", "every API group", r.APIGroups},
			{"resources", "every resource", r.Resources},
			{"verbs", "every verb", r.Verbs},
		} {
			if !slices.Contains(l.items, "*") {
				continue
			}
			fx, note := wildcardFix(o, ev, i, r, l.name, l.items)
			p.Report(lint.Finding{Object: o, Field: ruleField(i, l.name, "*"), Fix: fx,
				Message: fmt.Sprintf("%s grants %s in rules[%d] (%s: \"*\")%s", objectLabel(o), l.what, i, l.name, note)})
		}
	}
}

// nonEscalatingVerbs replace "*" in verbs when there is no evidence of
// use: every verb on objects, without escalate, bind, impersonate and the
// other special verbs that "*" grants.
var nonEscalatingVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}

// wildcardFix is the fix for the "*" in list (apiGroups, resources or
// verbs) of the i-th rule of role o, with items the list's entries, and a
// note for the message when there is none worth saying why. Without audit
// evidence only verbs are fixed, to nonEscalatingVerbs; with evidence
// every list is narrowed to what the role's subjects used, keeping the
// entries the rule names besides "*".
func wildcardFix(o *lint.Object, ev *roleEvidence, i int, r rbacv1.PolicyRule, list string, items []string) (*lint.FixInfo, string) {
	if len(r.NonResourceURLs) > 0 {
		return nil, ""
	}
	path := lint.Path{"rules", ypath.Index(i), list}
	if ev == nil || len(ev.bindings) == 0 {
		if list != "verbs" {
			return nil, ""
		}
		desc := fmt.Sprintf("replace \"*\" in the verbs of rules[%d] with %s", i, joinCut(nonEscalatingVerbs, len(nonEscalatingVerbs)))
		if ev != nil {
			desc += fmt.Sprintf(" (the audit log cannot narrow it: no binding in the repo names %s)", objectLabel(o))
		}
		return withRisk(&lint.FixInfo{Description: desc, Patches: []fix.Patch{fix.Set(path, withoutWildcard(items, nonEscalatingVerbs))}}, riskVerbsWithoutEvidence), ""
	}
	u := ev.usage(r)
	if u.requests == 0 {
		return nil, fmt.Sprintf("; not narrowed automatically: %s shows no request by %s that rules[%d] allows, "+
			"so remove the rule if nothing needs it", ev.log(), subjectNames(ev.subjects(), 3), i)
	}
	used := u.verbs
	switch list {
	case "apiGroups":
		used = u.groups
	case "resources":
		used = u.resources
	}
	narrowed := withoutWildcard(items, used)
	shown := make([]string, len(narrowed))
	for j, n := range narrowed {
		shown[j] = strconv.Quote(n)
	}
	desc := fmt.Sprintf("narrow the %s of rules[%d] to %s: what %s used in %s", list, i,
		joinCut(shown, len(shown)), subjectNames(u.subjects, 3), u.window())
	return withRisk(&lint.FixInfo{Description: desc, Patches: []fix.Patch{fix.Set(path, narrowed)}}, riskNarrowedByEvidence), ""
}

// withoutWildcard replaces "*" in items with add, keeping the other
// entries first, in their order.
func withoutWildcard(items, add []string) []string {
	out := slices.DeleteFunc(slices.Clone(items), func(s string) bool { return s == "*" })
	for _, a := range add {
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// roleBinding is a binding of the repo that grants a role: its subjects,
// and the namespace it grants the role in ("" for a ClusterRoleBinding:
// every namespace and the cluster scope).
type roleBinding struct {
	namespace string
	subjects  []rbacv1.Subject
}

// roleEvidence is what the audit log says about one role: its bindings
// in the repo and the requests their subjects made.
type roleEvidence struct {
	audit    *lint.AuditLog
	bindings []roleBinding
}

// newRoleEvidence finds the bindings of role o: for a Role, RoleBindings
// of its namespace that name it; for a ClusterRole, ClusterRoleBindings
// and RoleBindings that name it.
func newRoleEvidence(p *lint.Pass, o *lint.Object) *roleEvidence {
	ev := &roleEvidence{audit: p.Settings.Audit}
	for _, b := range p.Objects {
		if !slices.Contains(bindingKinds, b.Resource.Kind) || !strings.HasPrefix(b.Resource.APIVersion, rbacGroup+"/") {
			continue
		}
		var rb rbacv1.RoleBinding
		if b.Decode(&rb) != nil || rb.RoleRef.Kind != o.Resource.Kind || rb.RoleRef.Name != o.Resource.Name {
			continue
		}
		ns := ""
		if b.Resource.Kind == "RoleBinding" {
			ns = b.Resource.Namespace
			if ns == "" || o.Resource.Kind == "Role" && ns != o.Resource.Namespace {
				continue
			}
		} else if o.Resource.Kind == "Role" {
			continue
		}
		ev.bindings = append(ev.bindings, roleBinding{namespace: ns, subjects: rb.Subjects})
	}
	return ev
}

// subjects names every subject of the role's bindings once, in order.
func (ev *roleEvidence) subjects() []string {
	var out []string
	for _, b := range ev.bindings {
		for _, s := range b.subjects {
			if n := subjectName(s, b.namespace); !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// log describes the audit log for messages: its name, size and window.
func (ev *roleEvidence) log() string {
	a := ev.audit
	s := fmt.Sprintf("the audit log %s (%d requests", a.Name, len(a.Events))
	if !a.First.IsZero() {
		s += fmt.Sprintf(" from %s to %s", a.First.Format(time.RFC3339), a.Last.Format(time.RFC3339))
	}
	return s + ")"
}

// ruleUsage is what the subjects of a role did that one of its rules
// allows.
type ruleUsage struct {
	requests                 int
	verbs, groups, resources []string
	subjects                 []string
	first, last              time.Time
	log                      string
}

// usage collects the authorized resource requests of the log that a
// subject of one of the role's bindings made in the binding's scope and
// that rule r allows. Verbs come in the order of nonEscalatingVerbs, then
// sorted; groups and resources sorted.
func (ev *roleEvidence) usage(r rbacv1.PolicyRule) *ruleUsage {
	u := &ruleUsage{log: ev.audit.Name}
	for k := range ev.audit.Events {
		e := &ev.audit.Events[k]
		if !e.Authorized() || e.Resource == "" || !matchesAny(r.APIGroups, e.APIGroup) || !matchesAny(r.Verbs, e.Verb) ||
			!slices.ContainsFunc(r.Resources, func(entry string) bool { return resourceCovers(entry, e.RBACResource()) }) ||
			len(r.ResourceNames) > 0 && !slices.Contains(r.ResourceNames, e.Name) {
			continue
		}
		who := ""
	bindings:
		for _, b := range ev.bindings {
			if b.namespace != "" && e.Namespace != b.namespace {
				continue
			}
			for _, s := range b.subjects {
				if e.MadeBy(s, b.namespace) {
					who = subjectName(s, b.namespace)
					break bindings
				}
			}
		}
		if who == "" {
			continue
		}
		u.requests++
		for _, x := range []struct {
			list *[]string
			item string
		}{{&u.verbs, e.Verb}, {&u.groups, e.APIGroup}, {&u.resources, e.RBACResource()}, {&u.subjects, who}} {
			if !slices.Contains(*x.list, x.item) {
				*x.list = append(*x.list, x.item)
			}
		}
		if t := e.Time; !t.IsZero() {
			if u.first.IsZero() || t.Before(u.first) {
				u.first = t
			}
			if t.After(u.last) {
				u.last = t
			}
		}
	}
	slices.SortFunc(u.verbs, func(a, b string) int {
		ia, ib := slices.Index(nonEscalatingVerbs, a), slices.Index(nonEscalatingVerbs, b)
		if ia < 0 {
			ia = len(nonEscalatingVerbs)
		}
		if ib < 0 {
			ib = len(nonEscalatingVerbs)
		}
		return cmp.Or(cmp.Compare(ia, ib), strings.Compare(a, b))
	})
	slices.Sort(u.groups)
	slices.Sort(u.resources)
	return u
}

// window says how many requests, when and from which log.
func (u *ruleUsage) window() string {
	noun := "requests"
	if u.requests == 1 {
		noun = "request"
	}
	s := fmt.Sprintf("%d %s", u.requests, noun)
	if !u.first.IsZero() {
		s += fmt.Sprintf(" from %s to %s", u.first.Format(time.RFC3339), u.last.Format(time.RFC3339))
	}
	return s + " of the audit log " + u.log
}

// subjectName names a subject as messages do: serviceaccount
// "ops/app-controller", user "alice", group "dev". A service account
// without a namespace takes the binding's.
func subjectName(s rbacv1.Subject, bindingNamespace string) string {
	name := s.Name
	if s.Kind == rbacv1.ServiceAccountKind {
		ns := cmp.Or(s.Namespace, bindingNamespace)
		if ns != "" {
			name = ns + "/" + s.Name
		}
	}
	return fmt.Sprintf("%s %q", strings.ToLower(s.Kind), name)
}

// subjectNames joins subject names, at most max of them.
func subjectNames(names []string, max int) string {
	if len(names) == 0 {
		return "its subjects"
	}
	return joinCut(names, max)
}

// readVerbs are the verbs that reveal a secret's data.
var readVerbs = []string{"get", "list", "watch"}

// rbacSecretsReadRule reports role rules that allow reading Secrets of
// the core API group (get, list, watch or "*" on secrets or "*"), unless
// the rule is limited to named secrets by resourceNames.
var rbacSecretsReadRule = &lint.Rule{
	ID:    "rbac-secrets-read",
	Title: "roles must not read secrets",
	Doc: "Reading Secrets gives every credential stored in them: service account tokens, registry and " +
		"database passwords, TLS keys, cloud credentials. `list` and `watch` return the full contents of " +
		"every Secret, not only their names. A subject that can read the secrets of a namespace can act as " +
		"any service account of that namespace; a ClusterRole with that permission reaches the whole " +
		"cluster. Grant it only to the controllers that need it, limited with `resourceNames` to the secrets " +
		"they use.",
	Remediation: "Remove get, list and watch on secrets, or limit the rule to the secrets the subject needs with resourceNames.",
	Links:       []string{rbacPracticesURL + "#listing-secrets", secretsPracticeURL, nsaGuideURL},
	Severity:    lint.High,
	Since:       "v0.1.0",
	Kinds:       roleKinds,
	Before: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: config-reader
rules:
- apiGroups: [""]
  resources: ["configmaps", "secrets"]
  verbs: ["get", "list", "watch"]
`,
	After: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: config-reader
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch"]
`,
	Check: checkRBACSecretsRead,
}

func checkRBACSecretsRead(p *lint.Pass, o *lint.Object) {
	for i, r := range policyRules(p, o) {
		if len(r.ResourceNames) > 0 || !matchesAny(r.APIGroups, "") || !matchesAny(r.Verbs, readVerbs...) {
			continue
		}
		entry := "secrets"
		if !slices.Contains(r.Resources, entry) {
			if !slices.Contains(r.Resources, rbacv1.ResourceAll) {
				continue
			}
			entry = rbacv1.ResourceAll
		}
		verbs := "use every verb on"
		if !slices.Contains(r.Verbs, rbacv1.VerbAll) {
			verbs = strings.Join(slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return !slices.Contains(readVerbs, v) }), ", ")
		}
		p.Reportf(o, ruleField(i, "resources", entry), "%s can %s secrets %s (rules[%d])", objectLabel(o), verbs, scope(o), i)
	}
}

// escalationVerb is a verb that escalates privileges by itself, with what
// it allows.
type escalationVerb struct{ verb, allows string }

// escalationVerbs are the verbs reported wherever they appear.
var escalationVerbs = []escalationVerb{
	{"escalate", "grant permissions it does not hold"},
	{"bind", "bind roles with permissions it does not hold"},
	{"impersonate", "act as other users, groups or service accounts"},
}

// writeVerbs are the verbs that change objects.
var writeVerbs = []string{"create", "update", "patch", "delete", "deletecollection"}

// escalationGrant is a permission on a resource that leads to more
// privileges than it names.
type escalationGrant struct {
	group, resource string
	verbs           []string
	// allows says what the permission lets a subject do, in a phrase
	// that follows "lets it".
	allows string
}

// escalationGrants are the resource permissions rbac-privilege-escalation
// reports. get counts for exec, attach and nodes/proxy: WebSocket
// connections are GET requests, which the API server authorizes as get on
// pods/exec and pods/attach (unless a recent release also requires
// create), and the kubelet as get on nodes/proxy.
var escalationGrants = []escalationGrant{
	{"", "pods/exec", []string{"create", "get"}, "run commands in pods"},
	{"", "pods/attach", []string{"create", "get"}, "attach to running containers"},
	{"", "serviceaccounts/token", []string{"create"}, "mint service account tokens"},
	{"", "nodes/proxy", []string{"create", "get"}, "run commands through the kubelet"},
	{rbacGroup, "roles", writeVerbs, "rewrite permissions"},
	{rbacGroup, "clusterroles", writeVerbs, "rewrite permissions"},
	{rbacGroup, "rolebindings", writeVerbs, "hand out roles"},
	{rbacGroup, "clusterrolebindings", writeVerbs, "hand out roles"},
	{"", "users", []string{"impersonate"}, "act as other users"},
	{"", "groups", []string{"impersonate"}, "act as other groups"},
	{"", "serviceaccounts", []string{"impersonate"}, "act as service accounts"},
}

// rbacPrivilegeEscalationRule reports role rules that let a subject gain
// more than the rule names: the verbs escalate, bind and impersonate
// (each at its verb), and the escalationGrants (one finding per resource
// entry that grants any of them, listing them all). A verb reported at
// the verb is not reported again at the resources.
var rbacPrivilegeEscalationRule = &lint.Rule{
	ID:    "rbac-privilege-escalation",
	Title: "roles must not allow privilege escalation",
	Doc: "Some permissions are worth more than they say. `escalate` and `bind` let a subject grant roles " +
		"with permissions it does not hold, and `impersonate` lets it act as any user, group or service " +
		"account. `create` (and, over WebSockets, `get`) on `pods/exec` or `pods/attach` runs commands in " +
		"pods, with their service account tokens and mounted secrets; `create` on `serviceaccounts/token` " +
		"mints tokens for any " +
		"service account; `nodes/proxy` reaches the kubelet API, which runs commands in every pod of the " +
		"node. Writing roles, cluster roles or their bindings changes who may do what. Each of these turns a " +
		"narrow role into a path to cluster-admin.",
	Remediation: "Remove the escalating verbs and resources from the role, and grant them only to the few administrators and controllers that need them.",
	Links: []string{
		rbacPracticesURL + "#privilege-escalation-risks",
		rbacReferenceURL + "#privilege-escalation-prevention-and-bootstrapping",
		nsaGuideURL,
	},
	Severity: lint.Critical,
	Since:    "v0.1.0",
	Kinds:    roleKinds,
	Before: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: debugger
  namespace: shop
rules:
- apiGroups: [""]
  resources: ["pods", "pods/exec"]
  verbs: ["get", "create"]
`,
	After: `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: debugger
  namespace: shop
rules:
- apiGroups: [""]
  resources: ["pods", "pods/log"]
  verbs: ["get"]
`,
	Check: checkRBACPrivilegeEscalation,
}

func checkRBACPrivilegeEscalation(p *lint.Pass, o *lint.Object) {
	for i, r := range policyRules(p, o) {
		for _, ev := range escalationVerbs {
			if slices.Contains(r.Verbs, ev.verb) {
				p.Reportf(o, ruleField(i, "verbs", ev.verb), "%s can %s: %s %s (rules[%d])", objectLabel(o), ev.verb, ev.allows, scope(o), i)
			}
		}
		for _, entry := range r.Resources {
			var (
				verbs   []string                // verb phrases, in order of first grant
				targets = map[string][]string{} // verb phrase -> resources
				allows  []string
			)
			for _, g := range escalationGrants {
				if !matchesAny(r.APIGroups, g.group) || !resourceCovers(entry, g.resource) {
					continue
				}
				v := "use every verb on"
				if !slices.Contains(r.Verbs, rbacv1.VerbAll) {
					granted := slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool {
						return !slices.Contains(g.verbs, v) || slices.ContainsFunc(escalationVerbs, func(ev escalationVerb) bool { return ev.verb == v })
					})
					if len(granted) == 0 {
						continue
					}
					v = strings.Join(granted, "/")
				}
				if _, ok := targets[v]; !ok {
					verbs = append(verbs, v)
				}
				targets[v] = append(targets[v], g.resource)
				if !slices.Contains(allows, g.allows) {
					allows = append(allows, g.allows)
				}
			}
			if len(verbs) == 0 {
				continue
			}
			var grants []string
			for _, v := range verbs {
				grants = append(grants, v+" "+joinCut(targets[v], 5))
			}
			p.Reportf(o, ruleField(i, "resources", entry), "%s can %s %s, which lets it %s (rules[%d])",
				objectLabel(o), strings.Join(grants, "; "), scope(o), joinCut(allows, 3), i)
		}
	}
}

// joinCut joins items with commas and a final "and", keeping at most max
// of them.
func joinCut(items []string, max int) string {
	if len(items) > max {
		return strings.Join(items[:max], ", ") + " and " + strconv.Itoa(len(items)-max) + " more"
	}
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// clusterAdminRole is the built-in ClusterRole that allows everything.
const clusterAdminRole = "cluster-admin"

// superRolesKey caches the names of the repo's ClusterRoles that allow
// every verb on every resource of every API group.
type superRolesKey struct{}

// superRoles returns the names of the ClusterRoles of the run that are as
// powerful as cluster-admin: a rule with "*" verbs, resources and groups.
func superRoles(p *lint.Pass) map[string]bool {
	return p.Cached(superRolesKey{}, func() any {
		names := map[string]bool{}
		for _, o := range p.Objects {
			if o.Resource.Kind != "ClusterRole" {
				continue
			}
			if slices.ContainsFunc(policyRules(p, o), func(r rbacv1.PolicyRule) bool {
				return slices.Contains(r.Verbs, rbacv1.VerbAll) && slices.Contains(r.Resources, rbacv1.ResourceAll) &&
					slices.Contains(r.APIGroups, rbacv1.APIGroupAll)
			}) {
				names[o.Resource.Name] = true
			}
		}
		return names
	}).(map[string]bool)
}

// rbacClusterAdminBindingRule reports RoleBindings and ClusterRoleBindings
// whose roleRef is the ClusterRole cluster-admin, or a ClusterRole of the
// repo that superRoles finds as powerful. Every subject counts, system
// ones included: exemptions are the way to accept one.
var rbacClusterAdminBindingRule = &lint.Rule{
	ID:    "rbac-cluster-admin-binding",
	Title: "bindings must not grant cluster-admin",
	Doc: "The `cluster-admin` ClusterRole allows every verb on every resource. Bound with a " +
		"ClusterRoleBinding it gives full control of the cluster, and with a RoleBinding full control of " +
		"the namespace, including its secrets and the ability to run any pod. A ClusterRole of the " +
		"repository that grants `*` verbs on `*` resources in `*` API groups is the same thing under another " +
		"name. Controllers and people seldom need it: bind a role with the permissions they use.",
	Remediation: "Bind a role that grants only the permissions the subjects need instead of cluster-admin.",
	Links: []string{
		rbacReferenceURL + "#user-facing-roles",
		rbacPracticesURL + "#least-privilege",
		nsaGuideURL,
	},
	Severity: lint.Critical,
	Since:    "v0.1.0",
	Kinds:    bindingKinds,
	Before: `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: ci-deployer
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: cluster-admin
subjects:
- kind: ServiceAccount
  name: deployer
  namespace: ci
`,
	After: `apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ci-deployer
  namespace: shop
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: edit
subjects:
- kind: ServiceAccount
  name: deployer
  namespace: ci
`,
	Check: checkRBACClusterAdminBinding,
}

func checkRBACClusterAdminBinding(p *lint.Pass, o *lint.Object) {
	var b rbacv1.RoleBinding
	if !strings.HasPrefix(o.Resource.APIVersion, rbacGroup+"/") || o.Decode(&b) != nil || b.RoleRef.Kind != "ClusterRole" {
		return
	}
	var what string
	switch name := b.RoleRef.Name; {
	case name == clusterAdminRole:
		what = clusterAdminRole
	case superRoles(p)[name]:
		what = fmt.Sprintf("clusterrole %q, which allows every verb on every resource like cluster-admin,", name)
	default:
		return
	}
	where := ""
	if o.Resource.Kind == "RoleBinding" {
		where = " " + scope(o)
	}
	p.Reportf(o, lint.Path{"roleRef", "name"}, "%s grants %s%s to %s", objectLabel(o), what, where, subjectList(b.Subjects))
}

// subjectList names a binding's subjects: `serviceaccount "ci/deployer"`.
func subjectList(subjects []rbacv1.Subject) string {
	if len(subjects) == 0 {
		return "no subject yet"
	}
	const maxSubjects = 3
	var out []string
	for i, s := range subjects {
		if i == maxSubjects {
			out = append(out, fmt.Sprintf("%d more", len(subjects)-maxSubjects))
			break
		}
		name := s.Name
		if s.Kind == rbacv1.ServiceAccountKind && s.Namespace != "" {
			name = s.Namespace + "/" + s.Name
		}
		out = append(out, fmt.Sprintf("%s %q", strings.ToLower(s.Kind), name))
	}
	return strings.Join(out, ", ")
}
