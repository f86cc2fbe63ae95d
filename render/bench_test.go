package render

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/kubeharden/kubeharden/internal/ypath"
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

// BenchmarkValuesLine compares rendering chartRepo's charts alone with
// rendering them and tracing their values (TraceValues), as a lint run
// does for the charts with findings on template lines. "trace-workloads"
// traces the templates of the Deployments (where the workload rules'
// findings are: 4 of the 10 objects, 2 of the 5 templates); "trace-all"
// traces every template. Each iteration uses a new Renderer.
func BenchmarkValuesLine(b *testing.B) {
	const n = 50
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
	workloads := func(o *Object) bool { return scalar(o.Node, "kind") == "Deployment" }
	for _, mode := range []string{"render", "trace-workloads", "trace-all"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			charts, placed := 0, 0
			for b.Loop() {
				r := NewRenderer(fsys, Options{})
				got := renderTargets(b, r, targets)
				if mode != "render" {
					need := workloads
					if mode == "trace-all" {
						need = nil
					}
					placed += traceAll(b, r, targets, got, need)
				}
				charts += n
			}
			b.ReportMetric(float64(charts)/b.Elapsed().Seconds(), "charts/s")
			if mode != "render" {
				b.ReportMetric(float64(placed)/float64(charts), "placed/chart")
			}
		})
	}
}

// traceAll traces every target on GOMAXPROCS workers and returns how
// many imagePullPolicy fields the traces put on a values line.
var replicasPath = ypath.Path{"spec", "template", "spec", "containers", "[name=app]", "imagePullPolicy"}

func traceAll(b *testing.B, r *Renderer, targets []*Target, objs [][]*Object, need func(*Object) bool) int {
	var mu sync.Mutex
	placed := 0
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				vt, err := r.TraceValues(context.Background(), targets[i], objs[i], need)
				if err != nil {
					b.Error(err)
					continue
				}
				for _, o := range objs[i] {
					if _, ok := vt.Locate(o, replicasPath, o.Source.Locate(replicasPath)); ok {
						mu.Lock()
						placed++
						mu.Unlock()
					}
				}
			}
		})
	}
	for i := range targets {
		next <- i
	}
	close(next)
	wg.Wait()
	return placed
}
