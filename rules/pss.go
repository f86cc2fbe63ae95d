package rules

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"k8s.io/utils/ptr"

	"github.com/kubeharden/kubeharden/internal/ypath"
	"github.com/kubeharden/kubeharden/lint"
)

// The Pod Security Standards rules: one lint.Rule per check of
// policy.DefaultChecks(), the checks the API server's PodSecurity
// admission runs. The verdict is always the upstream one: for each object
// every check that applies at the namespace's level and version is run
// once on the decoded pod template (shared by the 19 rules through
// Pass.Cached), and a rule reports only when its check forbids the pod.
// kubeharden's own code decides where to point, never whether to report.

const (
	pssURL          = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"
	pssAdmissionURL = "https://kubernetes.io/docs/concepts/security/pod-security-admission/"
)

// workloadKinds are the kinds that carry a pod template (lint.IsWorkload).
var workloadKinds = []string{
	"Pod", "PodTemplate", "Deployment", "StatefulSet", "DaemonSet",
	"ReplicaSet", "ReplicationController", "Job", "CronJob",
}

// pssCheck ties one upstream check to the rule that reports it and says
// how to point at the field that violates it and how to fix it. Every
// upstream check has exactly one row; check and rule are required.
type pssCheck struct {
	check policy.CheckID
	// rule is the ID of the rule in podSecurityRules that reports the
	// check's violations.
	rule   string
	locate pssLocator
	// fix builds the automatic fixes (the rule's Fix says what they do).
	fix pssFixer
}

// pssLocator says where a violation of one check is written. The zero
// value points at the pod spec or the container.
type pssLocator struct {
	// container returns the field of c that makes it fail the check; v is
	// the MinimumVersion of the versioned check that failed.
	container func(pt *lint.PodTemplate, c podContainer, v api.Version) lint.Path
	// pod returns the pod-level field that fails the check.
	pod func(pt *lint.PodTemplate, v api.Version) lint.Path
	// split cuts a pod spec without containers into parts that each hold
	// one pod-level item (a volume, a sysctl, a host namespace), so the
	// check can be run on each to find the offending ones.
	split func(spec *corev1.PodSpec) []podPart
	// message turns an upstream result into the message's first part;
	// the default is the ForbiddenDetail, else the ForbiddenReason.
	message func(r policy.CheckResult) string
	// containerParts, when set, cuts the result of one container into
	// several violations (one per field), so that the part with an
	// automatic fix and the part without one are separate findings; nil
	// means one violation at container's field.
	containerParts func(c podContainer, r policy.CheckResult) []pssViolation
}

// pssFixer builds the automatic fix of a violation from the field the
// locator chose. A nil func or a nil fix means there is none; note, when
// not empty, is added to the message to say why.
type pssFixer struct {
	container func(pt *lint.PodTemplate, c podContainer, field lint.Path) (fx *lint.FixInfo, note string)
	pod       func(pt *lint.PodTemplate, field lint.Path) (fx *lint.FixInfo, note string)
}

// podPart is a pod spec reduced to one pod-level item, with the item's
// path relative to the pod spec.
type podPart struct {
	field lint.Path
	spec  corev1.PodSpec
}

// podContainer is one container of a pod template: its reference (list,
// name, path) and its decoded spec, with its index in its list.
type podContainer struct {
	ref   lint.ContainerRef
	index int
	spec  *corev1.Container
}

// podSecurityChecks has one row per upstream check, in the catalogue
// order of their rules; the rules themselves follow podSecurityRules.
var podSecurityChecks = []pssCheck{
	{
		check:  "privileged",
		rule:   "pss-privileged",
		locate: pssLocator{container: containerSC("privileged")},
	},
	{
		check: "hostNamespaces",
		rule:  "pss-host-namespaces",
		locate: pssLocator{
			pod:     podHostNamespaceField,
			split:   splitHostNamespaces,
			message: func(r policy.CheckResult) string { return "pod must not set " + detailOrReason(r) },
		},
	},
	{
		check: "hostPathVolumes",
		rule:  "pss-host-path-volumes",
		locate: pssLocator{
			pod:     podField("volumes"),
			split:   splitVolumes,
			message: func(r policy.CheckResult) string { return detailOrReason(r) + " must not use hostPath" },
		},
	},
	{
		check:  "hostPorts",
		rule:   "pss-host-ports",
		locate: pssLocator{container: hostPortField},
	},
	{
		check:  "hostProbesAndHostLifecycle",
		rule:   "pss-host-probes-lifecycle",
		locate: pssLocator{container: hostProbeField},
	},
	{
		check:  "capabilities_baseline",
		rule:   "pss-capabilities-baseline",
		locate: pssLocator{container: containerSC("capabilities", "add")},
		fix:    pssFixer{container: fixCapabilities},
	},
	{
		check:  "capabilities_restricted",
		rule:   "pss-capabilities-restricted",
		locate: pssLocator{container: capabilitiesRestrictedField, containerParts: capabilitiesRestrictedParts},
		fix:    pssFixer{container: fixCapabilities},
	},
	{
		check: "runAsNonRoot",
		rule:  "pss-run-as-non-root",
		locate: pssLocator{
			container: runAsNonRootField,
			pod:       podField("securityContext", "runAsNonRoot"),
		},
		fix: pssFixer{container: fixRunAsNonRootContainer, pod: fixRunAsNonRootPod},
	},
	{
		check: "runAsUser",
		rule:  "pss-run-as-user",
		locate: pssLocator{
			container: runAsUserField,
			pod:       podField("securityContext", "runAsUser"),
		},
	},
	{
		check: "seccompProfile_baseline",
		rule:  "pss-seccomp-baseline",
		locate: pssLocator{
			container: seccompBaselineContainerField,
			pod:       seccompBaselinePodField,
		},
	},
	{
		check: "seccompProfile_restricted",
		rule:  "pss-seccomp-restricted",
		locate: pssLocator{
			container: seccompRestrictedContainerField,
			pod:       podField("securityContext", "seccompProfile", "type"),
		},
		fix: pssFixer{container: fixSeccompContainer, pod: fixSeccompPod},
	},
	{
		check:  "allowPrivilegeEscalation",
		rule:   "pss-allow-privilege-escalation",
		locate: pssLocator{container: containerSC("allowPrivilegeEscalation")},
		fix:    pssFixer{container: fixAllowPrivilegeEscalation},
	},
	{
		check: "appArmorProfile",
		rule:  "pss-apparmor",
		locate: pssLocator{
			container: containerSC("appArmorProfile", "type"),
			pod:       appArmorPodField,
		},
	},
	{
		check: "seLinuxOptions",
		rule:  "pss-selinux",
		locate: pssLocator{
			container: containerSC("seLinuxOptions"),
			pod:       podField("securityContext", "seLinuxOptions"),
		},
	},
	{
		check:  "procMount",
		rule:   "pss-proc-mount",
		locate: pssLocator{container: containerSC("procMount")},
	},
	{
		check:  "procMount_restricted",
		rule:   "pss-proc-mount-restricted",
		locate: pssLocator{container: containerSC("procMount")},
	},
	{
		check: "sysctls",
		rule:  "pss-sysctls",
		locate: pssLocator{
			pod:     podField("securityContext", "sysctls"),
			split:   splitSysctls,
			message: sysctlsMessage,
		},
	},
	{
		check: "windowsHostProcess",
		rule:  "pss-windows-host-process",
		locate: pssLocator{
			container: containerSC("windowsOptions", "hostProcess"),
			pod:       podField("securityContext", "windowsOptions", "hostProcess"),
		},
	},
	{
		check: "restrictedVolumes",
		rule:  "pss-restricted-volumes",
		locate: pssLocator{
			pod:   podField("volumes"),
			split: splitVolumes,
		},
	},
}

// podSecurityRules are the Pod Security Standards rules, in the order of
// podSecurityChecks.
var podSecurityRules = []*lint.Rule{
	pssPrivilegedRule,
	pssHostNamespacesRule,
	pssHostPathVolumesRule,
	pssHostPortsRule,
	pssHostProbesLifecycleRule,
	pssCapabilitiesBaselineRule,
	pssCapabilitiesRestrictedRule,
	pssRunAsNonRootRule,
	pssRunAsUserRule,
	pssSeccompBaselineRule,
	pssSeccompRestrictedRule,
	pssAllowPrivilegeEscalationRule,
	pssApparmorRule,
	pssSelinuxRule,
	pssProcMountRule,
	pssProcMountRestrictedRule,
	pssSysctlsRule,
	pssWindowsHostProcessRule,
	pssRestrictedVolumesRule,
}

var pssPrivilegedRule = &lint.Rule{
	ID:       "pss-privileged",
	Title:    "containers must not be privileged",
	Severity: lint.Critical,
	Since:    "v0.1.0",
	Doc: pssDoc("privileged", "A privileged container runs with every capability and every host device, without "+
		"the confinement of seccomp, AppArmor or SELinux. A process that controls it controls the node."),
	Remediation: "Remove securityContext.privileged from the container or set it to false" + nodeAgentRemediation,
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before:      podExample{sc: "privileged: true\n"}.deployment(),
	After:       podExample{}.deployment(),
	Check:       checkPodSecurity,
}

var pssHostNamespacesRule = &lint.Rule{
	ID:       "pss-host-namespaces",
	Title:    "pods must not share the host's namespaces",
	Severity: lint.Critical,
	Since:    "v0.1.0",
	Doc: pssDoc("hostNamespaces", "A pod in the node's network, PID or IPC namespace can sniff and spoof node traffic, reach "+
		"services bound to the node's loopback, see and signal every process on the node and read "+
		"other workloads' shared memory."),
	Remediation: "Remove hostNetwork, hostPID and hostIPC from the pod spec or set them to false" + nodeAgentRemediation,
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before:      podExample{pod: "hostNetwork: true\n"}.deployment(),
	After:       podExample{}.deployment(),
	Check:       checkPodSecurity,
}

var pssHostPathVolumesRule = &lint.Rule{
	ID:       "pss-host-path-volumes",
	Title:    "pods must not mount hostPath volumes",
	Severity: lint.Critical,
	Since:    "v0.1.0",
	Doc: pssDoc("hostPathVolumes", "A hostPath volume mounts a directory of the node into the pod. Mounts of the container "+
		"runtime socket, the kubelet's directory or the node's root file system are a direct path to "+
		"root on the node, and even read-only mounts leak credentials."),
	Remediation: "Replace the hostPath volume with an emptyDir, a configMap, a secret or a persistentVolumeClaim" + nodeAgentRemediation,
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: atBaseline(podExample{
		pod:       "volumes:\n- name: docker\n  hostPath:\n    path: /var/run/docker.sock\n",
		container: "volumeMounts:\n- name: docker\n  mountPath: /var/run/docker.sock\n",
	}.deployment()),
	After: podExample{
		pod:       "volumes:\n- name: cache\n  emptyDir: {}\n",
		container: "volumeMounts:\n- name: cache\n  mountPath: /cache\n",
	}.deployment(),
	Check: checkPodSecurity,
}

var pssHostPortsRule = &lint.Rule{
	ID:       "pss-host-ports",
	Title:    "containers must not use host ports",
	Severity: lint.High,
	Since:    "v0.1.0",
	Doc: pssDoc("hostPorts", "A hostPort binds the container to a port of the node's own address, which bypasses "+
		"Services and NetworkPolicies that select pods, exposes the workload on every network the "+
		"node is on, and allows only one such pod per node. In a Pod with hostNetwork: true the API "+
		"server gives every container port a hostPort, so such a Pod fails this check too."),
	Remediation: "Remove hostPort from the container's ports and expose the port through a Service.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before:      podExample{container: "ports:\n- containerPort: 8080\n  hostPort: 8080\n"}.deployment(),
	After:       podExample{container: "ports:\n- containerPort: 8080\n"}.deployment(),
	Check:       checkPodSecurity,
}

var pssHostProbesLifecycleRule = &lint.Rule{
	ID:       "pss-host-probes-lifecycle",
	Title:    "probes and lifecycle hooks must not set a host",
	Severity: lint.High,
	Since:    "v0.1.0",
	Doc: pssDoc("hostProbesAndHostLifecycle", "The kubelet runs HTTP and TCP probes and lifecycle hooks from the node. With a host set, "+
		"it connects wherever the manifest says, which lets a pod reach addresses on the node's "+
		"network that the pod itself cannot."),
	Remediation: "Remove host from the container's probes and lifecycle handlers so the kubelet connects to the pod's own IP.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: podExample{
		container: "readinessProbe:\n  httpGet:\n    host: 169.254.169.254\n    path: /healthz\n    port: 8080\n",
	}.deployment(),
	After: podExample{
		container: "readinessProbe:\n  httpGet:\n    path: /healthz\n    port: 8080\n",
	}.deployment(),
	Check: checkPodSecurity,
}

var pssCapabilitiesBaselineRule = &lint.Rule{
	ID:       "pss-capabilities-baseline",
	Title:    "containers must not add capabilities beyond the default set",
	Severity: lint.Critical,
	Since:    "v0.1.0",
	Doc: pssDoc("capabilities_baseline", "Linux capabilities split root's power into pieces. Those outside the container runtime's "+
		"default set, such as SYS_ADMIN, NET_ADMIN, SYS_PTRACE or SYS_MODULE, are each enough to "+
		"attack the node or other containers."),
	Remediation: "Remove the capabilities outside the default set from securityContext.capabilities.add once the application is known to work without them; they are never removed automatically.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: atBaseline(podExample{
		sc: "allowPrivilegeEscalation: false\ncapabilities:\n  add: [\"SYS_ADMIN\"]\n",
	}.deployment()),
	After: podExample{
		sc: "allowPrivilegeEscalation: false\ncapabilities:\n  drop: [\"ALL\"]\n  add: [\"NET_BIND_SERVICE\"]\n",
	}.deployment(),
	Check: checkPodSecurity,
}

var pssCapabilitiesRestrictedRule = &lint.Rule{
	ID:       "pss-capabilities-restricted",
	Title:    "containers must drop all capabilities",
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Doc: pssDoc("capabilities_restricted", "Even the runtime's default capabilities (CHOWN, DAC_OVERRIDE, SETUID, NET_RAW...) help an "+
		"attacker who gets code execution. The restricted level requires every container to drop "+
		"ALL and to add back at most NET_BIND_SERVICE."),
	Remediation: `Set securityContext.capabilities.drop to ["ALL"] and add back no capability other than NET_BIND_SERVICE.`,
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before:      podExample{sc: "allowPrivilegeEscalation: false\n"}.deployment(),
	After:       podExample{}.deployment(),
	Fix: "Adds ALL to securityContext.capabilities.drop of each container that does not drop it, keeping an " +
		"added NET_BIND_SERVICE. Other added capabilities are left for a human to remove: the application may need them.",
	FixRisk: riskDoc(riskDropAll),
	Check:   checkPodSecurity,
}

var pssRunAsNonRootRule = &lint.Rule{
	ID:       "pss-run-as-non-root",
	Title:    "containers must run as non-root",
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Doc: pssDoc("runAsNonRoot", "A process running as root in a container is root on the node as soon as it escapes. "+
		"With runAsNonRoot: true the kubelet refuses to start a container whose image would run as "+
		"UID 0. From policy v1.35 pods in a user namespace (hostUsers: false) are exempt."),
	Remediation: "Set securityContext.runAsNonRoot: true on the pod (or on every container) and build the image with a non-root USER.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before:      podExample{podSC: "seccompProfile:\n  type: RuntimeDefault\n"}.deployment(),
	After:       podExample{}.deployment(),
	Fix: "Sets securityContext.runAsNonRoot: true on the pod, and on each container that sets it to false " +
		"(on the container alone where another one runs as root by the user's choice). A container that sets " +
		"runAsUser: 0, or inherits it from the pod, gets no fix: it could not start.",
	FixRisk: riskDoc(riskRunAsNonRoot),
	Check:   checkPodSecurity,
}

var pssRunAsUserRule = &lint.Rule{
	ID:       "pss-run-as-user",
	Title:    "containers must not run as UID 0",
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Doc: pssDoc("runAsUser", "runAsUser: 0 runs the container as root whatever the image says, which defeats "+
		"runAsNonRoot. From policy v1.35 pods in a user namespace (hostUsers: false) are exempt."),
	Remediation: "Set securityContext.runAsUser to a non-zero UID, or remove it and let the image's USER apply.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: podExample{
		podSC: "runAsNonRoot: true\nrunAsUser: 0\nseccompProfile:\n  type: RuntimeDefault\n",
	}.deployment(),
	After: podExample{
		podSC: "runAsNonRoot: true\nrunAsUser: 10001\nseccompProfile:\n  type: RuntimeDefault\n",
	}.deployment(),
	Check: checkPodSecurity,
}

var pssSeccompBaselineRule = &lint.Rule{
	ID:       "pss-seccomp-baseline",
	Title:    "seccomp must not be unconfined",
	Severity: lint.High,
	Since:    "v0.1.0",
	Doc: pssDoc("seccompProfile_baseline", "Seccomp limits the system calls a container can make. An Unconfined profile exposes the "+
		"whole kernel interface, including the calls most container escapes rely on."),
	Remediation: "Set securityContext.seccompProfile.type to RuntimeDefault or Localhost instead of Unconfined.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: atBaseline(podExample{
		podSC: "runAsNonRoot: true\nseccompProfile:\n  type: Unconfined\n",
	}.deployment()),
	After: podExample{}.deployment(),
	Check: checkPodSecurity,
}

var pssSeccompRestrictedRule = &lint.Rule{
	ID:       "pss-seccomp-restricted",
	Title:    "a seccomp profile must be set",
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Doc: pssDoc("seccompProfile_restricted", "The restricted level requires a seccomp profile, RuntimeDefault or Localhost, set "+
		"explicitly on the pod or on every container, instead of trusting a runtime default that may "+
		"be unconfined."),
	Remediation: "Set securityContext.seccompProfile.type: RuntimeDefault on the pod.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before:      podExample{podSC: "runAsNonRoot: true\n"}.deployment(),
	After:       podExample{}.deployment(),
	Fix: "Sets securityContext.seccompProfile.type: RuntimeDefault on the pod, or on each container that sets " +
		"another profile.",
	FixRisk: riskDoc(riskSeccompRuntimeDefault),
	Check:   checkPodSecurity,
}

var pssAllowPrivilegeEscalationRule = &lint.Rule{
	ID:       "pss-allow-privilege-escalation",
	Title:    "containers must not allow privilege escalation",
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Doc: pssDoc("allowPrivilegeEscalation", "allowPrivilegeEscalation: false sets the no_new_privs flag on the container's processes, "+
		"so setuid binaries and file capabilities cannot give a process more privileges than its parent."),
	Remediation: "Set securityContext.allowPrivilegeEscalation: false on every container.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before:      podExample{sc: "capabilities:\n  drop: [\"ALL\"]\n"}.deployment(),
	After:       podExample{}.deployment(),
	Fix: "Sets securityContext.allowPrivilegeEscalation: false on each container that does not, except " +
		"privileged containers and those adding SYS_ADMIN, where the API server would reject it.",
	FixRisk: riskDoc(riskNoPrivilegeEscalation),
	Check:   checkPodSecurity,
}

var pssApparmorRule = &lint.Rule{
	ID:       "pss-apparmor",
	Title:    "pods must not disable AppArmor",
	Severity: lint.High,
	Since:    "v0.1.0",
	Doc: pssDoc("appArmorProfile", "On nodes that support it, the container runtime confines containers with a default AppArmor "+
		"profile. An Unconfined profile, or the deprecated annotation set to unconfined, removes that layer."),
	Remediation: "Set securityContext.appArmorProfile.type to RuntimeDefault or Localhost, or remove it.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: podExample{
		sc: defaultContainerSC + "appArmorProfile:\n  type: Unconfined\n",
	}.deployment(),
	After: podExample{
		sc: defaultContainerSC + "appArmorProfile:\n  type: RuntimeDefault\n",
	}.deployment(),
	Check: checkPodSecurity,
}

var pssSelinuxRule = &lint.Rule{
	ID:       "pss-selinux",
	Title:    "pods must not set custom SELinux options",
	Severity: lint.High,
	Since:    "v0.1.0",
	Doc: pssDoc("seLinuxOptions", "SELinux labels keep containers apart from the node and from each other. A custom type such "+
		"as spc_t, or a custom user or role, lifts that separation."),
	Remediation: "Remove seLinuxOptions user and role, and use a container type (container_t, container_init_t, container_kvm_t, container_engine_t) or none.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: podExample{
		sc: defaultContainerSC + "seLinuxOptions:\n  type: spc_t\n",
	}.deployment(),
	After: podExample{
		sc: defaultContainerSC + "seLinuxOptions:\n  level: s0:c123,c456\n",
	}.deployment(),
	Check: checkPodSecurity,
}

var pssProcMountRule = &lint.Rule{
	ID:       "pss-proc-mount",
	Title:    "containers must keep the default /proc masks",
	Severity: lint.High,
	Since:    "v0.1.0",
	Doc: pssDoc("procMount", "The default /proc mount masks kernel paths that leak host information or reconfigure the "+
		"node. procMount: Unmasked removes the masks. From policy v1.35 the baseline level allows it "+
		"in a user namespace (hostUsers: false)."),
	Remediation: "Remove securityContext.procMount or set it to Default.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before:      atBaseline(podExample{sc: defaultContainerSC + "procMount: Unmasked\n"}.deployment()),
	After:       podExample{}.deployment(),
	Check:       checkPodSecurity,
}

var pssProcMountRestrictedRule = &lint.Rule{
	ID:       "pss-proc-mount-restricted",
	Title:    "containers must keep the default /proc masks, even in a user namespace",
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Doc: pssDoc("procMount_restricted", "The restricted level keeps requiring the default /proc masks for pods in a user namespace, "+
		"which the baseline level exempts from policy v1.35."),
	Remediation: "Remove securityContext.procMount or set it to Default.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: podExample{
		pod: "hostUsers: false\n",
		sc:  defaultContainerSC + "procMount: Unmasked\n",
	}.deployment(),
	After: podExample{pod: "hostUsers: false\n"}.deployment(),
	Check: checkPodSecurity,
}

var pssSysctlsRule = &lint.Rule{
	ID:       "pss-sysctls",
	Title:    "pods must only set safe sysctls",
	Severity: lint.High,
	Since:    "v0.1.0",
	Doc: pssDoc("sysctls", "Sysctls outside the safe set are not isolated per pod: they change kernel settings for "+
		"the whole node or switch off security mechanisms."),
	Remediation: "Remove the unsafe sysctls from securityContext.sysctls, or set them on the node instead.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: podExample{
		podSC: defaultPodSC + "sysctls:\n- name: kernel.msgmax\n  value: \"65536\"\n",
	}.deployment(),
	After: podExample{
		podSC: defaultPodSC + "sysctls:\n- name: net.ipv4.ip_unprivileged_port_start\n  value: \"0\"\n",
	}.deployment(),
	Check: checkPodSecurity,
}

var pssWindowsHostProcessRule = &lint.Rule{
	ID:       "pss-windows-host-process",
	Title:    "pods must not run Windows HostProcess containers",
	Severity: lint.Critical,
	Since:    "v0.1.0",
	Doc: pssDoc("windowsHostProcess", "A Windows HostProcess container runs directly on the node, with the node's network and "+
		"file system: the Windows equivalent of a privileged container."),
	Remediation: "Remove securityContext.windowsOptions.hostProcess or set it to false.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: podExample{
		pod:   "os:\n  name: windows\nhostNetwork: true\n",
		podSC: "windowsOptions:\n  hostProcess: true\n  runAsUserName: \"NT AUTHORITY\\\\SYSTEM\"\n",
		sc:    "windowsOptions:\n  hostProcess: true\n",
	}.deployment(),
	After: podExample{
		pod:   "os:\n  name: windows\n",
		podSC: "runAsNonRoot: true\n",
		sc:    "windowsOptions:\n  runAsUserName: ContainerUser\n",
	}.deployment(),
	Check: checkPodSecurity,
}

var pssRestrictedVolumesRule = &lint.Rule{
	ID:       "pss-restricted-volumes",
	Title:    "pods must only use restricted volume types",
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Doc: pssDoc("restrictedVolumes", "The restricted level allows only volume types that cannot reach node or network storage "+
		"behind the cluster's back: configMap, csi, downwardAPI, emptyDir, ephemeral, image, "+
		"persistentVolumeClaim, projected and secret. Inline nfs, iscsi, cloud disk or hostPath "+
		"volumes bypass PersistentVolume access control."),
	Remediation: "Replace the volume with a persistentVolumeClaim bound to a PersistentVolume, or with one of the allowed types.",
	Links:       pssLinks,
	Kinds:       workloadKinds,
	Before: podExample{
		pod:       "volumes:\n- name: data\n  nfs:\n    server: nfs.example.internal\n    path: /exports/web\n",
		container: "volumeMounts:\n- name: data\n  mountPath: /data\n",
	}.deployment(),
	After: podExample{
		pod:       "volumes:\n- name: data\n  persistentVolumeClaim:\n    claimName: web-data\n",
		container: "volumeMounts:\n- name: data\n  mountPath: /data\n",
	}.deployment(),
	Check: checkPodSecurity,
}

// nodeAgentRemediation ends the remediation of the checks that node
// agents (CNI plugins, log and metrics collectors, CSI drivers) fail by
// design, which no automatic fix can change.
const nodeAgentRemediation = "; a node agent that truly needs it runs in a namespace labelled privileged, with an exemption that gives the reason."

// pssLinks are the links of every Pod Security rule.
var pssLinks = []string{pssURL, pssAdmissionURL}

// pssDoc is the Doc of the rule for upstream check id: text, then which
// check of which level it is. The level comes from the library, not from
// the rule.
func pssDoc(id policy.CheckID, text string) string {
	level := "baseline"
	if uc := upstreamPolicy().byID[id]; uc != nil {
		level = string(uc.Level)
	}
	return fmt.Sprintf("%s\n\nThis is the `%s` check of the [Pod Security Standards](%s) %s level, "+
		"run by the same library as the API server's PodSecurity admission, at the level and version "+
		"that the namespace's `%s` and `%s` labels set (or the configured defaults).",
		text, id, pssURL+"#"+level, level, lint.LabelEnforce, lint.LabelEnforceVersion)
}

// pssCheckOfRule maps each Pod Security rule's ID to its upstream check.
var pssCheckOfRule = func() map[string]policy.CheckID {
	m := make(map[string]policy.CheckID, len(podSecurityChecks))
	for _, c := range podSecurityChecks {
		m[c.rule] = c.check
	}
	return m
}()

// checkPodSecurity is the Check of every Pod Security rule: it reports the
// violations of the rule's upstream check in the object's verdict, which
// is computed once per object for all of them.
func checkPodSecurity(p *lint.Pass, o *lint.Object) {
	v := podSecurityVerdict(p, o)
	if v == nil {
		return
	}
	id := pssCheckOfRule[p.Rule.ID]
	for _, x := range v.violations[id] {
		p.Report(lint.Finding{
			Object:  o,
			Field:   x.field,
			Key:     x.key,
			Message: x.message,
			PSS:     &lint.PSS{Level: v.level, Version: v.version, Check: string(id)},
			Fix:     x.fix,
		})
	}
}

// pssPolicy is the upstream check list, resolved per level and version
// exactly as policy.NewEvaluator's registry resolves it.
type pssPolicy struct {
	checks []policy.Check
	byID   map[policy.CheckID]*policy.Check
	// maxVersion is the highest MinimumVersion of any check: the version
	// "latest" and every newer version evaluate at.
	maxVersion api.Version
}

// upstreamPolicy loads policy.DefaultChecks once (the library asks for a
// single call at setup) and validates them as NewEvaluator would.
var upstreamPolicy = sync.OnceValue(func() *pssPolicy {
	checks := policy.DefaultChecks()
	if _, err := policy.NewEvaluator(checks, nil); err != nil {
		panic(fmt.Sprintf("pod-security-admission checks are invalid: %v", err))
	}
	pp := &pssPolicy{checks: checks, byID: map[policy.CheckID]*policy.Check{}}
	for i, c := range checks {
		pp.byID[c.ID] = &checks[i]
		if last := c.Versions[len(c.Versions)-1].MinimumVersion; pp.maxVersion.Older(last) {
			pp.maxVersion = last
		}
	}
	return pp
})

// appliedCheck is one check as it runs at a given level and version.
type appliedCheck struct {
	id        policy.CheckID
	versioned policy.VersionedCheck
}

// at returns the checks that run for lv, in upstream's order (baseline
// IDs sorted, then restricted IDs sorted). Like the registry: privileged
// runs nothing; a version newer than the newest check version, "latest"
// included, runs at the newest (or at emulation, when that is older);
// each check runs the last of its versions whose MinimumVersion is not
// newer than the policy version, and not at all before its first; at
// restricted, baseline checks named in OverrideCheckIDs of a restricted
// check that applies at that version are skipped.
func (pp *pssPolicy) at(lv api.LevelVersion, emulation *api.Version) []appliedCheck {
	if lv.Level == api.LevelPrivileged {
		return nil
	}
	restricted := lv.Level != api.LevelBaseline
	maxVersion := pp.maxVersion
	if emulation != nil && emulation.Older(maxVersion) {
		maxVersion = *emulation
	}
	v := lv.Version
	if maxVersion.Older(v) {
		v = maxVersion
	}
	var baseline, strict []appliedCheck
	overridden := map[policy.CheckID]bool{}
	for _, c := range pp.checks {
		if c.Level == api.LevelRestricted && !restricted {
			continue
		}
		vc, ok := versionAt(c, v)
		if !ok {
			continue
		}
		if c.Level == api.LevelRestricted {
			strict = append(strict, appliedCheck{c.ID, vc})
			for _, id := range vc.OverrideCheckIDs {
				overridden[id] = true
			}
		} else {
			baseline = append(baseline, appliedCheck{c.ID, vc})
		}
	}
	baseline = slices.DeleteFunc(baseline, func(a appliedCheck) bool { return overridden[a.id] })
	byID := func(a, b appliedCheck) int { return strings.Compare(string(a.id), string(b.id)) }
	slices.SortFunc(baseline, byID)
	slices.SortFunc(strict, byID)
	return append(baseline, strict...)
}

// versionAt returns the version of c that applies at policy version v.
func versionAt(c policy.Check, v api.Version) (policy.VersionedCheck, bool) {
	var found policy.VersionedCheck
	ok := false
	for _, vc := range c.Versions {
		if v.Older(vc.MinimumVersion) {
			break
		}
		found, ok = vc, true
	}
	return found, ok
}

// parseLevelVersion reads a level and version the way the PodSecurity
// admission reads namespace labels (api.PolicyToEvaluate): an unknown
// level is enforced as restricted and an unparsable version as latest.
// The admission rejects such labels on the Namespace itself, but pods in
// an already-labelled namespace are still checked with these fallbacks,
// so the linter checks them the same way.
func parseLevelVersion(want lint.PodSecurityLevel) api.LevelVersion {
	level, _ := api.ParseLevel(want.Level)
	version, _ := api.ParseVersion(want.Version)
	return api.LevelVersion{Level: level, Version: version}
}

// emulationVersion is the policy version cap of the cluster the repo
// targets: an API server of version 1.N only knows the checks up to
// policy v1.N, so "latest" there means v1.N. It is nil when the version is
// unset or not of the form 1.N, v1.N or 1.N.P.
func emulationVersion(kubernetesVersion string) *api.Version {
	s := strings.TrimPrefix(kubernetesVersion, "v")
	major, rest, ok := strings.Cut(s, ".")
	if !ok || major != "1" {
		return nil
	}
	minor, _, _ := strings.Cut(rest, ".")
	n, err := strconv.Atoi(minor)
	if err != nil || n < 0 {
		return nil
	}
	v := api.MajorMinorVersion(1, n)
	return &v
}

// pssVerdict is the outcome of every Pod Security check for one object.
type pssVerdict struct {
	level, version string // as parsed: what findings report
	violations     map[policy.CheckID][]pssViolation
}

// pssViolation is one finding to report: the field, the message and the
// automatic fix, if any; note says why there is none, when that needs
// saying, and ends the message.
type pssViolation struct {
	field lint.Path
	// key is the finding's Key: the container's path when a container's
	// violation is reported at a field outside it (the pod's
	// runAsNonRoot), where the containers' findings share a field.
	key     string
	message string
	fix     *lint.FixInfo
	note    string
}

type pssKey struct {
	obj                               *lint.Object
	level, version, kubernetesVersion string
}

// podSecurityVerdict evaluates all checks for o once per run, however many
// of the rules ask. It returns nil for objects without a pod template and
// for those whose pod template does not decode (another rule reports
// invalid objects).
func podSecurityVerdict(p *lint.Pass, o *lint.Object) *pssVerdict {
	want := p.PodSecurity(o)
	key := pssKey{o, want.Level, want.Version, p.Settings.KubernetesVersion}
	v, _ := p.Cached(key, func() any {
		return evaluatePodSecurity(o, want, emulationVersion(p.Settings.KubernetesVersion))
	}).(*pssVerdict)
	return v
}

func evaluatePodSecurity(o *lint.Object, want lint.PodSecurityLevel, emulation *api.Version) *pssVerdict {
	pt, err := o.PodTemplate()
	if err != nil || pt == nil {
		return nil
	}
	lv := parseLevelVersion(want)
	v := &pssVerdict{
		level:      string(lv.Level),
		version:    lv.Version.String(),
		violations: map[policy.CheckID][]pssViolation{},
	}
	pt = withAPIServerDefaults(o.Resource.Kind, pt)
	suffix := " (" + lv.String() + ")"
	for _, c := range upstreamPolicy().at(lv, emulation) {
		whole := c.versioned.CheckPod(&pt.Meta, &pt.Spec)
		if whole.Allowed {
			continue
		}
		loc, fixer := pssLocator{}, pssFixer{}
		if meta := checkMeta(c.id); meta != nil {
			loc, fixer = meta.locate, meta.fix
		}
		found := localise(loc, fixer, c.versioned, pt, whole)
		for i := range found {
			found[i].message += suffix
			if found[i].note != "" {
				found[i].message += "; " + found[i].note
			}
		}
		v.violations[c.id] = found
	}
	return v
}

// withAPIServerDefaults returns a copy of pt with the defaults the API
// server sets before the PodSecurity admission sees the pod, where they
// change a verdict (k8s.io/kubernetes/pkg/apis/core/v1/defaults.go): a
// volume without a source is an emptyDir, and in a Pod (not a template,
// since v1.28) with hostNetwork every container port without a hostPort
// gets its containerPort as hostPort. pt itself is shared and left alone.
func withAPIServerDefaults(kind string, pt *lint.PodTemplate) *lint.PodTemplate {
	d := *pt
	if i := slices.IndexFunc(d.Spec.Volumes, func(v corev1.Volume) bool { return ptr.AllPtrFieldsNil(&v.VolumeSource) }); i >= 0 {
		d.Spec.Volumes = slices.Clone(d.Spec.Volumes)
		for j := i; j < len(d.Spec.Volumes); j++ {
			if ptr.AllPtrFieldsNil(&d.Spec.Volumes[j].VolumeSource) {
				d.Spec.Volumes[j].VolumeSource = corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}
			}
		}
	}
	if kind == "Pod" && d.Spec.HostNetwork {
		d.Spec.Containers = defaultHostNetworkPorts(d.Spec.Containers)
		d.Spec.InitContainers = defaultHostNetworkPorts(d.Spec.InitContainers)
	}
	return &d
}

func defaultHostNetworkPorts(cs []corev1.Container) []corev1.Container {
	cs = slices.Clone(cs)
	for i := range cs {
		cs[i].Ports = slices.Clone(cs[i].Ports)
		for j := range cs[i].Ports {
			if cs[i].Ports[j].HostPort == 0 {
				cs[i].Ports[j].HostPort = cs[i].Ports[j].ContainerPort
			}
		}
	}
	return cs
}

func checkMeta(id policy.CheckID) *pssCheck {
	for i := range podSecurityChecks {
		if podSecurityChecks[i].check == id {
			return &podSecurityChecks[i]
		}
	}
	return nil
}

// localise finds what makes a pod fail a check by running the check again
// on reduced copies of the pod spec: without containers (pod-level fields
// only, cut further into items by loc.split), and with one container at a
// time beside the pod-level fields. A container is reported when its copy
// fails and, if the pod-level fields fail too, when it changes upstream's
// detail, that is when the container adds to the violation. Whatever
// happens, a failing check yields at least one violation, so the rules
// report a pod exactly when the upstream evaluator forbids it.
//
// Violations get the fixes fixer builds; those of split pod-level items
// (volumes, sysctls, host namespaces) never have one.
func localise(loc pssLocator, fixer pssFixer, vc policy.VersionedCheck, pt *lint.PodTemplate, whole policy.CheckResult) []pssViolation {
	check := func(spec *corev1.PodSpec) policy.CheckResult { return vc.CheckPod(&pt.Meta, spec) }
	message := loc.message
	if message == nil {
		message = detailOrReason
	}
	podOnly := pt.Spec
	podOnly.Containers, podOnly.InitContainers, podOnly.EphemeralContainers = nil, nil, nil

	var out []pssViolation
	podRes := check(&podOnly)
	if !podRes.Allowed {
		if loc.split != nil {
			for _, part := range loc.split(&podOnly) {
				if r := check(&part.spec); !r.Allowed {
					out = append(out, pssViolation{field: pt.SpecPath.Append(part.field...), message: message(r)})
				}
			}
		}
		if len(out) == 0 {
			field := pt.SpecPath
			if loc.pod != nil {
				field = loc.pod(pt, vc.MinimumVersion)
			}
			x := pssViolation{field: field, message: message(podRes)}
			if fixer.pod != nil {
				x.fix, x.note = fixer.pod(pt, field)
			}
			out = append(out, x)
		}
	}
	for _, c := range podContainers(pt) {
		single := podOnly
		switch c.ref.List {
		case lint.Containers:
			single.Containers = pt.Spec.Containers[c.index : c.index+1]
		case lint.InitContainers:
			single.InitContainers = pt.Spec.InitContainers[c.index : c.index+1]
		case lint.EphemeralContainers:
			single.EphemeralContainers = pt.Spec.EphemeralContainers[c.index : c.index+1]
		}
		r := check(&single)
		if r.Allowed || !podRes.Allowed && r.ForbiddenDetail == podRes.ForbiddenDetail {
			continue
		}
		var parts []pssViolation
		if loc.containerParts != nil {
			parts = loc.containerParts(c, r)
		}
		if len(parts) == 0 {
			field := c.ref.Path
			if loc.container != nil {
				field = loc.container(pt, c, vc.MinimumVersion)
			}
			parts = []pssViolation{{field: field, message: message(r)}}
		}
		for _, x := range parts {
			if !x.field.HasPrefix(c.ref.Path) {
				x.key = c.ref.Path.String()
			}
			if fixer.container != nil {
				x.fix, x.note = fixer.container(pt, c, x.field)
			}
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		out = append(out, pssViolation{field: pt.SpecPath, message: message(whole)})
	}
	return out
}

// podContainers pairs pt.Containers() with the decoded containers; both
// list regular, then init, then ephemeral containers.
func podContainers(pt *lint.PodTemplate) []podContainer {
	refs := pt.Containers()
	out := make([]podContainer, 0, len(refs))
	var next [3]int
	for _, r := range refs {
		var c *corev1.Container
		var i int
		switch r.List {
		case lint.Containers:
			i = next[0]
			next[0]++
			c = &pt.Spec.Containers[i]
		case lint.InitContainers:
			i = next[1]
			next[1]++
			c = &pt.Spec.InitContainers[i]
		case lint.EphemeralContainers:
			i = next[2]
			next[2]++
			c = (*corev1.Container)(&pt.Spec.EphemeralContainers[i].EphemeralContainerCommon)
		default:
			continue
		}
		out = append(out, podContainer{ref: r, index: i, spec: c})
	}
	return out
}

func detailOrReason(r policy.CheckResult) string {
	switch {
	case r.ForbiddenDetail != "":
		return r.ForbiddenDetail
	case r.ForbiddenReason != "":
		return r.ForbiddenReason
	default:
		return policy.UnknownForbiddenReason
	}
}

// sysctlsMessage rewrites upstream's bare list of names into a sentence.
func sysctlsMessage(r policy.CheckResult) string {
	if r.ForbiddenDetail == "" {
		return "pod must not set " + detailOrReason(r)
	}
	names := strings.Split(r.ForbiddenDetail, ", ")
	for i, n := range names {
		names[i] = strconv.Quote(n)
	}
	noun := "sysctl"
	if len(names) > 1 {
		noun = "sysctls"
	}
	return fmt.Sprintf("pod must not set %s %s", noun, strings.Join(names, ", "))
}

// Splitters: each part keeps the rest of the pod-level fields, so only the
// item it isolates can differ from the pod-only copy's verdict.

func splitVolumes(spec *corev1.PodSpec) []podPart {
	parts := make([]podPart, 0, len(spec.Volumes))
	for i, v := range spec.Volumes {
		s := *spec
		s.Volumes = spec.Volumes[i : i+1]
		parts = append(parts, podPart{lint.Path{"volumes", selector(v.Name, i)}, s})
	}
	return parts
}

func splitSysctls(spec *corev1.PodSpec) []podPart {
	if spec.SecurityContext == nil {
		return nil
	}
	sysctls := spec.SecurityContext.Sysctls
	parts := make([]podPart, 0, len(sysctls))
	for i, sc := range sysctls {
		psc := *spec.SecurityContext
		psc.Sysctls = sysctls[i : i+1]
		s := *spec
		s.SecurityContext = &psc
		parts = append(parts, podPart{lint.Path{"securityContext", "sysctls", selector(sc.Name, i)}, s})
	}
	return parts
}

func splitHostNamespaces(spec *corev1.PodSpec) []podPart {
	var parts []podPart
	for _, ns := range []struct {
		field string
		set   func(*corev1.PodSpec)
		on    bool
	}{
		{"hostNetwork", func(s *corev1.PodSpec) { s.HostNetwork = true }, spec.HostNetwork},
		{"hostPID", func(s *corev1.PodSpec) { s.HostPID = true }, spec.HostPID},
		{"hostIPC", func(s *corev1.PodSpec) { s.HostIPC = true }, spec.HostIPC},
	} {
		if !ns.on {
			continue
		}
		s := *spec
		s.HostNetwork, s.HostPID, s.HostIPC = false, false, false
		ns.set(&s)
		parts = append(parts, podPart{lint.Path{ns.field}, s})
	}
	return parts
}

// selector selects a list element by name, or by index when unnamed.
func selector(name string, i int) string {
	if name == "" {
		return ypath.Index(i)
	}
	return ypath.Elem("name", name)
}

// Field locators. They choose where to point; the verdict is upstream's.

// containerSC points at a field of the container's securityContext.
func containerSC(segs ...string) func(*lint.PodTemplate, podContainer, api.Version) lint.Path {
	return func(_ *lint.PodTemplate, c podContainer, _ api.Version) lint.Path {
		return c.ref.Path.Append(append([]string{"securityContext"}, segs...)...)
	}
}

// podField points at a field of the pod spec.
func podField(segs ...string) func(*lint.PodTemplate, api.Version) lint.Path {
	return func(pt *lint.PodTemplate, _ api.Version) lint.Path { return pt.SpecPath.Append(segs...) }
}

func podHostNamespaceField(pt *lint.PodTemplate, _ api.Version) lint.Path {
	switch {
	case pt.Spec.HostNetwork:
		return pt.SpecPath.Append("hostNetwork")
	case pt.Spec.HostPID:
		return pt.SpecPath.Append("hostPID")
	case pt.Spec.HostIPC:
		return pt.SpecPath.Append("hostIPC")
	}
	return pt.SpecPath
}

// hostPortField points at the first port with a hostPort, selected by
// containerPort unless another port shares it (TCP and UDP), then by index.
func hostPortField(_ *lint.PodTemplate, c podContainer, _ api.Version) lint.Path {
	ports := c.spec.Ports
	for i, p := range ports {
		if p.HostPort == 0 {
			continue
		}
		seg := ypath.Elem("containerPort", strconv.Itoa(int(p.ContainerPort)))
		if slices.IndexFunc(ports, func(q corev1.ContainerPort) bool { return q.ContainerPort == p.ContainerPort }) != i {
			seg = ypath.Index(i)
		}
		return c.ref.Path.Append("ports", seg, "hostPort")
	}
	return c.ref.Path.Append("ports")
}

func hostProbeField(_ *lint.PodTemplate, c podContainer, _ api.Version) lint.Path {
	type handler struct {
		path      lint.Path
		httpGet   *corev1.HTTPGetAction
		tcpSocket *corev1.TCPSocketAction
	}
	var hs []handler
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
	}{{"livenessProbe", c.spec.LivenessProbe}, {"readinessProbe", c.spec.ReadinessProbe}, {"startupProbe", c.spec.StartupProbe}} {
		if p.probe != nil {
			hs = append(hs, handler{lint.Path{p.name}, p.probe.HTTPGet, p.probe.TCPSocket})
		}
	}
	if lc := c.spec.Lifecycle; lc != nil {
		if lc.PostStart != nil {
			hs = append(hs, handler{lint.Path{"lifecycle", "postStart"}, lc.PostStart.HTTPGet, lc.PostStart.TCPSocket})
		}
		if lc.PreStop != nil {
			hs = append(hs, handler{lint.Path{"lifecycle", "preStop"}, lc.PreStop.HTTPGet, lc.PreStop.TCPSocket})
		}
	}
	for _, h := range hs {
		if h.httpGet != nil && h.httpGet.Host != "" {
			return c.ref.Path.Append(h.path.Append("httpGet", "host")...)
		}
		if h.tcpSocket != nil && h.tcpSocket.Host != "" {
			return c.ref.Path.Append(h.path.Append("tcpSocket", "host")...)
		}
	}
	return c.ref.Path
}

// capabilitiesRestrictedField points at drop when the container does not
// drop ALL (the usual fix), else at add.
func capabilitiesRestrictedField(_ *lint.PodTemplate, c podContainer, _ api.Version) lint.Path {
	sc := c.spec.SecurityContext
	if sc != nil && sc.Capabilities != nil && slices.Contains(sc.Capabilities.Drop, "ALL") {
		return c.ref.Path.Append("securityContext", "capabilities", "add")
	}
	return c.ref.Path.Append("securityContext", "capabilities", "drop")
}

// runAsNonRootField points where fixRunAsNonRootContainer writes, or
// where the user must act: the container's runAsNonRoot when it sets
// false; the field that makes it run as root by the user's choice (its
// runAsUser: 0, or the pod's it inherits); the container's runAsNonRoot
// when another container would make the pod's unusable; else the pod's,
// where one line fixes every container.
func runAsNonRootField(pt *lint.PodTemplate, c podContainer, _ api.Version) lint.Path {
	if sc := c.spec.SecurityContext; sc != nil && sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
		return c.ref.Path.Append("securityContext", "runAsNonRoot")
	}
	if why, field := rootByChoice(pt, c); why != "" {
		return field
	}
	if _, why := inheritingRoot(pt); why != "" {
		return c.ref.Path.Append("securityContext", "runAsNonRoot")
	}
	return pt.SpecPath.Append("securityContext", "runAsNonRoot")
}

func runAsUserField(pt *lint.PodTemplate, c podContainer, _ api.Version) lint.Path {
	if sc := c.spec.SecurityContext; sc != nil && sc.RunAsUser != nil {
		return c.ref.Path.Append("securityContext", "runAsUser")
	}
	return pt.SpecPath.Append("securityContext", "runAsUser")
}

// Before policy v1.19 the seccomp checks read the alpha annotations; from
// v1.19 they read the securityContext fields.
var seccompFieldsVersion = api.MajorMinorVersion(1, 19)

const (
	seccompPodAnnotation             = "seccomp.security.alpha.kubernetes.io/pod"
	seccompContainerAnnotationPrefix = "container.seccomp.security.alpha.kubernetes.io/"
)

func seccompBaselineContainerField(pt *lint.PodTemplate, c podContainer, v api.Version) lint.Path {
	if v.Older(seccompFieldsVersion) {
		return pt.MetaPath.Append("annotations", seccompContainerAnnotationPrefix+c.ref.Name)
	}
	return c.ref.Path.Append("securityContext", "seccompProfile", "type")
}

func seccompBaselinePodField(pt *lint.PodTemplate, v api.Version) lint.Path {
	if v.Older(seccompFieldsVersion) {
		return pt.MetaPath.Append("annotations", seccompPodAnnotation)
	}
	return pt.SpecPath.Append("securityContext", "seccompProfile", "type")
}

// seccompRestrictedContainerField points at the container's profile when
// it sets a bad one, else at the pod's, where one line fixes every
// container.
func seccompRestrictedContainerField(pt *lint.PodTemplate, c podContainer, _ api.Version) lint.Path {
	if sc := c.spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		return c.ref.Path.Append("securityContext", "seccompProfile", "type")
	}
	return pt.SpecPath.Append("securityContext", "seccompProfile")
}

// appArmorPodField points at the pod's profile type when it is neither
// RuntimeDefault nor Localhost, else at the first deprecated AppArmor
// annotation with a value the check forbids.
func appArmorPodField(pt *lint.PodTemplate, _ api.Version) lint.Path {
	if sc := pt.Spec.SecurityContext; sc != nil && sc.AppArmorProfile != nil {
		if t := sc.AppArmorProfile.Type; t != corev1.AppArmorProfileTypeRuntimeDefault && t != corev1.AppArmorProfileTypeLocalhost {
			return pt.SpecPath.Append("securityContext", "appArmorProfile", "type")
		}
	}
	var keys []string
	for k, v := range pt.Meta.Annotations {
		if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) &&
			v != "" && v != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault &&
			!strings.HasPrefix(v, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return pt.MetaPath.Append("annotations")
	}
	slices.Sort(keys)
	return pt.MetaPath.Append("annotations", keys[0])
}

// The examples are one Deployment that passes every check at
// restricted:latest, with the parts a check is about replaced.
const (
	defaultPodSC       = "runAsNonRoot: true\nseccompProfile:\n  type: RuntimeDefault\n"
	defaultContainerSC = "allowPrivilegeEscalation: false\ncapabilities:\n  drop: [\"ALL\"]\n"
)

// podExample holds YAML fragments, each written relative to its parent
// and ending in a newline. Empty podSC and sc mean the defaults.
type podExample struct {
	pod       string // extra pod spec fields
	podSC     string // the pod's securityContext
	container string // extra container fields
	sc        string // the container's securityContext
}

func (e podExample) deployment() string {
	podSC := cmp.Or(e.podSC, defaultPodSC)
	sc := cmp.Or(e.sc, defaultContainerSC)
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
` + indent(e.pod, 6) +
		"      securityContext:\n" + indent(podSC, 8) +
		"      containers:\n" +
		"      - name: web\n" +
		"        image: registry.example.com/web:1.4.2\n" +
		indent(e.container, 8) +
		"        securityContext:\n" + indent(sc, 10)
}

func indent(s string, n int) string {
	if s == "" {
		return ""
	}
	pad := strings.Repeat(" ", n)
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(pad + l)
		}
	}
	return b.String()
}

// atBaseline puts an example in a namespace labelled baseline, for the
// baseline checks that a restricted check overrides: at restricted, the
// default level, they never report. The workload stays the first object.
func atBaseline(manifest string) string {
	return strings.Replace(manifest, "metadata:\n  name: web\n", "metadata:\n  name: web\n  namespace: shop\n", 1) +
		"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    " + lint.LabelEnforce + ": baseline\n"
}
