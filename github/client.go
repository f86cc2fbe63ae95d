package github

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	gh "github.com/google/go-github/v60/github"
)

// DefaultAPIURL is the API of github.com.
const DefaultAPIURL = "https://api.github.com"

// Options configure a Client.
type Options struct {
	// APIURL is the REST API's base URL (GITHUB_API_URL); default
	// DefaultAPIURL. GitHub Enterprise Server's is https://HOST/api/v3.
	APIURL string
	// WebURL is the web server's URL (GITHUB_SERVER_URL) that links to
	// files start with; default derived from APIURL.
	WebURL string
	// Token authenticates as a user, an Actions job or an installation.
	Token string
	// App, when set instead of Token, is exchanged for an installation
	// token.
	App *AppCredentials
	// Retry bounds retries and waits.
	Retry Retry
	// HTTP sends the requests (default http.DefaultTransport).
	HTTP http.RoundTripper
	// Log receives one line per retry and progress messages; nil
	// discards them. Credentials are masked in everything written to it.
	Log io.Writer
}

// AppCredentials identify a GitHub App installation.
type AppCredentials struct {
	AppID          int64
	InstallationID int64
	Key            *rsa.PrivateKey
}

// Client is an authenticated GitHub API client for one run.
type Client struct {
	gh  *gh.Client
	web string
	sec *secrets
	log io.Writer
}

// NewClient builds a client; with App credentials it exchanges them for
// an installation token first.
func NewClient(ctx context.Context, o Options) (*Client, error) {
	sec := &secrets{}
	sec.add(o.Token)
	log := &maskingWriter{w: o.Log, sec: sec}
	if o.Log == nil {
		log.w = io.Discard
	}
	c, err := newClient(ctx, o, sec, log)
	if err != nil {
		return nil, sec.mask(err)
	}
	return c, nil
}

func newClient(ctx context.Context, o Options, sec *secrets, log io.Writer) (*Client, error) {
	if o.APIURL == "" {
		o.APIURL = DefaultAPIURL
	}
	api, err := url.Parse(strings.TrimSuffix(o.APIURL, "/") + "/")
	if err != nil || api.Scheme != "https" && api.Scheme != "http" || api.Host == "" {
		return nil, fmt.Errorf("bad GitHub API URL %q", o.APIURL)
	}
	web := o.WebURL
	if web == "" {
		web = webURL(api)
	}
	base := o.HTTP
	if base == nil {
		base = http.DefaultTransport
	}
	retry := o.Retry.withDefaults()
	end := retry.Now().Add(retry.Total)
	logf := func(format string, args ...any) { fmt.Fprintf(log, format+"\n", args...) }
	newGH := func(auth func() string) *gh.Client {
		t := &transport{base: base, host: api.Scheme + "://" + api.Host, auth: auth, retry: retry, log: logf, end: end}
		g := gh.NewClient(&http.Client{Transport: t})
		g.BaseURL = api
		g.UploadURL = api
		g.UserAgent = "kubeharden"
		return g
	}
	token := o.Token
	switch {
	case o.App != nil:
		jwt, err := appJWT(o.App.AppID, o.App.Key, retry.Now())
		if err != nil {
			return nil, err
		}
		sec.add(jwt)
		g := newGH(func() string { return "Bearer " + jwt })
		it, _, err := g.Apps.CreateInstallationToken(ctx, o.App.InstallationID, &gh.InstallationTokenOptions{})
		if err != nil {
			return nil, fmt.Errorf("GitHub App %d: installation %d token: %w", o.App.AppID, o.App.InstallationID, err)
		}
		token = it.GetToken()
		if token == "" {
			return nil, fmt.Errorf("GitHub App %d: installation %d: empty token", o.App.AppID, o.App.InstallationID)
		}
		sec.add(token)
	case token == "":
		return nil, fmt.Errorf("no GitHub token")
	}
	return &Client{gh: newGH(func() string { return "Bearer " + token }), web: web, sec: sec, log: log}, nil
}

// webURL derives the web server from the API URL: api.github.com is
// served by github.com, GitHub Enterprise Server's HOST/api/v3 by HOST.
func webURL(api *url.URL) string {
	u := *api
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v3")
	u.RawPath = ""
	u.Host = strings.TrimPrefix(u.Host, "api.")
	return strings.TrimSuffix(u.String(), "/")
}

// logf writes a progress line.
func (c *Client) logf(format string, args ...any) {
	fmt.Fprintf(c.log, format+"\n", args...)
}

// secrets are the credentials of a run, masked wherever text leaves it.
type secrets struct {
	mu   sync.Mutex
	list []string
}

func (s *secrets) add(v string) {
	if len(v) < 4 {
		return
	}
	s.mu.Lock()
	s.list = append(s.list, v)
	s.mu.Unlock()
}

func (s *secrets) maskString(v string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sec := range s.list {
		v = strings.ReplaceAll(v, sec, "***")
	}
	return v
}

// mask returns err with every credential in its message replaced; the
// result wraps nothing, so no caller can reach an unmasked message.
func (s *secrets) mask(err error) error {
	if err == nil {
		return nil
	}
	return &maskedError{msg: s.maskString(err.Error())}
}

type maskedError struct{ msg string }

func (e *maskedError) Error() string { return e.msg }

// maskingWriter masks credentials in each write. Writers here get whole
// lines, so a credential is never split across writes.
type maskingWriter struct {
	w   io.Writer
	sec *secrets
}

func (m *maskingWriter) Write(p []byte) (int, error) {
	if _, err := io.WriteString(m.w, m.sec.maskString(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
