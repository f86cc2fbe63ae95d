package lint

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
)

// Fingerprint identifies a finding independently of where its source is
// written: the rule, the target (and the GitOps object deploying it), the
// resource's kind, namespace and name, the field path and, when set, the
// finding's Key. Moving lines, reformatting a file or changing an
// apiVersion leaves it unchanged; two findings of one run never share it
// (TestFingerprintsUnique). A finding without a Key hashes exactly what it
// did before keys existed, so only keyed findings changed fingerprint.
func Fingerprint(f Finding) string { return fingerprint(f, true) }

// fingerprint hashes, each followed by a NUL byte, the rule ID, target,
// GitOps object, kind, namespace, name and field, then the Key when
// withKey is set and the Key is not empty. Without the Key it is the
// fingerprint of baseline version 1, which had no keys.
func fingerprint(f Finding, withKey bool) string {
	h := sha256.New()
	via := ""
	if v := f.Object.Via; v != nil {
		via = v.Kind + "/" + v.Name
	}
	r := f.Object.Resource
	parts := []string{f.Rule.ID, f.Object.Target, via, r.Kind, r.Namespace, r.Name, f.Field.String()}
	if withKey && f.Key != "" {
		parts = append(parts, f.Key)
	}
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BaselineVersion is the version of the baseline file format that
// NewBaseline writes. Version 2 fingerprints include the finding's Key.
// Version 1 files (no keys) are still read: their entries match findings
// by the fingerprint without the Key, so a version 1 entry of a keyed
// finding (one of a namespace's two default-deny findings) absorbs either
// of them; `kubeharden baseline` rewrites such a file as version 2.
const BaselineVersion = 2

// Baseline is a recorded set of accepted findings. It is written by
// `kubeharden baseline` and read by `kubeharden lint --baseline`, which
// then reports only findings that are not in it.
type Baseline struct {
	Version  int             `json:"version"`
	Findings []BaselineEntry `json:"findings"`
}

// BaselineEntry is one recorded finding. Only Fingerprint is compared; the
// other fields make the file reviewable.
type BaselineEntry struct {
	Fingerprint string   `json:"fingerprint"`
	Rule        string   `json:"rule"`
	Target      string   `json:"target"`
	Resource    Resource `json:"resource"`
	Field       string   `json:"field"`
	// Key is the finding's Key, if any (version 2).
	Key string `json:"key,omitempty"`
}

// NewBaseline records findings, in a stable order.
func NewBaseline(fs []Finding) *Baseline {
	b := &Baseline{Version: BaselineVersion, Findings: []BaselineEntry{}}
	for _, f := range fs {
		b.Findings = append(b.Findings, BaselineEntry{
			Fingerprint: Fingerprint(f), Rule: f.Rule.ID, Target: f.Object.Target,
			Resource: f.Object.Resource, Field: f.Field.String(), Key: f.Key,
		})
	}
	slices.SortFunc(b.Findings, func(x, y BaselineEntry) int {
		return cmp.Or(cmp.Compare(x.Target, y.Target), cmp.Compare(x.Rule, y.Rule),
			cmp.Compare(x.Resource.String(), y.Resource.String()), cmp.Compare(x.Field, y.Field),
			cmp.Compare(x.Key, y.Key), cmp.Compare(x.Fingerprint, y.Fingerprint))
	})
	return b
}

// Marshal encodes the baseline as indented JSON with a final newline.
func (b *Baseline) Marshal() ([]byte, error) {
	out, err := json.MarshalIndent(b, "", "  ")
	return append(out, '\n'), err
}

// ParseBaseline decodes a baseline file strictly.
func ParseBaseline(data []byte) (*Baseline, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b Baseline
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("not a kubeharden baseline: %w", err)
	}
	if b.Version < 1 || b.Version > BaselineVersion {
		return nil, fmt.Errorf("baseline version %d is not one this kubeharden reads (1 to %d): regenerate it with `kubeharden baseline`", b.Version, BaselineVersion)
	}
	return &b, nil
}

// Filter returns the findings that are not in the baseline, and the
// baseline entries that no longer occur. Entries are counted: a baseline
// with two entries of one fingerprint absorbs two such findings. A
// version 1 baseline is matched by the fingerprint without Key, which is
// what version 1 recorded.
func (b *Baseline) Filter(fs []Finding) (fresh []Finding, stale []BaselineEntry) {
	withKey := b.Version > 1
	left := map[string]int{}
	for _, e := range b.Findings {
		left[e.Fingerprint]++
	}
	for _, f := range fs {
		fp := fingerprint(f, withKey)
		if left[fp] > 0 {
			left[fp]--
			continue
		}
		fresh = append(fresh, f)
	}
	for _, e := range b.Findings {
		if left[e.Fingerprint] > 0 {
			left[e.Fingerprint]--
			stale = append(stale, e)
		}
	}
	return fresh, stale
}
