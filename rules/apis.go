package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	kjson "sigs.k8s.io/json"

	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
)

// deprecationGuideURL is the Kubernetes deprecated API migration guide.
const deprecationGuideURL = "https://kubernetes.io/docs/reference/using-api/deprecation-guide/"

// apiLifecycle is when Kubernetes deprecated, and stopped serving, the
// kinds of one API version. Versions are minor versions of Kubernetes 1.x.
type apiLifecycle struct {
	apiVersion string
	kinds      []string
	// deprecated is the first release that warns about the API.
	deprecated int
	// removed is the first release that no longer serves it; 0 when it is
	// deprecated but still served.
	removed int
	// use is what to write instead.
	use string
}

// podSecurityAdmission replaces PodSecurityPolicy, which has no successor
// API version.
const podSecurityAdmission = "Pod Security admission (namespace labels)"

// apiLifecycles are the deprecated and removed built-in API versions a
// GitOps repository is likely to hold, from the Kubernetes deprecated API
// migration guide; TestAPILifecyclesMatchUpstream checks the versions
// against the lifecycle k8s.io/api declares for the types it still has.
// Alpha and beta APIs that are off by default are left out.
var apiLifecycles = []apiLifecycle{
	{"extensions/v1beta1", []string{"DaemonSet", "Deployment", "ReplicaSet"}, 8, 16, "apps/v1"},
	{"extensions/v1beta1", []string{"NetworkPolicy"}, 9, 16, "networking.k8s.io/v1"},
	{"extensions/v1beta1", []string{"PodSecurityPolicy"}, 10, 16, podSecurityAdmission},
	{"extensions/v1beta1", []string{"Ingress"}, 14, 22, "networking.k8s.io/v1"},
	{"apps/v1beta1", []string{"ControllerRevision", "Deployment", "StatefulSet"}, 8, 16, "apps/v1"},
	{"apps/v1beta2", []string{"ControllerRevision", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"}, 9, 16, "apps/v1"},
	{"admissionregistration.k8s.io/v1beta1", []string{"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}, 16, 22, "admissionregistration.k8s.io/v1"},
	{"apiextensions.k8s.io/v1beta1", []string{"CustomResourceDefinition"}, 16, 22, "apiextensions.k8s.io/v1"},
	{"apiregistration.k8s.io/v1beta1", []string{"APIService"}, 19, 22, "apiregistration.k8s.io/v1"},
	{"certificates.k8s.io/v1beta1", []string{"CertificateSigningRequest"}, 19, 22, "certificates.k8s.io/v1"},
	{"coordination.k8s.io/v1beta1", []string{"Lease"}, 19, 22, "coordination.k8s.io/v1"},
	{"networking.k8s.io/v1beta1", []string{"Ingress", "IngressClass"}, 19, 22, "networking.k8s.io/v1"},
	{"rbac.authorization.k8s.io/v1beta1", []string{"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}, 17, 22, "rbac.authorization.k8s.io/v1"},
	{"scheduling.k8s.io/v1beta1", []string{"PriorityClass"}, 14, 22, "scheduling.k8s.io/v1"},
	{"storage.k8s.io/v1beta1", []string{"CSINode"}, 17, 22, "storage.k8s.io/v1"},
	{"storage.k8s.io/v1beta1", []string{"CSIDriver", "StorageClass", "VolumeAttachment"}, 19, 22, "storage.k8s.io/v1"},
	{"batch/v1beta1", []string{"CronJob"}, 21, 25, "batch/v1"},
	{"discovery.k8s.io/v1beta1", []string{"EndpointSlice"}, 21, 25, "discovery.k8s.io/v1"},
	{"events.k8s.io/v1beta1", []string{"Event"}, 22, 25, "events.k8s.io/v1"},
	{"autoscaling/v2beta1", []string{"HorizontalPodAutoscaler"}, 22, 25, "autoscaling/v2"},
	{"policy/v1beta1", []string{"PodDisruptionBudget"}, 21, 25, "policy/v1"},
	{"policy/v1beta1", []string{"PodSecurityPolicy"}, 21, 25, podSecurityAdmission},
	{"node.k8s.io/v1beta1", []string{"RuntimeClass"}, 22, 25, "node.k8s.io/v1"},
	{"autoscaling/v2beta2", []string{"HorizontalPodAutoscaler"}, 23, 26, "autoscaling/v2"},
	{"flowcontrol.apiserver.k8s.io/v1beta1", []string{"FlowSchema", "PriorityLevelConfiguration"}, 23, 26, "flowcontrol.apiserver.k8s.io/v1 (v1beta3 before v1.29)"},
	{"storage.k8s.io/v1beta1", []string{"CSIStorageCapacity"}, 24, 27, "storage.k8s.io/v1"},
	{"flowcontrol.apiserver.k8s.io/v1beta2", []string{"FlowSchema", "PriorityLevelConfiguration"}, 26, 29, "flowcontrol.apiserver.k8s.io/v1 (v1beta3 before v1.29)"},
	{"flowcontrol.apiserver.k8s.io/v1beta3", []string{"FlowSchema", "PriorityLevelConfiguration"}, 29, 32, "flowcontrol.apiserver.k8s.io/v1"},
	{"v1", []string{"Endpoints"}, 33, 0, "discovery.k8s.io/v1 EndpointSlice"},
}

// lifecycleKinds are the kinds apiLifecycles names, sorted.
func lifecycleKinds(ls []apiLifecycle) []string {
	var kinds []string
	for _, l := range ls {
		kinds = append(kinds, l.kinds...)
	}
	slices.Sort(kinds)
	return slices.Compact(kinds)
}

// deprecatedAPIRule reports objects whose apiVersion and kind are
// deprecated or removed at the target Kubernetes version (any release
// when none is configured). One rule covers both: a removed API is
// rejected by the API server, a deprecated one will be, and the message
// says which.
var deprecatedAPIRule = &lint.Rule{
	ID:    "deprecated-api",
	Title: "objects must not use deprecated or removed API versions",
	Doc: "Kubernetes deprecates beta API versions once a stable version exists and stops serving them " +
		"a few releases later. A manifest that uses a removed version fails to apply after the cluster " +
		"upgrade, often in the middle of a rollout; one that uses a deprecated version gets warnings now " +
		"and fails later. The new version may change defaults and field names, so migrating is best done " +
		"before the upgrade.\n\n" +
		"The rule checks against the configured Kubernetes version (`kubernetesVersion` in the config); " +
		"without one it reports every deprecated API it knows, as the newest release would. The table " +
		"follows the deprecated API migration guide.",
	Remediation: "Change the apiVersion to the replacement the message names and migrate the fields that changed.",
	Links:       []string{deprecationGuideURL, "https://kubernetes.io/docs/reference/using-api/deprecation-policy/"},
	Severity:    lint.High,
	Since:       "v0.1.0",
	Kinds:       lifecycleKinds(apiLifecycles),
	Before: `apiVersion: batch/v1beta1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: report
            image: registry.example.com/report:2.0.1
`,
	After: `apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: report
            image: registry.example.com/report:2.0.1
`,
	Check: checkDeprecatedAPI,
}

func checkDeprecatedAPI(p *lint.Pass, o *lint.Object) {
	target, known := 0, false
	if v := emulationVersion(p.Settings.KubernetesVersion); v != nil {
		target, known = v.Minor(), true
	}
	for _, l := range apiLifecycles {
		if l.apiVersion != o.Resource.APIVersion || !slices.Contains(l.kinds, o.Resource.Kind) {
			continue
		}
		if known && target < l.deprecated {
			return
		}
		what := fmt.Sprintf("%s %s (%s)", o.Resource.APIVersion, o.Resource.Kind, objectLabel(o))
		suffix := ""
		if known {
			suffix = fmt.Sprintf(" (target v1.%d)", target)
		}
		field := lint.Path{"apiVersion"}
		switch {
		case l.removed > 0 && (!known || target >= l.removed):
			p.Reportf(o, field, "%s was removed in v1.%d; use %s%s", what, l.removed, l.use, suffix)
		case l.removed > 0:
			p.Reportf(o, field, "%s is deprecated since v1.%d and removed in v1.%d; use %s%s", what, l.deprecated, l.removed, l.use, suffix)
		default:
			p.Reportf(o, field, "%s is deprecated since v1.%d; use %s%s", what, l.deprecated, l.use, suffix)
		}
		return
	}
}

// builtinType is the Go type of one built-in apiVersion and kind.
type builtinType struct {
	apiVersion, kind string
	typ              reflect.Type
}

// builtinTypes are the built-in kinds invalid-object decodes strictly:
// the stable versions of the kinds GitOps repositories hold.
var builtinTypes = []builtinType{
	{"v1", "ConfigMap", reflect.TypeFor[corev1.ConfigMap]()},
	//lint:ignore SA1019 invalid-object decodes this deprecated kind on purpose: repositories still hold it
	{"v1", "Endpoints", reflect.TypeFor[corev1.Endpoints]()},
	{"v1", "LimitRange", reflect.TypeFor[corev1.LimitRange]()},
	{"v1", "Namespace", reflect.TypeFor[corev1.Namespace]()},
	{"v1", "PersistentVolume", reflect.TypeFor[corev1.PersistentVolume]()},
	{"v1", "PersistentVolumeClaim", reflect.TypeFor[corev1.PersistentVolumeClaim]()},
	{"v1", "Pod", reflect.TypeFor[corev1.Pod]()},
	{"v1", "PodTemplate", reflect.TypeFor[corev1.PodTemplate]()},
	{"v1", "ReplicationController", reflect.TypeFor[corev1.ReplicationController]()},
	{"v1", "ResourceQuota", reflect.TypeFor[corev1.ResourceQuota]()},
	{"v1", "Secret", reflect.TypeFor[corev1.Secret]()},
	{"v1", "Service", reflect.TypeFor[corev1.Service]()},
	{"v1", "ServiceAccount", reflect.TypeFor[corev1.ServiceAccount]()},
	{"apps/v1", "ControllerRevision", reflect.TypeFor[appsv1.ControllerRevision]()},
	{"apps/v1", "DaemonSet", reflect.TypeFor[appsv1.DaemonSet]()},
	{"apps/v1", "Deployment", reflect.TypeFor[appsv1.Deployment]()},
	{"apps/v1", "ReplicaSet", reflect.TypeFor[appsv1.ReplicaSet]()},
	{"apps/v1", "StatefulSet", reflect.TypeFor[appsv1.StatefulSet]()},
	{"batch/v1", "CronJob", reflect.TypeFor[batchv1.CronJob]()},
	{"batch/v1", "Job", reflect.TypeFor[batchv1.Job]()},
	{"networking.k8s.io/v1", "Ingress", reflect.TypeFor[networkingv1.Ingress]()},
	{"networking.k8s.io/v1", "IngressClass", reflect.TypeFor[networkingv1.IngressClass]()},
	{"networking.k8s.io/v1", "NetworkPolicy", reflect.TypeFor[networkingv1.NetworkPolicy]()},
	{"rbac.authorization.k8s.io/v1", "ClusterRole", reflect.TypeFor[rbacv1.ClusterRole]()},
	{"rbac.authorization.k8s.io/v1", "ClusterRoleBinding", reflect.TypeFor[rbacv1.ClusterRoleBinding]()},
	{"rbac.authorization.k8s.io/v1", "Role", reflect.TypeFor[rbacv1.Role]()},
	{"rbac.authorization.k8s.io/v1", "RoleBinding", reflect.TypeFor[rbacv1.RoleBinding]()},
	{"policy/v1", "PodDisruptionBudget", reflect.TypeFor[policyv1.PodDisruptionBudget]()},
	{"autoscaling/v1", "HorizontalPodAutoscaler", reflect.TypeFor[autoscalingv1.HorizontalPodAutoscaler]()},
	{"autoscaling/v2", "HorizontalPodAutoscaler", reflect.TypeFor[autoscalingv2.HorizontalPodAutoscaler]()},
	{"discovery.k8s.io/v1", "EndpointSlice", reflect.TypeFor[discoveryv1.EndpointSlice]()},
	{"scheduling.k8s.io/v1", "PriorityClass", reflect.TypeFor[schedulingv1.PriorityClass]()},
	{"storage.k8s.io/v1", "StorageClass", reflect.TypeFor[storagev1.StorageClass]()},
	{"admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", reflect.TypeFor[admissionregistrationv1.MutatingWebhookConfiguration]()},
	{"admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", reflect.TypeFor[admissionregistrationv1.ValidatingWebhookConfiguration]()},
}

// lookupBuiltin returns the Go type of a builtinTypes kind, or nil.
func lookupBuiltin(apiVersion, kind string) reflect.Type {
	for _, t := range builtinTypes {
		if t.apiVersion == apiVersion && t.kind == kind {
			return t.typ
		}
	}
	return nil
}

// invalidObjectRule decodes each object of a builtinTypes kind strictly,
// as the API server does with field validation Strict (the decoder is the
// API server's, sigs.k8s.io/json), and reports every unknown field at its
// own path; when decoding fails outright it reports only that: the first
// value of a wrong type at its path, or else the decoder's error on the
// object (never for a Secret, whose errors could quote a value).
var invalidObjectRule = &lint.Rule{
	ID:    "invalid-object",
	Title: "objects must decode as their kind",
	Doc: "A misspelled or misplaced field is silently dropped by a lenient client, and the setting it was " +
		"meant to apply never takes effect: an `imagePullPolcy`, a `securityContext` one level too deep, a " +
		"`readOnlyRootFileSystem`. With strict field validation, which current kubectl versions request by " +
		"default, the API server rejects the object instead, at deploy time. Values of the wrong type, such " +
		"as a quoted `replicas` or a numeric label value, are always rejected.\n\n" +
		"The rule decodes the stable built-in kinds with the API server's own strict JSON decoder, and " +
		"reports unknown fields with the closest known name. In objects of every kind, custom resources " +
		"included, it reports a key written twice in one mapping (two `securityContext:` in one pod spec), " +
		"which strict decoding rejects and lenient clients resolve by silently keeping one value; the other " +
		"rules judge such an object as the API server reads it, by its last value.",
	Remediation: "Fix the field name, its place or its type to what the API version of the kind defines.",
	Links: []string{
		"https://kubernetes.io/docs/reference/using-api/api-concepts/#field-validation",
		"https://kubernetes.io/docs/reference/kubernetes-api/",
	},
	Severity: lint.High,
	Since:    "v0.1.0",
	Before: `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetport: 8080
`,
	After: `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
`,
	// Duplicate keys are checked in every kind; strict decoding in the
	// built-in kinds (checkInvalidObject).
	Run: func(p *lint.Pass) {
		for _, o := range p.Objects {
			if p.Reports(o) {
				checkInvalidObject(p, o)
			}
		}
	},
}

func checkInvalidObject(p *lint.Pass, o *lint.Object) {
	reportDuplicateKeys(p, o)
	t := lookupBuiltin(o.Resource.APIVersion, o.Resource.Kind)
	if t == nil {
		return
	}
	var raw json.RawMessage
	if err := o.Decode(&raw); err != nil {
		return // not JSON-compatible YAML: the renderer reports it
	}
	strict, err := kjson.UnmarshalStrict(raw, reflect.New(t).Interface())
	if err != nil {
		reportDecodeError(p, o, t, raw, err)
		return
	}
	for _, e := range strict {
		var fe kjson.FieldError
		if !errors.As(e, &fe) {
			continue
		}
		field, err := ypath.Parse(fe.FieldPath())
		if err != nil || len(field) == 0 {
			continue
		}
		field = namedPath(o.Node, field)
		parent, name := field[:len(field)-1], field[len(field)-1]
		where := "at the top level"
		if len(parent) > 0 {
			where = "in " + parent.String()
		}
		if strings.HasPrefix(e.Error(), "duplicate field") {
			p.Reportf(o, field, "%s sets field %q twice %s", objectLabel(o), name, where)
			continue
		}
		msg := fmt.Sprintf("%s: %s %s has no field %q %s", objectLabel(o), o.Resource.APIVersion, o.Resource.Kind, name, where)
		if s := closestField(fieldsAt(t, parent), name); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		p.Report(lint.Finding{Object: o, Field: field, Message: msg})
	}
}

// reportDuplicateKeys reports each key an object has twice in one
// mapping, of any kind: the API server's strict decoding rejects the
// object, and lenient clients keep one of the values silently. The
// finding is at the later key when the object's text is the source file
// (a manifest), else where the mapping is written.
func reportDuplicateKeys(p *lint.Pass, o *lint.Object) {
	for _, d := range o.Duplicates {
		parent, name := d.Path[:len(d.Path)-1], d.Path[len(d.Path)-1]
		where := "at the top level"
		if len(parent) > 0 {
			where = "in " + parent.String()
		}
		at := o.Location(parent)
		if at.Origin == lint.OriginManifest && at.Known() {
			at.Line, at.Column = d.Key.Line, d.Key.Column
		}
		p.Report(lint.Finding{Object: o, Field: d.Path, Location: at,
			Message: fmt.Sprintf("%s sets field %q twice %s; the API server rejects it, and lenient clients keep only one of the values", objectLabel(o), name, where)})
	}
}

// reportDecodeError reports an error that is not about unknown fields. A
// value of the wrong type is located by the standard decoder, which names
// its field path; other errors (a bad quantity, a bad base64 value) come
// from custom decoders that do not say where.
func reportDecodeError(p *lint.Pass, o *lint.Object, t reflect.Type, raw json.RawMessage, err error) {
	what := o.Resource.APIVersion + " " + o.Resource.Kind
	var te *json.UnmarshalTypeError
	if errors.As(json.Unmarshal(raw, reflect.New(t).Interface()), &te) && te.Type != nil {
		got, _, _ := strings.Cut(te.Value, " ")
		var names []string
		if te.Field != "" {
			names = strings.Split(te.Field, ".")
		}
		if field, ok := locateValue(o.Node, names, got, nil); ok {
			field = namedPath(o.Node, field)
			p.Reportf(o, field, "%s: %s is %s, but %s wants %s", objectLabel(o), field, jsonNoun(got), what, goTypeNoun(te.Type))
			return
		}
	}
	if o.Resource.Kind == "Secret" {
		// Decoder errors may quote values; a Secret's must not be shown.
		p.Reportf(o, nil, "%s does not decode as %s", objectLabel(o), what)
		return
	}
	p.Reportf(o, nil, "%s does not decode as %s: %v", objectLabel(o), what, err)
}

// jsonKind is the JSON type name of a YAML node as encoding/json's
// UnmarshalTypeError spells it: string, number, bool, array or object.
func jsonKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "object"
	case yaml.SequenceNode:
		return "array"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "number"
		case "!!bool":
			return "bool"
		case "!!null":
			return "null"
		}
		return "string"
	}
	return ""
}

// locateValue finds, in document order, the first node of JSON type kind
// along the dotted field names from n, trying every element of the lists
// on the way, since encoding/json's field paths carry no list indices and
// name embedded structs by their Go type name. At
// the end of the names it also looks one level into a mapping or list: the
// path then names a map or slice whose element has the wrong type.
func locateValue(n *yaml.Node, names []string, kind string, at lint.Path) (lint.Path, bool) {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil, false
	}
	if len(names) == 0 {
		if jsonKind(n) == kind {
			return at, true
		}
	}
	switch n.Kind {
	case yaml.MappingNode:
		if len(names) == 0 {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if jsonKind(n.Content[i+1]) == kind {
					return at.Append(n.Content[i].Value), true
				}
			}
			return nil, false
		}
		if _, v := ypath.Lookup(n, names[0]); v != nil {
			return locateValue(v, names[1:], kind, at.Append(names[0]))
		}
		if r := names[0][0]; 'A' <= r && r <= 'Z' {
			// An embedded struct's Go name (VolumeSource, ProbeHandler): its
			// fields are inlined in JSON.
			return locateValue(n, names[1:], kind, at)
		}
	case yaml.SequenceNode:
		for i, e := range n.Content {
			if len(names) == 0 {
				if jsonKind(e) == kind {
					return at.Append(ypath.Index(i)), true
				}
				continue
			}
			if p, ok := locateValue(e, names, kind, at.Append(ypath.Index(i))); ok {
				return p, true
			}
		}
	}
	return nil, false
}

// namedPath rewrites the index segments of p that select mapping elements
// with a unique name into name selectors: containers[1] becomes
// containers[name=web], the spelling the other rules use.
func namedPath(root *yaml.Node, p lint.Path) lint.Path {
	out := make(lint.Path, 0, len(p))
	for _, seg := range p {
		if i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(seg, "["), "]")); err == nil && strings.HasPrefix(seg, "[") {
			if m := ypath.Walk(root, out); m.Depth == len(out) {
				seg = elemSegment(m.Value, i, "name")
			}
		}
		out = append(out, seg)
	}
	return out
}

// jsonNoun names a JSON type (as jsonKind spells it) for messages.
func jsonNoun(kind string) string {
	switch kind {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "bool":
		return "a boolean"
	case "number":
		return "a number"
	}
	return "a " + kind
}

// goTypeNoun says what JSON a Go type decodes from, for messages.
func goTypeNoun(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping"
	}
	return t.String()
}

// fieldsAt returns the JSON field names of the struct that path p leads
// to from type t, or nil when p does not lead to a struct.
func fieldsAt(t reflect.Type, p lint.Path) []string {
	for _, seg := range p {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Array, reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			f, ok := jsonField(t, seg)
			if !ok {
				return nil
			}
			t = f
		default:
			return nil
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	eachJSONField(t, func(name string, _ reflect.Type) bool {
		names = append(names, name)
		return true
	})
	return names
}

// jsonField returns the type of the field of struct t named name in JSON.
func jsonField(t reflect.Type, name string) (ft reflect.Type, ok bool) {
	eachJSONField(t, func(n string, typ reflect.Type) bool {
		if n == name {
			ft, ok = typ, true
			return false
		}
		return true
	})
	return ft, ok
}

// eachJSONField calls f with the JSON name and type of each field of
// struct t, inlining embedded structs as encoding/json does, until f
// returns false.
func eachJSONField(t reflect.Type, f func(name string, typ reflect.Type) bool) bool {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" || !sf.IsExported() && !sf.Anonymous {
			continue
		}
		if name == "" && sf.Anonymous && sf.Type.Kind() == reflect.Struct {
			if !eachJSONField(sf.Type, f) {
				return false
			}
			continue
		}
		if name == "" {
			name = sf.Name
		}
		if !f(name, sf.Type) {
			return false
		}
	}
	return true
}

// closestField returns the known field name a misspelt one most likely
// meant: a case-insensitive match, else the first one at the smallest edit
// distance, if that is at most 2 and at most a third of the name (so short
// names do not match everything); "" when none is that close.
func closestField(known []string, name string) string {
	best, bestDist := "", min(2, max(1, len(name)/3))+1
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if d := editDistance(strings.ToLower(k), strings.ToLower(name)); d < bestDist {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b
// in bytes: insertions, deletions, substitutions and transpositions of
// adjacent bytes, the usual typos, each cost 1.
func editDistance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}
