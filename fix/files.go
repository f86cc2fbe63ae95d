package fix

import (
	"fmt"
	"slices"

	yaml "go.yaml.in/yaml/v3"
)

// DocPatches are patches for one existing document of a file, each
// owned by a fix: Owners[i] is the fix that wants Patches[i]. Node is the
// document's root node as a parse of the file's content yields it.
type DocPatches struct {
	File    string
	Node    *yaml.Node
	Patches []Patch
	Owners  []int
}

// OwnedEdit is a byte edit on a file that is not lowered from patches (a
// Helm template line), owned by one fix. Several owners of one edit each
// have an OwnedEdit with the same Edit.
type OwnedEdit struct {
	File  string
	Edit  Edit
	Owner int
}

// Lowered is the outcome of LowerFiles.
type Lowered struct {
	// Orig and Files hold each edited file's content before and after.
	Orig, Files map[string][]byte
	// Touched lists, by owner, the files its edits change.
	Touched map[int][]string
	// Failed says, by owner, why its fix cannot be lowered or applied;
	// a failed owner's edits are in no file.
	Failed map[int]string
}

// LowerFiles lowers the patches of every document onto the content that
// read returns for its file (nil: it cannot be read), adds the owned
// edits (byte-identical owned edits of a file once), and applies each
// file's edits. It is the generic half of placing fixes: which document a
// patch belongs in is the caller's business.
//
// A document whose patches do not lower together is retried one owner at
// a time: owners that fail alone are marked failed, and of the rest each
// owner in order is kept when its patches lower together with those kept
// before it, else marked as conflicting. A file whose edits
// overlap fails every owner of an edit in it. Each file is parsed once for
// all its documents. The result depends only on the inputs and their order.
func LowerFiles(read func(file string) []byte, docs []DocPatches, raw []OwnedEdit) *Lowered {
	out := &Lowered{Orig: map[string][]byte{}, Files: map[string][]byte{}, Touched: map[int][]string{}, Failed: map[int]string{}}
	edits := map[string][]Edit{}
	owners := map[string][]int{}
	var order []string
	add := func(file string, es []Edit, by []int) {
		if _, ok := edits[file]; !ok {
			order = append(order, file)
		}
		edits[file] = append(edits[file], es...)
		owners[file] = append(owners[file], by...)
		for _, o := range by {
			out.Touched[o] = append(out.Touched[o], file)
		}
	}
	fail := func(by []int, reason string) {
		for _, o := range by {
			out.Failed[o] = reason
		}
	}
	parsed := map[string]*Source{}
	for _, d := range docs {
		src, seen := parsed[d.File]
		if !seen {
			var err error
			if b := read(d.File); b == nil {
				err = fmt.Errorf("cannot read the file")
			} else {
				src, err = ParseSource(b)
			}
			if err != nil {
				fail(d.Owners, fmt.Sprintf("%s: %v", d.File, err))
				continue
			}
			parsed[d.File] = src
		}
		if es, err := src.LowerAll(d.Node, d.Patches); err == nil {
			add(d.File, es, d.Owners)
			continue
		}
		// Mark the owners whose patches fail on their own; of the others,
		// keep each in order whose patches lower together with those kept
		// before it. An owner left out conflicts with a kept one; on the
		// state the kept ones leave, it may lower (the planner tries it
		// again in its next round).
		var kept []int
		var ps []Patch
		for _, o := range uniq(d.Owners) {
			if _, err := src.LowerAll(d.Node, d.of(o)); err != nil {
				out.Failed[o] = fmt.Sprintf("%s:%d: %v", d.File, d.Node.Line, err)
				continue
			}
			with := append(slices.Clone(ps), d.of(o)...)
			if _, err := src.LowerAll(d.Node, with); err != nil {
				out.Failed[o] = fmt.Sprintf("%s:%d: conflicts with another fix of the same object", d.File, d.Node.Line)
				continue
			}
			kept, ps = append(kept, o), with
		}
		if len(kept) > 0 {
			es, err := src.LowerAll(d.Node, ps)
			if err != nil {
				panic(fmt.Sprintf("fix: patches that lowered together no longer do: %v", err))
			}
			add(d.File, es, kept)
		}
	}
	// Byte-identical edits at one place are one edit with several owners
	// (the same template edit planned for each target that renders it):
	// applied once, not once per owner.
	seen := map[string]map[Edit]bool{}
	for _, r := range raw {
		if seen[r.File][r.Edit] {
			add(r.File, nil, []int{r.Owner})
			continue
		}
		if seen[r.File] == nil {
			seen[r.File] = map[Edit]bool{}
		}
		seen[r.File][r.Edit] = true
		add(r.File, []Edit{r.Edit}, []int{r.Owner})
	}
	for _, file := range order {
		src := read(file)
		b, err := Apply(src, edits[file])
		if err != nil {
			fail(owners[file], fmt.Sprintf("%s: edits of several fixes overlap; run kubeharden fix again", file))
			continue
		}
		out.Orig[file] = src
		out.Files[file] = b
	}
	for o, files := range out.Touched {
		out.Touched[o] = uniq(files)
	}
	return out
}

// of returns the patches of owner o.
func (d DocPatches) of(o int) []Patch {
	var out []Patch
	for i, w := range d.Owners {
		if w == o {
			out = append(out, d.Patches[i])
		}
	}
	return out
}

func uniq[T interface{ ~int | ~string }](xs []T) []T {
	out := slices.Clone(xs)
	slices.Sort(out)
	return slices.Compact(out)
}
