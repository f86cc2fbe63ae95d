package github

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Actions is what a GitHub Actions job's environment says about the run.
type Actions struct {
	// Owner and Repo come from GITHUB_REPOSITORY.
	Owner, Repo string
	// APIURL and WebURL are GITHUB_API_URL and GITHUB_SERVER_URL.
	APIURL, WebURL string
	// Workspace is GITHUB_WORKSPACE, the checkout.
	Workspace string
	// Number, BaseSHA and HeadSHA come from the pull_request (or
	// pull_request_target) event in GITHUB_EVENT_PATH; zero otherwise.
	Number           int
	BaseSHA, HeadSHA string
}

// ReadActions reads the Actions environment through getenv. Variables
// that are unset stay empty; a malformed event file is an error.
func ReadActions(getenv func(string) string) (Actions, error) {
	a := Actions{APIURL: getenv("GITHUB_API_URL"), WebURL: getenv("GITHUB_SERVER_URL"), Workspace: getenv("GITHUB_WORKSPACE")}
	if r := getenv("GITHUB_REPOSITORY"); r != "" {
		var err error
		if a.Owner, a.Repo, err = SplitRepo(r); err != nil {
			return a, fmt.Errorf("GITHUB_REPOSITORY: %w", err)
		}
	}
	path := getenv("GITHUB_EVENT_PATH")
	if path == "" {
		return a, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return a, fmt.Errorf("GITHUB_EVENT_PATH: %w", err)
	}
	var ev struct {
		PullRequest *struct {
			Number int
			Base   struct{ SHA string }
			Head   struct{ SHA string }
		} `json:"pull_request"`
	}
	if err := json.Unmarshal(data, &ev); err != nil {
		return a, fmt.Errorf("GITHUB_EVENT_PATH %s: %w", path, err)
	}
	if pr := ev.PullRequest; pr != nil {
		a.Number, a.BaseSHA, a.HeadSHA = pr.Number, pr.Base.SHA, pr.Head.SHA
	}
	return a, nil
}

// SplitRepo splits "OWNER/REPO".
func SplitRepo(s string) (owner, repo string, err error) {
	owner, repo, ok := strings.Cut(s, "/")
	if !ok || owner == "" || repo == "" || strings.ContainsAny(repo, "/ ") || strings.ContainsAny(owner, " ") {
		return "", "", fmt.Errorf("bad repository %q: want OWNER/REPO", s)
	}
	return owner, repo, nil
}
