package rules

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/pod-security-admission/policy"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/lint"
)

// The automatic fixes of the workload and Pod Security rules. Each says
// what must be true of the rendered object (fix.Set, fix.EnsureItem on a
// path from the object's root) so that the rule's check passes for that
// field; the planner finds where to write it. A fix is only offered where
// it is safe to apply without a human: nothing is removed that the
// application may rely on (added capabilities, host namespaces, volumes),
// and no value is written that the API server would reject.

// setFix is a fix that sets one field.
func setFix(description string, path lint.Path, value any) *lint.FixInfo {
	return &lint.FixInfo{Description: description, Patches: []fix.Patch{fix.Set(path, value)}}
}

// noCapabilityRemoval is why added capabilities are not fixed.
const noCapabilityRemoval = "not removed automatically, as the application may need them"

// capabilitiesRestrictedParts cuts upstream's result for one container
// into the missing drop of ALL and the forbidden adds, which upstream
// joins with "; ", so that the first gets a fix and the second a note.
func capabilitiesRestrictedParts(c podContainer, r policy.CheckResult) []pssViolation {
	drop, add, ok := strings.Cut(r.ForbiddenDetail, "; ")
	if !ok || !strings.Contains(drop, "capabilities.drop") || !strings.Contains(add, "capabilities.add") {
		return nil
	}
	caps := c.ref.Path.Append("securityContext", "capabilities")
	return []pssViolation{{field: caps.Append("drop"), message: drop}, {field: caps.Append("add"), message: add}}
}

// fixCapabilities makes a container drop ALL when the finding is about
// drop (the restricted check); a finding about add gets a note instead.
func fixCapabilities(_ *lint.PodTemplate, c podContainer, field lint.Path) (*lint.FixInfo, string) {
	if len(field) == 0 || field[len(field)-1] != "drop" {
		return nil, noCapabilityRemoval
	}
	desc := "drop ALL capabilities from " + containerLabel(c)
	if sc := c.spec.SecurityContext; sc != nil && sc.Capabilities != nil && slices.Contains(sc.Capabilities.Add, "NET_BIND_SERVICE") {
		desc += ", keeping the NET_BIND_SERVICE it adds"
	}
	return &lint.FixInfo{Description: desc, Patches: []fix.Patch{fix.EnsureItem(field, "ALL")}}, ""
}

// fixRunAsNonRootContainer sets true where the container sets false (it
// overrides the pod), else on the pod, which covers every container.
func fixRunAsNonRootContainer(pt *lint.PodTemplate, c podContainer, _ lint.Path) (*lint.FixInfo, string) {
	if sc := c.spec.SecurityContext; sc != nil && sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
		return setFix("set runAsNonRoot: true on "+containerLabel(c), c.ref.Path.Append("securityContext", "runAsNonRoot"), true), ""
	}
	return fixRunAsNonRootPod(pt, nil), ""
}

func fixRunAsNonRootPod(pt *lint.PodTemplate, _ lint.Path) *lint.FixInfo {
	return setFix("set runAsNonRoot: true on the pod", pt.SpecPath.Append("securityContext", "runAsNonRoot"), true)
}

// fixAllowPrivilegeEscalation sets false on the container, unless the
// API server would reject the result: allowPrivilegeEscalation: false
// with privileged: true or with CAP_SYS_ADMIN added is invalid.
func fixAllowPrivilegeEscalation(_ *lint.PodTemplate, c podContainer, field lint.Path) (*lint.FixInfo, string) {
	if sc := c.spec.SecurityContext; sc != nil {
		if sc.Privileged != nil && *sc.Privileged {
			return nil, "not set automatically on a privileged container, where the API server rejects it: remove privileged first"
		}
		if sc.Capabilities != nil && slices.ContainsFunc(sc.Capabilities.Add, func(c corev1.Capability) bool {
			return c == "SYS_ADMIN" || c == "CAP_SYS_ADMIN"
		}) {
			return nil, "not set automatically while the container adds SYS_ADMIN, where the API server rejects it: remove the capability first"
		}
	}
	return setFix("set allowPrivilegeEscalation: false on "+containerLabel(c), field, false), ""
}

// fixSeccompContainer sets RuntimeDefault on the container when it sets a
// profile of its own (which overrides the pod's), else on the pod.
func fixSeccompContainer(pt *lint.PodTemplate, c podContainer, _ lint.Path) (*lint.FixInfo, string) {
	if sc := c.spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		return seccompFix("set seccompProfile type RuntimeDefault on "+containerLabel(c),
			c.ref.Path.Append("securityContext", "seccompProfile"), sc.SeccompProfile), ""
	}
	return fixSeccompPod(pt, nil), ""
}

func fixSeccompPod(pt *lint.PodTemplate, _ lint.Path) *lint.FixInfo {
	var cur *corev1.SeccompProfile
	if pt.Spec.SecurityContext != nil {
		cur = pt.Spec.SecurityContext.SeccompProfile
	}
	return seccompFix("set seccompProfile type RuntimeDefault on the pod", pt.SpecPath.Append("securityContext", "seccompProfile"), cur)
}

// seccompFix sets the profile at path to RuntimeDefault, removing a
// localhostProfile, which the API server allows only with type Localhost.
func seccompFix(description string, path lint.Path, cur *corev1.SeccompProfile) *lint.FixInfo {
	fx := setFix(description, path.Append("type"), string(corev1.SeccompProfileTypeRuntimeDefault))
	if cur != nil && cur.LocalhostProfile != nil {
		fx.Patches = append(fx.Patches, fix.Delete(path.Append("localhostProfile")))
	}
	return fx
}

// readOnlyRootFilesystemFix sets the field on the container.
func readOnlyRootFilesystemFix(c podContainer) *lint.FixInfo {
	return setFix(fmt.Sprintf("set readOnlyRootFilesystem: true on %s", containerLabel(c)),
		c.ref.Path.Append("securityContext", "readOnlyRootFilesystem"), true)
}
