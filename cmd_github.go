package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/kubeharden/kubeharden/config"
	"github.com/kubeharden/kubeharden/driver"
	"github.com/kubeharden/kubeharden/github"
	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/lint"
)

// githubDeps are what the github commands take from their surroundings;
// tests replace them.
type githubDeps struct {
	getenv func(string) string
	// http sends the API requests; nil is http.DefaultTransport.
	http  http.RoundTripper
	retry github.Retry
	eng   github.Engine
}

func defaultGitHubDeps(now func() time.Time) githubDeps {
	return githubDeps{getenv: os.Getenv, eng: githubEngine{now: now}}
}

// githubEngine is kubeharden as the GitHub bot drives it: the lint
// pipeline and the fix planner over one checkout.
type githubEngine struct {
	now func() time.Time // judges exemptions; nil is time.Now
}

func (e githubEngine) Lint(ctx context.Context, dir string, o github.LintOptions) (*github.LintResult, error) {
	opts := driver.Options{Now: e.now, Prior: o.Prior}
	if o.Policy != nil {
		cfg, err := driver.ParseConfig(config.FileName, o.Policy.Config)
		if err != nil {
			return nil, fmt.Errorf("policy of %s: %w", o.Policy.Commit, err)
		}
		opts.Config = cfg
	}
	r, err := driver.Open(ctx, dir, nil, opts)
	if err != nil {
		return nil, err
	}
	snap, err := r.Lint(ctx)
	if err != nil {
		return nil, err
	}
	// Each finding's own fix, for suggestions: only fixes that change one
	// file can be a suggestion on one line range.
	fixes := r.SingleFixes(ctx, snap)
	out := &github.LintResult{Disabled: r.Disabled(), Grants: snap.Grants()}
	for _, f := range snap.Suppressed {
		gf := githubFinding(f)
		gf.Exemption = fmt.Sprintf("exemption at %s (%s, until %s)", f.Exemption.Location, f.Exemption.Reason, f.Exemption.Expires)
		out.Suppressed = append(out.Suppressed, gf)
	}
	for _, o := range snap.Linted() {
		out.Objects = append(out.Objects, objectName(o))
	}
	for _, f := range snap.Findings {
		gf := githubFinding(f)
		if ch := fixes[gf.Fingerprint]; len(ch) == 1 && !ch[0].Created() && !f.Secret {
			gf.Fix = &ch[0]
		}
		out.Findings = append(out.Findings, gf)
	}
	for _, e := range snap.Errors {
		out.Errors = append(out.Errors, describeError(e))
	}
	return out, nil
}

// Fix plans and verifies the fixes of the checkout at dir, writing
// nothing: the remediation PR carries the files.
func (e githubEngine) Fix(ctx context.Context, dir string) (*github.Remediation, error) {
	r, err := driver.Open(ctx, dir, nil, driver.Options{Now: e.now})
	if err != nil {
		return nil, err
	}
	res, err := r.Fix(ctx, driver.FixOptions{})
	if err != nil {
		return nil, err
	}
	rem := &github.Remediation{Files: res.Changes()}
	for _, a := range res.Applied {
		gf := githubFinding(a.Finding)
		rem.Applied = append(rem.Applied, github.AppliedFix{Rule: gf.Rule, Resource: gf.Resource, Files: a.Files,
			Description: a.Finding.Fix.Description, URL: gf.URL, Risk: gf.FixRisk, RiskReason: gf.FixRiskReason})
	}
	for _, f := range res.Final.Findings {
		rem.Remaining = append(rem.Remaining, githubFinding(f))
	}
	return rem, nil
}

// githubFinding is a finding as the bot sees it.
func githubFinding(f lint.Finding) github.Finding {
	gf := github.Finding{
		Fingerprint: lint.Fingerprint(f),
		Rule:        f.Rule.ID,
		Severity:    f.Severity,
		Message:     f.Message,
		URL:         f.Rule.URL(),
		Resource:    objectName(f.Object),
		Secret:      f.Secret,
	}
	if f.Location.Known() {
		gf.File, gf.Line, gf.Column = f.Location.File, f.Location.Line, f.Location.Column
	}
	if f.Fix != nil {
		gf.FixRisk, gf.FixRiskReason = f.Fix.Risk.Class(), f.Fix.RiskReason
	}
	return gf
}

// objectName names an object for the bot: "Deployment/prod/web in deploy/web".
func objectName(o *lint.Object) string {
	if o.Target != "" {
		return o.Resource.String() + " in " + o.Target
	}
	return o.Resource.String()
}

// githubFlags are the flags both github commands share.
type githubFlags struct {
	repo, apiURL, tokenEnv, keyFile, checkout string
	appID, installationID                     int64
}

func githubCommand(wd string, deps githubDeps) *cobra.Command {
	var gf githubFlags
	cmd := &cobra.Command{
		Use:   "github",
		Short: "Review pull requests and open fix pull requests on GitHub",
		Long: `Run kubeharden as a GitHub bot: review a pull request's new findings, or
open one pull request with the fixes for the default branch.

In GitHub Actions the repository, pull request, API URL and checkout come from
the environment (GITHUB_REPOSITORY, GITHUB_EVENT_PATH, GITHUB_API_URL,
GITHUB_WORKSPACE). The token comes from the environment variable named by
--token-env (GITHUB_TOKEN by default), or from a GitHub App (--app-id,
--installation-id, --private-key-file) exchanged for an installation token.
Credentials never appear in output or errors.`,
		Example: `  kubeharden github review --fail-on high
  kubeharden github remediate --label security
  kubeharden github review --app-id 12345 --installation-id 678 --private-key-file app.pem`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&gf.repo, "repo", "", "repository as OWNER/REPO (default $GITHUB_REPOSITORY)")
	pf.StringVar(&gf.apiURL, "api-url", "", "GitHub REST API URL (default $GITHUB_API_URL, else "+github.DefaultAPIURL+")")
	pf.StringVar(&gf.checkout, "checkout", "", "local clone with full history (default $GITHUB_WORKSPACE, else the current directory)")
	pf.StringVar(&gf.tokenEnv, "token-env", "GITHUB_TOKEN", "environment variable holding the token")
	pf.Int64Var(&gf.appID, "app-id", 0, "GitHub App ID, to authenticate as the app's installation instead of with a token")
	pf.Int64Var(&gf.installationID, "installation-id", 0, "GitHub App installation ID (with --app-id)")
	pf.StringVar(&gf.keyFile, "private-key-file", "", "GitHub App private key, PEM (with --app-id)")
	cmd.AddCommand(newGitHubReviewCmd(wd, deps, &gf), newGitHubRemediateCmd(wd, deps, &gf))
	return cmd
}

// setup resolves the shared inputs and builds an authenticated client.
func (gf *githubFlags) setup(cmd *cobra.Command, wd string, deps githubDeps) (*github.Client, github.Actions, error) {
	env, err := github.ReadActions(deps.getenv)
	if err != nil {
		return nil, env, usageError("%v", err)
	}
	if gf.repo != "" {
		if env.Owner, env.Repo, err = github.SplitRepo(gf.repo); err != nil {
			return nil, env, usageError("--repo: %v", err)
		}
	}
	if env.Owner == "" {
		return nil, env, usageError("no repository: give --repo OWNER/REPO or set GITHUB_REPOSITORY")
	}
	env.Workspace = cmp.Or(gf.checkout, env.Workspace, wd)
	if !filepath.IsAbs(env.Workspace) {
		env.Workspace = filepath.Join(wd, env.Workspace)
	}
	o := github.Options{
		APIURL: cmp.Or(gf.apiURL, env.APIURL),
		WebURL: env.WebURL,
		Retry:  deps.retry,
		HTTP:   deps.http,
		Log:    cmd.ErrOrStderr(),
	}
	switch {
	case gf.appID != 0:
		if gf.installationID == 0 || gf.keyFile == "" {
			return nil, env, usageError("--app-id needs --installation-id and --private-key-file")
		}
		file := gf.keyFile
		if !filepath.IsAbs(file) {
			file = filepath.Join(wd, file)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, env, usageError("--private-key-file: %v", err)
		}
		key, err := github.ParsePrivateKey(data)
		if err != nil {
			return nil, env, usageError("--private-key-file %s: %v", gf.keyFile, err)
		}
		o.App = &github.AppCredentials{AppID: gf.appID, InstallationID: gf.installationID, Key: key}
	default:
		o.Token = deps.getenv(gf.tokenEnv)
		if o.Token == "" {
			return nil, env, usageError("no GitHub token: set %s (or name another variable with --token-env), or authenticate as a GitHub App with --app-id", gf.tokenEnv)
		}
	}
	c, err := github.NewClient(cmd.Context(), o)
	if err != nil {
		return nil, env, &codeError{code: exitError, err: err}
	}
	return c, env, nil
}

func newGitHubReviewCmd(wd string, deps githubDeps, gf *githubFlags) *cobra.Command {
	var pr int
	var base, head, failOn string
	var requestChanges bool
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Review the findings a pull request introduces",
		Long: `Lint the pull request's base and head commits (as git worktrees of the local
clone), both judged by the base commit's .kubeharden.yaml, and review the
findings the pull request introduces, what its own policy change would hide,
and the exemption annotations it adds (exemption-added), matched by
fingerprint so that moved or reformatted lines do not count as new. Findings on
lines of the diff become line comments, with a suggestion where the fix is in
the same hunk; the others are listed in the review body with links. One review
per run; a re-run comments only on what is new and marks comments on fixed
findings resolved. With nothing new, nothing is posted.

Exit codes: 0 no new finding at or above --fail-on; 1 new findings at or above
it; 2 usage error, a GitHub API error, or a target the pull request broke.`,
		Example: `  kubeharden github review            # in a pull_request workflow
  kubeharden github review --repo acme/gitops --pr 42 --fail-on high --request-changes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			threshold, err := parseFailOn(failOn)
			if err != nil {
				return err
			}
			c, env, err := gf.setup(cmd, wd, deps)
			if err != nil {
				return err
			}
			if pr != 0 && pr != env.Number {
				// Another pull request than the event's: its commits
				// come from the API.
				env.BaseSHA, env.HeadSHA = "", ""
			}
			o := github.ReviewOptions{Owner: env.Owner, Repo: env.Repo, Number: cmp.Or(pr, env.Number),
				BaseSHA: cmp.Or(base, env.BaseSHA), HeadSHA: cmp.Or(head, env.HeadSHA), Checkout: env.Workspace,
				FailOn: threshold, RequestChanges: requestChanges}
			if o.Number == 0 {
				return usageError("no pull request: give --pr N, or run on a pull_request event")
			}
			res, err := c.Review(cmd.Context(), deps.eng, o)
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			printReview(cmd.OutOrStdout(), o, res)
			switch {
			case len(res.Errors) > 0:
				return &codeError{code: exitError}
			case res.Failed(threshold):
				return &codeError{code: exitFindings}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&pr, "pr", 0, "pull request number (default from $GITHUB_EVENT_PATH)")
	f.StringVar(&base, "base", "", "base commit SHA (default from the event, else the pull request)")
	f.StringVar(&head, "head", "", "head commit SHA (default from the event, else the pull request)")
	f.StringVar(&failOn, "fail-on", "low", "exit 1 when a new finding has this severity or higher (info, low, medium, high, critical, or none)")
	f.BoolVar(&requestChanges, "request-changes", false, "review with REQUEST_CHANGES instead of COMMENT when a new finding reaches --fail-on")
	return cmd
}

// printReview lists the new findings, those the pull request's policy
// change hides, and what the review did.
func printReview(w io.Writer, o github.ReviewOptions, res *github.ReviewResult) {
	line := func(prefix string, f github.Finding, suffix string) {
		at := "(unknown source)"
		switch {
		case f.File != "" && f.Line > 0:
			at = f.File + ":" + strconv.Itoa(f.Line)
		case f.File != "":
			at = f.File
		}
		fmt.Fprintf(w, "%s%s: %s %s: %s [%s]%s\n", prefix, loc.Escape(at), f.Severity, f.Rule, loc.Escape(f.Message), loc.Escape(f.Resource), loc.Escape(suffix))
	}
	for _, f := range res.New {
		line("", f, "")
	}
	for _, h := range res.Hidden {
		line("hidden: ", h.Finding, ": "+h.Why)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(w, "error: %s\n", loc.Escape(e))
	}
	for _, e := range res.HiddenErrors {
		fmt.Fprintf(w, "hidden error: %s\n", loc.Escape(e))
	}
	fmt.Fprintf(w, "pull request #%d: %d new findings, %d new errors; %d commented, %d in the review body, %d already reviewed, %d resolved\n",
		o.Number, len(res.New), len(res.Errors), res.Commented, res.Listed, res.Already, res.Resolved)
	if n := len(res.Hidden) + len(res.HiddenErrors); n > 0 {
		fmt.Fprintf(w, "this pull request's policy change hides %d findings; the base's policy judged it\n", n)
	}
	if res.Review != 0 {
		fmt.Fprintf(w, "posted review %d (%s)\n", res.Review, res.Event)
	} else {
		fmt.Fprintln(w, "posted no review: nothing new")
	}
}

func newGitHubRemediateCmd(wd string, deps githubDeps, gf *githubFlags) *cobra.Command {
	var branch, title string
	var labels []string
	cmd := &cobra.Command{
		Use:   "remediate",
		Short: "Fix the default branch in one pull request",
		Long: `Plan and verify the fixes for the head of the repository's default branch (a
git worktree of the local clone) and write them to one branch through the Git
Data API, then open a pull request for it, or update the one already open. The
branch is force-updated when the default branch moved; a run that stopped after
pushing the branch completes by opening the pull request. The pull request's
body is the evidence: a table of every fix and the findings left without one.
With nothing to fix, it says so and changes nothing.`,
		Example: `  kubeharden github remediate --repo acme/gitops --label security`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, env, err := gf.setup(cmd, wd, deps)
			if err != nil {
				return err
			}
			res, err := c.Remediate(cmd.Context(), deps.eng, github.RemediateOptions{Owner: env.Owner, Repo: env.Repo,
				Checkout: env.Workspace, Branch: branch, Title: title, Labels: labels})
			if err != nil {
				return &codeError{code: exitError, err: err}
			}
			out := cmd.OutOrStdout()
			if res.Commit == "" {
				fmt.Fprintf(out, "nothing to fix on %s (%s)\n", res.Base, res.BaseSHA)
				return nil
			}
			r := res.Remediation
			fmt.Fprintf(out, "%d fixes in %d files on %s, %d findings left without an automatic fix\n", len(r.Applied), len(r.Files), res.Base, len(r.Remaining))
			state := "unchanged"
			if res.BranchUpdated {
				state = "updated"
			}
			verb := "updated"
			if res.Created {
				verb = "opened"
			}
			fmt.Fprintf(out, "branch %s %s at %s\n%s pull request #%d %s\n", cmp.Or(branch, github.DefaultBranch), state, res.Commit, verb, res.Pull, res.URL)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&branch, "branch", github.DefaultBranch, "branch the fixes are written to")
	f.StringVar(&title, "title", github.DefaultTitle, "title of the pull request")
	f.StringArrayVar(&labels, "label", nil, "label for the pull request (repeatable)")
	return cmd
}
