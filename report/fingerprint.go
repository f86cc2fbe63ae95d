package report

import "github.com/kubeharden/kubeharden/lint"

// Fingerprint identifies a finding across runs. It is lint.Fingerprint,
// the value baselines record, so that a baseline entry and a code-scanning
// alert (SARIF partialFingerprints "kubeharden/v1") name a finding the
// same way: the lowercase hex SHA-256 of, each followed by a NUL byte, the
// rule ID, the target, the deploying GitOps object ("Kind/Name", or ""),
// the resource's kind, namespace and name, the field path in ypath's
// spelling and, only when the finding has one, its Key. Keys came after
// "kubeharden/v1": a finding without one kept its fingerprint, and the
// keyed ones (the ingress and egress default-deny findings of a namespace)
// had shared theirs, which code scanning could not tell apart anyway; so
// the key stayed "kubeharden/v1".
//
// It leaves out what changes when a repository is edited around a
// finding — file, line, column, origin, message, severity and the
// resource's apiVersion — so moving lines, rewording a message or
// migrating an apiVersion keeps the fingerprint. Changing the definition
// invalidates stored baselines and alerts and needs a new version key.
//
// Unlike lint.Fingerprint it accepts a finding without a rule or object,
// hashing empty strings for the missing parts.
func Fingerprint(f lint.Finding) string {
	if f.Rule == nil {
		f.Rule = &lint.Rule{}
	}
	if f.Object == nil {
		f.Object = &lint.Object{}
	}
	return lint.Fingerprint(f)
}
