package render

import (
	"fmt"
	"testing"
)

// BenchmarkRenderCharts renders n generated charts (chartRepo: helpers
// through include, nested values, a range over workers; 10 objects each)
// on GOMAXPROCS workers with a new Renderer per iteration, so that every
// chart is read and loaded each time, as in one lint run.
func BenchmarkRenderCharts(b *testing.B) {
	for _, n := range []int{25, 50, 100} {
		b.Run(fmt.Sprintf("charts=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			writeTree(b, dir, chartRepo(n))
			fsys, err := NewFS(dir)
			if err != nil {
				b.Fatal(err)
			}
			var targets []*Target
			for i := range n {
				targets = append(targets, &Target{Kind: KindHelm, Path: fmt.Sprintf("charts/c%d", i)})
			}
			b.ReportAllocs()
			objs, charts := 0, 0
			for b.Loop() {
				r := NewRenderer(fsys, Options{})
				for _, got := range renderTargets(b, r, targets) {
					if len(got) != chartObjects {
						b.Fatalf("a chart rendered %d objects, want %d", len(got), chartObjects)
					}
					objs += len(got)
				}
				charts += n
			}
			b.ReportMetric(float64(charts)/b.Elapsed().Seconds(), "charts/s")
			b.ReportMetric(float64(objs)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}

// BenchmarkRenderKustomizeSharedBase renders 20 overlays over one base
// on GOMAXPROCS workers. "shared" uses one Renderer for all of them, as a
// lint run does, so the base is read and parsed once; "per-overlay" gives
// every overlay a Renderer of its own, which is what each overlay cost
// before the file cache.
func BenchmarkRenderKustomizeSharedBase(b *testing.B) {
	const overlays = 20
	dir := b.TempDir()
	writeTree(b, dir, sharedBaseRepo(overlays))
	fsys, err := NewFS(dir)
	if err != nil {
		b.Fatal(err)
	}
	var targets []*Target
	for i := range overlays {
		targets = append(targets, &Target{Kind: KindKustomize, Path: fmt.Sprintf("overlays/o%d", i)})
	}
	for _, mode := range []string{"shared", "per-overlay"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			objs := 0
			for b.Loop() {
				shared := NewRenderer(fsys, Options{})
				rendererFor := func() *Renderer {
					if mode == "shared" {
						return shared
					}
					return NewRenderer(fsys, Options{})
				}
				for _, o := range renderWith(b, targets, rendererFor) {
					objs += len(o)
				}
			}
			b.ReportMetric(float64(objs)/b.Elapsed().Seconds(), "objects/s")
		})
	}
}
