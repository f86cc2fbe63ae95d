package render

import (
	"crypto/sha256"
	"path"
	"slices"
	"strconv"
	"sync"

	"github.com/kubeharden/kubeharden/render/internal/helm"
)

// Instrumenting a chart (guard.go, determinism.go, builders.go) parses
// every template twice; a traced render (values_trace.go) and the
// prober's renders instrument the very templates the real render did.
// instrCache keeps the outcome of instrumentChart by what it depends on,
// so that a later render of the same templates skips the work: the
// template texts in walk order with their engine names and files, and
// the target (the seeds of the deterministic stand-ins). The site lists
// are copied for every render, which updates their counters.

// maxInstrCache bounds the bytes of instrumented text a Renderer keeps.
const maxInstrCache = 64 << 20

// instrumented is the outcome of instrumentChart over one chart.
type instrumented struct {
	data  [][]byte // each template's text, in walk order
	sites []guardSite
	calls []callSite
	det   []detSite
	size  int64
}

type instrCache struct {
	mu   sync.Mutex
	m    map[[sha256.Size]byte]*instrumented
	size int64
}

// chartTemplates lists the templates of c and its subcharts in the
// order instrumentChart visits them.
func chartTemplates(c *helm.Chart, out []helm.Template) []helm.Template {
	out = append(out, c.Templates()...)
	for _, d := range c.Dependencies() {
		out = chartTemplates(d, out)
	}
	return out
}

// instrumentCached is instrumentChart, reusing the outcome of an earlier
// render of the same templates by r. g must be fresh (no sites yet).
func (r *Renderer) instrumentCached(c *helm.Chart, g *helmGuard, tmpls map[string]*tmplFile) error {
	all := chartTemplates(c, nil)
	// The key: every input of instrument and rewriteCalls.
	h := sha256.New()
	field := func(b []byte) {
		h.Write(strconv.AppendInt(nil, int64(len(b)), 10))
		h.Write([]byte{0})
		h.Write(b)
	}
	str := func(s string) { field([]byte(s)) }
	str(g.det.target)
	str(strconv.FormatInt(g.limit, 10))
	names := walkNames(c, nil)
	for i, f := range all {
		name := names[i]
		file, line := name, true
		if tf := tmpls[name]; tf != nil {
			file, line = tf.file, !tf.archive
		}
		str(name)
		str(file)
		str(strconv.FormatBool(line))
		field(f.Data())
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	ic := &r.instr
	ic.mu.Lock()
	hit := ic.m[key]
	ic.mu.Unlock()
	if hit != nil && len(hit.data) == len(all) {
		for i, f := range all {
			f.SetData(hit.data[i])
		}
		g.sites = slices.Clone(hit.sites)
		g.calls = slices.Clone(hit.calls)
		g.det.sites = slices.Clone(hit.det)
		return nil
	}
	if err := instrumentChart(c, g, tmpls); err != nil {
		return err
	}
	in := &instrumented{data: make([][]byte, len(all)),
		sites: slices.Clone(g.sites), calls: slices.Clone(g.calls), det: slices.Clone(g.det.sites)}
	for i, f := range all {
		in.data[i] = f.Data()
		in.size += int64(len(f.Data()))
	}
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.m == nil {
		ic.m = map[[sha256.Size]byte]*instrumented{}
	}
	if ic.m[key] == nil && ic.size+in.size <= maxInstrCache {
		ic.m[key] = in
		ic.size += in.size
	}
	return nil
}

// walkNames appends the engine names of the templates of c and its
// subcharts, in chartTemplates order.
func walkNames(c *helm.Chart, out []string) []string {
	for _, f := range c.Templates() {
		out = append(out, path.Join(c.FullPath(), f.Name()))
	}
	for _, d := range c.Dependencies() {
		out = walkNames(d, out)
	}
	return out
}
