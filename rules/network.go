package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
)

// Documentation of the network rules.
const (
	networkPoliciesURL = "https://kubernetes.io/docs/concepts/services-networking/network-policies/"
	defaultDenyURL     = networkPoliciesURL + "#default-policies"
	serviceURL         = "https://kubernetes.io/docs/concepts/services-networking/service/"
	ingressURL         = "https://kubernetes.io/docs/concepts/services-networking/ingress/"
)

// The two directions a NetworkPolicy can restrict, as policyTypes spells them.
const (
	dirIngress = "Ingress"
	dirEgress  = "Egress"
)

// networkPolicyDefaultDenyRule reports each namespace that the repo
// deploys workloads into (lint.IsWorkload kinds with a namespace) and that
// has, for ingress or for egress, no NetworkPolicy in the repo that
// selects every pod of the namespace for that direction without a rule
// that opens it to everyone (see openRule). Such a policy is a default
// deny for the direction: policies are additive, so pods then only get
// the traffic some policy allows. One finding per namespace and missing
// direction, on the namespace's first workload in source order.
// Workloads without a namespace are skipped: where they land is unknown.
var networkPolicyDefaultDenyRule = &lint.Rule{
	ID:    "network-policy-default-deny",
	Title: "namespaces with workloads must have default-deny network policies",
	Doc: "Without a NetworkPolicy selecting a pod, the pod accepts connections from, and opens connections " +
		"to, any address the cluster network reaches: every other pod in the cluster, the nodes and the " +
		"cloud metadata endpoint. A compromised pod can then move laterally anywhere. A default-deny " +
		"policy selects every pod of the namespace (`podSelector: {}`) for `Ingress` and `Egress`, so that " +
		"only the traffic that other policies explicitly allow gets through.\n\n" +
		"A namespace counts as covered in a direction when some NetworkPolicy in the repository for that " +
		"namespace selects all its pods for that direction and has no rule allowing all traffic in it; " +
		"its own allow rules (such as DNS egress) are fine, since policies add up. The rule reports " +
		"namespaces that the repository deploys workloads into, once per missing direction, on the first " +
		"workload. Network policies only take effect with a network plugin that enforces them.",
	Remediation: "Add a NetworkPolicy with podSelector: {} and policyTypes [Ingress, Egress] to the namespace, then allow the traffic each workload needs.",
	Links:       []string{defaultDenyURL, networkPoliciesURL, nsaGuideURL},
	Severity:    lint.Medium,
	Since:       "v0.1.0",
	Before: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.4.2
`,
	After: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: registry.example.com/web:1.4.2
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: shop
spec:
  podSelector: {}
  policyTypes:
  - Ingress
  - Egress
`,
	Fix: "Adds a NetworkPolicy named default-deny to the namespace that selects every pod and denies all ingress, " +
		"and all egress except DNS (port 53, UDP and TCP) to the kube-dns pods of kube-system.",
	FixRisk: riskDoc(riskDefaultDeny),
	Run:     runNetworkPolicyDefaultDeny,
}

func runNetworkPolicyDefaultDeny(p *lint.Pass) {
	type coverage struct{ ingress, egress bool }
	covered := map[string]*coverage{}
	first := map[string]*lint.Object{}
	policyNames := map[string][]string{} // namespace -> names of its NetworkPolicies
	for _, o := range p.Objects {
		ns := o.Resource.Namespace
		if ns == "" {
			continue
		}
		if lint.IsWorkload(o.Resource.Kind) {
			if cur, ok := first[ns]; !ok || sourceOrder(o, cur) < 0 {
				first[ns] = o
			}
			continue
		}
		if o.Resource.Kind == "NetworkPolicy" {
			policyNames[ns] = append(policyNames[ns], o.Resource.Name)
		}
		np, ok := decodeNetworkPolicy(o)
		if !ok || !selectsEverything(&np.Spec.PodSelector) {
			continue
		}
		c := covered[ns]
		if c == nil {
			c = &coverage{}
			covered[ns] = c
		}
		ingress, egress := policyDirections(&np.Spec)
		if ingress && !slices.ContainsFunc(np.Spec.Ingress, func(r networkingv1.NetworkPolicyIngressRule) bool {
			return openRule(r.From, r.Ports) != nil
		}) {
			c.ingress = true
		}
		if egress && !slices.ContainsFunc(np.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
			return openRule(r.To, r.Ports) != nil
		}) {
			c.egress = true
		}
	}
	namespaces := make([]string, 0, len(first))
	for ns := range first {
		namespaces = append(namespaces, ns)
	}
	slices.Sort(namespaces)
	for _, ns := range namespaces {
		c := cmp.Or(covered[ns], &coverage{})
		if c.ingress && c.egress {
			continue
		}
		o := first[ns]
		field := lint.Path{"metadata", "namespace"}
		// Both findings carry the same new object, which the planner adds once.
		var fx *lint.FixInfo
		note := ""
		if name, ok := defaultDenyPolicyName(policyNames[ns]); ok {
			fx = &lint.FixInfo{
				Description: fmt.Sprintf("add networkpolicy %q to namespace %q, denying all ingress and all egress but DNS", name, ns),
				New:         []*yaml.Node{defaultDenyPolicy(ns, name)},
				Risk:        riskDefaultDeny.class,
				RiskReason:  riskDefaultDeny.reason,
			}
		} else {
			note = fmt.Sprintf("; no automatic fix: networkpolicies %q and %q exist already", defaultDenyNames[0], defaultDenyNames[1])
		}
		for _, dir := range []struct {
			name    string
			covered bool
		}{{"ingress", c.ingress}, {"egress", c.egress}} {
			if dir.covered {
				continue
			}
			p.Report(lint.Finding{Object: o, Field: field, Key: dir.name, Fix: fx, Message: fmt.Sprintf(
				"namespace %q has no default-deny NetworkPolicy for %s (first workload: %s)%s", ns, dir.name, objectLabel(o), note)})
		}
	}
}

// defaultDenyNames are the names the fix gives its NetworkPolicy: the
// usual one, else one that cannot be mistaken for the user's.
var defaultDenyNames = []string{"default-deny", "default-deny-kubeharden"}

// defaultDenyPolicyName is the first of defaultDenyNames that no policy of
// the namespace has; ok is false when both are taken.
func defaultDenyPolicyName(taken []string) (name string, ok bool) {
	for _, n := range defaultDenyNames {
		if !slices.Contains(taken, n) {
			return n, true
		}
	}
	return "", false
}

// defaultDenyPolicy builds the NetworkPolicy the fix adds: every pod of
// the namespace, no ingress, and egress only to the cluster DNS (the
// kube-dns pods of kube-system, UDP and TCP port 53), without which every
// pod would lose name resolution. Keys are in the order people write
// them, and the node is built the same on every run.
func defaultDenyPolicy(namespace, name string) *yaml.Node {
	return yamlMap(
		"apiVersion", "networking.k8s.io/v1",
		"kind", "NetworkPolicy",
		"metadata", yamlMap("name", name, "namespace", namespace),
		"spec", yamlMap(
			"podSelector", &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle},
			"policyTypes", yamlSeq(yamlStr(dirIngress), yamlStr(dirEgress)),
			"egress", yamlSeq(yamlMap(
				"to", yamlSeq(yamlMap(
					"namespaceSelector", yamlMap("matchLabels", yamlMap(corev1.LabelMetadataName, metav1.NamespaceSystem)),
					"podSelector", yamlMap("matchLabels", yamlMap("k8s-app", "kube-dns")),
				)),
				"ports", yamlSeq(
					yamlMap("protocol", string(corev1.ProtocolUDP), "port", yamlInt(53)),
					yamlMap("protocol", string(corev1.ProtocolTCP), "port", yamlInt(53)),
				),
			)),
		),
	)
}

// yamlMap builds a mapping node from keys and values; a value is a
// *yaml.Node or a string.
func yamlMap(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		v, ok := kv[i+1].(*yaml.Node)
		if !ok {
			v = yamlStr(kv[i+1].(string))
		}
		n.Content = append(n.Content, yamlStr(kv[i].(string)), v)
	}
	return n
}

func yamlSeq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

func yamlStr(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func yamlInt(i int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(i)}
}

// sourceOrder orders objects by where they are written, then by target
// and identity, so "first" does not depend on rendering order.
func sourceOrder(a, b *lint.Object) int {
	la, lb := a.Location(nil), b.Location(nil)
	return cmp.Or(
		cmp.Compare(la.File, lb.File),
		cmp.Compare(la.Line, lb.Line),
		cmp.Compare(a.Target, b.Target),
		cmp.Compare(a.Resource.String(), b.Resource.String()),
	)
}

// decodeNetworkPolicy decodes a networking.k8s.io/v1 NetworkPolicy; ok is
// false for other objects and for ones that do not decode.
func decodeNetworkPolicy(o *lint.Object) (np networkingv1.NetworkPolicy, ok bool) {
	if o.Resource.Kind != "NetworkPolicy" || o.Resource.APIVersion != "networking.k8s.io/v1" {
		return np, false
	}
	return np, o.Decode(&np) == nil
}

// selectsEverything reports whether a label selector matches every object.
func selectsEverything(s *metav1.LabelSelector) bool {
	return s == nil || len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0
}

// policyDirections returns the directions a policy restricts, with the
// API server's default for an empty policyTypes: Ingress, plus Egress
// when the policy has egress rules.
func policyDirections(spec *networkingv1.NetworkPolicySpec) (ingress, egress bool) {
	if len(spec.PolicyTypes) == 0 {
		return true, len(spec.Egress) > 0
	}
	return slices.Contains(spec.PolicyTypes, dirIngress), slices.Contains(spec.PolicyTypes, dirEgress)
}

// openness says why a NetworkPolicy rule allows every address: which
// peer does (peer -1: the rule lists none) and which field of that peer.
type openness struct {
	peer  int
	field lint.Path
	why   string
}

// openRule reports whether an ingress or egress rule allows every address
// on every port, and why; nil means it does not. A rule is open when no
// port entry restricts it to a port (a port list restricts, so DNS-only
// egress to anywhere is not open) and it lists no peers, or one of its
// peers is empty, an ipBlock of a /0 CIDR, or an all-namespaces selector
// without a narrowing pod selector.
func openRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) *openness {
	if len(ports) > 0 && !slices.ContainsFunc(ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port == nil }) {
		return nil
	}
	if len(peers) == 0 {
		return &openness{peer: -1, why: "it lists no peers"}
	}
	for j, pe := range peers {
		switch {
		case pe.PodSelector == nil && pe.NamespaceSelector == nil && pe.IPBlock == nil:
			return &openness{peer: j, why: "an empty peer"}
		case pe.IPBlock != nil && strings.HasSuffix(strings.TrimSpace(pe.IPBlock.CIDR), "/0"):
			return &openness{peer: j, field: lint.Path{"ipBlock", "cidr"}, why: "ipBlock " + pe.IPBlock.CIDR}
		case pe.NamespaceSelector != nil && selectsEverything(pe.NamespaceSelector) &&
			(pe.PodSelector == nil || selectsEverything(pe.PodSelector)):
			return &openness{peer: j, field: lint.Path{"namespaceSelector"}, why: "every pod in every namespace"}
		}
	}
	return nil
}

// networkPolicyAllowAllRule reports NetworkPolicy ingress and egress rules
// that openRule finds open: they allow every source or destination on
// every port, and undo the isolation the policy exists for.
var networkPolicyAllowAllRule = &lint.Rule{
	ID:    "network-policy-allow-all",
	Title: "network policy rules must not allow all traffic",
	Doc: "NetworkPolicies are additive: once one rule allows a connection, no other policy can take it " +
		"back. An ingress rule without `from` (or with an empty peer, an `ipBlock` of `0.0.0.0/0` or " +
		"`::/0`, or a `namespaceSelector: {}` without a narrowing `podSelector`) and without `ports` admits " +
		"every source on every port, and an egress rule of the same shape lets the selected pods reach " +
		"any destination, which defeats a default-deny policy for those pods. Rules limited to ports, " +
		"such as DNS egress on port 53 to any address, are not reported.",
	Remediation: "Narrow the rule with from/to selectors for the peers that need access and with the ports they use.",
	Links:       []string{networkPoliciesURL, nsaGuideURL},
	Severity:    lint.Medium,
	Since:       "v0.1.0",
	Kinds:       []string{"NetworkPolicy"},
	Before: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes:
  - Ingress
  ingress:
  - {}
`,
	After: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  podSelector:
    matchLabels:
      app: web
  policyTypes:
  - Ingress
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: frontend
    ports:
    - port: 8080
`,
	Check: checkNetworkPolicyAllowAll,
}

func checkNetworkPolicyAllowAll(p *lint.Pass, o *lint.Object) {
	np, ok := decodeNetworkPolicy(o)
	if !ok {
		return
	}
	report := func(list, peerList, verb string, i int, op *openness) {
		field := lint.Path{"spec", list, ypath.Index(i)}
		if op.peer >= 0 {
			field = field.Append(peerList, ypath.Index(op.peer))
			field = field.Append(op.field...)
		}
		p.Reportf(o, field, "networkpolicy %q: %s[%d] allows traffic %s on every port (%s)", o.Resource.Name, list, i, verb, op.why)
	}
	for i, r := range np.Spec.Ingress {
		if op := openRule(r.From, r.Ports); op != nil {
			report("ingress", "from", "from any source", i, op)
		}
	}
	for i, r := range np.Spec.Egress {
		if op := openRule(r.To, r.Ports); op != nil {
			report("egress", "to", "to any destination", i, op)
		}
	}
}

// internalLBAnnotation is a cloud provider annotation that makes a
// LoadBalancer Service get a private address. Empty values means any value
// but "false" (the in-tree AWS provider's reading).
type internalLBAnnotation struct {
	key    string
	values []string
}

// internalLBAnnotations are the annotations that keep a LoadBalancer off
// the internet, compared case-insensitively.
var internalLBAnnotations = []internalLBAnnotation{
	{key: "service.beta.kubernetes.io/aws-load-balancer-internal"},
	{key: "service.beta.kubernetes.io/aws-load-balancer-scheme", values: []string{"internal"}},
	{key: "networking.gke.io/load-balancer-type", values: []string{"Internal"}},
	{key: "cloud.google.com/load-balancer-type", values: []string{"Internal"}},
	{key: "service.beta.kubernetes.io/azure-load-balancer-internal", values: []string{"true"}},
	{key: "service.beta.kubernetes.io/oci-load-balancer-internal", values: []string{"true"}},
	{key: "service.beta.kubernetes.io/openstack-internal-load-balancer", values: []string{"true"}},
	{key: "service.kubernetes.io/ibm-load-balancer-cloud-provider-ip-type", values: []string{"private"}},
	{key: "service.beta.kubernetes.io/alibaba-cloud-loadbalancer-address-type", values: []string{"intranet"}},
}

// lbSourceRangesAnnotation is the older spelling of
// spec.loadBalancerSourceRanges, still honoured by cloud providers.
const lbSourceRangesAnnotation = "service.beta.kubernetes.io/load-balancer-source-ranges"

// serviceExposedRule reports core v1 Services of type NodePort, and of
// type LoadBalancer that are neither internal (internalLBAnnotations) nor
// limited by source ranges, or whose source ranges include a /0 CIDR.
var serviceExposedRule = &lint.Rule{
	ID:    "service-exposed",
	Title: "services must not be exposed on node ports or open load balancers",
	Doc: "A NodePort Service listens on a port of every node's address, outside the reach of Ingress " +
		"controllers, and often of firewalls that only expect the API server and the load balancers. A " +
		"LoadBalancer Service gets a public address from the cloud provider, reachable from the whole " +
		"internet unless `spec.loadBalancerSourceRanges` limits the clients or a provider annotation " +
		"makes the load balancer internal (for example `service.beta.kubernetes.io/aws-load-balancer-internal: \"true\"`, " +
		"`networking.gke.io/load-balancer-type: Internal` or `service.beta.kubernetes.io/azure-load-balancer-internal: \"true\"`).",
	Remediation: "Use type ClusterIP behind an Ingress or Gateway, or limit a LoadBalancer with spec.loadBalancerSourceRanges or make it internal.",
	Links: []string{
		serviceURL + "#type-nodeport",
		serviceURL + "#loadbalancer",
		"https://kubernetes.io/docs/tasks/access-application-cluster/configure-cloud-provider-firewall/",
		nsaGuideURL,
	},
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Kinds:    []string{"Service"},
	Before: `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  selector:
    app: web
  ports:
  - port: 443
    targetPort: 8443
`,
	After: `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  loadBalancerSourceRanges:
  - 203.0.113.0/24
  selector:
    app: web
  ports:
  - port: 443
    targetPort: 8443
`,
	Check: checkServiceExposed,
}

func checkServiceExposed(p *lint.Pass, o *lint.Object) {
	var svc corev1.Service
	if o.Resource.APIVersion != "v1" || o.Decode(&svc) != nil {
		return
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		p.Reportf(o, lint.Path{"spec", "type"}, "service %q is of type NodePort, which opens its ports on every node", o.Resource.Name)
	case corev1.ServiceTypeLoadBalancer:
		if internalLoadBalancer(svc.Annotations) {
			return
		}
		field := lint.Path{"spec", "loadBalancerSourceRanges"}
		ranges := svc.Spec.LoadBalancerSourceRanges
		if len(ranges) == 0 {
			if a := strings.TrimSpace(svc.Annotations[lbSourceRangesAnnotation]); a != "" {
				field = lint.Path{"metadata", "annotations", lbSourceRangesAnnotation}
				ranges = strings.Split(a, ",")
			}
		}
		if len(ranges) == 0 {
			p.Reportf(o, field, "service %q is a public load balancer open to every address: set loadBalancerSourceRanges or make it internal", o.Resource.Name)
			return
		}
		for _, r := range ranges {
			if r = strings.TrimSpace(r); strings.HasSuffix(r, "/0") {
				if field[0] == "spec" {
					field = field.Append(ypath.Elem("", r))
				}
				p.Reportf(o, field, "service %q is a public load balancer whose source range %s admits every address", o.Resource.Name, r)
				return
			}
		}
	}
}

// internalLoadBalancer reports whether annotations make a LoadBalancer
// Service internal (internalLBAnnotations).
func internalLoadBalancer(annotations map[string]string) bool {
	for _, a := range internalLBAnnotations {
		v, ok := annotations[a.key]
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(a.values) == 0 && v != "" && !strings.EqualFold(v, "false") {
			return true
		}
		if slices.ContainsFunc(a.values, func(want string) bool { return strings.EqualFold(v, want) }) {
			return true
		}
	}
	return false
}

// ingressTLSMissingRule reports Ingresses without spec.tls, and rule
// hosts that no spec.tls entry covers: an exact host, a wildcard
// "*.example.com" for a host one label deeper, or an entry without hosts
// (the controller's default certificate) covers a host.
var ingressTLSMissingRule = &lint.Rule{
	ID:    "ingress-tls-missing",
	Title: "ingresses must serve their hosts over TLS",
	Doc: "An Ingress without TLS serves its hosts over plain HTTP: credentials, session cookies and data " +
		"cross the network readable and modifiable by anyone on the path. Each host of the Ingress rules " +
		"should be listed in a `spec.tls` entry whose secret holds its certificate (cert-manager can issue " +
		"it). A host missing from every `tls` entry is served without the certificate, over HTTP or with the " +
		"controller's default certificate.",
	Remediation: "Add a spec.tls entry listing every rule host, with a secretName holding the certificate.",
	Links:       []string{ingressURL + "#tls", nsaGuideURL},
	Severity:    lint.Medium,
	Since:       "v0.1.0",
	Kinds:       []string{"Ingress"},
	Before: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
`,
	After: `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
spec:
  tls:
  - hosts:
    - shop.example.com
    secretName: shop-example-com-tls
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
`,
	Check: checkIngressTLSMissing,
}

// ingressAPIVersions are the API versions whose Ingress has the tls and
// rules fields of networking.k8s.io/v1.
var ingressAPIVersions = []string{"networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"}

func checkIngressTLSMissing(p *lint.Pass, o *lint.Object) {
	var ing networkingv1.Ingress
	if !slices.Contains(ingressAPIVersions, o.Resource.APIVersion) || o.Decode(&ing) != nil {
		return
	}
	if len(ing.Spec.TLS) == 0 {
		var hosts []string
		for _, r := range ing.Spec.Rules {
			if r.Host != "" && !slices.Contains(hosts, r.Host) {
				hosts = append(hosts, r.Host)
			}
		}
		if len(hosts) == 0 {
			p.Reportf(o, lint.Path{"spec", "tls"}, "ingress %q has no spec.tls, so it serves plain HTTP", o.Resource.Name)
			return
		}
		p.Reportf(o, lint.Path{"spec", "tls"}, "ingress %q serves %s over plain HTTP: it has no spec.tls", o.Resource.Name, listNames(hosts))
		return
	}
	rules := o.Get(lint.Path{"spec", "rules"})
	for i, r := range ing.Spec.Rules {
		if r.Host == "" || tlsCovers(ing.Spec.TLS, r.Host) {
			continue
		}
		field := lint.Path{"spec", "rules", elemSegment(rules, i, "host"), "host"}
		p.Reportf(o, field, "ingress %q serves host %q without TLS: no spec.tls entry lists it", o.Resource.Name, r.Host)
	}
}

// tlsCovers reports whether a spec.tls entry covers host (see
// ingressTLSMissingRule).
func tlsCovers(tls []networkingv1.IngressTLS, host string) bool {
	for _, t := range tls {
		if len(t.Hosts) == 0 {
			return true
		}
		for _, h := range t.Hosts {
			if strings.EqualFold(h, host) {
				return true
			}
			if suffix, ok := strings.CutPrefix(h, "*."); ok {
				if _, rest, ok := strings.Cut(host, "."); ok && !strings.HasPrefix(host, "*.") && strings.EqualFold(rest, suffix) {
					return true
				}
			}
		}
	}
	return false
}
