package rules

import (
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/lint"
)

// secretInGitRule reports core v1 Secrets that carry values in plain text
// (base64 is an encoding, not encryption). A SOPS-encrypted document (a
// top-level sops key) is skipped whole; otherwise every non-empty value of
// data and stringData that is not a SOPS ENC[AES256_GCM,...] string counts.
// Findings name the keys, never the values.
var secretInGitRule = &lint.Rule{
	ID: "secret-in-git",
	// Its findings point at the credential itself.
	SecretValues: true,
	Title:        "secrets must not be committed in plain text",
	Doc: "A Secret manifest in the repository puts its values, base64-encoded but not encrypted, in " +
		"every clone, fork, CI log and backup of the repository, where they outlive any rotation. Keep " +
		"secret values out of Git: encrypt the manifest with SOPS, commit a SealedSecret instead, or have " +
		"an ExternalSecret fetch the values from a secret store at deploy time.\n\n" +
		"Documents with a top-level `sops` key and values of the form `ENC[AES256_GCM,...]` are treated " +
		"as encrypted. Findings name the keys, never the values.",
	Remediation: "Encrypt the Secret with SOPS, or replace it with a SealedSecret or an ExternalSecret, and rotate the values that were committed.",
	Links: []string{
		secretsPracticeURL,
		secretsURL,
		nsaGuideURL,
	},
	Severity: lint.High,
	Since:    "v0.1.0",
	Kinds:    []string{"Secret"},
	Before: `apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
type: Opaque
stringData:
  password: hunter2
`,
	After: `apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
type: Opaque
stringData:
  password: ENC[AES256_GCM,data:Tr7ZpW0=,iv:9f3Q,tag:k2Vd,type:str]
sops:
  version: 3.9.0
`,
	Check: checkSecretInGit,
}

func checkSecretInGit(p *lint.Pass, o *lint.Object) {
	if o.Resource.APIVersion != "v1" || o.Get(lint.Path{"sops"}) != nil {
		return
	}
	for _, section := range []string{"data", "stringData"} {
		field := lint.Path{section}
		n := o.Get(field)
		if n == nil || n.Kind != yaml.MappingNode {
			continue
		}
		var keys []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := n.Content[i+1]; v.Kind != yaml.ScalarNode || (v.Value != "" && !sopsEncrypted(v.Value)) {
				keys = append(keys, n.Content[i].Value)
			}
		}
		if len(keys) == 0 {
			continue
		}
		slices.Sort(keys)
		noun := "value"
		if len(keys) > 1 {
			noun = "values"
		}
		p.Reportf(o, field, "secret %q has %d unencrypted %s in %s (%s)",
			o.Resource.Name, len(keys), noun, section, listNames(keys))
	}
}

// sopsEncrypted reports whether a value is a SOPS-encrypted string.
func sopsEncrypted(v string) bool {
	return strings.HasPrefix(v, "ENC[AES256_GCM,") && strings.HasSuffix(v, "]")
}

// longLivedSATokenRule reports core v1 Secrets of type
// kubernetes.io/service-account-token: tokens that never expire.
var longLivedSATokenRule = &lint.Rule{
	ID:    "long-lived-sa-token",
	Title: "service accounts must not use long-lived token secrets",
	Doc: "A Secret of type `kubernetes.io/service-account-token` makes the token controller mint a " +
		"service account token that never expires and stays valid until the Secret is deleted. Anyone " +
		"who reads it once, from the namespace, a backup or a log, keeps the service account's " +
		"permissions. Pods get short-lived, automatically rotated tokens bound to the pod through a " +
		"projected volume, and clients outside the cluster can request one with the TokenRequest API " +
		"(`kubectl create token`).",
	Remediation: "Delete the token Secret and use a projected serviceAccountToken volume or the TokenRequest API for short-lived tokens.",
	Links: []string{
		serviceAccountsURL,
		"https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#manual-secret-management-for-serviceaccounts",
		nsaGuideURL,
	},
	Severity: lint.Medium,
	Since:    "v0.1.0",
	Kinds:    []string{"Secret"},
	Before: `apiVersion: v1
kind: Secret
metadata:
  name: ci-token
  annotations:
    kubernetes.io/service-account.name: ci
type: kubernetes.io/service-account-token
`,
	After: `apiVersion: v1
kind: Pod
metadata:
  name: ci
spec:
  serviceAccountName: ci
  containers:
  - name: ci
    image: registry.example.com/ci:1.0.0
`,
	Check: checkLongLivedSAToken,
}

func checkLongLivedSAToken(p *lint.Pass, o *lint.Object) {
	field := lint.Path{"type"}
	if o.Resource.APIVersion != "v1" || o.String(field) != "kubernetes.io/service-account-token" {
		return
	}
	sa := o.String(lint.Path{"metadata", "annotations", "kubernetes.io/service-account.name"})
	if sa == "" {
		p.Reportf(o, field, "secret %q holds a service account token that never expires", o.Resource.Name)
		return
	}
	p.Reportf(o, field, "secret %q holds a token for service account %q that never expires", o.Resource.Name, sa)
}
