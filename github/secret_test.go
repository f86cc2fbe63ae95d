package github

import (
	"strings"
	"testing"
)

// TestSecretCommentHasNoSuggestion checks that a review comment on a
// Secret finding never carries a suggestion block, whose lines could
// quote the credential.
func TestSecretCommentHasNoSuggestion(t *testing.T) {
	f := Finding{Fingerprint: "fp", Rule: "env-secret-literal", Message: "credential env var", Resource: "Deployment/web", Secret: true}
	s := &Suggestion{Line: 3, Lines: []string{"          value: SUPERSECRET"}}
	body := commentBody(f, s)
	if strings.Contains(body, "SUPERSECRET") || strings.Contains(body, "suggestion") {
		t.Errorf("comment on a secret shows its line:\n%s", body)
	}
	f.Secret = false
	if body := commentBody(f, s); !strings.Contains(body, "```suggestion") {
		t.Errorf("comment on a plain finding lost its suggestion:\n%s", body)
	}
}
