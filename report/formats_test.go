package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kubeharden/kubeharden/lint"
)

// Strings an untrusted pull request can put in object names, file names
// and (through quoted names) messages, aimed at each format's syntax.
const (
	hostileMessage = "bad\nline ::error file=x,line=1::pwned | <img src=x onerror=alert(1)> " +
		"[click](https://evil.example) `code` **bold** ]]> <![CDATA[ 100% %0A a:b,c &amp; \r\x00\x1b[31m \u202e \xff end"
	hostileFile    = "dir,with:colons/a%b c|d`e]]>.yaml"
	hostileTarget  = "over|lays/ev`il\x1b"
	hostileName    = "x|y`z\n::error::<b>&]]>%0A"
	hostileErrFile = "e\n::warning::x.yaml"
	hostileErrMsg  = "boom\n::error::x ]]> | <b> %25"
)

// hostileReport has a finding with a known source, one with an unknown
// source and an error, all made of hostile strings.
func hostileReport(t testing.TB) *Report {
	t.Helper()
	obj := object(t, hostileTarget, fmt.Sprintf("{apiVersion: v1, kind: ConfigMap, metadata: {name: %q, namespace: \"n,s:1\"}}", hostileName))
	if obj.Resource.Name != hostileName {
		t.Fatalf("object name %q, want %q", obj.Resource.Name, hostileName)
	}
	return &Report{
		Targets: 1, Objects: 1,
		Findings: []lint.Finding{
			{
				Rule: ruleRunAsNonRoot, Severity: lint.High, Object: obj, Message: hostileMessage,
				Field:    path(t, `metadata.labels["a|b"]`),
				Location: lint.Location{File: hostileFile, Line: 3, Column: 2, Origin: lint.OriginManifest},
				Fix:      &lint.FixInfo{Description: "set ]]> | \n", Risk: lint.FixMayBreak, RiskReason: "]]> | \x1b[31m\n"},
			},
			{Rule: ruleLatestTag, Severity: lint.Low, Object: obj, Message: hostileMessage},
		},
		Errors: []lint.Error{{Target: hostileTarget, File: hostileErrFile, Line: 2, Message: hostileErrMsg}},
	}
}

// --- github ---

// githubCommandLine is one parsed workflow command.
type githubCommandLine struct {
	cmd   string
	props map[string]string // unescaped
	msg   string            // unescaped
}

var (
	githubDataUnescaper     = strings.NewReplacer("%25", "%", "%0D", "\r", "%0A", "\n")
	githubPropertyUnescaper = strings.NewReplacer("%25", "%", "%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",")
)

// parseGitHub reads the output the way the Actions runner does: a line
// starting with "::" is a command whose properties end at the next "::".
func parseGitHub(t *testing.T, out string) (cmds []githubCommandLine, plain []string) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Errorf("output does not end with a newline: %q", out)
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.ContainsAny(line, "\r\x00\x1b") {
			t.Errorf("line contains a raw control character: %q", line)
		}
		if !strings.HasPrefix(line, "::") {
			plain = append(plain, line)
			continue
		}
		head, msg, ok := strings.Cut(line[2:], "::")
		if !ok {
			t.Errorf("command without a message: %q", line)
			continue
		}
		c := githubCommandLine{props: map[string]string{}, msg: githubDataUnescaper.Replace(msg)}
		cmd, props, _ := strings.Cut(head, " ")
		c.cmd = cmd
		if props != "" {
			for kv := range strings.SplitSeq(props, ",") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					t.Errorf("malformed property %q in %q", kv, line)
				}
				if _, dup := c.props[k]; dup {
					t.Errorf("duplicate property %q in %q", k, line)
				}
				c.props[k] = githubPropertyUnescaper.Replace(v)
			}
		}
		cmds = append(cmds, c)
	}
	return cmds, plain
}

func TestGitHubEscaping(t *testing.T) {
	r := hostileReport(t)
	cmds, plain := parseGitHub(t, string(write(t, FormatGitHub, r, Options{})))
	if len(cmds) != 3 || len(plain) != 1 {
		t.Fatalf("got %d commands and %d plain lines, want 3 and 1 (no injected lines): %+v %q", len(cmds), len(plain), cmds, plain)
	}
	known, unknown, errCmd := cmds[0], cmds[1], cmds[2]
	for _, c := range cmds {
		for k := range c.props {
			if k != "file" && k != "line" && k != "col" && k != "title" {
				t.Errorf("unexpected property %q (injected?) in %+v", k, c)
			}
		}
	}
	if known.cmd != "error" || known.props["file"] != clean(hostileFile) || known.props["line"] != "3" || known.props["col"] != "2" {
		t.Errorf("finding with a known source: %+v", known)
	}
	if !strings.HasPrefix(known.msg, clean(hostileMessage)+" [") || !strings.Contains(known.msg, clean(hostileName)) {
		t.Errorf("message does not round-trip: %q", known.msg)
	}
	if strings.Count(known.msg, "\n") != 1 {
		t.Errorf("message has injected lines: %q", known.msg)
	}
	if _, ok := unknown.props["file"]; unknown.cmd != "warning" || ok {
		t.Errorf("finding with an unknown source: %+v", unknown)
	}
	if errCmd.cmd != "error" || errCmd.props["file"] != clean(hostileErrFile) || errCmd.props["line"] != "2" ||
		errCmd.msg != clean(hostileErrMsg)+" (target "+clean(hostileTarget)+")" {
		t.Errorf("error: %+v", errCmd)
	}
}

func TestGitHubEscapers(t *testing.T) {
	if got, want := githubData("a%b\r\nc:d,e::f"), "a%25b%0D%0Ac:d,e::f"; got != want {
		t.Errorf("githubData = %q, want %q", got, want)
	}
	if got, want := githubProperty("a%b\r\nc:d,e::f"), "a%25b%0D%0Ac%3Ad%2Ce%3A%3Af"; got != want {
		t.Errorf("githubProperty = %q, want %q", got, want)
	}
}

func TestGitHubLevelsAndPositions(t *testing.T) {
	cmds, plain := parseGitHub(t, string(write(t, FormatGitHub, sampleReport(t), Options{})))
	want := []struct{ cmd, file, line, col string }{
		{"error", "overlays/staging/patch-api.yaml", "9", "7"},
		{"error", "charts/worker/values.yaml", "14", "3"},
		{"error", "deploy/web/deployment.yaml", "12", "7"},
		{"warning", "base/api/deployment.yaml", "18", "9"},
		{"warning", "base/api/deployment.yaml", "18", "9"},
		{"warning", "charts/worker/templates/deployment.yaml", "", ""}, // Helm template: line unknown
		{"warning", "", "", ""},                                        // unknown source
		{"notice", "deploy/web/namespace.yaml", "4", "3"},
		{"error", "", "", ""}, // error without a file
		{"error", "charts/broken/values.yaml", "3", ""},
	}
	if len(cmds) != len(want) {
		t.Fatalf("%d commands, want %d", len(cmds), len(want))
	}
	for i, w := range want {
		c := cmds[i]
		if c.cmd != w.cmd || c.props["file"] != w.file || c.props["line"] != w.line || c.props["col"] != w.col {
			t.Errorf("command %d = %s %v, want %+v", i, c.cmd, c.props, w)
		}
		if c.props["line"] == "1" {
			t.Errorf("command %d is on line 1: %+v", i, c)
		}
	}
	if len(plain) != 1 || !strings.HasPrefix(plain[0], "8 findings") {
		t.Errorf("summary lines: %q", plain)
	}
}

// --- junit ---

func decodeJUnit(t *testing.T, b []byte) junitSuites {
	t.Helper()
	var s junitSuites
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	if err := dec.Decode(&s); err != nil {
		t.Fatalf("output is not well-formed JUnit XML: %v\n%s", err, b)
	}
	// Nothing may follow the document but white space.
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after the document: %v", err)
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			t.Fatalf("content after the document: %#v", tok)
		}
	}
	return s
}

func TestJUnitStructure(t *testing.T) {
	s := decodeJUnit(t, write(t, FormatJUnit, sampleReport(t), Options{}))
	if s.Tests != 10 || s.Failures != 8 || s.Errors != 2 {
		t.Errorf("totals tests=%d failures=%d errors=%d, want 10, 8, 2", s.Tests, s.Failures, s.Errors)
	}
	var names []string
	for _, suite := range s.Suites {
		names = append(names, suite.Name)
		var failures, errors int
		for _, c := range suite.Cases {
			if c.Failure != nil {
				failures++
				if c.Classname == "" || c.Failure.Type == "" || c.Failure.Message == "" {
					t.Errorf("suite %s: incomplete failing test case %+v", suite.Name, c)
				}
			}
			if c.Error != nil {
				errors++
			}
		}
		if suite.Tests != len(suite.Cases) || suite.Failures != failures || suite.Errors != errors {
			t.Errorf("suite %s counts tests=%d failures=%d errors=%d, has %d cases, %d failures, %d errors",
				suite.Name, suite.Tests, suite.Failures, suite.Errors, len(suite.Cases), failures, errors)
		}
	}
	if got, want := strings.Join(names, " "), "charts/broken charts/worker deploy/web overlays/prod overlays/remote overlays/staging"; got != want {
		t.Errorf("suites %s, want one per target, sorted: %s", got, want)
	}

	clean := decodeJUnit(t, write(t, FormatJUnit, emptyReport(), Options{}))
	if clean.Tests != 1 || clean.Failures != 0 || len(clean.Suites) != 1 || len(clean.Suites[0].Cases) != 1 {
		t.Errorf("a clean report must have one passing test case: %+v", clean)
	}
}

func TestJUnitEscaping(t *testing.T) {
	out := write(t, FormatJUnit, hostileReport(t), Options{})
	if bytes.ContainsAny(out, "\x00\x1b\r") {
		t.Errorf("output contains characters XML 1.0 cannot carry:\n%q", out)
	}
	s := decodeJUnit(t, out)
	if len(s.Suites) != 1 || s.Suites[0].Name != clean(hostileTarget) || len(s.Suites[0].Cases) != 3 {
		t.Fatalf("suites: %+v", s.Suites)
	}
	cases := s.Suites[0].Cases
	f := cases[0]
	if f.Failure == nil || f.Failure.Message != clean(hostileMessage) || f.File != clean(hostileFile) {
		t.Errorf("failing test case does not round-trip: %+v", f)
	}
	wantBody := clean(hostileFile) + ":3:2: " + clean(hostileMessage) + "\n"
	if !strings.HasPrefix(f.Failure.Body, wantBody) || !strings.Contains(f.Failure.Body, "fix: set ]]> | \\n (may-break: ]]> | \\x1b[31m\\n)\n") {
		t.Errorf("failure body does not round-trip:\n%q\nwant prefix\n%q", f.Failure.Body, wantBody)
	}
	if f.Name != clean(hostileName+` metadata.labels["a|b"]`) && !strings.Contains(f.Name, clean(hostileName)) {
		t.Errorf("test case name %q", f.Name)
	}
	if u := cases[1]; u.Failure == nil || u.File != "" || u.Line != 0 || !strings.HasPrefix(u.Failure.Body, "(unknown source): ") {
		t.Errorf("unknown-source test case: %+v", u)
	}
	if e := cases[2]; e.Error == nil || e.Error.Message != clean(hostileErrMsg) || e.File != clean(hostileErrFile) || e.Line != 2 {
		t.Errorf("error test case: %+v", e)
	}
}

// --- markdown ---

// unescaped returns the Markdown-active characters of s that are not
// backslash-escaped.
func unescaped(s string) string {
	var out []rune
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case strings.ContainsRune("<>[]`*_|&!~", r):
			out = append(out, r)
		}
	}
	return string(out)
}

// cells splits a Markdown table row on its unescaped pipes.
func cells(row string) []string {
	var out []string
	var cur strings.Builder
	escaped := false
	for _, r := range row {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '|':
			out = append(out, cur.String())
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	return append(out, cur.String())
}

func tableRows(out string) []string {
	var rows []string
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(line, "| ") {
			rows = append(rows, line)
		}
	}
	return rows
}

func TestMarkdownEscaping(t *testing.T) {
	out := string(write(t, FormatMarkdown, hostileReport(t), Options{}))
	if strings.ContainsAny(out, "\r\x00\x1b\u202e") {
		t.Errorf("output contains control characters: %q", out)
	}
	rows := tableRows(out)
	if len(rows) != 4 { // header, delimiter, two findings
		t.Fatalf("%d table rows, want 4 (no injected rows):\n%s", len(rows), out)
	}
	for _, row := range rows {
		// A leading and trailing pipe around five cells.
		if c := cells(row); len(c) != 7 || c[0] != "" || c[6] != "" {
			t.Errorf("row has %d cells, want 5 between pipes: %q", len(c)-2, row)
		}
	}
	msg := cells(rows[2])[5]
	// Outside code spans nothing may stay active Markdown or HTML.
	if u := unescaped(msg); u != "" {
		t.Errorf("message cell has unescaped %q: %q", u, msg)
	}
	for _, want := range []string{`\<img src=x onerror=alert(1)\>`, `\[click\](https://evil.example)`, "\\`code\\`", `\*\*bold\*\*`, `\\n`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message cell lacks %q: %q", want, msg)
		}
	}
	// Code spans: a fence longer than the backticks inside, pipes escaped.
	if loc := cells(rows[2])[4]; loc != " ``"+strings.ReplaceAll(clean(hostileFile), "|", `\|`)+":3`` " {
		t.Errorf("location cell %q", loc)
	}
	if !strings.Contains(out, "\n### Errors\n\n- `e\\n::warning::x.yaml:2`: boom\\\\n::error::x \\]\\]\\> \\| \\<b\\> %25 (target ``over|lays/ev`il\\x1b``)\n") {
		t.Errorf("errors section:\n%s", out)
	}
}

func TestMarkdownCode(t *testing.T) {
	for _, tt := range []struct {
		in      string
		inTable bool
		want    string
	}{
		{"a.yaml", true, "`a.yaml`"},
		{"a`b", true, "``a`b``"},
		{"a``b`", false, "``` a``b` ```"},
		{"`a", false, "`` `a ``"},
		{"a|b", true, "`a\\|b`"},
		{"a|b", false, "`a|b`"},
		{"a\nb", false, "`a\\nb`"},
	} {
		if got := mdCode(tt.in, tt.inTable); got != tt.want {
			t.Errorf("mdCode(%q, %v) = %q, want %q", tt.in, tt.inTable, got, tt.want)
		}
	}
}

func TestMarkdownClean(t *testing.T) {
	out := string(write(t, FormatMarkdown, emptyReport(), Options{}))
	if want := "## kubeharden: no findings\n\nno findings in 3 targets (7 objects)\n"; out != want {
		t.Errorf("got %q, want %q", out, want)
	}
	onlyErrors := string(write(t, FormatMarkdown, &Report{Errors: []lint.Error{{Message: "boom"}}}, Options{}))
	if !strings.HasPrefix(onlyErrors, "## kubeharden: 1 error\n") || strings.Contains(onlyErrors, "| Severity") {
		t.Errorf("errors only:\n%s", onlyErrors)
	}
}

// TestMarkdownFitsInAComment checks that a huge report stays under
// GitHub's comment limit, keeps its errors, and says what it left out.
func TestMarkdownFitsInAComment(t *testing.T) {
	r := &Report{Targets: 1, Objects: 5000}
	for i := range 5000 {
		obj := object(t, "deploy", fmt.Sprintf("{apiVersion: v1, kind: Pod, metadata: {name: pod-%d}}", i))
		r.Findings = append(r.Findings, lint.Finding{
			Rule: ruleLatestTag, Severity: lint.Low, Object: obj, Message: "image uses the latest tag",
			Location: lint.Location{File: "deploy/pods.yaml", Line: i + 1, Origin: lint.OriginManifest},
		})
	}
	for i := range 3 {
		r.Errors = append(r.Errors, lint.Error{Target: "t", Message: fmt.Sprintf("error %d", i)})
	}
	out := string(write(t, FormatMarkdown, r, Options{}))
	if len(out) > 65536 {
		t.Errorf("output is %d bytes, over GitHub's comment limit", len(out))
	}
	rows := len(tableRows(out)) - 2
	if rows < 100 || rows >= 5000 {
		t.Errorf("%d rows shown", rows)
	}
	if !strings.Contains(out, "- error 2 (target `t`)\n") {
		t.Error("errors were pushed out by the table")
	}
	if want := fmt.Sprintf("\n%d more findings not shown", 5000-rows); !strings.Contains(out, want) {
		t.Errorf("output lacks %q:\n%s", want, out[len(out)-300:])
	}
}

// --- all formats ---

// TestNoFormatInventsLineOne checks, for every format, that a finding
// whose line is unknown is not printed on line 1.
func TestNoFormatInventsLineOne(t *testing.T) {
	obj := object(t, "charts/x", "{apiVersion: v1, kind: Pod, metadata: {name: p}}")
	r := &Report{Findings: []lint.Finding{
		{Rule: ruleLatestTag, Object: obj, Message: "m", Location: lint.Location{Line: 1, Column: 1, Origin: lint.OriginManifest}},
		{Rule: ruleLatestTag, Object: obj, Message: "m", Location: lint.Location{File: "charts/x/templates/p.yaml", Origin: lint.OriginHelmTemplate}},
	}}
	for _, format := range Formats() {
		out := string(write(t, format, r, Options{}))
		for _, bad := range []string{":1:", ":1 ", ":1`", "line=1", `"startLine": 1`, `line="1"`, `"line": 1`} {
			if strings.Contains(out, bad) {
				t.Errorf("%s output contains %q:\n%s", format, bad, out)
			}
		}
	}
}

// TestHostileReportIsWritten checks that every format writes the hostile
// report, and that the JSON-based ones keep the strings exactly.
func TestHostileReportIsWritten(t *testing.T) {
	for _, format := range Formats() {
		out := write(t, format, hostileReport(t), Options{})
		if format == FormatJSON || format == FormatSARIF {
			if !json.Valid(out) {
				t.Errorf("%s: invalid JSON", format)
			}
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(hostileMessage); err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(out, bytes.Trim(bytes.TrimSpace(want.Bytes()), `"`)) {
				t.Errorf("%s: message not kept exactly", format)
			}
		}
	}
}
