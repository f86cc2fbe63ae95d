package githubtest

import (
	"fmt"
	"os/exec"
	"strings"
)

// DiffFiles computes a pull request's files from a local clone, as
// pulls/{n}/files would list them: each changed file with its status
// and its patch (the hunks of `git diff base head`, three lines of
// context, without the file header).
func DiffFiles(dir, base, head string) ([]File, error) {
	cmd := exec.Command("git", "-C", dir, "-c", "core.fsmonitor=false", "diff", "--no-color", "--no-ext-diff",
		"--no-textconv", "--no-renames", "-U3", base, head, "--")
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git diff %s %s: %v", base, head, err)
	}
	var files []File
	var cur *File
	var patch []string
	flush := func() {
		if cur != nil {
			cur.Patch = strings.Join(patch, "\n")
			files = append(files, *cur)
		}
		cur, patch = nil, nil
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(out), "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "diff --git "):
			flush()
			cur = &File{Status: "modified"}
			// "diff --git a/x b/x": the name is the second half.
			cur.Filename = strings.TrimPrefix(l[len("diff --git "):][len(l[len("diff --git "):])/2+1:], "b/")
		case cur == nil:
		case len(patch) == 0 && strings.HasPrefix(l, "new file mode"):
			cur.Status = "added"
		case len(patch) == 0 && strings.HasPrefix(l, "deleted file mode"):
			cur.Status = "removed"
		case len(patch) == 0 && strings.HasPrefix(l, "+++ "):
			if name, ok := strings.CutPrefix(l, "+++ b/"); ok {
				cur.Filename = name
			}
		case len(patch) == 0 && strings.HasPrefix(l, "--- "):
			if name, ok := strings.CutPrefix(l, "--- a/"); ok && cur.Status == "removed" {
				cur.Filename = name
			}
		case strings.HasPrefix(l, "@@"), len(patch) > 0:
			patch = append(patch, l)
			if strings.HasPrefix(l, "+") {
				cur.Additions++
			} else if strings.HasPrefix(l, "-") {
				cur.Deletions++
			}
		}
	}
	flush()
	return files, nil
}
