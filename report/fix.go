package report

import (
	"bytes"
	_ "embed"
	"io"

	"github.com/kubeharden/kubeharden/lint"
)

//go:embed schema/fix.v1.json
var fixSchemaV1 []byte

// FixSchema returns the JSON Schema (draft 2020-12) of the JSON written by
// WriteFixJSON. The returned slice is a copy.
func FixSchema() []byte { return bytes.Clone(fixSchemaV1) }

// FixReport is what a kubeharden fix run did: the fixes applied, those
// skipped with the reason, the files changed, and the findings left.
type FixReport struct {
	DryRun  bool
	Applied []FixOutcome
	Skipped []FixOutcome
	Files   []FixedFile
	// Remaining are the findings reported after the fixes.
	Remaining []lint.Finding
	Errors    []lint.Error
	Tool      Tool
}

// FixOutcome is one finding's fix: the files it changes when applied, or
// why it was not.
type FixOutcome struct {
	Finding lint.Finding
	Files   []string
	Reason  string
}

// FixRisk is the risk class of fx as users read it: "safe", or
// "may-break: <reason>" (the reason when there is one). A fix that
// declares no class is shown as may-break.
func FixRisk(fx *lint.FixInfo) string {
	class := fx.Risk.Class()
	if fx.RiskReason == "" || class == lint.FixSafe {
		return string(class)
	}
	return string(class) + ": " + fx.RiskReason
}

// FixedFile is one file a fix run changes or creates, as a unified diff.
type FixedFile struct {
	Path    string
	Created bool
	Diff    string
}

type jsonFixReport struct {
	SchemaVersion int             `json:"schemaVersion"`
	Tool          jsonTool        `json:"tool"`
	DryRun        bool            `json:"dryRun"`
	Applied       []jsonFixEntry  `json:"applied"`
	Skipped       []jsonFixEntry  `json:"skipped"`
	Files         []jsonFixedFile `json:"files"`
	Remaining     []jsonFinding   `json:"remaining"`
	Errors        []jsonError     `json:"errors"`
	Summary       jsonFixSummary  `json:"summary"`
}

// jsonFixEntry is a finding with the outcome of its fix.
type jsonFixEntry struct {
	Finding jsonFinding `json:"finding"`
	Files   []string    `json:"files,omitempty"`
	Reason  string      `json:"reason,omitempty"`
}

type jsonFixedFile struct {
	Path    string `json:"path"`
	Created bool   `json:"created"`
	Diff    string `json:"diff"`
}

type jsonFixSummary struct {
	Applied   int `json:"applied"`
	Skipped   int `json:"skipped"`
	Files     int `json:"files"`
	Remaining int `json:"remaining"`
	Errors    int `json:"errors"`
}

// WriteFixJSON writes r as JSON (schemaVersion 1, see FixSchema).
func WriteFixJSON(w io.Writer, r *FixReport) error {
	out := jsonFixReport{
		SchemaVersion: SchemaVersion,
		Tool:          jsonTool{Name: r.Tool.Name, Version: r.Tool.Version},
		DryRun:        r.DryRun,
		Applied:       []jsonFixEntry{},
		Skipped:       []jsonFixEntry{},
		Files:         []jsonFixedFile{},
		Remaining:     []jsonFinding{},
		Errors:        []jsonError{},
	}
	entry := func(o FixOutcome) jsonFixEntry {
		return jsonFixEntry{Finding: jsonFindingOf(o.Finding, o.Finding.Location), Files: o.Files, Reason: o.Reason}
	}
	for _, o := range r.Applied {
		out.Applied = append(out.Applied, entry(o))
	}
	for _, o := range r.Skipped {
		out.Skipped = append(out.Skipped, entry(o))
	}
	for _, f := range r.Files {
		out.Files = append(out.Files, jsonFixedFile(f))
	}
	for _, f := range r.Remaining {
		out.Remaining = append(out.Remaining, jsonFindingOf(f, f.Location))
	}
	for _, e := range r.Errors {
		out.Errors = append(out.Errors, jsonErrorOf(e))
	}
	out.Summary = jsonFixSummary{Applied: len(out.Applied), Skipped: len(out.Skipped), Files: len(out.Files),
		Remaining: len(out.Remaining), Errors: len(out.Errors)}
	var buf bytes.Buffer
	if err := encodeJSON(&buf, out); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}
