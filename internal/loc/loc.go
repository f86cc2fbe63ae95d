// Package loc is the location vocabulary that render, lint, report and
// the driver share: where in the repository something is written
// (Location, Origin), which GitOps object deploys a target (Via), an
// error that names a file and line (Error), and the one escaping of
// repository text for a terminal (Escape). It imports nothing of ours, so
// every package can use these types directly instead of copying them.
package loc

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Origin says what kind of source a location points into.
type Origin string

// The origins a Location can have. OriginUnknown is stated, never guessed.
const (
	OriginManifest       Origin = "manifest"
	OriginKustomizeBase  Origin = "kustomize-base"
	OriginKustomizePatch Origin = "kustomize-patch"
	OriginHelmTemplate   Origin = "helm-template"
	OriginHelmValues     Origin = "helm-values"
	OriginUnknown        Origin = "unknown"
)

// Origins lists every origin, in the order the JSON schema documents them.
var Origins = []Origin{OriginManifest, OriginKustomizeBase, OriginKustomizePatch, OriginHelmTemplate, OriginHelmValues, OriginUnknown}

// Location is where in the repository a field of a rendered object is
// written. File is relative to the repository root with forward slashes.
// Line and Column are 1-based; 0 means the file is known but the line is
// not (Helm templates whose structure could not be matched).
type Location struct {
	File   string
	Line   int
	Column int
	Origin Origin
	// Exact is false when the field is absent and the location is that of
	// its nearest ancestor that is written.
	Exact bool
	// Via is where the value passes through on its way into the
	// rendered object, when that is another place: for origin
	// helm-values, the template line that renders the values key. It
	// never has a Via of its own.
	Via *Location
}

// Known reports whether the location names a file.
func (l Location) Known() bool { return l.File != "" && l.Origin != "" && l.Origin != OriginUnknown }

// String is "file:line:col", "file" when the line is unknown, or
// "(unknown source)"; the file name is escaped for the terminal.
func (l Location) String() string {
	switch {
	case !l.Known():
		return "(unknown source)"
	case l.Line == 0:
		return QuoteFile(l.File)
	default:
		return fmt.Sprintf("%s:%d:%d", QuoteFile(l.File), l.Line, l.Column)
	}
}

// Via names the Argo CD or Flux object that deploys a target, and where
// it is written.
type Via struct {
	Kind string // Application, HelmRelease, Kustomization
	Name string
	File string
	Line int
}

// Error is a target or file that could not be discovered, rendered or
// parsed. Errors are reported beside findings; they do not stop the run.
// File and Message are kept exactly as they are, though both can carry
// text from the repository (a file name may hold a newline; a template's
// fail message may hold anything): Error() escapes them, so that its text
// is always one line.
type Error struct {
	// Target is the chart, overlay or directory concerned, if any.
	Target string
	// File and Line locate the cause; Line is 0 when unknown.
	File    string
	Line    int
	Message string
}

// Error returns "file:line: message", "file: message" when the line is
// unknown, or the message alone without a file. A file name with
// unprintable characters is Go-quoted, and unprintable characters in the
// message are escaped.
func (e *Error) Error() string {
	msg := Escape(e.Message)
	switch {
	case e.File == "":
		return msg
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", QuoteFile(e.File), e.Line, msg)
	default:
		return QuoteFile(e.File) + ": " + msg
	}
}

// Skipped is a file under the root that discovery looked at and left
// out of every target, with the reason: a report says what it did not
// lint as well as what it did. Reason is one of a closed list of short
// phrases (render's Skip* constants), so that reports can count by it.
type Skipped struct {
	File   string
	Reason string
	// Line and Detail, when set, say which part of File is left out and
	// what it names (a GitOps object whose source is another
	// repository); Detail is free text from the repository.
	Line   int
	Detail string
}

// Errorf builds an Error at file:line.
func Errorf(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Message: fmt.Sprintf(format, args...)}
}

// QuoteFile returns name as it is, or Go-quoted when it has characters
// that are not printable (a newline, a terminal escape, a bidi override),
// is not UTF-8, or starts with a quote, so it cannot be mistaken for
// another name or break a line.
func QuoteFile(name string) string {
	if strings.HasPrefix(name, `"`) || Escape(name) != name {
		return strconv.Quote(name)
	}
	return name
}

// Escape is the one escaping of repository text printed to a terminal:
// each rune that is not printable (control characters, terminal escapes,
// bidi overrides) is replaced by its Go escape (\n, \x1b, \u202e), and
// each byte that is not UTF-8 by \xNN, so the text stays on its line and
// cannot drive the terminal.
func Escape(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r >= 0x7f }) {
		return s // printable ASCII: the common case
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case strconv.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
	}
	return b.String()
}
