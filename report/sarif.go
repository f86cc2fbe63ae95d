package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/lint"
)

// The "sarif" format is SARIF 2.1.0 for GitHub code scanning and other
// SARIF viewers: one run whose driver lists the rules that have findings,
// one result per finding, and the errors as tool execution notifications.
//
// Locations are never guessed. A finding whose line is known gets a
// region; one whose file is known but line is not (Helm templates) gets
// the file without a region. GitHub rejects a whole upload if any result
// lacks a physical location, so a finding whose source is unknown is
// anchored, without a region, to the file of the Argo CD or Flux object
// that deploys its target, or else to the target's path, and says so in
// the location's message; its properties carry origin "unknown". Every
// result also has a logical location naming the Kubernetes resource.
//
// A result's message ends with its object and target, "[Deployment/prod/api
// in overlays/prod]", because GitHub shows only the message and the
// physical location, and a Kustomize base rendered by two overlays gives
// two results on the same line. Columns are counted in Unicode code
// points (run.columnKind), as the YAML parser counts them.

const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	// sarifSrcRoot is the uriBaseId of every repository path; consumers
	// (GitHub: the checkout) resolve it to the repository root.
	sarifSrcRoot = "%SRCROOT%"
	// fingerprintKey names Fingerprint in partialFingerprints; bump the
	// version if Fingerprint's definition changes.
	fingerprintKey = "kubeharden/v1"
	informationURI = "https://github.com/kubeharden/kubeharden"
)

// The types below are the part of the SARIF object model we write. Field
// order is output order; optional parts are omitted when empty.

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool               sarifTool                        `json:"tool"`
	Invocations        []sarifInvocation                `json:"invocations"`
	OriginalURIBaseIDs map[string]sarifArtifactLocation `json:"originalUriBaseIds"`
	ColumnKind         string                           `json:"columnKind"`
	Artifacts          []sarifArtifact                  `json:"artifacts,omitempty"`
	Results            []sarifResult                    `json:"results"`
	Properties         *sarifRunProps                   `json:"properties,omitempty"`
}

// sarifArtifact is an input file of a rendered target, with the SHA-256
// of its content.
type sarifArtifact struct {
	Location sarifArtifactLocation `json:"location"`
	Length   int                   `json:"length"`
	Hashes   map[string]string     `json:"hashes"`
}

// sarifRunProps carries the rendered targets as the JSON format writes
// them, with the digest of each target's inputs.
type sarifRunProps struct {
	Targets []jsonTarget `json:"targets"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string            `json:"name"`
	Version        string            `json:"version,omitempty"`
	InformationURI string            `json:"informationUri"`
	Rules          []sarifDescriptor `json:"rules"`
}

type sarifDescriptor struct {
	ID                   string              `json:"id"`
	Name                 string              `json:"name"`
	ShortDescription     sarifMessage        `json:"shortDescription"`
	FullDescription      sarifMessage        `json:"fullDescription"`
	Help                 sarifMessage        `json:"help"`
	HelpURI              string              `json:"helpUri"`
	DefaultConfiguration sarifConfiguration  `json:"defaultConfiguration"`
	Properties           sarifRuleProperties `json:"properties"`
}

type sarifConfiguration struct {
	Level string `json:"level"`
}

// sarifRuleProperties are read by GitHub: "security-severity" (a CVSS-like
// score, honoured when tags contain "security") ranks alerts as critical,
// high, medium or low.
type sarifRuleProperties struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity,omitempty"`
}

// sarifMessage is both a message and a multiformatMessageString.
type sarifMessage struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level      string                  `json:"level"`
	Message    sarifMessage            `json:"message"`
	Locations  []sarifLocation         `json:"locations,omitempty"`
	Properties *sarifNotificationProps `json:"properties,omitempty"`
}

type sarifNotificationProps struct {
	Target string `json:"target"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Fixes               []sarifFix        `json:"fixes,omitempty"`
	Properties          sarifResultProps  `json:"properties"`
}

// sarifFix is a finding's automatic fix as replacements of whole lines.
type sarifFix struct {
	Description     sarifMessage          `json:"description"`
	ArtifactChanges []sarifArtifactChange `json:"artifactChanges"`
}

type sarifArtifactChange struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Replacements     []sarifReplacement    `json:"replacements"`
}

type sarifReplacement struct {
	DeletedRegion   sarifSpan     `json:"deletedRegion"`
	InsertedContent *sarifContent `json:"insertedContent,omitempty"`
}

// sarifSpan is a region from the start of startLine to the start of
// endLine (1-based; equal for an insertion).
type sarifSpan struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn"`
	EndLine     int `json:"endLine"`
	EndColumn   int `json:"endColumn"`
}

type sarifContent struct {
	Text string `json:"text"`
}

type sarifResultProps struct {
	Severity string       `json:"severity"`
	Target   string       `json:"target"`
	Resource jsonResource `json:"resource"`
	Field    string       `json:"field"`
	// Origin is the JSON format's source.origin; "unknown" marks a result
	// whose physical location is only an anchor.
	Origin string   `json:"origin"`
	PSS    *jsonPSS `json:"pss,omitempty"`
	// FixRisk and FixRiskReason are the JSON format's fix.risk and
	// fix.riskReason, on results with an automatic fix.
	FixRisk       string `json:"fixRisk,omitempty"`
	FixRiskReason string `json:"fixRiskReason,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysicalLocation `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogicalLocation `json:"logicalLocations,omitempty"`
	Message          *sarifMessage          `json:"message,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           *sarifRegion          `json:"region,omitempty"`
}

type sarifArtifactLocation struct {
	URI         string        `json:"uri,omitempty"`
	URIBaseID   string        `json:"uriBaseId,omitempty"`
	Description *sarifMessage `json:"description,omitempty"`
}

// sarifRegion is 1-based; a zero column is omitted (the whole line).
type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifLogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

// sarifLevel maps severities onto SARIF's three result levels.
var sarifLevel = [...]string{
	lint.Info:     "note",
	lint.Low:      "warning",
	lint.Medium:   "warning",
	lint.High:     "error",
	lint.Critical: "error",
}

// securitySeverity places each severity inside GitHub's bands (critical
// above 9.0, high from 7.0, medium from 4.0, low from 0.1); info has none.
var securitySeverity = [...]string{
	lint.Info:     "",
	lint.Low:      "2.0",
	lint.Medium:   "5.5",
	lint.High:     "8.0",
	lint.Critical: "9.5",
}

func writeSARIF(buf *bytes.Buffer, v *view, _ Options) error {
	rules, index := sarifRules(v.findings)
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           v.tool.Name,
			Version:        v.tool.Version,
			InformationURI: informationURI,
			Rules:          rules,
		}},
		Invocations: []sarifInvocation{{ExecutionSuccessful: len(v.errors) == 0}},
		OriginalURIBaseIDs: map[string]sarifArtifactLocation{
			sarifSrcRoot: {Description: &sarifMessage{Text: "The repository root: the git top level of the linted path."}},
		},
		ColumnKind: "unicodeCodePoints",
		Results:    make([]sarifResult, 0, len(v.findings)),
	}
	for _, f := range v.findings {
		res := f.Object.Resource
		r := sarifResult{
			RuleID:              f.Rule.ID,
			RuleIndex:           index[f.Rule.ID],
			Level:               sarifLevel[f.Severity],
			Message:             sarifMessage{Text: f.Message + " [" + resourceIn(f) + "]"},
			Locations:           []sarifLocation{findingLocation(f)},
			PartialFingerprints: map[string]string{fingerprintKey: Fingerprint(*f.Finding)},
			Properties: sarifResultProps{
				Severity: f.Severity.String(),
				Target:   f.Object.Target,
				Resource: jsonResource{APIVersion: res.APIVersion, Kind: res.Kind, Namespace: res.Namespace, Name: res.Name},
				Field:    f.Field.String(),
				Origin:   string(f.loc.Origin),
			},
		}
		if f.PSS != nil {
			r.Properties.PSS = &jsonPSS{Level: f.PSS.Level, Version: f.PSS.Version, Check: f.PSS.Check}
		}
		if f.Fix != nil {
			r.Properties.FixRisk, r.Properties.FixRiskReason = string(f.Fix.Risk.Class()), f.Fix.RiskReason
		}
		// A fix's replacement lines at a secret's location could carry
		// the value: a Secret finding has none in SARIF.
		if changes := v.fixes[Fingerprint(*f.Finding)]; len(changes) > 0 && f.Fix != nil && !f.Secret {
			r.Fixes = []sarifFix{sarifFixOf(f.Fix.Description+" ("+FixRisk(f.Fix)+")", changes)}
		}
		run.Results = append(run.Results, r)
	}
	if len(v.rendered) > 0 {
		run.Artifacts = sarifArtifacts(v.rendered)
		run.Properties = &sarifRunProps{Targets: jsonTargets(v.rendered)}
	}
	for _, e := range v.errors {
		n := sarifNotification{Level: "error", Message: sarifMessage{Text: e.Message}}
		if e.File != "" {
			n.Locations = []sarifLocation{{PhysicalLocation: physical(e.File, e.Line, 0)}}
		}
		if e.Target != "" {
			n.Properties = &sarifNotificationProps{Target: e.Target}
		}
		run.Invocations[0].ToolExecutionNotifications = append(run.Invocations[0].ToolExecutionNotifications, n)
	}

	enc := json.NewEncoder(buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}}); err != nil {
		return fmt.Errorf("encode sarif report: %w", err)
	}
	return nil
}

// sarifArtifacts lists every input file of the targets once, sorted by
// path. A file read twice with different contents (it changed during the
// run) keeps the first digest; each target's own digest still covers what
// it read.
func sarifArtifacts(ts []Target) []sarifArtifact {
	seen := map[string]InputFile{}
	for _, t := range ts {
		for _, f := range t.Files {
			if _, ok := seen[f.Path]; !ok {
				seen[f.Path] = f
			}
		}
	}
	paths := make([]string, 0, len(seen))
	for p := range seen {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	out := make([]sarifArtifact, len(paths))
	for i, p := range paths {
		f := seen[p]
		out[i] = sarifArtifact{
			Location: sarifArtifactLocation{URI: artifactURI(p), URIBaseID: sarifSrcRoot},
			Length:   f.Size,
			Hashes:   map[string]string{"sha-256": f.SHA256},
		}
	}
	return out
}

// sarifRules returns one descriptor per rule ID that has findings, sorted
// by ID, and each ID's index in that list. A rule's security-severity is
// that of its most severe finding, since configuration may have changed
// the rule's severity and GitHub reads the score from the rule only.
func sarifRules(fs []finding) ([]sarifDescriptor, map[string]int) {
	byID := map[string]*lint.Rule{}
	worst := map[string]lint.Severity{}
	for _, f := range fs {
		id := f.Rule.ID
		if _, ok := byID[id]; !ok {
			byID[id], worst[id] = f.Rule, f.Severity
		} else {
			worst[id] = max(worst[id], f.Severity)
		}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rules := make([]sarifDescriptor, len(ids))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
		rules[i] = descriptor(byID[id], worst[id])
	}
	return rules, index
}

func descriptor(r *lint.Rule, worst lint.Severity) sarifDescriptor {
	short := cmp.Or(r.Title, r.ID)
	full := cmp.Or(r.Doc, short)
	sev := r.Severity
	if sev < lint.Info || sev > lint.Critical {
		sev = worst
	}

	var text, md strings.Builder
	if r.Doc != "" {
		text.WriteString(r.Doc + "\n\n")
		md.WriteString(r.Doc + "\n\n")
	}
	if r.Remediation != "" {
		text.WriteString("Remediation: " + r.Remediation + "\n\n")
		md.WriteString("**Remediation:** " + r.Remediation + "\n\n")
	}
	text.WriteString("Documentation: " + r.URL())
	md.WriteString("[Rule documentation](" + r.URL() + ")")
	if len(r.Links) > 0 {
		text.WriteString("\n\nReferences:")
		md.WriteString("\n\nReferences:\n")
		for _, l := range r.Links {
			text.WriteString("\n- " + l)
			md.WriteString("\n- <" + l + ">")
		}
	}

	return sarifDescriptor{
		ID:                   r.ID,
		Name:                 pascalCase(r.ID),
		ShortDescription:     sarifMessage{Text: short},
		FullDescription:      sarifMessage{Text: full},
		Help:                 sarifMessage{Text: text.String(), Markdown: md.String()},
		HelpURI:              r.URL(),
		DefaultConfiguration: sarifConfiguration{Level: sarifLevel[sev]},
		Properties: sarifRuleProperties{
			Tags:             []string{"security", "kubernetes"},
			SecuritySeverity: securitySeverity[worst],
		},
	}
}

// findingLocation is the result location of f; see the format comment
// for what an unknown source becomes.
func findingLocation(f finding) sarifLocation {
	res := f.Object.Resource
	loc := sarifLocation{LogicalLocations: []sarifLogicalLocation{{
		Name:               res.Name,
		FullyQualifiedName: res.String(),
		Kind:               "resource",
	}}}
	if f.loc.Origin != lint.OriginUnknown {
		loc.PhysicalLocation = physical(f.loc.File, f.loc.Line, f.loc.Column)
		return loc
	}
	msg := "source unknown: the field could not be traced to the file that writes it"
	switch via := f.Object.Via; {
	case via != nil && via.File != "":
		loc.PhysicalLocation = physical(via.File, 0, 0)
		msg += fmt.Sprintf("; target %s is deployed by %s %s in this file", f.Object.Target, via.Kind, via.Name)
	case f.Object.Target != "":
		loc.PhysicalLocation = physical(f.Object.Target, 0, 0)
		msg += "; shown on its target " + f.Object.Target
	}
	loc.Message = &sarifMessage{Text: msg}
	return loc
}

// physical locates a repository path, with a region only when the line
// is known: an unknown line is never written as line 1.
func physical(file string, line, col int) *sarifPhysicalLocation {
	p := &sarifPhysicalLocation{ArtifactLocation: sarifArtifactLocation{URI: artifactURI(file), URIBaseID: sarifSrcRoot}}
	if line > 0 {
		p.Region = &sarifRegion{StartLine: line, StartColumn: max(col, 0)}
	}
	return p
}

// artifactURI turns a repository path (forward slashes) into a relative
// URI reference: each segment percent-encoded, and ':' too, so that a
// first segment like "a:b" is not read as a URI scheme.
func artifactURI(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(s), ":", "%3A")
	}
	return strings.Join(segs, "/")
}

// pascalCase turns a kebab-case rule ID into the PascalCase name SARIF
// recommends for reportingDescriptor.name: pss-run-as-non-root becomes
// PssRunAsNonRoot.
func pascalCase(id string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(id, "-") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

// sarifFixOf writes file changes as SARIF replacements: for each file,
// the run of lines from the first to the last that differ, replaced by
// the new lines (a file the fix creates is one insertion at its start).
func sarifFixOf(desc string, changes []fix.FileChange) sarifFix {
	fx := sarifFix{Description: sarifMessage{Text: desc}}
	for _, c := range changes {
		oldLines, newLines := splitKeep(c.Old), splitKeep(c.New)
		pre := 0
		for pre < len(oldLines) && pre < len(newLines) && oldLines[pre] == newLines[pre] {
			pre++
		}
		suf := 0
		for suf < len(oldLines)-pre && suf < len(newLines)-pre && oldLines[len(oldLines)-1-suf] == newLines[len(newLines)-1-suf] {
			suf++
		}
		rep := sarifReplacement{DeletedRegion: sarifSpan{StartLine: pre + 1, StartColumn: 1, EndLine: len(oldLines) - suf + 1, EndColumn: 1}}
		if ins := strings.Join(newLines[pre:len(newLines)-suf], ""); ins != "" {
			rep.InsertedContent = &sarifContent{Text: ins}
		}
		fx.ArtifactChanges = append(fx.ArtifactChanges, sarifArtifactChange{
			ArtifactLocation: sarifArtifactLocation{URI: artifactURI(c.Path), URIBaseID: sarifSrcRoot},
			Replacements:     []sarifReplacement{rep},
		})
	}
	return fx
}

// splitKeep splits b into lines that keep their line breaks.
func splitKeep(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.SplitAfter(string(b), "\n")
}
