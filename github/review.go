package github

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/kubeharden/kubeharden/lint"
)

// ReviewOptions say which pull request to review and how.
type ReviewOptions struct {
	Owner, Repo string
	Number      int
	// BaseSHA and HeadSHA are the commits compared; when empty they are
	// read from the pull request.
	BaseSHA, HeadSHA string
	// Checkout is a local clone that holds both commits.
	Checkout string
	// FailOn is the severity from which new findings fail the run; nil
	// never fails.
	FailOn *lint.Severity
	// RequestChanges makes the review REQUEST_CHANGES when a new finding
	// reaches FailOn (COMMENT otherwise).
	RequestChanges bool
}

// ReviewResult is what a review found and did.
type ReviewResult struct {
	BaseSHA, HeadSHA string
	// New are the head's findings whose fingerprints the base lacks.
	New []Finding
	// Errors are render or parse errors of the head that the base lacks,
	// and the head's own policy when it cannot be applied.
	Errors []string
	// Hidden are the head's findings under the base's policy that the
	// head's own policy would not report, each with the change that
	// hides it; HiddenErrors the same for errors. Both are reviewed, and
	// Hidden counts for Failed like New.
	Hidden       []Hidden
	HiddenErrors []string
	// Commented and Listed count the new findings this run put in line
	// comments and in the review body, ListedHidden the hidden ones it
	// listed; Already those a previous run did.
	Commented, Listed, ListedHidden, Already int
	// Resolved counts old comments marked resolved.
	Resolved int
	// Review is the ID of the review posted, 0 when none was needed.
	Review int64
	Event  string
}

// Failed reports whether a new finding reaches the threshold.
func (r *ReviewResult) Failed(threshold *lint.Severity) bool {
	if threshold == nil {
		return false
	}
	at := func(f Finding) bool { return f.Severity >= *threshold }
	return slices.ContainsFunc(r.New, at) || slices.ContainsFunc(r.Hidden, func(h Hidden) bool { return at(h.Finding) })
}

// existingComment is a marked review comment of an earlier run.
type existingComment struct {
	id       int64
	fp       string
	body     string
	resolved bool
}

// Review lints the base and head of a pull request and reviews the
// findings the pull request introduces: line comments (with a
// suggestion where the fix is inside the hunk) for findings on lines of
// the diff, the review body for the others. It is idempotent: findings
// already commented on are skipped, and comments whose finding is gone
// from the head are marked resolved. With nothing new and nothing to
// resolve it posts nothing.
func (c *Client) Review(ctx context.Context, eng Engine, o ReviewOptions) (*ReviewResult, error) {
	res, err := c.review(ctx, eng, o)
	return res, c.sec.mask(err)
}

func (c *Client) review(ctx context.Context, eng Engine, o ReviewOptions) (*ReviewResult, error) {
	if o.BaseSHA == "" || o.HeadSHA == "" {
		pr, _, err := c.gh.PullRequests.Get(ctx, o.Owner, o.Repo, o.Number)
		if err != nil {
			return nil, fmt.Errorf("get pull request #%d: %w", o.Number, err)
		}
		o.BaseSHA = cmp.Or(o.BaseSHA, pr.GetBase().GetSHA())
		o.HeadSHA = cmp.Or(o.HeadSHA, pr.GetHead().GetSHA())
	}
	res := &ReviewResult{BaseSHA: o.BaseSHA, HeadSHA: o.HeadSHA}
	// The base's policy judges both commits: the change under review
	// cannot relax its own gate. The head's own policy is evaluated too,
	// for what its changes would hide.
	basePolicy, err := policyAt(ctx, o.Checkout, o.BaseSHA)
	if err != nil {
		return nil, fmt.Errorf("policy of the base: %w", err)
	}
	headPolicy, err := policyAt(ctx, o.Checkout, o.HeadSHA)
	if err != nil {
		return nil, fmt.Errorf("policy of the head: %w", err)
	}
	bases, err := c.lintCommit(ctx, eng, o.Checkout, o.BaseSHA, LintOptions{Policy: basePolicy})
	if err != nil {
		return nil, err
	}
	base := bases[0]
	judge := []LintOptions{{Policy: basePolicy, Prior: &lint.PriorExemptions{Grants: base.Grants}}}
	if !bytes.Equal(basePolicy.Config, headPolicy.Config) {
		judge = append(judge, LintOptions{Policy: headPolicy, Prior: judge[0].Prior})
	}
	heads, err := c.lintCommit(ctx, eng, o.Checkout, o.HeadSHA, judge...)
	var pe *policyError
	if errors.As(err, &pe) {
		// The pull request's own policy does not load: a new error of
		// the head, and nothing it could hide.
		res.Errors = append(res.Errors, pe.Error())
	} else if err != nil {
		return nil, err
	}
	head := heads[0]
	if len(heads) > 1 && heads[1] != nil {
		res.Hidden, res.HiddenErrors = hiddenBy(head, heads[1], o.FailOn)
	}
	baseFPs := map[string]bool{}
	for _, f := range base.Findings {
		baseFPs[f.Fingerprint] = true
	}
	headFPs := map[string]bool{}
	for _, f := range head.Findings {
		headFPs[f.Fingerprint] = true
		if !baseFPs[f.Fingerprint] {
			res.New = append(res.New, f)
		}
	}
	sortFindings(res.New)
	for _, e := range head.Errors {
		if !slices.Contains(base.Errors, e) {
			res.Errors = append(res.Errors, e)
		}
	}
	c.logf("kubeharden: %d findings in the head, %d of them new; %d new errors; the head's policy change hides %d findings",
		len(head.Findings), len(res.New), len(res.Errors), len(res.Hidden))

	hunks, err := c.diffHunks(ctx, o)
	if err != nil {
		return nil, err
	}
	comments, err := c.markedComments(ctx, o)
	if err != nil {
		return nil, err
	}
	listed, listedHidden, err := c.listedInReviews(ctx, o)
	if err != nil {
		return nil, err
	}
	var hidden []Hidden
	for _, h := range res.Hidden {
		if listedHidden[h.Fingerprint] {
			res.Already++
			continue
		}
		hidden = append(hidden, h)
	}

	var drafts []*gh.DraftReviewComment
	var outside []Finding
	for _, f := range res.New {
		if slices.ContainsFunc(comments, func(e existingComment) bool { return e.fp == f.Fingerprint && !e.resolved }) {
			res.Already++
			continue
		}
		if d := draft(f, hunks[f.File]); d != nil {
			drafts = append(drafts, d)
			continue
		}
		if listed[f.Fingerprint] {
			res.Already++
			continue
		}
		outside = append(outside, f)
	}

	// Resolve first: a failure to post the review must not leave a
	// fixed finding's comment looking current.
	for _, e := range comments {
		if e.resolved || headFPs[e.fp] {
			continue
		}
		body := resolvedPrefix + o.HeadSHA + "\n\n" + e.body
		if _, _, err := c.gh.PullRequests.EditComment(ctx, o.Owner, o.Repo, e.id, &gh.PullRequestComment{Body: gh.String(body)}); err != nil {
			return nil, fmt.Errorf("mark comment %d resolved: %w", e.id, err)
		}
		res.Resolved++
	}

	if len(drafts) == 0 && len(outside) == 0 && len(res.Errors) == 0 && len(hidden) == 0 && len(res.HiddenErrors) == 0 {
		c.logf("kubeharden: nothing new to say on #%d (%d already reviewed, %d resolved)", o.Number, res.Already, res.Resolved)
		return res, nil
	}
	res.Event = "COMMENT"
	if o.RequestChanges && res.Failed(o.FailOn) {
		res.Event = "REQUEST_CHANGES"
	}
	req := &gh.PullRequestReviewRequest{
		CommitID: gh.String(o.HeadSHA),
		Event:    gh.String(res.Event),
		Body:     gh.String(c.reviewBody(o, len(drafts), outside, res.Errors, hidden, res.HiddenErrors)),
		Comments: drafts,
	}
	rv, err := c.createReview(ctx, o, req)
	if status(err) == http.StatusUnprocessableEntity && len(drafts) > 0 {
		// GitHub refused a line (the diff changed under us, or it reads
		// a hunk differently): say everything in the body instead.
		c.logf("kubeharden: GitHub refused the line comments (%v); listing the findings in the review body", err)
		for _, f := range res.New {
			if slices.ContainsFunc(drafts, func(d *gh.DraftReviewComment) bool { return strings.Contains(d.GetBody(), marker(f.Fingerprint)) }) {
				outside = append(outside, f)
			}
		}
		sortFindings(outside)
		drafts = nil
		req.Comments = nil
		req.Body = gh.String(c.reviewBody(o, 0, outside, res.Errors, hidden, res.HiddenErrors))
		rv, err = c.createReview(ctx, o, req)
	}
	if err != nil {
		return nil, fmt.Errorf("post review on #%d: %w", o.Number, err)
	}
	res.Review = rv.GetID()
	res.Commented, res.Listed, res.ListedHidden = len(drafts), len(outside), len(hidden)
	c.logf("kubeharden: reviewed #%d: %d line comments, %d findings in the review body, %d hidden by the policy change, %d resolved",
		o.Number, res.Commented, res.Listed, res.ListedHidden, res.Resolved)
	return res, nil
}

// createReview posts a review at most once. The review body carries a
// hidden mark of its content; when GitHub's answer is lost or it fails
// with a server error, the review may exist all the same, so the pull
// request's reviews are searched for the mark before it is sent again.
func (c *Client) createReview(ctx context.Context, o ReviewOptions, req *gh.PullRequestReviewRequest) (*gh.PullRequestReview, error) {
	mark := reviewMark(o.HeadSHA, req)
	req.Body = gh.String(req.GetBody() + "\n" + mark)
	rv, _, err := c.gh.PullRequests.CreateReview(withoutBlindRetry(ctx), o.Owner, o.Repo, o.Number, req)
	if err == nil || ctx.Err() != nil || status(err) != 0 && status(err) < 500 {
		return rv, err
	}
	c.logf("kubeharden: posting the review failed (%v); checking whether it was created before posting again", err)
	opts := &gh.ListOptions{PerPage: 100}
	for {
		reviews, resp, lerr := c.gh.PullRequests.ListReviews(ctx, o.Owner, o.Repo, o.Number, opts)
		if lerr != nil {
			return nil, fmt.Errorf("%w (and listing reviews to check: %v)", err, lerr)
		}
		for _, r := range reviews {
			if strings.Contains(r.GetBody(), mark) {
				return r, nil
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	rv, _, err = c.gh.PullRequests.CreateReview(ctx, o.Owner, o.Repo, o.Number, req)
	return rv, err
}

// reviewMark is a hidden mark naming a review's content: the commit, the
// event, the body and the comments.
func reviewMark(sha string, req *gh.PullRequestReviewRequest) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", sha, req.GetEvent(), req.GetBody())
	for _, d := range req.Comments {
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00", d.GetPath(), d.GetStartLine(), d.GetLine(), d.GetBody())
	}
	return "<!-- kubeharden:review=" + hex.EncodeToString(h.Sum(nil))[:32] + " -->"
}

// lintCommit lints a commit of the checkout in a temporary worktree,
// once for each of opts, with one result per entry. When a policy other
// than the first does not load, the results before it are returned
// with a *policyError.
func (c *Client) lintCommit(ctx context.Context, eng Engine, checkout, sha string, opts ...LintOptions) ([]*LintResult, error) {
	dir, cleanup, err := worktree(ctx, checkout, sha)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	out := make([]*LintResult, len(opts))
	for i, o := range opts {
		r, err := eng.Lint(ctx, dir, o)
		if err != nil && i > 0 && ctx.Err() == nil {
			return out, &policyError{commit: sha, err: err}
		}
		if err != nil {
			return nil, fmt.Errorf("lint %s: %w", sha, err)
		}
		out[i] = r
	}
	return out, nil
}

// policyError is a commit's own policy that could not be applied to it.
type policyError struct {
	commit string
	err    error
}

func (e *policyError) Error() string {
	return fmt.Sprintf("the pull request's own policy (%s) could not be applied: %v", configFile, e.err)
}

func (e *policyError) Unwrap() error { return e.err }

// draft is the line comment for a finding on a line of the diff, with
// a suggestion when its fix lies inside the same hunk; nil when the
// finding's line is not in the diff.
func draft(f Finding, hunks []Hunk) *gh.DraftReviewComment {
	if f.File == "" || f.Line < 1 || hunkAt(hunks, f.Line) < 0 {
		return nil
	}
	d := &gh.DraftReviewComment{Path: gh.String(f.File), Side: gh.String("RIGHT"), Line: gh.Int(f.Line)}
	var sp *Suggestion
	if f.Fix != nil && f.Fix.Path == f.File {
		if s, ok := Suggest(f.Fix, f.Line, hunks); ok {
			sp = &s
			d.Line = gh.Int(s.Line)
			if s.StartLine != 0 {
				d.StartLine = gh.Int(s.StartLine)
				d.StartSide = gh.String("RIGHT")
			}
		}
	}
	d.Body = gh.String(commentBody(f, sp))
	return d
}

// diffHunks reads the pull request's files and their hunks. A file
// without a patch (binary, or too large for GitHub to show) has none.
func (c *Client) diffHunks(ctx context.Context, o ReviewOptions) (map[string][]Hunk, error) {
	out := map[string][]Hunk{}
	opt := &gh.ListOptions{PerPage: 100}
	for {
		files, resp, err := c.gh.PullRequests.ListFiles(ctx, o.Owner, o.Repo, o.Number, opt)
		if err != nil {
			return nil, fmt.Errorf("list files of #%d: %w", o.Number, err)
		}
		for _, f := range files {
			hs, err := ParsePatch(f.GetPatch())
			if err != nil {
				c.logf("kubeharden: %s: unreadable patch (%v); its findings go in the review body", f.GetFilename(), err)
				continue
			}
			out[f.GetFilename()] = hs
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// markedComments lists the review comments of earlier runs: top-level
// comments carrying a fingerprint marker.
func (c *Client) markedComments(ctx context.Context, o ReviewOptions) ([]existingComment, error) {
	var out []existingComment
	opt := &gh.PullRequestListCommentsOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		cs, resp, err := c.gh.PullRequests.ListComments(ctx, o.Owner, o.Repo, o.Number, opt)
		if err != nil {
			return nil, fmt.Errorf("list review comments of #%d: %w", o.Number, err)
		}
		for _, cm := range cs {
			if cm.InReplyTo != nil {
				continue
			}
			fps := markers(cm.GetBody())
			if len(fps) != 1 {
				continue
			}
			out = append(out, existingComment{id: cm.GetID(), fp: fps[0], body: cm.GetBody(),
				resolved: strings.HasPrefix(cm.GetBody(), resolvedPrefix)})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
}

// listedInReviews returns the fingerprints earlier reviews listed in
// their bodies: as new findings, and as hidden ones.
func (c *Client) listedInReviews(ctx context.Context, o ReviewOptions) (map[string]bool, map[string]bool, error) {
	out, hidden := map[string]bool{}, map[string]bool{}
	opt := &gh.ListOptions{PerPage: 100}
	for {
		rs, resp, err := c.gh.PullRequests.ListReviews(ctx, o.Owner, o.Repo, o.Number, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("list reviews of #%d: %w", o.Number, err)
		}
		for _, r := range rs {
			for _, fp := range markers(r.GetBody()) {
				out[fp] = true
			}
			for _, m := range hiddenMarkerRE.FindAllStringSubmatch(r.GetBody(), -1) {
				hidden[m[1]] = true
			}
		}
		if resp.NextPage == 0 {
			return out, hidden, nil
		}
		opt.Page = resp.NextPage
	}
}

// reviewBody summarises a review: how many findings are on lines of the
// diff, then the others with links to their lines, then new errors.
func (c *Client) reviewBody(o ReviewOptions, commented int, outside []Finding, errs []string, hidden []Hidden, hiddenErrs []string) string {
	var b strings.Builder
	n := commented + len(outside)
	fmt.Fprintf(&b, "### kubeharden: %s this pull request introduces\n\n", plural(n, "finding"))
	if commented > 0 {
		fmt.Fprintf(&b, "%s on changed lines, in the comments below.\n\n", plural(commented, "finding"))
	}
	if len(outside) > 0 {
		fmt.Fprintf(&b, "%s outside the diff (a change here affects what is rendered there):\n\n", plural(len(outside), "finding"))
		for _, f := range outside {
			loc := code(where(f))
			if f.File != "" {
				loc = fmt.Sprintf("[%s](%s)", code(where(f)), c.fileLink(o.Owner, o.Repo, o.HeadSHA, f.File, f.Line))
			}
			fmt.Fprintf(&b, "- **%s** [%s](%s) at %s: %s (%s) %s\n", f.Severity, code(f.Rule), f.URL, loc, text(f.Message), code(f.Resource), marker(f.Fingerprint))
		}
		b.WriteString("\n")
	}
	if len(errs) > 0 {
		fmt.Fprintf(&b, "%s (targets or files that could not be rendered):\n\n", plural(len(errs), "new error"))
		for _, e := range errs {
			fmt.Fprintf(&b, "- %s\n", code(e))
		}
		b.WriteString("\n")
	}
	c.writeHidden(&b, o, hidden, hiddenErrs)
	return truncate(b.String(), maxBody)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "x") || strings.HasSuffix(what, "s") {
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// sortFindings orders findings by file, line, rule and fingerprint.
func sortFindings(fs []Finding) { slices.SortStableFunc(fs, compareFindings) }

func compareFindings(a, b Finding) int {
	return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column),
		cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Fingerprint, b.Fingerprint))
}
