package render

import "path"

// Inputs returns the root-relative files and directories a target reads:
// its own path, the kustomizations, resources and patches it reaches, its
// values files, and the GitOps object that deploys it. A change to any of
// them (or to a file below one of the directories) may change what the
// target renders.
func (r *Renderer) Inputs(t *Target) []string {
	var in []string
	add := func(p string) {
		if p != "" {
			in = append(in, p)
		}
	}
	add(t.Path)
	if t.Via != nil {
		add(t.Via.File)
	}
	switch t.Kind {
	case KindHelm:
		if files, err := r.ChartFiles(t.Path); err == nil {
			in = append(in, files...)
		}
		if t.Helm != nil {
			in = append(in, t.Helm.ValueFiles...)
			for _, v := range t.Helm.Values {
				add(v.File)
			}
		}
	case KindKustomize:
		graph, _ := r.kustomizeGraph(t.Path)
		for _, k := range graph {
			add(k.dir)
			for _, res := range k.resources {
				if p, err := r.fs.Rel(path.Join(k.dir, res.value)); err == nil {
					add(p)
				}
			}
			for _, p := range k.patches {
				add(p.path)
			}
		}
	}
	return in
}

// Affects reports whether a change to the root-relative path p (a file or
// a directory) may change what a target with these inputs renders.
func Affects(inputs []string, p string) bool {
	for _, in := range inputs {
		if in == p || in == "." || p == "." || isUnder(in, p) || isUnder(p, in) {
			return true
		}
	}
	return false
}

// isUnder reports whether p lies inside directory dir.
func isUnder(p, dir string) bool {
	return len(p) > len(dir) && p[:len(dir)] == dir && p[len(dir)] == '/'
}
