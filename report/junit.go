package report

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kubeharden/kubeharden/lint"
)

// The "junit" format is JUnit XML, for CI systems that display test
// reports (GitLab merge requests, Jenkins, Azure Pipelines):
//
//	<testsuites name="kubeharden" tests="9" failures="8" errors="1">
//	  <testsuite name="deploy/web" tests="2" failures="2" errors="0">
//	    <testcase classname="pss-run-as-non-root" name="Deployment/prod/web spec.template..." file="deploy/web/deployment.yaml" line="12">
//	      <failure message="container &#34;web&#34; must ..." type="high">deploy/web/deployment.yaml:12:7: ...</failure>
//	    </testcase>
//	  </testsuite>
//	</testsuites>
//
// There is one test suite per target, sorted by name, holding one failing
// test case per finding (classname: the rule ID; name: the resource and
// field) and one erroring test case per error of that target. Findings
// and errors without a target go in a suite named "(no target)". A report with
// neither findings nor errors has one passing test case, so that CI
// plugins that refuse an empty report (Jenkins) accept it.
//
// Repository strings are made printable as in the text format before
// encoding/xml escapes them, so control characters, which XML 1.0 cannot
// carry, stay visible instead of becoming U+FFFD.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Classname string `xml:"classname,attr"`
	Name      string `xml:"name,attr"`
	// File and Line are read by GitLab and some report viewers.
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// junitProblem's body is CDATA so that its lines stay lines; encoding/xml
// splits the section around any "]]>" in the text.
type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

// noTargetSuite names the suite of errors that belong to no target.
const noTargetSuite = "(no target)"

func writeJUnit(buf *bytes.Buffer, v *view, _ Options) error {
	suites := map[string]*junitSuite{}
	suite := func(name string) *junitSuite {
		s := suites[name]
		if s == nil {
			s = &junitSuite{Name: name}
			suites[name] = s
		}
		return s
	}

	for _, f := range v.findings {
		s := suite(cmp.Or(clean(f.Object.Target), noTargetSuite))
		c := junitCase{
			Classname: f.Rule.ID,
			Name:      clean(strings.TrimSpace(f.Object.Resource.String() + " " + f.Field.String())),
			Failure: &junitProblem{
				Message: clean(f.Message),
				Type:    f.Severity.String(),
				Body:    junitFindingBody(f),
			},
		}
		if f.loc.Origin != lint.OriginUnknown {
			c.File, c.Line = clean(f.loc.File), f.loc.Line
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
		s.Failures++
	}
	for _, e := range v.errors {
		s := suite(cmp.Or(clean(e.Target), noTargetSuite))
		name := "(no file)"
		if e.File != "" {
			name = clean(e.File)
			if e.Line > 0 {
				name += ":" + strconv.Itoa(e.Line)
			}
		}
		c := junitCase{
			Classname: v.tool.Name,
			Name:      name,
			File:      clean(e.File),
			Line:      max(e.Line, 0),
			Error:     &junitProblem{Message: clean(e.Message), Type: "error", Body: clean(e.Error())},
		}
		if e.File == "" {
			c.Line = 0
		}
		s.Cases = append(s.Cases, c)
		s.Tests++
		s.Errors++
	}

	out := junitSuites{Name: v.tool.Name, Failures: len(v.findings), Errors: len(v.errors)}
	names := make([]string, 0, len(suites))
	for name := range suites {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		out.Suites = append(out.Suites, *suites[name])
	}
	if len(out.Suites) == 0 {
		out.Suites = []junitSuite{{Name: v.tool.Name, Tests: 1, Cases: []junitCase{{
			Classname: v.tool.Name,
			Name:      "lint",
			SystemOut: summaryLine(v),
		}}}}
	}
	for _, s := range out.Suites {
		out.Tests += s.Tests
	}

	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(buf)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encode junit report: %w", err)
	}
	buf.WriteByte('\n')
	return nil
}

// junitFindingBody is the failure text: where, what, which object, and
// how to learn more.
func junitFindingBody(f finding) string {
	where := "(unknown source)"
	if f.loc.Origin != lint.OriginUnknown {
		where = clean(f.loc.File)
		if p := position(f.loc); p != "-" {
			where += ":" + p
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", where, clean(f.Message))
	fmt.Fprintf(&b, "severity: %s\n", f.Severity)
	fmt.Fprintf(&b, "resource: %s\n", clean(f.Object.Resource.String()))
	if field := f.Field.String(); field != "" {
		fmt.Fprintf(&b, "field: %s\n", clean(field))
	}
	fmt.Fprintf(&b, "target: %s\n", clean(f.Object.Target))
	if f.PSS != nil {
		fmt.Fprintf(&b, "pod security: %s level, version %s, check %s\n", f.PSS.Level, f.PSS.Version, f.PSS.Check)
	}
	if f.Fix != nil {
		fmt.Fprintf(&b, "fix: %s (%s)\n", clean(f.Fix.Description), clean(FixRisk(f.Fix)))
	}
	fmt.Fprintf(&b, "docs: %s", f.Rule.URL())
	return b.String()
}
