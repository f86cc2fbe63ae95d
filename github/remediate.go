package github

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/kubeharden/kubeharden/lint"
)

// DefaultBranch is the branch remediations are written to.
const DefaultBranch = "kubeharden/remediation"

// DefaultTitle is the title of the remediation pull request.
const DefaultTitle = "kubeharden: automatic hardening fixes"

// RemediateOptions say where to remediate.
type RemediateOptions struct {
	Owner, Repo string
	// Checkout is a local clone holding the default branch's head commit.
	Checkout string
	// Branch receives the fixes (default DefaultBranch).
	Branch string
	// Title is the pull request's title (default DefaultTitle).
	Title string
	// Labels are added to the pull request.
	Labels []string
}

// RemediateResult is what a remediation did.
type RemediateResult struct {
	// Base is the default branch and BaseSHA its head commit, fixed.
	Base, BaseSHA string
	// Remediation is what the engine planned.
	Remediation *Remediation
	// Commit is the branch's commit, "" when there was nothing to fix.
	Commit string
	// BranchUpdated is false when the branch already held these fixes.
	BranchUpdated bool
	// Pull is the pull request's number and URL; Created says whether
	// this run opened it.
	Pull    int
	URL     string
	Created bool
}

// Remediate plans the fixes for the default branch's head and writes
// them to one branch and one pull request: the branch is created, or
// force-updated when the default branch moved or the fixes changed; the
// open pull request for the branch is updated, or opened when there is
// none (so a run that stopped after pushing completes the next time).
// With nothing to fix it writes nothing.
func (c *Client) Remediate(ctx context.Context, eng Engine, o RemediateOptions) (*RemediateResult, error) {
	res, err := c.remediate(ctx, eng, o)
	return res, c.sec.mask(err)
}

func (c *Client) remediate(ctx context.Context, eng Engine, o RemediateOptions) (*RemediateResult, error) {
	o.Branch = cmp.Or(o.Branch, DefaultBranch)
	o.Title = cmp.Or(o.Title, DefaultTitle)
	if err := checkBranch(o.Branch); err != nil {
		return nil, err
	}
	repo, _, err := c.gh.Repositories.Get(ctx, o.Owner, o.Repo)
	if err != nil {
		return nil, fmt.Errorf("get repository %s/%s: %w", o.Owner, o.Repo, err)
	}
	res := &RemediateResult{Base: repo.GetDefaultBranch()}
	if res.Base == o.Branch {
		return nil, fmt.Errorf("--branch %s is the default branch", o.Branch)
	}
	ref, _, err := c.gh.Git.GetRef(ctx, o.Owner, o.Repo, "heads/"+res.Base)
	if err != nil {
		return nil, fmt.Errorf("get branch %s: %w", res.Base, err)
	}
	res.BaseSHA = ref.GetObject().GetSHA()

	dir, cleanup, err := worktree(ctx, o.Checkout, res.BaseSHA)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	rem, err := eng.Fix(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("fix %s at %s: %w", res.Base, res.BaseSHA, err)
	}
	res.Remediation = rem
	if len(rem.Files) == 0 {
		c.logf("kubeharden: nothing to fix on %s (%s)", res.Base, res.BaseSHA)
		return res, nil
	}

	baseCommit, _, err := c.gh.Git.GetCommit(ctx, o.Owner, o.Repo, res.BaseSHA)
	if err != nil {
		return nil, fmt.Errorf("get commit %s: %w", res.BaseSHA, err)
	}
	var entries []*gh.TreeEntry
	for _, f := range rem.Files {
		if err := checkPath(f.Path); err != nil {
			return nil, err
		}
		blob, _, err := c.gh.Git.CreateBlob(ctx, o.Owner, o.Repo, &gh.Blob{
			Content:  gh.String(base64.StdEncoding.EncodeToString(f.New)),
			Encoding: gh.String("base64"),
		})
		if err != nil {
			return nil, fmt.Errorf("upload %s: %w", f.Path, err)
		}
		entries = append(entries, &gh.TreeEntry{Path: gh.String(f.Path), Mode: gh.String(fileMode(dir, f.Path)),
			Type: gh.String("blob"), SHA: blob.SHA})
	}
	tree, _, err := c.gh.Git.CreateTree(ctx, o.Owner, o.Repo, baseCommit.GetTree().GetSHA(), entries)
	if err != nil {
		return nil, fmt.Errorf("create tree: %w", err)
	}

	// The branch as it is: when it already holds this tree on this base,
	// leave it (and its commit) alone.
	branchRef := "heads/" + o.Branch
	var current string
	if r, resp, err := c.gh.Git.GetRef(ctx, o.Owner, o.Repo, branchRef); err == nil {
		current = r.GetObject().GetSHA()
	} else if resp == nil || resp.StatusCode != http.StatusNotFound {
		return nil, fmt.Errorf("get branch %s: %w", o.Branch, err)
	}
	if current != "" {
		cur, _, err := c.gh.Git.GetCommit(ctx, o.Owner, o.Repo, current)
		if err != nil {
			return nil, fmt.Errorf("get commit %s of %s: %w", current, o.Branch, err)
		}
		if cur.GetTree().GetSHA() == tree.GetSHA() && len(cur.Parents) == 1 && cur.Parents[0].GetSHA() == res.BaseSHA {
			res.Commit = current
		}
	}
	if res.Commit == "" {
		commit, _, err := c.gh.Git.CreateCommit(ctx, o.Owner, o.Repo, &gh.Commit{
			Message: gh.String(commitMessage(res, rem)),
			Tree:    &gh.Tree{SHA: tree.SHA},
			Parents: []*gh.Commit{{SHA: gh.String(res.BaseSHA)}},
		}, nil)
		if err != nil {
			return nil, fmt.Errorf("create commit: %w", err)
		}
		res.Commit = commit.GetSHA()
		ref := &gh.Reference{Ref: gh.String("refs/" + branchRef), Object: &gh.GitObject{SHA: commit.SHA}}
		if current == "" {
			_, _, err = c.gh.Git.CreateRef(ctx, o.Owner, o.Repo, ref)
			if status(err) == http.StatusUnprocessableEntity {
				// Created meanwhile — by a retried request whose first
				// attempt did arrive, or a concurrent run: take it over.
				_, _, err = c.gh.Git.UpdateRef(ctx, o.Owner, o.Repo, ref, true)
			}
		} else {
			_, _, err = c.gh.Git.UpdateRef(ctx, o.Owner, o.Repo, ref, true)
		}
		if err != nil {
			return nil, fmt.Errorf("point %s at %s: %w", o.Branch, res.Commit, err)
		}
		res.BranchUpdated = true
		c.logf("kubeharden: %s now at %s (%s on %s)", o.Branch, res.Commit, plural(len(rem.Files), "changed file"), res.BaseSHA)
	} else {
		c.logf("kubeharden: %s already holds these fixes on %s", o.Branch, res.BaseSHA)
	}

	body := c.pullBody(o, res, rem)
	pr, err := c.openPull(ctx, o, res.Base)
	if err != nil {
		return nil, err
	}
	if pr == nil {
		pr, _, err = c.gh.PullRequests.Create(ctx, o.Owner, o.Repo, &gh.NewPullRequest{
			Title: gh.String(o.Title), Head: gh.String(o.Branch), Base: gh.String(res.Base), Body: gh.String(body)})
		if status(err) == http.StatusUnprocessableEntity {
			// Opened meanwhile (a retried request whose first attempt
			// did arrive): update that one, never open a second.
			if again, lerr := c.openPull(ctx, o, res.Base); lerr == nil && again != nil {
				pr, err = again, nil
			}
		} else if err == nil {
			res.Created = true
		}
		if err != nil {
			return nil, fmt.Errorf("open the pull request for %s: %w", o.Branch, err)
		}
	}
	if pr.GetTitle() != o.Title || pr.GetBody() != body {
		n := pr.GetNumber()
		pr, _, err = c.gh.PullRequests.Edit(ctx, o.Owner, o.Repo, n, &gh.PullRequest{Title: gh.String(o.Title), Body: gh.String(body)})
		if err != nil {
			return nil, fmt.Errorf("update pull request #%d: %w", n, err)
		}
	}
	res.Pull, res.URL = pr.GetNumber(), pr.GetHTMLURL()
	if err := c.addLabels(ctx, o, pr); err != nil {
		return nil, err
	}
	verb := "updated"
	if res.Created {
		verb = "opened"
	}
	c.logf("kubeharden: %s pull request #%d %s", verb, res.Pull, res.URL)
	return res, nil
}

// openPull finds the open pull request from the branch into base, or
// returns nil.
func (c *Client) openPull(ctx context.Context, o RemediateOptions, base string) (*gh.PullRequest, error) {
	prs, _, err := c.gh.PullRequests.List(ctx, o.Owner, o.Repo, &gh.PullRequestListOptions{
		State: "open", Head: o.Owner + ":" + o.Branch, Base: base, ListOptions: gh.ListOptions{PerPage: 10}})
	if err != nil {
		return nil, fmt.Errorf("find the pull request for %s: %w", o.Branch, err)
	}
	if len(prs) == 0 {
		return nil, nil
	}
	return prs[0], nil
}

// status is the HTTP status of a go-github error, or 0.
func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// addLabels adds the labels the pull request lacks. The body is the
// object form {"labels": [...]} of GitHub's description (go-github's
// AddLabelsToIssue sends a bare array, which the description does not
// allow).
func (c *Client) addLabels(ctx context.Context, o RemediateOptions, pr *gh.PullRequest) error {
	var missing []string
	for _, l := range o.Labels {
		if !slices.ContainsFunc(pr.Labels, func(have *gh.Label) bool { return have.GetName() == l }) && !slices.Contains(missing, l) {
			missing = append(missing, l)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	u := fmt.Sprintf("repos/%s/%s/issues/%d/labels", o.Owner, o.Repo, pr.GetNumber())
	req, err := c.gh.NewRequest(http.MethodPost, u, map[string][]string{"labels": missing})
	if err != nil {
		return err
	}
	if _, err := c.gh.Do(ctx, req, nil); err != nil {
		return fmt.Errorf("label pull request #%d: %w", pr.GetNumber(), err)
	}
	return nil
}

// checkBranch refuses branch names git or GitHub would refuse or read
// as something else.
func checkBranch(b string) error {
	bad := b == "" || strings.HasPrefix(b, "-") || strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") ||
		strings.HasSuffix(b, ".lock") || strings.HasSuffix(b, ".") || strings.Contains(b, "..") ||
		strings.Contains(b, "//") || strings.Contains(b, "@{") || strings.HasPrefix(b, "refs/") ||
		strings.ContainsAny(b, " ~^:?*[\\\x7f") || strings.ContainsFunc(b, func(r rune) bool { return r < 0x20 })
	if bad {
		return fmt.Errorf("bad branch name %q", b)
	}
	return nil
}

// checkPath refuses a file path that is not a clean relative path.
func checkPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || p != filepath.ToSlash(filepath.Clean(filepath.FromSlash(p))) ||
		p == ".." || strings.HasPrefix(p, "../") || slices.Contains(strings.Split(p, "/"), ".git") {
		return fmt.Errorf("fix of %q: not a clean path inside the repository", p)
	}
	return nil
}

// fileMode keeps a file's executable bit.
func fileMode(dir, file string) string {
	st, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(file)))
	if err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
		return "100755"
	}
	return "100644"
}

// rollback says, per risk class, what merging the class's fixes risks
// and how to undo them.
var rollback = map[lint.FixRisk]string{
	lint.FixMayBreak: "Each of these can stop a working workload (the Risk column says how): roll them out where a failure is seen " +
		"before it matters (a staging environment first). To roll one back, revert its lines in the listed files; to roll back all of them, revert the commit of this pull request.",
	lint.FixSafe: "These cannot stop a working workload. To roll one back anyway, revert its lines in the listed files; " +
		"to roll back all of them, revert the commit of this pull request.",
}

func commitMessage(res *RemediateResult, rem *Remediation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kubeharden: apply %s\n\nOn %s at %s:\n\n", plural(len(rem.Applied), "automatic fix"), res.Base, res.BaseSHA)
	for _, a := range rem.Applied {
		fmt.Fprintf(&b, "- %s: %s: %s (%s) [%s]\n", strings.Join(a.Files, ", "), a.Rule, a.Description, a.Resource, a.Risk.Class())
	}
	return b.String()
}

// pullBody is the evidence for the fixes: a table of each, then the
// findings left without an automatic fix.
func (c *Client) pullBody(o RemediateOptions, res *RemediateResult, rem *Remediation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "kubeharden fixed %s on `%s` at %s. Each fix was verified before it was written: the targets re-render, the finding is gone and no other appears.\n\n",
		plural(len(rem.Applied), "finding"), res.Base, res.BaseSHA)
	// Fixes that can stop a working workload come first, each class
	// with how to roll it back.
	for _, class := range []lint.FixRisk{lint.FixMayBreak, lint.FixSafe} {
		var fixes []AppliedFix
		for _, a := range rem.Applied {
			if a.Risk.Class() == class {
				fixes = append(fixes, a)
			}
		}
		if len(fixes) == 0 {
			continue
		}
		fmt.Fprintf(&b, "### Applied fixes: %s (%d)\n\n%s\n\n", class, len(fixes), rollback[class])
		b.WriteString("| Rule | Resource | File | What changed | Risk | Evidence |\n| --- | --- | --- | --- | --- | --- |\n")
		for _, a := range fixes {
			ev := "—"
			if a.Evidence != "" {
				ev = text(a.Evidence)
			}
			risk := "—"
			if a.RiskReason != "" {
				risk = text(a.RiskReason)
			}
			// Links go to the branch's commit: a file the fix creates is
			// not on the base.
			var links []string
			for _, f := range a.Files {
				links = append(links, fmt.Sprintf("[%s](%s)", code(f), c.fileLink(o.Owner, o.Repo, res.Commit, f, 0)))
			}
			fmt.Fprintf(&b, "| [%s](%s) | %s | %s | %s | %s | %s |\n", code(a.Rule), a.URL, code(a.Resource), strings.Join(links, "<br>"), text(a.Description), risk, ev)
		}
		b.WriteString("\n")
	}
	if len(rem.Remaining) > 0 {
		rest := slices.Clone(rem.Remaining)
		sortFindings(rest)
		fmt.Fprintf(&b, "### Left without an automatic fix (%d)\n\n", len(rest))
		for _, f := range rest {
			loc := code(where(f))
			if f.File != "" {
				loc = fmt.Sprintf("[%s](%s)", code(where(f)), c.fileLink(o.Owner, o.Repo, res.BaseSHA, f.File, f.Line))
			}
			fmt.Fprintf(&b, "- **%s** [%s](%s) at %s: %s (%s)\n", f.Severity, code(f.Rule), f.URL, loc, text(f.Message), code(f.Resource))
		}
		b.WriteString("\n")
	}
	b.WriteString("This pull request is kept up to date by `kubeharden github remediate`; edits to its branch are overwritten.\n")
	return truncate(b.String(), maxBody)
}
