package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeharden/kubeharden/lint"
)

// The workload hardening rules beyond Pod Security: root filesystem,
// resources, images, service account tokens, probes and credentials in
// env vars. Each is a lint.Rule whose Check is built by containerCheck or
// podCheck from a function returning issues: it decodes the pod template
// once (lint.Object caches it), skips objects whose pod template does not
// decode, and reports one finding per offending container or pod field,
// with the message prefixed by the container and workload it is about.

// Links of the workload rules. nsaGuideURL (the NSA/CISA Kubernetes
// Hardening Guide, version 1.2, the latest), serviceAccountsURL,
// rbacPracticesURL, secretsURL and secretsPracticeURL are shared with the
// cluster rules.
const (
	nsaGuideURL        = "https://media.defense.gov/2022/Aug/29/2003066362/-1/-1/0/CTR_KUBERNETES_HARDENING_GUIDANCE_1.2_20220829.PDF"
	securityContextURL = "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/"
	resourcesURL       = "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/"
	imagesURL          = "https://kubernetes.io/docs/concepts/containers/images/"
	serviceAccountsURL = "https://kubernetes.io/docs/concepts/security/service-accounts/"
	automountURL       = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting"
	rbacPracticesURL   = "https://kubernetes.io/docs/concepts/security/rbac-good-practices/"
	probesURL          = "https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/"
	probesTaskURL      = "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/"
	secretsURL         = "https://kubernetes.io/docs/concepts/configuration/secret/"
	secretsPracticeURL = "https://kubernetes.io/docs/concepts/security/secrets-good-practices/"
)

// longRunningKinds are the workload kinds whose pods are meant to run
// until replaced, so that readiness gates their traffic and rollouts and
// liveness restarts them when they hang. Jobs and CronJobs run to
// completion; bare Pods and PodTemplates have no controller rolling them
// out.
var longRunningKinds = []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController"}

// issue is one finding of a workload check before it is placed: a field
// relative to the container or pod spec, the message's predicate and the
// automatic fix, if any, with paths from the object's root.
type issue struct {
	field   lint.Path
	message string
	fix     *lint.FixInfo
}

// workloadRules are the workload rules, in catalogue order.
var workloadRules = []*lint.Rule{
	readOnlyRootFilesystemRule,
	resourcesUnsetRule,
	imageLatestTagRule,
	imageNotDigestPinnedRule,
	automountServiceAccountTokenRule,
	defaultServiceAccountRule,
	probesMissingRule,
	envSecretLiteralRule,
}

var readOnlyRootFilesystemRule = &lint.Rule{
	ID:       "read-only-root-filesystem",
	Title:    "containers should run with a read-only root filesystem",
	Severity: lint.Low,
	Kinds:    workloadKinds,
	Since:    "v0.1.0",
	Doc: "A writable root filesystem lets an attacker who gets code execution in the container " +
		"download tools, drop binaries and change the application's own files or configuration, " +
		"and the change lives as long as the container. With `readOnlyRootFilesystem: true` the " +
		"image stays as built; the paths the application must write to (`/tmp`, caches) are " +
		"mounted as `emptyDir` volumes.\n\nWindows pods (`spec.os.name: windows`) are skipped: " +
		"Windows does not support the field.",
	Remediation: "Set securityContext.readOnlyRootFilesystem: true on the container and mount an emptyDir at each path it writes to.",
	Links:       []string{securityContextURL, nsaGuideURL},
	Before:      podExample{}.deployment(),
	After: podExample{
		pod:       "volumes:\n- name: tmp\n  emptyDir: {}\n",
		container: "volumeMounts:\n- name: tmp\n  mountPath: /tmp\n",
		sc:        defaultContainerSC + "readOnlyRootFilesystem: true\n",
	}.deployment(),
	Check: containerCheck(notEphemeral, checkReadOnlyRootFilesystem),
	Fix: "Sets securityContext.readOnlyRootFilesystem: true on the container; an application that writes " +
		"to its file system then needs an emptyDir mounted where it writes.",
	FixRisk: riskDoc(riskReadOnlyRootFilesystem),
}

var resourcesUnsetRule = &lint.Rule{
	ID:       "resources-unset",
	Title:    "containers should set cpu and memory requests and a memory limit",
	Severity: lint.Low,
	Kinds:    workloadKinds,
	Since:    "v0.1.0",
	Doc: "The scheduler places pods by their requests: a container without them can land on a node " +
		"that cannot run it, and is the first to be evicted under pressure. A container without a " +
		"memory limit can use all of the node's memory and take its neighbours down with it, which " +
		"also makes a memory leak or a denial of service in one workload an outage for others.\n\n" +
		"A request is taken as set when only the limit is written, since the API server then copies " +
		"the limit into the request; pod-level `spec.resources` counts for every container.",
	Remediation: "Set resources.requests.cpu, resources.requests.memory and resources.limits.memory on every container.",
	Links:       []string{resourcesURL, nsaGuideURL},
	Before:      podExample{}.deployment(),
	After: podExample{
		container: "resources:\n  requests:\n    cpu: 100m\n    memory: 128Mi\n  limits:\n    memory: 128Mi\n",
	}.deployment(),
	Check: containerCheck(notEphemeral, checkResources),
}

var imageLatestTagRule = &lint.Rule{
	ID:       "image-latest-tag",
	Title:    "images should not use the latest tag",
	Severity: lint.Medium,
	Kinds:    workloadKinds,
	Since:    "v0.1.0",
	Doc: "An image without a tag means `:latest`, and `:latest` points at whatever was pushed " +
		"last. Two nodes can run different code under the same manifest, a rollback rolls back " +
		"nothing, and a compromised or broken push reaches production at the next pod restart " +
		"without any change in the repository. Images pinned by digest are fine whatever their tag.",
	Remediation: "Pin the image to a version tag or, better, to a digest (@sha256:...).",
	Links:       []string{imagesURL, nsaGuideURL},
	Before:      withImage(podExample{}.deployment(), "registry.example.com/web:latest"),
	After:       podExample{}.deployment(),
	Check:       containerCheck(allContainers, checkImageLatest),
}

var imageNotDigestPinnedRule = &lint.Rule{
	ID:       "image-not-digest-pinned",
	Title:    "images should be pinned by digest",
	Severity: lint.Low,
	Off:      true,
	Kinds:    workloadKinds,
	Since:    "v0.1.0",
	Doc: "A tag is a mutable pointer: whoever can push to the registry can make `web:1.4.2` mean " +
		"different code tomorrow, and every node pulling it afterwards runs that code. A digest " +
		"(`@sha256:...`) names exactly one image, so what runs is what was reviewed. Off by default, " +
		"since it needs a process that updates digests (Renovate, Dependabot, image automation).",
	Remediation: "Reference the image by digest, as name:tag@sha256:digest, and let a bot update the digest.",
	Links:       []string{imagesURL, nsaGuideURL},
	Before:      podExample{}.deployment(),
	After:       withImage(podExample{}.deployment(), "registry.example.com/web:1.4.2@sha256:"+strings.Repeat("ab", 32)),
	Check:       containerCheck(allContainers, checkImageDigest),
}

var automountServiceAccountTokenRule = &lint.Rule{
	ID:       "automount-service-account-token",
	Title:    "pods should not mount an API token they have no RBAC for",
	Severity: lint.Low,
	Kinds:    workloadKinds,
	Since:    "v0.1.0",
	Doc: "Unless told otherwise, every pod gets a token for its service account mounted at " +
		"`/var/run/secrets/kubernetes.io/serviceaccount`. An attacker who gets code execution in " +
		"the pod can use it against the API server. When the repository grants the service account " +
		"nothing (no RoleBinding or ClusterRoleBinding names it, its namespace's " +
		"`system:serviceaccounts:<namespace>` group or `system:serviceaccounts`), the workload has " +
		"no use for the token and should not carry it.\n\nThe token is mounted when the pod does " +
		"not set `automountServiceAccountToken: false` and neither does the ServiceAccount object " +
		"in the repository (same namespace, the pod's `serviceAccountName` or `default`).\n\n" +
		"A chart linted on its own has no known namespace: there a subject matches by name when it " +
		"comes from the same render and its namespace is unknown too or is Helm's placeholder " +
		"`default`, what `{{ .Release.Namespace }}` renders to.",
	Remediation: "Set automountServiceAccountToken: false on the pod spec or on its ServiceAccount.",
	Links:       []string{automountURL, serviceAccountsURL, nsaGuideURL},
	Before:      podExample{pod: "serviceAccountName: web\n"}.deployment(),
	After:       podExample{pod: "serviceAccountName: web\nautomountServiceAccountToken: false\n"}.deployment(),
	Check:       podCheck(checkAutomountToken),
	Fix:         "Sets automountServiceAccountToken: false on the pod spec.",
	FixRisk:     riskDoc(riskAutomount),
}

var defaultServiceAccountRule = &lint.Rule{
	ID:       "default-service-account",
	Title:    "workloads should not run as the default service account",
	Severity: lint.Low,
	Kinds:    workloadKinds,
	Since:    "v0.1.0",
	Doc: "Every pod that names no service account runs as its namespace's `default` account, so " +
		"every such workload shares one identity: a permission granted to one of them is granted to " +
		"all, and audit logs cannot tell them apart. A dedicated service account per workload keeps " +
		"its RBAC to what it needs.",
	Remediation: "Create a ServiceAccount for the workload and set serviceAccountName to it.",
	Links:       []string{serviceAccountsURL, rbacPracticesURL},
	Before:      podExample{}.deployment(),
	After:       podExample{pod: "serviceAccountName: web\n"}.deployment(),
	Check:       podCheck(checkDefaultServiceAccount),
}

var probesMissingRule = &lint.Rule{
	ID:       "probes-missing",
	Title:    "long-running containers should have readiness and liveness probes",
	Severity: lint.Low,
	Since:    "v0.1.0",
	Doc: "Without a readiness probe a container receives traffic as soon as it starts and a " +
		"rollout proceeds even when the new version never becomes ready; without a liveness probe " +
		"a hung process is never restarted. Checked for the containers (and sidecar init " +
		"containers, `restartPolicy: Always`) of Deployments, StatefulSets, DaemonSets, ReplicaSets " +
		"and ReplicationControllers; Jobs, CronJobs and bare Pods run to completion or have no " +
		"rollout.",
	Remediation: "Add a readinessProbe and a livenessProbe to the container.",
	Links:       []string{probesURL, probesTaskURL},
	Kinds:       longRunningKinds,
	Before:      podExample{}.deployment(),
	After: podExample{
		container: "readinessProbe:\n  httpGet:\n    path: /ready\n    port: 8080\n" +
			"livenessProbe:\n  httpGet:\n    path: /healthz\n    port: 8080\n",
	}.deployment(),
	Check: containerCheck(longRunning, checkProbes),
}

var envSecretLiteralRule = &lint.Rule{
	ID: "env-secret-literal",
	// Its findings point at the credential itself.
	SecretValues: true,
	Title:        "env vars should not hold credentials in plain text",
	Severity:     lint.High,
	Kinds:        workloadKinds,
	Since:        "v0.1.0",
	Doc: "A credential written as an env var's `value` is in the repository, in its history and " +
		"forks, in every rendered manifest, CI log and `kubectl get -o yaml`, readable by anyone " +
		"who can read the workload, which is far more people than can read Secrets. A Secret " +
		"referenced with `valueFrom.secretKeyRef` keeps it out of all of them.\n\n" +
		"Reported are env vars whose name is a credential's (whole words of the name, split on " +
		"`_`: PASSWORD, PASSWD, SECRET, TOKEN, API_KEY, APIKEY, ACCESS_KEY, PRIVATE_KEY, CREDENTIAL(S), " +
		"AUTH; the `namePattern` option replaces this regular expression, and names matching the " +
		"`ignoreNamePattern` option, by default those ending in _NAME, _FILE, _PATH, _DIR, _URL, " +
		"_URI, _ENDPOINT, _HOST, _PORT, _MODE, _TYPE, _ENABLED or _REF, are skipped) with a " +
		"literal value that could be a credential (not a boolean, a number, a duration, an " +
		"absolute path, a URL without a password or a `$(VAR)` reference), and env vars of any " +
		"name whose value has the format of a known token: an AWS access key ID, a GitHub, " +
		"Slack or JWT token, a PEM private key or a URL with a password. Messages never " +
		"include the value.",
	Remediation: "Move the value into a Secret and reference it with valueFrom.secretKeyRef, then rotate the credential, since it has been in the repository.",
	Links:       []string{secretsURL, secretsPracticeURL, nsaGuideURL},
	Before:      podExample{container: "env:\n- name: DB_PASSWORD\n  value: hunter2\n"}.deployment(),
	After: podExample{
		container: "env:\n- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: web-db\n      key: password\n",
	}.deployment(),
	Check: containerCheck(allContainers, checkEnvSecrets),
	Options: []lint.Option{
		{Name: optionNamePattern, Validate: validatePattern},
		{Name: optionIgnoreNamePattern, Validate: validatePattern},
	},
}

// containerCheck is the Check of a workload rule about containers: it
// skips objects without a decodable pod template and reports each issue
// check finds in a container that only selects at the issue's field
// under the container, its message prefixed by the container and the
// workload it is about.
func containerCheck(only func(c podContainer) bool, check func(p *lint.Pass, pt *lint.PodTemplate, c podContainer) []issue) func(*lint.Pass, *lint.Object) {
	return func(p *lint.Pass, o *lint.Object) {
		pt, err := o.PodTemplate()
		if err != nil || pt == nil {
			return
		}
		for _, pc := range podContainers(pt) {
			if !only(pc) {
				continue
			}
			for _, is := range check(p, pt, pc) {
				p.Report(lint.Finding{Object: o, Field: pc.ref.Path.Append(is.field...),
					Message: containerLabel(pc) + " of " + objectLabel(o) + " " + is.message, Fix: is.fix})
			}
		}
	}
}

// podCheck is the Check of a workload rule about the pod as a whole: it
// skips objects without a decodable pod template and reports each issue
// check finds at the issue's field under the pod spec, its message
// prefixed by the pod it is about.
func podCheck(check func(p *lint.Pass, o *lint.Object, pt *lint.PodTemplate) []issue) func(*lint.Pass, *lint.Object) {
	return func(p *lint.Pass, o *lint.Object) {
		pt, err := o.PodTemplate()
		if err != nil || pt == nil {
			return
		}
		for _, is := range check(p, o, pt) {
			p.Report(lint.Finding{Object: o, Field: pt.SpecPath.Append(is.field...),
				Message: podLabel(o) + " " + is.message, Fix: is.fix})
		}
	}
}

// containerLabel names a container as messages do: `init container "migrate"`.
func containerLabel(c podContainer) string {
	noun := "container"
	switch c.ref.List {
	case lint.InitContainers:
		noun = "init container"
	case lint.EphemeralContainers:
		noun = "ephemeral container"
	}
	if c.ref.Name == "" {
		return fmt.Sprintf("%s at index %d", noun, c.index)
	}
	return fmt.Sprintf("%s %q", noun, c.ref.Name)
}

// podLabel names the pod a pod-level message is about: `pod "debug"` or
// `pod template of deployment "web"`.
func podLabel(o *lint.Object) string {
	if o.Resource.Kind == "Pod" {
		return objectLabel(o)
	}
	return "pod template of " + objectLabel(o)
}

// allContainers selects every container, ephemeral ones included.
func allContainers(podContainer) bool { return true }

func notEphemeral(c podContainer) bool { return c.ref.List != lint.EphemeralContainers }

// longRunning selects the regular containers and the sidecars, init
// containers with restartPolicy: Always, which run beside them.
func longRunning(c podContainer) bool {
	switch c.ref.List {
	case lint.Containers:
		return true
	case lint.InitContainers:
		rp := c.spec.RestartPolicy
		return rp != nil && *rp == corev1.ContainerRestartPolicyAlways
	}
	return false
}

// withImage replaces the image of a podExample deployment.
func withImage(manifest, image string) string {
	return strings.Replace(manifest, "image: registry.example.com/web:1.4.2", "image: "+image, 1)
}

func checkReadOnlyRootFilesystem(_ *lint.Pass, pt *lint.PodTemplate, c podContainer) []issue {
	if pt.Spec.OS != nil && pt.Spec.OS.Name == corev1.Windows {
		return nil
	}
	field := lint.Path{"securityContext", "readOnlyRootFilesystem"}
	sc := c.spec.SecurityContext
	switch {
	case sc == nil || sc.ReadOnlyRootFilesystem == nil:
		return []issue{{field, "does not set securityContext.readOnlyRootFilesystem: true", readOnlyRootFilesystemFix(c)}}
	case !*sc.ReadOnlyRootFilesystem:
		return []issue{{field, "sets securityContext.readOnlyRootFilesystem: false", readOnlyRootFilesystemFix(c)}}
	}
	return nil
}

// requiredResources are the resource items every container must have.
// A request is satisfied by a limit of the same resource, which the API
// server copies into the missing request.
var requiredResources = []struct {
	limit bool
	name  corev1.ResourceName
	noun  string
}{
	{false, corev1.ResourceCPU, "cpu request"},
	{false, corev1.ResourceMemory, "memory request"},
	{true, corev1.ResourceMemory, "memory limit"},
}

func checkResources(_ *lint.Pass, pt *lint.PodTemplate, c podContainer) []issue {
	has := func(rr *corev1.ResourceRequirements, limit bool, name corev1.ResourceName) bool {
		if rr == nil {
			return false
		}
		if _, ok := rr.Limits[name]; ok {
			return true
		}
		_, ok := rr.Requests[name]
		return !limit && ok
	}
	var out []issue
	for _, r := range requiredResources {
		if has(&c.spec.Resources, r.limit, r.name) || has(pt.Spec.Resources, r.limit, r.name) {
			continue
		}
		list := "requests"
		if r.limit {
			list = "limits"
		}
		out = append(out, issue{field: lint.Path{"resources", list, string(r.name)}, message: "has no " + r.noun})
	}
	return out
}

// splitImage cuts an image reference into its name, tag and digest; the
// tag's colon is the last one after the last slash, so a registry port is
// not mistaken for a tag.
func splitImage(image string) (name, tag, digest string) {
	name = image
	if i := strings.IndexByte(name, '@'); i >= 0 {
		name, digest = name[:i], name[i+1:]
	}
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		name, tag = name[:i], name[i+1:]
	}
	return name, tag, digest
}

func checkImageLatest(_ *lint.Pass, _ *lint.PodTemplate, c podContainer) []issue {
	image := c.spec.Image
	if image == "" {
		return nil
	}
	_, tag, digest := splitImage(image)
	switch {
	case digest != "":
		return nil
	case tag == "":
		return []issue{{lint.Path{"image"}, fmt.Sprintf("uses image %q without a tag, which means :latest", image), nil}}
	case tag == "latest":
		return []issue{{lint.Path{"image"}, fmt.Sprintf("uses image %q, whose :latest tag changes with every push", image), nil}}
	}
	return nil
}

var sha256DigestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

func checkImageDigest(_ *lint.Pass, _ *lint.PodTemplate, c podContainer) []issue {
	image := c.spec.Image
	if image == "" {
		return nil
	}
	if _, _, digest := splitImage(image); sha256DigestRE.MatchString(digest) {
		return nil
	}
	return []issue{{lint.Path{"image"}, fmt.Sprintf("uses image %q, which is not pinned by a @sha256 digest", image), nil}}
}

// serviceAccountName is the account the pod runs as: serviceAccountName,
// else the deprecated serviceAccount the API server still honours, else
// the namespace's default.
func serviceAccountName(spec *corev1.PodSpec) string {
	switch {
	case spec.ServiceAccountName != "":
		return spec.ServiceAccountName
	case spec.DeprecatedServiceAccount != "":
		return spec.DeprecatedServiceAccount
	}
	return "default"
}

func checkDefaultServiceAccount(_ *lint.Pass, _ *lint.Object, pt *lint.PodTemplate) []issue {
	if serviceAccountName(&pt.Spec) != "default" {
		return nil
	}
	field := "serviceAccountName"
	if pt.Spec.ServiceAccountName == "" && pt.Spec.DeprecatedServiceAccount != "" {
		field = "serviceAccount"
	}
	return []issue{{lint.Path{field}, "runs as its namespace's default service account", nil}}
}

func checkAutomountToken(p *lint.Pass, o *lint.Object, pt *lint.PodTemplate) []issue {
	if am := pt.Spec.AutomountServiceAccountToken; am != nil && !*am {
		return nil
	}
	ix := serviceAccounts(p)
	sa := namespacedName{o.Resource.Namespace, serviceAccountName(&pt.Spec)}
	if pt.Spec.AutomountServiceAccountToken == nil {
		if am := ix.automount[sa]; am != nil && !*am {
			return nil
		}
	}
	if ix.bound(scopeOf(o), sa) {
		return nil
	}
	fx := setFix("set automountServiceAccountToken: false on the pod", pt.SpecPath.Append("automountServiceAccountToken"), false)
	return []issue{{lint.Path{"automountServiceAccountToken"}, fmt.Sprintf(
		"mounts an API token for service account %q, which has no RBAC binding in the repo", sa.name),
		withRisk(fx, riskAutomount)}}
}

type namespacedName struct{ namespace, name string }

// renderScope is one render: a target as deployed by one GitOps object
// (or by none). Objects of one render share their release namespace,
// even where it is unknown.
type renderScope struct {
	target string
	via    lint.Via
}

func scopeOf(o *lint.Object) renderScope {
	s := renderScope{target: o.Target}
	if o.Via != nil {
		s.via = *o.Via
	}
	return s
}

// saSubject is a binding subject that names service accounts: one (name
// set) or every one of a namespace (name empty), with the namespace as
// written. unknownNamespace says that the namespace is not known: the
// subject leaves it out (a RoleBinding's is the binding's, and a chart
// linted on its own has none, since the driver clears Helm's placeholder),
// or it is the placeholder itself, "default", what
// {{ .Release.Namespace }} renders to in a chart that no GitOps object
// deploys.
type saSubject struct {
	scope            renderScope
	namespace, name  string
	unknownNamespace bool
}

// matches reports whether s binds service account sa of a workload
// rendered in scope: same name (or a group of every account), and the
// same namespace, known on both sides; within one render also when
// either namespace is unknown, since there both are the namespace the
// chart is installed in.
func (s saSubject) matches(scope renderScope, sa namespacedName) bool {
	if s.name != "" && s.name != sa.name {
		return false
	}
	if s.namespace != "" && s.namespace == sa.namespace {
		return true
	}
	return s.scope == scope && (s.unknownNamespace || sa.namespace == "")
}

// serviceAccountIndex is what the repository says about service accounts:
// the automount setting of each ServiceAccount object and the subjects of
// every RoleBinding and ClusterRoleBinding. Namespaces are compared as
// written; an object without one is in namespace "", which is unknown.
type serviceAccountIndex struct {
	automount map[namespacedName]*bool
	subjects  []saSubject // ServiceAccount subjects, system:serviceaccount:<ns>:<name> users, system:serviceaccounts:<ns> groups
	all       bool        // system:serviceaccounts is bound
}

func (ix *serviceAccountIndex) bound(scope renderScope, sa namespacedName) bool {
	return ix.all || slices.ContainsFunc(ix.subjects, func(s saSubject) bool { return s.matches(scope, sa) })
}

// serviceAccountIndexKey caches the index of a run's objects in Pass.Cached.
type serviceAccountIndexKey struct{}

func serviceAccounts(p *lint.Pass) *serviceAccountIndex {
	return p.Cached(serviceAccountIndexKey{}, func() any { return indexServiceAccounts(p.Objects) }).(*serviceAccountIndex)
}

const (
	serviceAccountUserPrefix  = "system:serviceaccount:"
	serviceAccountsGroup      = "system:serviceaccounts"
	serviceAccountGroupPrefix = serviceAccountsGroup + ":"
)

func indexServiceAccounts(objs []*lint.Object) *serviceAccountIndex {
	ix := &serviceAccountIndex{automount: map[namespacedName]*bool{}}
	for _, o := range objs {
		r := o.Resource
		group, _, _ := strings.Cut(r.APIVersion, "/")
		switch {
		case r.Kind == "ServiceAccount" && r.APIVersion == "v1":
			var sa corev1.ServiceAccount
			if o.Decode(&sa) == nil {
				ix.automount[namespacedName{r.Namespace, r.Name}] = sa.AutomountServiceAccountToken
			}
		case (r.Kind == "RoleBinding" || r.Kind == "ClusterRoleBinding") && group == rbacv1.GroupName:
			var b rbacv1.RoleBinding
			if o.Decode(&b) != nil {
				continue
			}
			scope := scopeOf(o)
			add := func(ns, name string) {
				ix.subjects = append(ix.subjects, saSubject{scope: scope, namespace: ns, name: name, unknownNamespace: unknownNamespace(o, ns)})
			}
			for _, s := range b.Subjects {
				switch s.Kind {
				case rbacv1.ServiceAccountKind:
					ns := s.Namespace
					if ns == "" && r.Kind == "RoleBinding" {
						ns = r.Namespace
					}
					add(ns, s.Name)
				case rbacv1.UserKind:
					if rest, ok := strings.CutPrefix(s.Name, serviceAccountUserPrefix); ok {
						if ns, name, ok := strings.Cut(rest, ":"); ok && name != "" {
							add(ns, name)
						}
					}
				case rbacv1.GroupKind:
					if s.Name == serviceAccountsGroup {
						ix.all = true
					} else if ns, ok := strings.CutPrefix(s.Name, serviceAccountGroupPrefix); ok {
						add(ns, "")
					}
				}
			}
		}
	}
	return ix
}

// unknownNamespace reports whether subject namespace ns of binding o
// names no known namespace: it is empty, or it is Helm's placeholder
// release namespace in a render that no GitOps object deploys and whose
// binding carries no namespace of its own (a ClusterRoleBinding, or a
// RoleBinding whose placeholder the driver cleared).
func unknownNamespace(o *lint.Object, ns string) bool {
	return ns == "" || ns == helmPlaceholderNamespace && o.Via == nil && o.Resource.Namespace == ""
}

// helmPlaceholderNamespace is the release namespace Helm renders a chart
// in when none is given.
const helmPlaceholderNamespace = "default"

// requiredProbes are the probes every long-running container must have.
var requiredProbes = []struct {
	field, noun string
	get         func(*corev1.Container) *corev1.Probe
}{
	{"readinessProbe", "readiness probe", func(c *corev1.Container) *corev1.Probe { return c.ReadinessProbe }},
	{"livenessProbe", "liveness probe", func(c *corev1.Container) *corev1.Probe { return c.LivenessProbe }},
}

func checkProbes(_ *lint.Pass, _ *lint.PodTemplate, c podContainer) []issue {
	var out []issue
	for _, pr := range requiredProbes {
		if pr.get(c.spec) == nil {
			out = append(out, issue{field: lint.Path{pr.field}, message: "has no " + pr.noun})
		}
	}
	return out
}

// The env-secret-literal options and their defaults.
const (
	optionNamePattern       = "namePattern"
	optionIgnoreNamePattern = "ignoreNamePattern"

	defaultCredentialNamePattern = `(?i)(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?|AUTH)(_|$)`
	defaultIgnoreNamePattern     = `(?i)_(NAME|FILE|PATH|DIR|URL|URI|ENDPOINT|HOST|PORT|MODE|TYPE|ENABLED|REF)$`
)

// tokenFormats are the values that are credentials whatever the env
// var's name, by their well-known shapes. Messages name the format, never
// the value.
var tokenFormats = []struct {
	name string
	re   *regexp.Regexp
}{
	{"AWS access key ID", regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"GitHub token", regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})`)},
	{"Slack token", regexp.MustCompile(`\bxox[baprs]-[A-Za-z0-9-]{10,}`)},
	{"private key", regexp.MustCompile(`-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----`)},
	{"JWT", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)},
	{"URL with a password", regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*:[^/\s@$][^/\s@]*@`)},
}

// notCredentialRE matches literal values that cannot be credentials, so a
// credential-like name with such a value is a setting, not a secret.
var notCredentialRE = regexp.MustCompile(`(?i)^(` +
	`true|false|yes|no|on|off|enabled?|disabled?|none|null` + // booleans
	`|[0-9]+(\.[0-9]+)?(ms|s|m|h|d)?` + // numbers and durations
	`|/\S*` + // absolute paths, such as a mounted secret file
	`|\$[({][A-Za-z_][A-Za-z0-9_.-]*[)}]` + // references to other variables
	`|[A-Za-z][A-Za-z0-9+.-]*://\S*` + // URLs, once tokenFormats found no password in them
	`)$`)

// envSecretPatterns are the compiled name patterns of env-secret-literal;
// a nil pattern matches nothing.
type envSecretPatterns struct {
	name, ignore *regexp.Regexp
}

// envSecretPatternsKey caches the patterns compiled from one pair of
// option values in Pass.Cached.
type envSecretPatternsKey struct {
	name, ignore       string
	nameSet, ignoreSet bool
}

// envSecretOptions compiles the rule's name patterns once per run. An
// option that is not a string or does not compile falls back to its
// default; the rule's Options reject it, when the config is loaded.
func envSecretOptions(p *lint.Pass) *envSecretPatterns {
	var k envSecretPatternsKey
	k.name, k.nameSet = patternOption(p.Option(optionNamePattern))
	k.ignore, k.ignoreSet = patternOption(p.Option(optionIgnoreNamePattern))
	return p.Cached(k, func() any {
		return &envSecretPatterns{
			name:   compilePattern(k.name, k.nameSet, defaultCredentialNamePattern),
			ignore: compilePattern(k.ignore, k.ignoreSet, defaultIgnoreNamePattern),
		}
	}).(*envSecretPatterns)
}

// patternOption reads a pattern option; ok is false when it is unset or
// not a string, which means the default.
func patternOption(v any) (pattern string, ok bool) {
	pattern, ok = v.(string)
	return pattern, ok
}

// compilePattern compiles a pattern option: unset or invalid means the
// default, and an empty string a pattern that matches nothing.
func compilePattern(pattern string, set bool, def string) *regexp.Regexp {
	if !set {
		return regexp.MustCompile(def)
	}
	if pattern == "" {
		return nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return regexp.MustCompile(def)
	}
	return re
}

func checkEnvSecrets(p *lint.Pass, _ *lint.PodTemplate, c podContainer) []issue {
	opts := envSecretOptions(p)
	var out []issue
	for i, e := range c.spec.Env {
		if e.Value == "" {
			continue
		}
		field := lint.Path{"env", selector(e.Name, i), "value"}
		if format := tokenFormat(e.Value); format != "" {
			out = append(out, issue{field: field, message: fmt.Sprintf("has a literal %s in env var %q", format, e.Name)})
			continue
		}
		if opts.name == nil || !opts.name.MatchString(e.Name) ||
			opts.ignore != nil && opts.ignore.MatchString(e.Name) ||
			notCredentialRE.MatchString(e.Value) {
			continue
		}
		out = append(out, issue{field: field, message: fmt.Sprintf("sets credential env var %q to a literal value", e.Name)})
	}
	return out
}

func tokenFormat(value string) string {
	for _, f := range tokenFormats {
		if f.re.MatchString(value) {
			return f.name
		}
	}
	return ""
}

func validatePattern(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("want a regular expression string, got %T", v)
	}
	if _, err := regexp.Compile(s); err != nil {
		return err
	}
	return nil
}
