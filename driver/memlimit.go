package driver

import (
	"math"
	"runtime/debug"

	"github.com/kubeharden/kubeharden/render"
)

// setMemoryLimit makes the run's memory budget (limits.maxMemory, 0 for
// the default) the Go runtime's soft memory limit, so that the collector
// works harder as the heap nears it. A lower limit already set (by
// GOMEMLIMIT or an earlier repository of the same process) is kept.
func setMemoryLimit(budget int64) {
	if budget <= 0 {
		budget = render.DefaultMaxMemory
	}
	if cur := debug.SetMemoryLimit(-1); cur == math.MaxInt64 || budget < cur {
		debug.SetMemoryLimit(budget)
	}
}
