package fix

// FileChange is one file before and after a fix: the one change type that
// the planner produces, reports show (SARIF replacements, diffs) and the
// GitHub bot turns into suggestions and commits. Path is relative to the
// repository root with forward slashes; Old is nil for a file the fix
// creates.
type FileChange struct {
	Path     string
	Old, New []byte
}

// Created reports whether the change creates its file.
func (c FileChange) Created() bool { return c.Old == nil }
