package driver

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kubeharden/kubeharden/fix"
	"github.com/kubeharden/kubeharden/internal/loc"
	"github.com/kubeharden/kubeharden/lint"
	"github.com/kubeharden/kubeharden/render"
)

// The fix planner. A lint run yields findings whose FixInfo says what must
// become true of the rendered object. The planner finds the document each
// patch belongs in (DESIGN.md, "Fix strategy"), lowers the patches to byte
// edits with package fix, applies them in memory, and verifies the result
// by rendering and linting the whole repository again: the fixed findings
// are gone, no finding or render error is new, and the rendered objects
// differ only in the patched fields. Fixes that fail are dropped with the
// reason and the rest verified again. Fixes that depend on the others
// (FixInfo.Deferred) are planned in a later round, on the fixed state; a
// run ends when a round has nothing left to apply. Nothing is written
// until every round is done; see writeFixes.

// maxFixRounds bounds the rounds of one run. Each round renders and
// lints what its edits affect; normal repositories need two (fixes, then
// deferred fixes), and a fix skipped in one round is tried again in the
// next when other fixes changed the state meanwhile, so that one run
// reaches the fixpoint a second run would (a second run writes nothing).
const maxFixRounds = 6

// FixOptions select what a fix run fixes.
type FixOptions struct {
	// Rules limits the fixes to these rule IDs; empty means all.
	Rules []string
	// MaxRisk limits the fixes to those no riskier than this class
	// (lint.FixSafe: only fixes that cannot stop a working workload);
	// empty means every class.
	MaxRisk lint.FixRisk
}

// AppliedFix is a finding whose fix verified.
type AppliedFix struct {
	Finding lint.Finding
	Files   []string // root-relative, sorted
}

// SkippedFix is a finding with an automatic fix that was not applied, and
// why.
type SkippedFix struct {
	Finding lint.Finding
	Reason  string
}

// FixResult is the outcome of a fix run: the new content of every file it
// changes or creates, and what it did and did not fix. Nothing is written
// until WriteFiles.
type FixResult struct {
	// Orig holds each changed file's content as read (nil: the file is
	// new); Files its content after the fixes. Both are keyed by
	// root-relative path.
	Orig    map[string][]byte
	Files   map[string][]byte
	Applied []AppliedFix
	Skipped []SkippedFix
	// Final is the lint of the fixed state.
	Final *Snapshot
	// reads logs every file the run read from disk, which WriteFiles
	// checks again before writing anything; nil writes without the check.
	reads *render.ReadLog
}

// ChangedError is a fix run aborted because a repository file changed on
// disk while the run was reading it (or before its fixes were written):
// its fixes were planned and verified against content that is no longer
// there, so nothing is written.
type ChangedError struct {
	// File is a root-relative path that changed, was removed or appeared.
	File string
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s changed on disk while kubeharden fix was running; nothing was written; run kubeharden fix again", loc.Escape(e.File))
}

// fixer is one fix run over a repository.
type fixer struct {
	r      *Repo // the whole repository, as on disk
	opts   FixOptions
	wanted map[string]bool // IDs of the targets the user's paths select; nil for all

	orig  map[string][]byte
	files map[string][]byte
	disk  map[string][]byte // files read from disk, read once per run
	// tried holds, by finding fingerprint, the round a fix was last
	// planned in; changedAt is the first round that started from a state
	// other fixes had changed. A fix is planned again only when the state
	// changed after its last try.
	tried     map[string]int
	round     int
	changedAt int
	// skipped holds the reason each fix not applied was last skipped for,
	// by fingerprint and message (findings may share a fingerprint), and
	// skipOrder their first-skip order.
	skipped   map[string]SkippedFix
	skipOrder []string

	res FixResult
}

// Fix plans and verifies fixes for the targets the repository's paths
// affect; it writes nothing (see WriteFiles).
func (r *Repo) Fix(ctx context.Context, opts FixOptions) (*FixResult, error) {
	all := *r
	all.paths = []string{"."}
	reads := &render.ReadLog{}
	all.fs = r.fs.WithReadLog(reads)
	all.renderer = r.renderer.WithFS(all.fs)
	f := &fixer{r: &all, opts: opts, orig: map[string][]byte{}, files: map[string][]byte{}, tried: map[string]int{}, skipped: map[string]SkippedFix{}}
	if !slices.Contains(r.paths, ".") {
		ts, _, err := r.targets(ctx)
		if err != nil {
			return nil, err
		}
		f.wanted = map[string]bool{}
		for _, t := range ts {
			f.wanted[t.ID()] = true
		}
	}
	snap, err := f.r.Lint(ctx)
	if err != nil {
		return nil, err
	}
	if file := reads.Changed(); file != "" {
		return nil, &ChangedError{File: file}
	}
	for f.round = 1; f.round <= maxFixRounds; f.round++ {
		next, progress, err := f.fixRound(ctx, snap)
		if file := reads.Changed(); file != "" {
			// Whatever the round concluded, it saw two versions of a file.
			return nil, &ChangedError{File: file}
		}
		if err != nil {
			return nil, err
		}
		snap = next
		if !progress {
			break
		}
		f.changedAt = f.round + 1
	}
	for _, fp := range f.skipOrder {
		if s, ok := f.skipped[fp]; ok {
			f.res.Skipped = append(f.res.Skipped, s)
		}
	}
	f.res.Orig, f.res.Files, f.res.Final, f.res.reads = f.orig, f.files, snap, reads
	return &f.res, nil
}

// fixRound plans the fixes the snapshot offers, verifies them and keeps
// those that pass. It returns the snapshot of the resulting state and
// whether anything was applied.
func (f *fixer) fixRound(ctx context.Context, snap *Snapshot) (*Snapshot, bool, error) {
	cands := f.candidates(snap)
	for len(cands) > 0 {
		p := f.plan(ctx, snap, cands)
		if len(p.failed) > 0 {
			// Plan again without the candidates that cannot be lowered:
			// their edits may be part of the files.
			var rest []lint.Finding
			for i, c := range cands {
				if reason, bad := p.failed[i]; bad {
					f.skip(c, reason)
				} else {
					rest = append(rest, c)
				}
			}
			cands = rest
			continue
		}
		files := maps.Clone(f.files)
		maps.Copy(files, p.files)
		vr := f.r.withFiles(files)
		vr.reuse, vr.changed = snap, slices.Collect(maps.Keys(p.files))
		after, err := vr.Lint(ctx)
		if err != nil {
			return nil, false, err
		}
		blamed := f.verify(snap, after, p, cands)
		if len(blamed) == 0 {
			for file := range p.files {
				if _, ok := f.orig[file]; !ok {
					f.orig[file] = p.orig[file]
				}
			}
			f.files = files
			for i, c := range cands {
				f.res.Applied = append(f.res.Applied, AppliedFix{Finding: c, Files: p.touched(i)})
				f.unskip(c)
			}
			return after, true, nil
		}
		var rest []lint.Finding
		for i, c := range cands {
			if reason, ok := blamed[i]; ok {
				f.skip(c, reason)
			} else {
				rest = append(rest, c)
			}
		}
		cands = rest
	}
	return snap, false, nil
}

// unskip forgets the skips of the applied fix c's finding, whatever its
// message said when it was skipped.
func (f *fixer) unskip(c lint.Finding) {
	fp := lint.Fingerprint(c) + "\x00"
	for k := range f.skipped {
		if strings.HasPrefix(k, fp) {
			delete(f.skipped, k)
		}
	}
}

func (f *fixer) skip(c lint.Finding, reason string) {
	fp := lint.Fingerprint(c) + "\x00" + c.Message
	if _, seen := f.skipped[fp]; !seen && !slices.Contains(f.skipOrder, fp) {
		f.skipOrder = append(f.skipOrder, fp)
	}
	f.skipped[fp] = SkippedFix{Finding: c, Reason: reason}
}

// candidates returns the findings of snap that have a fix this run
// should try: of the selected rules and targets, not tried on this state.
// Deferred fixes come only when no other fix is left.
func (f *fixer) candidates(snap *Snapshot) []lint.Finding {
	var now, later []lint.Finding
	for _, fd := range snap.Findings {
		if !HasFix(fd) || len(f.opts.Rules) > 0 && !slices.Contains(f.opts.Rules, fd.Rule.ID) || !fd.Fix.Risk.AtMost(f.opts.MaxRisk) {
			continue
		}
		if f.wanted != nil && !f.wanted[snap.targetID(fd.Object)] {
			continue
		}
		fp := lint.Fingerprint(fd)
		if at, ok := f.tried[fp]; ok && at >= f.changedAt {
			continue // tried on this state already
		}
		if fd.Fix.Deferred {
			later = append(later, fd)
		} else {
			now = append(now, fd)
		}
	}
	if len(now) == 0 {
		now = later
	}
	for _, fd := range now {
		f.tried[lint.Fingerprint(fd)] = f.round
	}
	return now
}

// HasFix reports whether a finding has an automatic fix: patches or new
// objects that kubeharden fix can place.
func HasFix(fd lint.Finding) bool {
	return fd.Fix != nil && (len(fd.Fix.Patches) > 0 || len(fd.Fix.New) > 0)
}

// read returns the current content of a root-relative file: as edited by
// earlier rounds, else as on disk; nil when it does not exist.
func (f *fixer) read(file string) []byte {
	if b, ok := f.files[file]; ok {
		return b
	}
	if b, ok := f.disk[file]; ok {
		return b
	}
	b, err := f.r.fs.ReadFile(file)
	if err != nil {
		b = nil
	}
	if f.disk == nil {
		f.disk = map[string][]byte{}
	}
	f.disk[file] = b
	return b
}

// SingleFixes plans, for each finding of snap that has a fix, that fix
// alone, and returns the file changes by finding fingerprint: what a
// reviewer would be shown as a suggestion. A fix that needs several files
// or cannot be lowered gets none. The fixes are not verified one by one
// (kubeharden fix verifies them together).
func (r *Repo) SingleFixes(ctx context.Context, snap *Snapshot) map[string][]fix.FileChange {
	f := &fixer{r: r, orig: map[string][]byte{}, files: map[string][]byte{}, tried: map[string]int{}, skipped: map[string]SkippedFix{}}
	out := map[string][]fix.FileChange{}
	for _, fd := range snap.Findings {
		if !HasFix(fd) {
			continue
		}
		p := f.plan(ctx, snap, []lint.Finding{fd})
		if len(p.failed) > 0 || len(p.files) == 0 {
			continue
		}
		var changes []fix.FileChange
		for _, file := range slices.Sorted(maps.Keys(p.files)) {
			changes = append(changes, fix.FileChange{Path: file, Old: p.orig[file], New: p.files[file]})
		}
		out[lint.Fingerprint(fd)] = changes
	}
	return out
}
