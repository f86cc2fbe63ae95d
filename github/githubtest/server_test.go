package githubtest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func do(t *testing.T, srv *Server, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The fake refuses — and records as violations — requests that GitHub's
// description does not allow.
func TestServerValidatesRequests(t *testing.T) {
	srv, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AllowToken("tok")
	srv.AddRepo("o", "r", "main", strings.Repeat("a", 40))
	for _, tc := range []struct{ method, path, body, violation string }{
		{"GET", "/repos/o/r/nope", "", "no such operation"},
		{"DELETE", "/repos/o/r", "", "no such operation"},
		{"GET", "/repos/o/r/pulls?colour=red", "", `unknown query parameter "colour"`},
		{"GET", "/repos/o/r/pulls?per_page=many", "", "per_page"},
		{"GET", "/repos/o/r/pulls?state=merged", "", "state"},
		{"POST", "/repos/o/r/git/blobs", `{"content": 1}`, "request body"},
		{"POST", "/repos/o/r/git/blobs", `{"content": "x", "encodign": "utf-8"}`, `undeclared property "encodign"`},
		{"POST", "/repos/o/r/git/refs", `{"ref": "refs/heads/x"`, "request body"},
		{"POST", "/repos/o/r/issues/1/labels", `["a"]`, "request body"},
		{"GET", "/repos/o/r", `{"x": 1}`, "takes no request body"},
	} {
		before := len(srv.Violations())
		status, _ := do(t, srv, tc.method, tc.path, tc.body)
		v := srv.Violations()
		if status < 400 || len(v) != before+1 || !strings.Contains(v[len(v)-1], tc.violation) {
			t.Errorf("%s %s %s: status %d, violations %q", tc.method, tc.path, tc.body, status, v[before:])
		}
	}
	// Valid requests pass without a violation; a missing token is 401.
	if status, body := do(t, srv, "GET", "/repos/o/r/pulls?state=all&per_page=100", ""); status != 200 || body != "[]" {
		t.Errorf("valid list: %d %s", status, body)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/repos/o/r", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 401 {
		t.Errorf("no token: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	if n := len(srv.Violations()); n != 10 {
		// One each: the fake's own 422s match the description too.
		t.Errorf("%d violations, want 10: %q", n, srv.Violations())
	}
}

// A review comment must sit on a line of the diff, and a multi-line
// one inside a single hunk, as on GitHub.
func TestServerRefusesCommentsOutsideTheDiff(t *testing.T) {
	srv, err := NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AllowToken("tok")
	srv.AddRepo("o", "r", "main", strings.Repeat("a", 40))
	srv.AddPull("o", "r", Pull{Number: 1, Head: "f", Base: "main", HeadSHA: strings.Repeat("b", 40), BaseSHA: strings.Repeat("a", 40),
		Files: []File{{Filename: "a.yaml", Status: "modified", Patch: "@@ -1,2 +1,3 @@\n a\n+b\n c\n@@ -10,2 +11,2 @@\n x\n-y\n+z"}}})
	review := func(comment string) (int, string) {
		return do(t, srv, "POST", "/repos/o/r/pulls/1/reviews", `{"event": "COMMENT", "body": "b", "comments": [`+comment+`]}`)
	}
	for _, c := range []string{
		`{"path": "a.yaml", "line": 5, "side": "RIGHT", "body": "x"}`,
		`{"path": "b.yaml", "line": 1, "side": "RIGHT", "body": "x"}`,
		`{"path": "a.yaml", "start_line": 2, "line": 12, "side": "RIGHT", "body": "x"}`,
	} {
		if status, body := review(c); status != 422 || !strings.Contains(body, "pull_request_review_thread") {
			t.Errorf("%s: %d %s", c, status, body)
		}
	}
	for _, c := range []string{
		`{"path": "a.yaml", "line": 2, "side": "RIGHT", "body": "x"}`,
		`{"path": "a.yaml", "start_line": 1, "line": 3, "start_side": "RIGHT", "side": "RIGHT", "body": "x"}`,
		`{"path": "a.yaml", "line": 12, "side": "RIGHT", "body": "x"}`,
	} {
		if status, body := review(c); status != 200 {
			t.Errorf("%s: %d %s", c, status, body)
		}
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Error(v)
	}
	if n := len(srv.Comments("o", "r")); n != 3 {
		t.Errorf("%d comments", n)
	}
}
