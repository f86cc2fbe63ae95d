package rules

import "github.com/kubeharden/kubeharden/lint"

// The risk classes of the automatic fixes (issue 13): whether merging a
// fix can stop a workload that works today, and why. Each fixing rule's
// fixes carry one of these (withRisk), and its FixRisk names them for the
// catalogue (riskDoc), so the reason is written once.

// fixRisk is a risk class with its reason, a lowercase clause.
type fixRisk struct {
	class  lint.FixRisk
	reason string
}

var (
	riskRunAsNonRoot = fixRisk{lint.FixMayBreak,
		"the image may run as root, and the kubelet then refuses to start the container"}
	riskReadOnlyRootFilesystem = fixRisk{lint.FixMayBreak,
		"the application may write to its root filesystem, which then fails until an emptyDir is mounted where it writes"}
	riskDropAll = fixRisk{lint.FixMayBreak,
		"the image may need a capability the runtime grants by default (CHOWN, SETUID, SETGID, NET_RAW...)"}
	riskAutomount = fixRisk{lint.FixMayBreak,
		"the workload may call the API server with its token, under RBAC granted outside the repo"}
	riskDefaultDeny = fixRisk{lint.FixMayBreak,
		"the namespace's workloads lose every connection no other NetworkPolicy allows"}
	riskEnforceLabel = fixRisk{lint.FixMayBreak,
		"the API server rejects pods of the namespace that fail the level, including those deployed from outside the repo, at their next rollout"}
	riskWarnAuditLabels = fixRisk{lint.FixSafe,
		"warn and audit labels only report the pods the level would reject; nothing is rejected"}
	riskVerbsWithoutEvidence = fixRisk{lint.FixMayBreak,
		"the role's users may need a verb \"*\" granted beyond these (escalate, bind, impersonate or a custom verb)"}
	riskNarrowedByEvidence = fixRisk{lint.FixSafe,
		"it keeps every request the audit log shows the role's users made"}
	riskSeccompRuntimeDefault = fixRisk{lint.FixSafe,
		"the runtime's default profile allows the system calls ordinary containers make"}
	riskNoPrivilegeEscalation = fixRisk{lint.FixSafe,
		"it only stops processes from gaining more privileges than their parent (setuid binaries, file capabilities)"}
)

// withRisk declares r on fx and returns fx.
func withRisk(fx *lint.FixInfo, r fixRisk) *lint.FixInfo {
	fx.Risk, fx.RiskReason = r.class, r.reason
	return fx
}

// riskDoc is r as a rule's FixRisk sentence.
func riskDoc(r fixRisk) string { return string(r.class) + ": " + r.reason + "." }
