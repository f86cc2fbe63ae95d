package report

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/kubeharden/kubeharden/lint"
)

// SchemaVersion is the version of the JSON layout written by the "json"
// format. It changes only when a field is removed, renamed or changes
// meaning; adding an optional field keeps it.
const SchemaVersion = 1

//go:embed schema/report.v1.json
var schemaV1 []byte

// Schema returns the JSON Schema (draft 2020-12) that every "json" report
// of SchemaVersion validates against. The returned slice is a copy.
func Schema() []byte { return bytes.Clone(schemaV1) }

// The types below are the JSON layout. Field order is output order; every
// list is non-nil so that it is written as [] rather than null. Keep them
// in step with schema/report.v1.json (the tests validate against it).

type jsonReport struct {
	SchemaVersion int           `json:"schemaVersion"`
	Tool          jsonTool      `json:"tool"`
	Findings      []jsonFinding `json:"findings"`
	Errors        []jsonError   `json:"errors"`
	Skipped       []jsonSkipped `json:"skipped"`
	Notes         []string      `json:"notes,omitempty"`
	Targets       []jsonTarget  `json:"targets"`
	Summary       jsonSummary   `json:"summary"`
}

// jsonTarget is a rendered target and the digest of its inputs.
type jsonTarget struct {
	Target string     `json:"target"`
	Path   string     `json:"path"`
	Kind   string     `json:"kind"`
	Via    *jsonVia   `json:"via,omitempty"`
	Inputs jsonInputs `json:"inputs"`
}

type jsonInputs struct {
	SHA256 string `json:"sha256"`
	Files  int    `json:"files"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonFinding struct {
	Rule     string       `json:"rule"`
	Severity string       `json:"severity"`
	Message  string       `json:"message"`
	Resource jsonResource `json:"resource"`
	// Field is the path in the rendered object, in ypath's spelling.
	Field  string `json:"field"`
	Target string `json:"target"`
	// Via names the Argo CD or Flux object that deploys the target.
	Via    *jsonVia   `json:"via,omitempty"`
	Source jsonSource `json:"source"`
	Fix    jsonFix    `json:"fix"`
	PSS    *jsonPSS   `json:"pss,omitempty"`
	Docs   string     `json:"docs"`
	// Exemption is reserved for findings silenced by an exemption; it is
	// in the schema but not written until exemptions exist.
	Exemption *jsonExemption `json:"exemption,omitempty"`
}

// jsonVia is the GitOps object that deploys a target, and where it is
// written.
type jsonVia struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	File string `json:"file"`
	Line int    `json:"line"`
}

// jsonResource always carries namespace, "" for cluster-scoped objects
// and objects rendered without one.
type jsonResource struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
}

// jsonSource is where the field is written. With origin "unknown" the
// file is "" and line and column are 0; a known file with line 0 means
// the line could not be determined (Helm templates).
type jsonSource struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
	Origin string `json:"origin"`
	// Via is the template line of a finding placed on a values line.
	Via *jsonSource `json:"via,omitempty"`
}

type jsonFix struct {
	Available   bool   `json:"available"`
	Description string `json:"description,omitempty"`
	Risk        string `json:"risk,omitempty"`
	RiskReason  string `json:"riskReason,omitempty"`
}

type jsonPSS struct {
	Level   string `json:"level"`
	Version string `json:"version"`
	Check   string `json:"check"`
}

type jsonExemption struct {
	Rules   []string `json:"rules"`
	Reason  string   `json:"reason"`
	Expires string   `json:"expires"`
}

type jsonError struct {
	Target  string `json:"target"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// jsonSkipped is a file no target renders, and why.
type jsonSkipped struct {
	File   string `json:"file"`
	Line   int    `json:"line,omitempty"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

type jsonSummary struct {
	Findings   int            `json:"findings"`
	Errors     int            `json:"errors"`
	Targets    int            `json:"targets"`
	Objects    int            `json:"objects"`
	BySeverity jsonBySeverity `json:"bySeverity"`
}

type jsonBySeverity struct {
	Critical int `json:"critical"`
	High     int `json:"high"`
	Medium   int `json:"medium"`
	Low      int `json:"low"`
	Info     int `json:"info"`
}

func writeJSON(buf *bytes.Buffer, v *view, _ Options) error {
	out := jsonReport{
		SchemaVersion: SchemaVersion,
		Tool:          jsonTool{Name: v.tool.Name, Version: v.tool.Version},
		Findings:      make([]jsonFinding, 0, len(v.findings)),
		Errors:        make([]jsonError, 0, len(v.errors)),
		Skipped:       make([]jsonSkipped, 0, len(v.skipped)),
		Targets:       jsonTargets(v.rendered),
		Summary: jsonSummary{
			Findings: len(v.findings),
			Errors:   len(v.errors),
			Targets:  v.targets,
			Objects:  v.objects,
			BySeverity: jsonBySeverity{
				Critical: v.bySeverity[lint.Critical],
				High:     v.bySeverity[lint.High],
				Medium:   v.bySeverity[lint.Medium],
				Low:      v.bySeverity[lint.Low],
				Info:     v.bySeverity[lint.Info],
			},
		},
	}
	for _, f := range append(slices.Clip(v.findings), v.exempt...) {
		out.Findings = append(out.Findings, jsonFindingOf(*f.Finding, f.loc))
	}
	for _, e := range v.errors {
		out.Errors = append(out.Errors, jsonErrorOf(e))
	}
	for _, sk := range v.skipped {
		out.Skipped = append(out.Skipped, jsonSkipped{File: sk.File, Line: sk.Line, Reason: sk.Reason, Detail: sk.Detail})
	}
	out.Notes = v.notes
	return encodeJSON(buf, out)
}

// encodeJSON writes v indented, with a final newline.
func encodeJSON(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetIndent("", "  ")
	// Messages quote YAML and paths; "<" and "&" are clearer unescaped
	// and the output is never embedded in HTML by us.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // Encode ends with a newline.
		return fmt.Errorf("encode json report: %w", err)
	}
	return nil
}

// jsonFindingOf is the JSON form of a finding located at loc.
func jsonFindingOf(f lint.Finding, loc lint.Location) jsonFinding {
	res := f.Object.Resource
	jf := jsonFinding{
		Rule:     f.Rule.ID,
		Severity: f.Severity.String(),
		Message:  f.Message,
		Resource: jsonResource{APIVersion: res.APIVersion, Kind: res.Kind, Namespace: res.Namespace, Name: res.Name},
		Field:    f.Field.String(),
		Target:   f.Object.Target,
		Source:   jsonSourceOf(loc),
		Docs:     f.Rule.URL(),
	}
	if f.Fix != nil {
		jf.Fix = jsonFix{Available: true, Description: f.Fix.Description,
			Risk: string(f.Fix.Risk.Class()), RiskReason: f.Fix.RiskReason}
	}
	if f.PSS != nil {
		jf.PSS = &jsonPSS{Level: f.PSS.Level, Version: f.PSS.Version, Check: f.PSS.Check}
	}
	if via := f.Object.Via; via != nil {
		jf.Via = &jsonVia{Kind: via.Kind, Name: via.Name, File: via.File, Line: via.Line}
	}
	if e := f.Exemption; e != nil {
		jf.Exemption = &jsonExemption{Rules: e.Rules, Reason: e.Reason, Expires: e.Expires}
	}
	return jf
}

// jsonSourceOf is the JSON form of a normalised location, with its Via
// when that names a file.
func jsonSourceOf(l lint.Location) jsonSource {
	s := jsonSource{File: l.File, Line: l.Line, Column: l.Column, Origin: string(l.Origin)}
	if v := l.Via; v != nil && v.Known() {
		if n, err := normalize(*v); err == nil {
			s.Via = &jsonSource{File: n.File, Line: n.Line, Column: n.Column, Origin: string(n.Origin)}
		}
	}
	return s
}

// jsonTargets is the JSON form of the described targets, never nil.
func jsonTargets(ts []Target) []jsonTarget {
	out := make([]jsonTarget, 0, len(ts))
	for _, t := range ts {
		jt := jsonTarget{Target: t.ID, Path: t.Path, Kind: t.Kind, Inputs: jsonInputs{SHA256: t.Digest, Files: len(t.Files)}}
		if via := t.Via; via != nil {
			jt.Via = &jsonVia{Kind: via.Kind, Name: via.Name, File: via.File, Line: via.Line}
		}
		out = append(out, jt)
	}
	return out
}

func jsonErrorOf(e lint.Error) jsonError {
	line := e.Line
	if e.File == "" || line < 0 {
		line = 0
	}
	return jsonError{Target: e.Target, File: e.File, Line: line, Message: e.Message}
}
