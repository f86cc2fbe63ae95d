package fix

import (
	"cmp"
	"fmt"
	"slices"
)

// Edit replaces the bytes [Offset, End) of one file with Text. Offset ==
// End inserts. Offsets are into the original bytes, never into the result
// of other edits, so independent edits can be merged and applied at once.
type Edit struct {
	Offset, End int
	Text        string
}

// Apply returns src with edits applied. Edits may come in any order; they
// are applied by position. Edits must not overlap, except that several
// inserts at one offset are applied in the order given (and an insert at
// the start or end of a replaced range touches it without overlapping).
// On error nothing is applied: the result is nil.
func Apply(src []byte, edits []Edit) ([]byte, error) {
	idx := make([]int, len(edits))
	for i, e := range edits {
		if e.Offset < 0 || e.End < e.Offset || e.End > len(src) {
			return nil, fmt.Errorf("edit %d [%d,%d) is outside the file (%d bytes)", i, e.Offset, e.End, len(src))
		}
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Or(cmp.Compare(edits[a].Offset, edits[b].Offset), cmp.Compare(edits[a].End, edits[b].End))
	})
	size := len(src)
	for k, i := range idx {
		if k > 0 {
			if p := edits[idx[k-1]]; p.End > edits[i].Offset {
				return nil, fmt.Errorf("edit %d [%d,%d) overlaps edit %d [%d,%d)", i, edits[i].Offset, edits[i].End, idx[k-1], p.Offset, p.End)
			}
		}
		size += len(edits[i].Text) - (edits[i].End - edits[i].Offset)
	}
	out := make([]byte, 0, size)
	at := 0
	for _, i := range idx {
		e := edits[i]
		out = append(out, src[at:e.Offset]...)
		out = append(out, e.Text...)
		at = e.End
	}
	return append(out, src[at:]...), nil
}
