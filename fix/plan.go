package fix

import (
	"fmt"
	"slices"

	yaml "go.yaml.in/yaml/v3"

	"github.com/kubeharden/kubeharden/internal/ypath"
)

// step is one unit of lowering: a patch, or (drop set) the deletion of
// several fields or elements of the collection at Path.
type step struct {
	Patch
	drop []string
}

func (s step) String() string {
	if s.drop == nil {
		return s.Patch.String()
	}
	return fmt.Sprintf("delete %v from %s", s.drop, where(s.Path))
}

// plan validates patches, drops duplicates, rejects patches whose paths
// nest, merges patches that would each create the same missing parent
// into one Set of that parent, and gathers deletions from one collection,
// so that the edits of different patches never collide.
func (l *lowerer) plan(patches []Patch) ([]step, error) {
	var ps []Patch
	seen := map[string]bool{}
	for _, p := range patches {
		if err := p.validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if k := p.String(); !seen[k] {
			seen[k] = true
			ps = append(ps, p)
		}
	}
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			same := slices.Equal(a.Path, b.Path)
			if same && a.Op == OpEnsureItem && b.Op == OpEnsureItem {
				continue
			}
			if same || a.Path.HasPrefix(b.Path) || b.Path.HasPrefix(a.Path) {
				return nil, fmt.Errorf("patches %q and %q conflict", a, b)
			}
		}
	}
	type group struct {
		key     ypath.Path
		members []int
		empties bool // a delete group that leaves the collection at key empty
	}
	var groups []*group
	byKey := map[string]*group{}
	// Deletions that empty a collection which other patches then write
	// into: the collection ends up holding just what those write, so they
	// become one Set of it (else "{}" and the new entries would collide).
	consumed := map[int]bool{}
	emptied := l.emptied(ps)
	for _, key := range emptied {
		g := &group{key: key, empties: true}
		for i, p := range ps {
			in := len(p.Path) > len(key) && p.Path.HasPrefix(key) && p.Op != OpDelete ||
				p.Op == OpEnsureItem && slices.Equal(p.Path, key)
			if in || p.Op == OpDelete && slices.Equal(p.Path[:len(p.Path)-1], key) {
				g.members = append(g.members, i)
			}
		}
		writes := slices.ContainsFunc(g.members, func(i int) bool { return ps[i].Op != OpDelete })
		if !writes {
			continue
		}
		for _, i := range g.members {
			consumed[i] = true
		}
		groups = append(groups, g)
	}
	for i, p := range ps {
		if consumed[i] {
			continue
		}
		key := l.creates(p)
		if p.Op == OpDelete {
			key = p.Path[:len(p.Path)-1]
			if g := byKey["delete "+key.String()]; g != nil {
				g.members = append(g.members, i)
				continue
			}
			g := &group{key: key, members: []int{i}}
			byKey["delete "+key.String()] = g
			groups = append(groups, g)
			continue
		}
		if key == nil {
			groups = append(groups, &group{members: []int{i}})
			continue
		}
		g := byKey[key.String()]
		if g == nil {
			g = &group{key: key}
			byKey[key.String()] = g
			groups = append(groups, g)
		}
		g.members = append(g.members, i)
	}
	out := make([]step, 0, len(groups))
	for _, g := range groups {
		switch {
		case g.empties:
			var writes []int
			for _, i := range g.members {
				if ps[i].Op != OpDelete {
					writes = append(writes, i)
				}
			}
			m, err := merge(g.key, ps, writes)
			if err != nil {
				return nil, err
			}
			out = append(out, step{Patch: m})
		case len(g.members) == 1:
			out = append(out, step{Patch: ps[g.members[0]]})
		case ps[g.members[0]].Op == OpDelete:
			s := step{Patch: Patch{Op: OpDelete, Path: g.key}}
			for _, i := range g.members {
				s.drop = append(s.drop, ps[i].Path[len(ps[i].Path)-1])
			}
			out = append(out, s)
		default:
			m, err := merge(g.key, ps, g.members)
			if err != nil {
				return nil, err
			}
			out = append(out, step{Patch: m})
		}
	}
	return out, nil
}

// emptied returns the paths of the collections that the Delete patches
// in ps leave empty, in patch order.
func (l *lowerer) emptied(ps []Patch) []ypath.Path {
	var out []ypath.Path
	seen := map[string]bool{}
	for _, p := range ps {
		if p.Op != OpDelete {
			continue
		}
		parent := p.Path[:len(p.Path)-1]
		if seen[parent.String()] {
			continue
		}
		seen[parent.String()] = true
		w, err := l.resolve(parent)
		if err != nil || !w.found(parent) {
			continue
		}
		n := w.last().node
		if n.Kind != yaml.MappingNode && n.Kind != yaml.SequenceNode || len(n.Content) == 0 || hasMerge(n) {
			continue
		}
		gone := map[int]bool{}
		for _, q := range ps {
			if q.Op != OpDelete || !slices.Equal(q.Path[:len(q.Path)-1], parent) {
				continue
			}
			last := q.Path[len(q.Path)-1]
			if n.Kind == yaml.MappingNode && !ypath.IsSelector(last) {
				if j := keyIndex(n, last); j >= 0 {
					gone[j] = true
				}
			} else if n.Kind == yaml.SequenceNode && ypath.IsSelector(last) {
				for _, j := range selectAll(n, last) {
					gone[j] = true
				}
			}
		}
		size := len(n.Content)
		if n.Kind == yaml.MappingNode {
			size /= 2
		}
		if len(gone) == size {
			out = append(out, parent)
		}
	}
	return out
}

// creates returns the path of the node that patch p writes new text at
// when that node may be shared with other patches (a missing field, or
// an empty or null parent that turns into a block), or nil.
func (l *lowerer) creates(p Patch) ypath.Path {
	if p.Op == OpDelete {
		return nil
	}
	w, err := l.resolve(p.Path)
	if err != nil || w.noElem {
		return nil
	}
	d := len(w.hops) - 1
	n := w.last().node
	if w.found(p.Path) {
		if p.Op == OpEnsureItem && (isNull(n) || n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
			return p.Path
		}
		return nil
	}
	for _, s := range p.Path[d:] {
		if ypath.IsSelector(s) {
			return nil
		}
	}
	if d > 0 && (isNull(n) || n.Kind == yaml.MappingNode && len(n.Content) == 0) {
		return p.Path[:d]
	}
	return p.Path[:d+1]
}

// merge combines the patches members, which all create key, into one Set
// of key whose value holds theirs in order.
func merge(key ypath.Path, ps []Patch, members []int) (Patch, error) {
	conflict := func(p Patch) error {
		return fmt.Errorf("patch %q conflicts with another patch of %s", p, key)
	}
	if len(ps[members[0]].Path) == len(key) {
		items := sequence()
		for _, i := range members {
			items.Content = append(items.Content, cloneNode(ps[i].Value))
		}
		return Patch{Op: OpSet, Path: key, Value: items}, nil
	}
	root := mapping()
	for _, i := range members {
		p := ps[i]
		rest := p.Path[len(key):]
		for j, seg := range rest {
			if ypath.IsSelector(seg) {
				return Patch{}, fmt.Errorf("%s: no list element %s in %s; fixes never create list elements", p, seg, where(p.Path[:len(key)+j]))
			}
		}
		n := root
		for _, seg := range rest[:len(rest)-1] {
			j := keyIndex(n, seg)
			if j < 0 {
				n.Content = append(n.Content, scalar("!!str", seg), mapping())
				j = len(n.Content) - 2
			}
			if n = n.Content[j+1]; n.Kind != yaml.MappingNode {
				return Patch{}, conflict(p)
			}
		}
		leaf := rest[len(rest)-1]
		j := keyIndex(n, leaf)
		switch {
		case p.Op == OpSet && j < 0:
			n.Content = append(n.Content, scalar("!!str", leaf), cloneNode(p.Value))
		case p.Op == OpEnsureItem && j < 0:
			n.Content = append(n.Content, scalar("!!str", leaf), sequence(cloneNode(p.Value)))
		case p.Op == OpEnsureItem && n.Content[j+1].Kind == yaml.SequenceNode:
			n.Content[j+1].Content = append(n.Content[j+1].Content, cloneNode(p.Value))
		default:
			return Patch{}, conflict(p)
		}
	}
	return Patch{Op: OpSet, Path: key, Value: root}, nil
}
