package github

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Retry bounds how the client waits out rate limits and failures. Every
// single wait is at most MaxWait and all requests of a run end by
// Total: a rate limit that resets later than that fails the run with a
// message saying when to retry, rather than blocking a CI job for an
// hour.
type Retry struct {
	// Attempts is the most tries per request (default 6).
	Attempts int
	// MaxWait caps each wait (default 60s).
	MaxWait time.Duration
	// Total caps the time from the client's creation to the last retry
	// (default 10m).
	Total time.Duration
	// AttemptTimeout bounds one try, response headers and body
	// included (default 60s).
	AttemptTimeout time.Duration
	// Backoff is the first wait after a 5xx or a timeout; it doubles
	// with each retry (default 1s).
	Backoff time.Duration
	// Sleep waits for d or until ctx is done; tests replace it so they
	// never sleep.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = 6
	}
	if r.MaxWait <= 0 {
		r.MaxWait = time.Minute
	}
	if r.Total <= 0 {
		r.Total = 10 * time.Minute
	}
	if r.AttemptTimeout <= 0 {
		r.AttemptTimeout = time.Minute
	}
	if r.Backoff <= 0 {
		r.Backoff = time.Second
	}
	if r.Sleep == nil {
		r.Sleep = sleep
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// transport authenticates requests to the API host and retries rate
// limits (403/429 with Retry-After or X-RateLimit-Reset, or a secondary
// rate limit message), 5xx responses and timeouts.
type transport struct {
	base  http.RoundTripper
	host  string // scheme://host of the API; credentials go nowhere else
	auth  func() string
	retry Retry
	log   func(format string, args ...any)
	end   time.Time

	mu sync.Mutex
	// exhausted is when a primary rate limit that a successful response
	// reported as used up resets.
	exhausted time.Time
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if req.Body != nil && req.GetBody == nil {
		// Every retry sends the body again.
		data, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	}
	if err := t.waitExhausted(ctx, req); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		resp, err := t.once(req)
		wait, why := t.classify(ctx, resp, err, attempt)
		if why == "" {
			return resp, err
		}
		if attempt >= t.retry.Attempts {
			t.log("github: %s %s: %s; giving up after %d attempts", req.Method, req.URL.Path, why, attempt)
			return resp, err
		}
		if wait > t.retry.MaxWait {
			t.log("github: %s %s: %s; the wait of %s exceeds the limit of %s, giving up", req.Method, req.URL.Path, why, round(wait), t.retry.MaxWait)
			return resp, err
		}
		if t.retry.Now().Add(wait).After(t.end) {
			t.log("github: %s %s: %s; no time left to wait %s, giving up", req.Method, req.URL.Path, why, round(wait))
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
			resp.Body.Close()
		}
		t.log("github: %s %s: %s; retrying in %s (attempt %d of %d)", req.Method, req.URL.Path, why, round(wait), attempt+1, t.retry.Attempts)
		if err := t.retry.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// once sends one attempt with its own timeout, which ends when the
// response body is closed.
func (t *transport) once(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), t.retry.AttemptTimeout)
	r := req.Clone(ctx)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			cancel()
			return nil, err
		}
		r.Body = body
	}
	if req.URL.Scheme+"://"+req.URL.Host == t.host {
		if a := t.auth(); a != "" {
			r.Header.Set("Authorization", a)
		}
	} else {
		// A redirect to another host gets no credentials.
		r.Header.Del("Authorization")
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	t.noteExhausted(resp)
	return resp, nil
}

type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// classify says whether to retry and after how long; why is "" for a
// final answer.
func (t *transport) classify(ctx context.Context, resp *http.Response, err error, attempt int) (time.Duration, string) {
	backoff := t.retry.Backoff << (attempt - 1)
	// A lost answer or a server error leaves it open whether a request
	// that creates something took effect; the caller checks first.
	uncertain := ctx.Value(noBlindRetryKey{}) != nil
	if err != nil {
		if ctx.Err() != nil || uncertain {
			return 0, "" // the caller gave up, or looks before retrying
		}
		var ne net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
			return backoff, "timed out"
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			return backoff, "connection lost"
		}
		return 0, ""
	}
	status := resp.StatusCode
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusForbidden:
		if d, ok := t.retryAfter(resp); ok {
			return d, fmt.Sprintf("rate limited (%d)", status)
		}
		if status == http.StatusForbidden && !mentionsRateLimit(resp) {
			return 0, ""
		}
		// A secondary rate limit without a time: GitHub asks for at
		// least a minute.
		return max(backoff, time.Minute), fmt.Sprintf("secondary rate limit (%d)", status)
	case uncertain && status >= 500:
		return 0, ""
	case status == http.StatusInternalServerError, status == http.StatusBadGateway,
		status == http.StatusServiceUnavailable, status == http.StatusGatewayTimeout:
		return backoff, resp.Status
	}
	return 0, ""
}

// retryAfter reads Retry-After (seconds) or, when the primary limit is
// used up, X-RateLimit-Reset (Unix seconds).
func (t *transport) retryAfter(resp *http.Response) (time.Duration, bool) {
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, true
		}
		if at, err := http.ParseTime(s); err == nil {
			return max(at.Sub(t.retry.Now()), 0), true
		}
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if n, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			// One second more: the reset is rounded down.
			return max(time.Unix(n, 0).Sub(t.retry.Now())+time.Second, 0), true
		}
	}
	return 0, false
}

// mentionsRateLimit peeks at a 403 body for GitHub's rate limit
// messages and leaves the body readable.
func mentionsRateLimit(resp *http.Response) bool {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	rest := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(data), rest), rest}
	return err == nil && strings.Contains(strings.ToLower(string(data)), "rate limit")
}

// noteExhausted remembers a primary limit that a response reports as used
// up, and hides the reset from go-github: its client would otherwise
// refuse every request until the reset, while this transport waits when
// the wait is short enough and fails with the reset time when it is not.
func (t *transport) noteExhausted(resp *http.Response) {
	if resp.StatusCode >= 300 || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		return
	}
	n, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if err != nil {
		return
	}
	t.mu.Lock()
	t.exhausted = time.Unix(n, 0).Add(time.Second)
	t.mu.Unlock()
	resp.Header.Del("X-RateLimit-Reset")
}

func (t *transport) waitExhausted(ctx context.Context, req *http.Request) error {
	t.mu.Lock()
	until := t.exhausted
	t.mu.Unlock()
	wait := until.Sub(t.retry.Now())
	if until.IsZero() || wait <= 0 {
		return nil
	}
	if wait > t.retry.MaxWait || t.retry.Now().Add(wait).After(t.end) {
		return fmt.Errorf("%s %s: GitHub API rate limit used up until %s", req.Method, req.URL.Path, until.UTC().Format(time.RFC3339))
	}
	t.log("github: rate limit used up; waiting %s", round(wait))
	return t.retry.Sleep(ctx, wait)
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

type noBlindRetryKey struct{}

// withoutBlindRetry marks requests that create something which must not
// be created twice (a review): when the answer is lost or the server
// fails, the transport does not send them again; rate limits, which
// GitHub answers before doing anything, are still waited out and retried.
func withoutBlindRetry(ctx context.Context) context.Context {
	return context.WithValue(ctx, noBlindRetryKey{}, true)
}
