package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"

	"github.com/kubeharden/kubeharden/lint"
)

// Target describes one rendered target and what it was rendered from, so
// that a report can be tied to exactly the inputs that were checked. The
// JSON format lists targets under "targets", the SARIF format under the
// run's properties, with every input file as a run artifact.
type Target struct {
	// ID names the target as errors do: its path, plus the GitOps
	// object that deploys it when there is one.
	ID string
	// Path is the chart, kustomization directory, or manifest file or
	// directory, relative to the repository root; findings carry it as
	// their target.
	Path string
	// Kind is how the target is rendered: one of TargetKinds.
	Kind string
	// Via is the Argo CD or Flux object that deploys the target, if any.
	Via *lint.Via
	// Digest is InputDigest over the target's input files and settings.
	Digest string
	// Files are the input files the digest covers, sorted by path.
	Files []InputFile
}

// InputFile is one file a target is rendered from.
type InputFile struct {
	// Path is relative to the repository root, with forward slashes.
	Path string
	// Size is the length of the content in bytes.
	Size int
	// SHA256 is the SHA-256 of the content alone, in lowercase hex.
	SHA256 string
}

// TargetKinds are the values Target.Kind may take. The returned slice is
// the caller's to modify.
func TargetKinds() []string { return []string{"helm", "kustomize", "manifests"} }

// SettingsInput is the name under which InputDigest takes the settings a
// target is rendered with that no file of its own holds (release name,
// namespace, values file order, inline values, set parameters). No file
// has an empty root-relative path, so it cannot collide with one.
const SettingsInput = ""

// InputDigest is the digest recorded for a target's inputs, keyed by
// root-relative path with forward slashes (SettingsInput for the
// settings). It is the SHA-256, in lowercase hex, of the concatenation,
// for each input in byte order of its path, of: the path, a NUL byte, the
// length of the content in decimal ASCII, a NUL byte, and the content.
// Lengths make the encoding unambiguous: two different sets of inputs
// never hash the same bytes.
func InputDigest(inputs map[string][]byte) string {
	h := sha256.New()
	for _, p := range slices.Sorted(maps.Keys(inputs)) {
		b := inputs[p]
		h.Write([]byte(p + "\x00" + strconv.Itoa(len(b)) + "\x00"))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

var sha256Pattern = regexp.MustCompile(`^[0-9a-f]{64}$`)

// checkTargets validates targets and returns them in output order: by ID,
// then path. The caller's slice is not modified.
func checkTargets(in []Target) ([]Target, error) {
	out := slices.Clone(in)
	for i, t := range out {
		switch {
		case t.ID == "" || t.Path == "":
			return nil, fmt.Errorf("target %d has no ID or path", i)
		case !slices.Contains(TargetKinds(), t.Kind):
			return nil, fmt.Errorf("target %s has unknown kind %q", t.ID, t.Kind)
		case !sha256Pattern.MatchString(t.Digest):
			return nil, fmt.Errorf("target %s has invalid input digest %q", t.ID, t.Digest)
		}
		for _, f := range t.Files {
			if f.Path == "" || !sha256Pattern.MatchString(f.SHA256) || f.Size < 0 {
				return nil, fmt.Errorf("target %s has invalid input file %+v", t.ID, f)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Target) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.Path, b.Path))
	})
	return out, nil
}
