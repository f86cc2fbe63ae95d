package lint

import (
	"os"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
)

func auditLine(fields string) string {
	return `{"kind":"Event","apiVersion":"audit.k8s.io/v1",` + fields + "}\n"
}

func TestParseAuditLog(t *testing.T) {
	src := auditLine(`"stage":"RequestReceived","verb":"get","user":{"username":"alice"},"stageTimestamp":"2026-05-04T08:00:00Z"`) +
		"\n" +
		auditLine(`"stage":"ResponseComplete","verb":"get","user":{"username":"alice","groups":["dev","system:authenticated"]},`+
			`"objectRef":{"resource":"pods","subresource":"log","namespace":"shop","name":"web-1","apiVersion":"v1"},`+
			`"responseStatus":{"code":200},"requestReceivedTimestamp":"2026-05-04T07:59:59Z","stageTimestamp":"2026-05-04T08:00:01.5Z"`) +
		strings.TrimSuffix(auditLine(`"verb":"patch","user":{"username":"admin"},"impersonatedUser":{"username":"system:serviceaccount:ops:bot","groups":["system:serviceaccounts"]},`+
			`"objectRef":{"apiGroup":"apps","resource":"deployments","namespace":"shop","name":"web"},"responseStatus":{"code":403},"requestReceivedTimestamp":"2026-05-03T10:00:00+02:00"`), "\n") + "\r\n" +
		auditLine(`"verb":"get","user":{"username":"system:anonymous"}`)
	log, err := ParseAuditLog("audit.jsonl", strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if log.Name != "audit.jsonl" || len(log.Events) != 3 || log.Skipped != 1 {
		t.Fatalf("got name %q, %d events, %d skipped; want audit.jsonl, 3, 1", log.Name, len(log.Events), log.Skipped)
	}
	logs := log.Events[0]
	if logs.Line != 3 || logs.User != "alice" || logs.RBACResource() != "pods/log" || logs.Namespace != "shop" || logs.Name != "web-1" ||
		logs.Code != 200 || !logs.Authorized() || !logs.Time.Equal(time.Date(2026, 5, 4, 8, 0, 1, 5e8, time.UTC)) {
		t.Errorf("event 0 = %+v", logs)
	}
	patch := log.Events[1]
	if patch.User != "system:serviceaccount:ops:bot" || patch.APIGroup != "apps" || patch.RBACResource() != "deployments" || patch.Authorized() {
		t.Errorf("event 1 (impersonated, forbidden) = %+v", patch)
	}
	if !patch.Time.Equal(time.Date(2026, 5, 3, 8, 0, 0, 0, time.UTC)) || patch.Time.Location() != time.UTC {
		t.Errorf("event 1 time = %v, want 2026-05-03T08:00:00Z", patch.Time)
	}
	if nonResource := log.Events[2]; nonResource.Resource != "" || !nonResource.Time.IsZero() || nonResource.Code != 0 {
		t.Errorf("event 2 (no objectRef, no time) = %+v", nonResource)
	}
	if !log.First.Equal(patch.Time) || !log.Last.Equal(logs.Time) {
		t.Errorf("window %v..%v, want %v..%v", log.First, log.Last, patch.Time, logs.Time)
	}
}

func TestParseAuditLogErrors(t *testing.T) {
	ok := auditLine(`"verb":"get","user":{"username":"alice"}`)
	tests := []struct {
		name, src, want string
	}{
		{"bad JSON", ok + "{\"kind\":\n", `audit.jsonl:2: not a JSON audit event`},
		{"wrong kind", ok + ok + `{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","verb":"get"}` + "\n", `audit.jsonl:3: want an audit.k8s.io/v1 Event, got apiVersion "audit.k8s.io/v1beta1" kind "Event"`},
		{"not an event", `{"kind":"Pod","apiVersion":"v1"}`, `audit.jsonl:1: want an audit.k8s.io/v1 Event`},
		{"no verb", auditLine(`"user":{"username":"alice"}`), `audit.jsonl:1: event has no verb`},
		{"no user", "\n" + auditLine(`"verb":"get"`), `audit.jsonl:2: event has no user.username`},
		{"bad time", auditLine(`"verb":"get","user":{"username":"a"},"stageTimestamp":"yesterday"`), `audit.jsonl:1: bad stageTimestamp "yesterday"`},
		{"long line", ok + ok + strings.Repeat(" ", MaxAuditLineBytes+1) + "\n", `audit.jsonl:3: line longer than`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAuditLog("audit.jsonl", strings.NewReader(tt.src))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %v, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestAuditEventMadeBy(t *testing.T) {
	sa := AuditEvent{User: "system:serviceaccount:ops:bot", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ops"}}
	tests := []struct {
		s      rbacv1.Subject
		bindNS string
		want   bool
	}{
		{rbacv1.Subject{Kind: "ServiceAccount", Name: "bot", Namespace: "ops"}, "", true},
		{rbacv1.Subject{Kind: "ServiceAccount", Name: "bot"}, "ops", true},
		{rbacv1.Subject{Kind: "ServiceAccount", Name: "bot"}, "shop", false},
		{rbacv1.Subject{Kind: "ServiceAccount", Name: "bot"}, "", false},
		{rbacv1.Subject{Kind: "User", Name: "system:serviceaccount:ops:bot"}, "", true},
		{rbacv1.Subject{Kind: "Group", Name: "system:serviceaccounts:ops"}, "", true},
		{rbacv1.Subject{Kind: "Group", Name: "system:serviceaccounts:shop"}, "", false},
		{rbacv1.Subject{Kind: "Robot", Name: "bot"}, "ops", false},
	}
	for _, tt := range tests {
		if got := sa.MadeBy(tt.s, tt.bindNS); got != tt.want {
			t.Errorf("MadeBy(%+v, %q) = %v, want %v", tt.s, tt.bindNS, got, tt.want)
		}
	}
}

// TestParseAuditLogSample reads the sample that the RBAC narrowing tests
// use, so that it stays a valid log.
func TestParseAuditLogSample(t *testing.T) {
	const file = "../rules/testdata/rbac-wildcard/audit.jsonl"
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	log, err := ParseAuditLog("audit.jsonl", f)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Events) < 24 || log.Skipped == 0 || log.First.IsZero() || !log.First.Before(log.Last) {
		t.Errorf("sample: %d events, %d skipped, window %v..%v", len(log.Events), log.Skipped, log.First, log.Last)
	}
}
