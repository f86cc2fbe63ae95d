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
	return withRisk(&lint.FixInfo{Description: desc, Patches: []fix.Patch{fix.EnsureItem(field, "ALL")}}, riskDropAll), ""
}

// fixRunAsNonRootContainer sets true where the container sets false (it
// overrides the pod), else on the pod, which covers every container that
// does not set it, unless one of those runs as root by the user's choice:
// then on the container alone. No fix is offered for a container that
// runs as root by the user's choice (see rootByChoice): the kubelet
// refuses to start a container with runAsNonRoot: true and UID 0, so the
// fix would stop a working pod rather than harden it.
func fixRunAsNonRootContainer(pt *lint.PodTemplate, c podContainer, _ lint.Path) (*lint.FixInfo, string) {
	if why, _ := rootByChoice(pt, c); why != "" {
		return nil, noRunAsNonRootFix(containerLabel(c), why)
	}
	onContainer := func() (*lint.FixInfo, string) {
		fx := setFix("set runAsNonRoot: true on "+containerLabel(c), c.ref.Path.Append("securityContext", "runAsNonRoot"), true)
		return withRisk(fx, riskRunAsNonRoot), ""
	}
	if sc := c.spec.SecurityContext; sc != nil && sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
		return onContainer()
	}
	if _, why := inheritingRoot(pt); why != "" {
		return onContainer()
	}
	return fixRunAsNonRootPod(pt, nil)
}

// fixRunAsNonRootPod sets true on the pod, unless a container that would
// inherit it runs as root by the user's choice.
func fixRunAsNonRootPod(pt *lint.PodTemplate, _ lint.Path) (*lint.FixInfo, string) {
	if c, why := inheritingRoot(pt); why != "" {
		return nil, noRunAsNonRootFix(containerLabel(c), why)
	}
	fx := setFix("set runAsNonRoot: true on the pod", pt.SpecPath.Append("securityContext", "runAsNonRoot"), true)
	return withRisk(fx, riskRunAsNonRoot), ""
}

// noRunAsNonRootFix is the note of a runAsNonRoot finding whose fix would
// contradict the user's choice of a root user.
func noRunAsNonRootFix(container, why string) string {
	advice := "set a non-zero runAsUser"
	if strings.Contains(why, "runAsUserName") {
		advice = "set a runAsUserName other than ContainerAdministrator"
	}
	return fmt.Sprintf("no automatic fix: %s %s, so the image runs as root by the user's choice and the kubelet "+
		"would refuse to start it with runAsNonRoot: true; %s", container, why, advice)
}

// inheritingRoot returns the first container that would inherit a
// pod-level runAsNonRoot (it sets none of its own) and runs as root by
// the user's choice, with why.
func inheritingRoot(pt *lint.PodTemplate) (podContainer, string) {
	for _, c := range podContainers(pt) {
		if sc := c.spec.SecurityContext; sc != nil && sc.RunAsNonRoot != nil {
			continue
		}
		if why, _ := rootByChoice(pt, c); why != "" {
			return c, why
		}
	}
	return podContainer{}, ""
}

// rootByChoice says how container c is made to run as root by a field
// the user set, and which field, or "" when it is not: runAsUser: 0 on
// the container, or on the pod and not overridden by the container; on
// Windows, runAsUserName ContainerAdministrator the same way.
// runAsNonRoot: true next to either is a pod the kubelet cannot start.
func rootByChoice(pt *lint.PodTemplate, c podContainer) (string, lint.Path) {
	sc, psc := c.spec.SecurityContext, pt.Spec.SecurityContext
	switch {
	case sc != nil && sc.RunAsUser != nil:
		if *sc.RunAsUser == 0 {
			return "sets runAsUser: 0", c.ref.Path.Append("securityContext", "runAsUser")
		}
	case psc != nil && psc.RunAsUser != nil && *psc.RunAsUser == 0:
		return "inherits runAsUser: 0 from the pod", pt.SpecPath.Append("securityContext", "runAsUser")
	}
	user := lint.Path{"securityContext", "windowsOptions", "runAsUserName"}
	switch {
	case sc != nil && sc.WindowsOptions != nil && sc.WindowsOptions.RunAsUserName != nil:
		if name := *sc.WindowsOptions.RunAsUserName; isWindowsAdministrator(name) {
			return "sets runAsUserName: " + name, c.ref.Path.Append(user...)
		}
	case psc != nil && psc.WindowsOptions != nil && psc.WindowsOptions.RunAsUserName != nil &&
		isWindowsAdministrator(*psc.WindowsOptions.RunAsUserName):
		return "inherits runAsUserName: " + *psc.WindowsOptions.RunAsUserName + " from the pod", pt.SpecPath.Append(user...)
	}
	return "", nil
}

// isWindowsAdministrator reports whether a Windows user name is the
// container administrator, which the kubelet treats as root (and
// compares without case).
func isWindowsAdministrator(name string) bool {
	return strings.EqualFold(name, "ContainerAdministrator")
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
	return withRisk(setFix("set allowPrivilegeEscalation: false on "+containerLabel(c), field, false), riskNoPrivilegeEscalation), ""
}

// fixSeccompContainer sets RuntimeDefault on the container when it sets a
// profile of its own (which overrides the pod's), else on the pod.
func fixSeccompContainer(pt *lint.PodTemplate, c podContainer, _ lint.Path) (*lint.FixInfo, string) {
	if sc := c.spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		return seccompFix("set seccompProfile type RuntimeDefault on "+containerLabel(c),
			c.ref.Path.Append("securityContext", "seccompProfile"), sc.SeccompProfile), ""
	}
	return fixSeccompPod(pt, nil)
}

func fixSeccompPod(pt *lint.PodTemplate, _ lint.Path) (*lint.FixInfo, string) {
	var cur *corev1.SeccompProfile
	if pt.Spec.SecurityContext != nil {
		cur = pt.Spec.SecurityContext.SeccompProfile
	}
	return seccompFix("set seccompProfile type RuntimeDefault on the pod", pt.SpecPath.Append("securityContext", "seccompProfile"), cur), ""
}

// seccompFix sets the profile at path to RuntimeDefault, removing a
// localhostProfile, which the API server allows only with type Localhost.
func seccompFix(description string, path lint.Path, cur *corev1.SeccompProfile) *lint.FixInfo {
	fx := setFix(description, path.Append("type"), string(corev1.SeccompProfileTypeRuntimeDefault))
	if cur != nil && cur.LocalhostProfile != nil {
		fx.Patches = append(fx.Patches, fix.Delete(path.Append("localhostProfile")))
	}
	return withRisk(fx, riskSeccompRuntimeDefault)
}

// readOnlyRootFilesystemFix sets the field on the container.
func readOnlyRootFilesystemFix(c podContainer) *lint.FixInfo {
	return withRisk(setFix(fmt.Sprintf("set readOnlyRootFilesystem: true on %s", containerLabel(c)),
		c.ref.Path.Append("securityContext", "readOnlyRootFilesystem"), true), riskReadOnlyRootFilesystem)
}
