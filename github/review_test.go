package github

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/github/githubtest"
	"github.com/kubeharden/kubeharden/lint"
)

const baseDeploy = `kind: ConfigMap
data:
  old: bad
  a: "1"
  b: "2"
  c: "3"
  d: "4"
  e: "5"
  f: "6"
  g: "7"
  h: "8"
  i: "9"
`

// prFixture is a clone whose pull request #7 adds a finding on a changed
// line of deploy.yaml and, through values.yaml, one reported in a
// template the diff does not touch; deploy.yaml's "old" finding is in
// the base already.
type prFixture struct {
	repo       *gitRepo
	srv        *githubtest.Server
	base, head string
}

func newPRFixture(t *testing.T) *prFixture {
	f := &prFixture{repo: newGitRepo(t), srv: startFake(t)}
	f.base = f.repo.commit(map[string]string{"deploy.yaml": baseDeploy, "values.yaml": "far: 1\n", "templates/t.yaml": "a: 1\nb: 2\n"})
	f.repo.git("checkout", "-q", "-b", "feature")
	f.head = f.repo.commit(map[string]string{
		"deploy.yaml": strings.Replace(baseDeploy, "  b: \"2\"\n", "  b: \"2\"\n  priv: bad\n", 1),
		"values.yaml": "far: bad @templates/t.yaml:2\n",
	})
	f.srv.AddRepo("acme", "gitops", "main", f.base)
	f.setHead(t, f.head)
	return f
}

// setHead points the pull request at a new head commit.
func (f *prFixture) setHead(t *testing.T, head string) {
	files, err := githubtest.DiffFiles(f.repo.dir, f.base, head)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.AddPull("acme", "gitops", githubtest.Pull{Number: 7, Title: "change", Head: "feature", Base: "main",
		HeadSHA: head, BaseSHA: f.base, Files: files})
}

func writes(calls []githubtest.Call) []githubtest.Call {
	var out []githubtest.Call
	for _, c := range calls {
		if c.Writes() {
			out = append(out, c)
		}
	}
	return out
}

func TestReviewFlow(t *testing.T) {
	f := newPRFixture(t)
	ctx := context.Background()
	var log bytes.Buffer
	c := newTestClient(t, f.srv, &log, nil)
	high := lint.High
	opts := ReviewOptions{Owner: "acme", Repo: "gitops", Number: 7, Checkout: f.repo.dir, FailOn: &high}

	res, err := c.Review(ctx, &fakeEngine{}, opts)
	if err != nil {
		t.Fatalf("review: %v\n%s", err, log.String())
	}
	if res.HeadSHA != f.head || res.BaseSHA != f.base {
		t.Errorf("SHAs from the pull request: %s %s", res.BaseSHA, res.HeadSHA)
	}
	if len(res.New) != 2 || res.Commented != 1 || res.Listed != 1 || res.Event != "COMMENT" || !res.Failed(&high) {
		t.Errorf("result %+v", res)
	}
	reviews := f.srv.Reviews("acme", "gitops")
	if len(reviews) != 1 {
		t.Fatalf("%d reviews", len(reviews))
	}
	rv := reviews[0]
	if rv.State != "COMMENTED" || rv.CommitID != f.head {
		t.Errorf("review %+v", rv)
	}
	link := f.srv.WebURL() + "/acme/gitops/blob/" + f.head + "/templates/t.yaml#L2"
	for _, want := range []string{"2 findings this pull request introduces", "1 finding on changed lines", link, "far must not be bad", "<!-- kubeharden:fp="} {
		if !strings.Contains(rv.Body, want) {
			t.Errorf("review body lacks %q:\n%s", want, rv.Body)
		}
	}
	if strings.Contains(rv.Body, "old must not be bad") {
		t.Errorf("review body lists a finding of the base:\n%s", rv.Body)
	}
	comments := f.srv.Comments("acme", "gitops")
	if len(comments) != 1 {
		t.Fatalf("%d comments", len(comments))
	}
	cm := comments[0]
	if cm.Path != "deploy.yaml" || cm.Line != 6 || cm.StartLine != 0 || cm.Side != "RIGHT" {
		t.Errorf("comment at %s:%d-%d %s", cm.Path, cm.StartLine, cm.Line, cm.Side)
	}
	for _, want := range []string{"**high**", "`no-bad`", "priv must not be bad", "Fix risk: **may-break** — a reader may want it bad\n",
		"```suggestion\n  priv: good\n```\n", marker(fingerprintOf("priv"))} {
		if !strings.Contains(cm.Body, want) {
			t.Errorf("comment lacks %q:\n%s", want, cm.Body)
		}
	}

	// A re-run says nothing new.
	before := len(f.srv.Calls())
	res, err = c.Review(ctx, &fakeEngine{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if w := writes(f.srv.Calls()[before:]); len(w) > 0 || res.Already != 2 || res.Review != 0 {
		t.Errorf("re-run wrote %v; result %+v", w, res)
	}

	// The author fixes the line: the comment is marked resolved, once.
	fixed := f.repo.commit(map[string]string{"deploy.yaml": strings.Replace(baseDeploy, "  b: \"2\"\n", "  b: \"2\"\n  priv: fine\n", 1)})
	f.setHead(t, fixed)
	res, err = c.Review(ctx, &fakeEngine{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resolved != 1 || res.Review != 0 || len(res.New) != 1 {
		t.Errorf("after the fix: %+v", res)
	}
	cm = f.srv.Comments("acme", "gitops")[0]
	if !strings.HasPrefix(cm.Body, "**Resolved** in "+fixed+"\n") || cm.Edits != 1 {
		t.Errorf("comment not resolved once (%d edits):\n%s", cm.Edits, cm.Body)
	}
	before = len(f.srv.Calls())
	if _, err := c.Review(ctx, &fakeEngine{}, opts); err != nil {
		t.Fatal(err)
	}
	if w := writes(f.srv.Calls()[before:]); len(w) > 0 {
		t.Errorf("re-run after the fix wrote %v", w)
	}
	if len(f.srv.Reviews("acme", "gitops")) != 1 {
		t.Error("a second review was posted")
	}
}

// fingerprintOf is the fake engine's fingerprint of KEY's finding.
func fingerprintOf(key string) string { return fmt.Sprintf("%x", sha256.Sum256([]byte(key))) }

func TestReviewRequestChanges(t *testing.T) {
	f := newPRFixture(t)
	c := newTestClient(t, f.srv, nil, nil)
	critical := lint.Critical
	high := lint.High
	// Below the threshold: a comment, even with --request-changes.
	res, err := c.Review(context.Background(), &fakeEngine{}, ReviewOptions{Owner: "acme", Repo: "gitops", Number: 7,
		Checkout: f.repo.dir, BaseSHA: f.base, HeadSHA: f.head, FailOn: &critical, RequestChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Event != "COMMENT" || res.Failed(&critical) {
		t.Errorf("below the threshold: %+v", res)
	}
	f2 := newPRFixture(t)
	c2 := newTestClient(t, f2.srv, nil, nil)
	res, err = c2.Review(context.Background(), &fakeEngine{}, ReviewOptions{Owner: "acme", Repo: "gitops", Number: 7,
		Checkout: f2.repo.dir, BaseSHA: f2.base, HeadSHA: f2.head, FailOn: &high, RequestChanges: true})
	if err != nil {
		t.Fatal(err)
	}
	if rv := f2.srv.Reviews("acme", "gitops"); res.Event != "REQUEST_CHANGES" || len(rv) != 1 || rv[0].State != "CHANGES_REQUESTED" {
		t.Errorf("at the threshold: %+v", res)
	}
}

// When GitHub refuses the line comments, the findings go in the body.
func TestReviewFallsBackToBody(t *testing.T) {
	f := newPRFixture(t)
	f.srv.Inject(githubtest.Fault{Op: "pulls/create-review", Status: 422})
	var log bytes.Buffer
	c := newTestClient(t, f.srv, &log, nil)
	res, err := c.Review(context.Background(), &fakeEngine{}, ReviewOptions{Owner: "acme", Repo: "gitops", Number: 7, Checkout: f.repo.dir})
	if err != nil {
		t.Fatal(err)
	}
	rv := f.srv.Reviews("acme", "gitops")
	if len(rv) != 1 || res.Commented != 0 || res.Listed != 2 || len(f.srv.Comments("acme", "gitops")) != 0 {
		t.Fatalf("result %+v, reviews %+v", res, rv)
	}
	if !strings.Contains(rv[0].Body, "priv must not be bad") || !strings.Contains(log.String(), "refused the line comments") {
		t.Errorf("body:\n%s\nlog:\n%s", rv[0].Body, log.String())
	}
}

// The worktrees of base and head are removed after the run.
func TestReviewCleansUpWorktrees(t *testing.T) {
	f := newPRFixture(t)
	c := newTestClient(t, f.srv, nil, nil)
	e := &fakeEngine{}
	if _, err := c.Review(context.Background(), e, ReviewOptions{Owner: "acme", Repo: "gitops", Number: 7, Checkout: f.repo.dir}); err != nil {
		t.Fatal(err)
	}
	if len(e.lints) != 2 {
		t.Fatalf("linted %v", e.lints)
	}
	for _, d := range e.lints {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("worktree %s left behind", d)
		}
	}
	if out := f.repo.git("worktree", "list"); strings.Count(out, "\n") != 0 {
		t.Errorf("git worktree list:\n%s", out)
	}
}

func TestReviewMissingCommit(t *testing.T) {
	f := newPRFixture(t)
	c := newTestClient(t, f.srv, nil, nil)
	_, err := c.Review(context.Background(), &fakeEngine{}, ReviewOptions{Owner: "acme", Repo: "gitops", Number: 7,
		Checkout: f.repo.dir, BaseSHA: f.base, HeadSHA: strings.Repeat("ab", 20)})
	if err == nil || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Errorf("err = %v", err)
	}
}
