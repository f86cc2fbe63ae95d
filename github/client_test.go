package github

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kubeharden/kubeharden/github/githubtest"
)

// Rate limits (secondary with Retry-After, primary with
// X-RateLimit-Reset), 502s and a response slower than the attempt
// timeout are all waited out; the run ends as if none had happened.
func TestRetriesRecover(t *testing.T) {
	f := newPRFixture(t)
	f.srv.Inject(githubtest.Fault{Op: "pulls/list-files", Status: 403, RetryAfter: 3})
	f.srv.Inject(githubtest.Fault{Op: "pulls/list-review-comments", Status: 502, Times: 2})
	f.srv.Inject(githubtest.Fault{Op: "pulls/get", Status: 429, Reset: 5})
	f.srv.Inject(githubtest.Fault{Op: "pulls/list-reviews", Delay: 10 * time.Second})
	f.srv.Inject(githubtest.Fault{Op: "pulls/create-review", Status: 503})
	sl := &sleeps{}
	var log bytes.Buffer
	c, err := NewClient(context.Background(), Options{APIURL: f.srv.URL, Token: testToken, Log: &log,
		Retry: Retry{Sleep: sl.sleep, AttemptTimeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Review(context.Background(), &fakeEngine{}, ReviewOptions{Owner: "acme", Repo: "gitops", Number: 7, Checkout: f.repo.dir})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if res.Commented != 1 || len(f.srv.Reviews("acme", "gitops")) != 1 {
		t.Errorf("result %+v", res)
	}
	waits := sl.list()
	// pulls/get: reset in 5s (+1s); files: 3s; comments: 1s, 2s;
	// reviews: 1s after the timeout. create-review is not sent again
	// blindly after its 503: the reviews are searched first, then it is
	// posted once more.
	if len(waits) != 5 || !slices.Contains(waits, 3*time.Second) || waits[2] != time.Second || waits[3] != 2*time.Second {
		t.Errorf("waits %v\n%s", waits, log.String())
	}
	if waits[0] < 4*time.Second || waits[0] > 7*time.Second {
		t.Errorf("primary rate limit wait %v, want about 6s", waits[0])
	}
	for _, want := range []string{"rate limited (429)", "rate limited (403)", "502 Bad Gateway; retrying in 1s (attempt 2 of 6)", "timed out",
		"503 Service Unavailable []); checking whether it was created before posting again"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

// A review whose answer is lost (GitHub created it, the client timed out)
// is found by its mark instead of being posted twice.
func TestReviewLostAnswerNotDuplicated(t *testing.T) {
	f := newPRFixture(t)
	f.srv.Inject(githubtest.Fault{Op: "pulls/create-review", Delay: 5 * time.Second})
	var log bytes.Buffer
	c, err := NewClient(context.Background(), Options{APIURL: f.srv.URL, Token: testToken, Log: &log,
		Retry: Retry{Sleep: (&sleeps{}).sleep, AttemptTimeout: 300 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Review(context.Background(), &fakeEngine{}, ReviewOptions{Owner: "acme", Repo: "gitops", Number: 7, Checkout: f.repo.dir})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	rv := f.srv.Reviews("acme", "gitops")
	if len(rv) != 1 || res.Review != rv[0].ID {
		t.Fatalf("%d reviews (result review %d)\n%s", len(rv), res.Review, log.String())
	}
	if !strings.Contains(log.String(), "checking whether it was created") {
		t.Errorf("log:\n%s", log.String())
	}
}

// A request body is sent again on each retry.
func TestRetryReplaysBody(t *testing.T) {
	repo := newGitRepo(t)
	sha := repo.commit(map[string]string{"deploy.yaml": "a: bad\n"})
	srv := startFake(t)
	srv.AddRepo("acme", "gitops", "main", sha)
	srv.Inject(githubtest.Fault{Op: "git/create-blob", Status: 502})
	srv.Inject(githubtest.Fault{Op: "git/create-tree", Status: 500})
	srv.Inject(githubtest.Fault{Op: "pulls/create", Status: 403, RetryAfter: 1})
	c := newTestClient(t, srv, nil, nil)
	if _, err := c.Remediate(context.Background(), &fakeEngine{}, RemediateOptions{Owner: "acme", Repo: "gitops", Checkout: repo.dir}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"git/create-blob", "git/create-tree", "pulls/create"} {
		var bodies []string
		for _, c := range srv.Calls() {
			if c.Op == op {
				bodies = append(bodies, string(c.Body))
			}
		}
		if len(bodies) != 2 || bodies[0] != bodies[1] || bodies[0] == "" {
			t.Errorf("%s bodies %q", op, bodies)
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	srv := startFake(t)
	srv.AddRepo("acme", "gitops", "main", strings.Repeat("1", 40))
	ctx := context.Background()

	// A rate limit that resets in an hour is beyond every wait's cap:
	// fail at once, saying so.
	srv.Inject(githubtest.Fault{Op: "repos/get", Status: 403, Reset: 3600})
	sl := &sleeps{}
	var log bytes.Buffer
	c := newTestClient(t, srv, &log, sl)
	_, _, err := c.gh.Repositories.Get(ctx, "acme", "gitops")
	if err == nil || len(sl.list()) != 0 || !strings.Contains(log.String(), "exceeds the limit of 1m0s, giving up") {
		t.Errorf("err %v, waits %v, log:\n%s", err, sl.list(), log.String())
	}

	// Persistent 502s: six attempts, then the error.
	srv.Inject(githubtest.Fault{Op: "repos/get", Status: 502, Times: 6})
	sl = &sleeps{}
	c = newTestClient(t, srv, nil, sl)
	_, _, err = c.gh.Repositories.Get(ctx, "acme", "gitops")
	if err == nil || !slices.Equal(sl.list(), []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}) {
		t.Errorf("err %v, waits %v", err, sl.list())
	}

	// A wait past the total deadline is not started.
	sl = &sleeps{}
	c, err = NewClient(ctx, Options{APIURL: srv.URL, Token: testToken, Retry: Retry{Sleep: sl.sleep, Total: 2 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Inject(githubtest.Fault{Op: "repos/get", Status: 429, RetryAfter: 5})
	if _, _, err = c.gh.Repositories.Get(ctx, "acme", "gitops"); err == nil || len(sl.list()) != 0 {
		t.Errorf("err %v, waits %v", err, sl.list())
	}
}

// No credential reaches the errors or the log, even when the server
// echoes the request's headers back.
func TestTokenNeverLeaks(t *testing.T) {
	f := newPRFixture(t)
	f.srv.Inject(githubtest.Fault{Op: "pulls/list-files", Status: 403, RetryAfter: 1, Echo: true})
	f.srv.Inject(githubtest.Fault{Op: "pulls/list-files", Status: 401, Echo: true})
	var log bytes.Buffer
	c := newTestClient(t, f.srv, &log, nil)
	_, err := c.Review(context.Background(), &fakeEngine{}, ReviewOptions{Owner: "acme", Repo: "gitops", Number: 7, Checkout: f.repo.dir})
	if err == nil {
		t.Fatal("no error")
	}
	var echoed bool
	for _, call := range f.srv.Calls() {
		echoed = echoed || call.Op == "pulls/list-files" && call.Status == 401
		if call.Auth != "Bearer "+testToken {
			t.Errorf("%s sent Authorization %q", call, call.Auth)
		}
	}
	if !echoed {
		t.Fatal("the echoing fault did not fire")
	}
	if !strings.Contains(err.Error(), "Authorization: Bearer ***") {
		t.Errorf("the echo is not in the error, so the test proves nothing: %v", err)
	}
	for name, s := range map[string]string{"error": err.Error(), "log": log.String()} {
		if strings.Contains(s, testToken) || strings.Contains(s, testToken[4:20]) {
			t.Errorf("token in the %s:\n%s", name, s)
		}
	}
}

func TestAppTokenExchange(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	srv := startFake(t)
	srv.AddRepo("acme", "gitops", "main", strings.Repeat("1", 40))
	srv.AddApp(42, &key.PublicKey, 7)
	ctx := context.Background()

	for _, pemType := range []string{"RSA PRIVATE KEY", "PRIVATE KEY"} {
		der := x509.MarshalPKCS1PrivateKey(key)
		if pemType == "PRIVATE KEY" {
			der, _ = x509.MarshalPKCS8PrivateKey(key)
		}
		parsed, err := ParsePrivateKey(pem.EncodeToMemory(&pem.Block{Type: pemType, Bytes: der}))
		if err != nil || !parsed.Equal(key) {
			t.Fatalf("%s: %v", pemType, err)
		}
	}
	if _, err := ParsePrivateKey([]byte("not a key")); err == nil {
		t.Error("garbage parsed as a key")
	}

	var log bytes.Buffer
	c, err := NewClient(ctx, Options{APIURL: srv.URL, App: &AppCredentials{AppID: 42, InstallationID: 7, Key: key}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.gh.Repositories.Get(ctx, "acme", "gitops"); err != nil {
		t.Fatalf("with the installation token: %v", err)
	}
	calls := srv.Calls()
	if len(calls) != 2 || calls[0].Op != "apps/create-installation-access-token" || calls[0].Status != 201 {
		t.Fatalf("calls %v", calls)
	}
	jwt := strings.TrimPrefix(calls[0].Auth, "Bearer ")
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q", jwt)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct{ Iat, Exp, Iss int64 }
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Unix()
	if claims.Iss != 42 || claims.Iat > now-30 || claims.Exp-claims.Iat > 600 || claims.Exp < now+60 {
		t.Errorf("claims %+v at %d", claims, now)
	}
	if tok := strings.TrimPrefix(calls[1].Auth, "Bearer "); !strings.HasPrefix(tok, "ghs_") {
		t.Errorf("second call authenticated with %q, want the installation token", calls[1].Auth)
	}

	// An installation the app lacks: an error without the JWT in it.
	_, err = NewClient(ctx, Options{APIURL: srv.URL, App: &AppCredentials{AppID: 42, InstallationID: 8, Key: key}})
	if err == nil || !strings.Contains(err.Error(), "installation 8") {
		t.Errorf("err = %v", err)
	}
	// A key the app does not have: refused.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, err = NewClient(ctx, Options{APIURL: srv.URL, App: &AppCredentials{AppID: 42, InstallationID: 7, Key: other}})
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong key: err = %v", err)
	}
	for _, call := range srv.Calls() {
		if _, jwt, _ := strings.Cut(call.Auth, " "); err != nil && strings.Contains(err.Error(), jwt) {
			t.Errorf("credential in the error: %v", err)
		}
	}
}

func TestWebURL(t *testing.T) {
	for api, web := range map[string]string{
		"https://api.github.com/":          "https://github.com",
		"https://ghe.example.com/api/v3/":  "https://ghe.example.com",
		"http://127.0.0.1:8080/":           "http://127.0.0.1:8080",
		"https://ghe.example.com/x/api/v3": "https://ghe.example.com/x",
	} {
		u, _ := url.Parse(api)
		if got := webURL(u); got != web {
			t.Errorf("webURL(%s) = %s, want %s", api, got, web)
		}
	}
}

// The fake serves GitHub Enterprise Server's /api/v3 prefix; links in
// the review body point at the web host.
func TestEnterpriseURLs(t *testing.T) {
	srv, err := githubtest.NewEnterpriseServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AllowToken(testToken)
	srv.AddRepo("acme", "gitops", "main", strings.Repeat("1", 40))
	c, err := NewClient(context.Background(), Options{APIURL: srv.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.gh.Repositories.Get(context.Background(), "acme", "gitops"); err != nil {
		t.Fatal(err)
	}
	if c.web != srv.WebURL() {
		t.Errorf("web URL %s, want %s", c.web, srv.WebURL())
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Error(v)
	}
}
