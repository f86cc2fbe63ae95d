package lint

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
)

// The bounds of ParseAuditLog. A log beyond them is an error rather than
// a partial read: evidence cut short would narrow roles to less than the
// subjects use.
const (
	// MaxAuditLineBytes bounds one event line (events logged at the
	// RequestResponse level carry whole objects).
	MaxAuditLineBytes = 4 << 20
	// MaxAuditEvents bounds the events kept from one log.
	MaxAuditEvents = 2 << 20
)

// auditAPIVersion and auditKind are what every line of a log must be.
const (
	auditAPIVersion = "audit.k8s.io/v1"
	auditKind       = "Event"
	// auditStageComplete is the stage that records a request once, with
	// its response code; the other stages repeat it.
	auditStageComplete = "ResponseComplete"
)

// AuditEvent is one request to the API server from a Kubernetes audit log
// (an audit.k8s.io/v1 Event at stage ResponseComplete), reduced to what
// RBAC narrowing needs.
type AuditEvent struct {
	// Line is where the event is in the log, 1-based.
	Line int
	// User and Groups are who the request was authorized as: the
	// impersonated user when the request impersonated one, else the
	// authenticated user.
	User   string
	Groups []string
	// Verb is the authorization verb: get, list, watch, create, ...
	Verb string
	// APIGroup ("" for the core group), Resource, Subresource, Namespace
	// and Name come from objectRef; Resource is "" for requests to
	// non-resource URLs.
	APIGroup, Resource, Subresource, Namespace, Name string
	// Time is stageTimestamp, else requestReceivedTimestamp; zero when
	// the event has neither.
	Time time.Time
	// Code is responseStatus.code, 0 when absent.
	Code int
}

// RBACResource is the resource as RBAC rules name it: "pods", or
// "pods/log" for a subresource.
func (e *AuditEvent) RBACResource() string {
	if e.Subresource == "" {
		return e.Resource
	}
	return e.Resource + "/" + e.Subresource
}

// Authorized reports whether the request got past authentication and
// authorization: a 401 or 403 response means the subject lacked the
// permission, so the request is no evidence that a role grants it.
func (e *AuditEvent) Authorized() bool {
	return e.Code != 401 && e.Code != 403
}

// MadeBy reports whether the request was made as subject s of an RBAC
// binding: a ServiceAccount is the user system:serviceaccount:NS:NAME,
// where NS defaults to the binding's namespace; a User is the user name;
// a Group is one of the request's groups.
func (e *AuditEvent) MadeBy(s rbacv1.Subject, bindingNamespace string) bool {
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		return ns != "" && e.User == "system:serviceaccount:"+ns+":"+s.Name
	case rbacv1.UserKind:
		return e.User == s.Name
	case rbacv1.GroupKind:
		return slices.Contains(e.Groups, s.Name)
	}
	return false
}

// AuditLog is a parsed audit log: the completed requests, in log order.
type AuditLog struct {
	// Name is the log's file name, as evidence refers to it.
	Name   string
	Events []AuditEvent
	// First and Last are the earliest and latest event times, zero when
	// no event has one.
	First, Last time.Time
	// Skipped counts the events of stages other than ResponseComplete.
	Skipped int
}

// auditEventJSON is the part of an audit.k8s.io/v1 Event that is read.
type auditEventJSON struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Stage      string       `json:"stage"`
	Verb       string       `json:"verb"`
	User       *auditUser   `json:"user"`
	Imp        *auditUser   `json:"impersonatedUser"`
	ObjectRef  *auditObject `json:"objectRef"`
	Status     *struct {
		Code int `json:"code"`
	} `json:"responseStatus"`
	StageTimestamp    string `json:"stageTimestamp"`
	ReceivedTimestamp string `json:"requestReceivedTimestamp"`
}

type auditUser struct {
	Username string   `json:"username"`
	Groups   []string `json:"groups"`
}

type auditObject struct {
	APIGroup    string `json:"apiGroup"`
	Resource    string `json:"resource"`
	Subresource string `json:"subresource"`
	Namespace   string `json:"namespace"`
	Name        string `json:"name"`
}

// ParseAuditLog reads a Kubernetes audit log in the log backend's format:
// one audit.k8s.io/v1 Event as JSON per line (blank lines are skipped).
// Events with a stage other than ResponseComplete are counted in Skipped
// and dropped, so each request counts once. A line that is not such an
// event, a line longer than MaxAuditLineBytes and a log of more than
// MaxAuditEvents events are errors naming the file and the line.
func ParseAuditLog(name string, r io.Reader) (*AuditLog, error) {
	log := &AuditLog{Name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxAuditLineBytes)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		if len(b) == 0 {
			continue
		}
		ev, keep, err := parseAuditLine(b)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		if !keep {
			log.Skipped++
			continue
		}
		if len(log.Events) == MaxAuditEvents {
			return nil, fmt.Errorf("%s:%d: more than %d events; pass a shorter log", name, line, MaxAuditEvents)
		}
		ev.Line = line
		log.Events = append(log.Events, ev)
		if t := ev.Time; !t.IsZero() {
			if log.First.IsZero() || t.Before(log.First) {
				log.First = t
			}
			if t.After(log.Last) {
				log.Last = t
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", name, line+1, MaxAuditLineBytes)
		}
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return log, nil
}

// parseAuditLine decodes one line; keep is false for events of other
// stages.
func parseAuditLine(b []byte) (ev AuditEvent, keep bool, err error) {
	var j auditEventJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return ev, false, fmt.Errorf("not a JSON audit event: %w", err)
	}
	if j.APIVersion != auditAPIVersion || j.Kind != auditKind {
		return ev, false, fmt.Errorf("want an %s %s, got apiVersion %q kind %q", auditAPIVersion, auditKind, j.APIVersion, j.Kind)
	}
	if j.Stage != "" && j.Stage != auditStageComplete {
		return ev, false, nil
	}
	if j.Verb == "" {
		return ev, false, fmt.Errorf("event has no verb")
	}
	u := j.User
	if j.Imp != nil && j.Imp.Username != "" {
		u = j.Imp
	}
	if u == nil || u.Username == "" {
		return ev, false, fmt.Errorf("event has no user.username")
	}
	ev = AuditEvent{User: u.Username, Groups: u.Groups, Verb: j.Verb}
	if o := j.ObjectRef; o != nil {
		ev.APIGroup, ev.Resource, ev.Subresource, ev.Namespace, ev.Name = o.APIGroup, o.Resource, o.Subresource, o.Namespace, o.Name
	}
	if j.Status != nil {
		ev.Code = j.Status.Code
	}
	for _, ts := range []struct{ field, value string }{
		{"stageTimestamp", j.StageTimestamp},
		{"requestReceivedTimestamp", j.ReceivedTimestamp},
	} {
		if ts.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, ts.value)
		if err != nil {
			return ev, false, fmt.Errorf("bad %s %q: want RFC 3339", ts.field, ts.value)
		}
		ev.Time = t.UTC()
		break
	}
	return ev, true, nil
}
