package render

import "sync/atomic"

// memBudget is the run's memory budget (limits.maxMemory) as the
// renders in flight share it. Each Helm render charges it with what its
// guard counts (guard.go, builders.go) and gives it back when it ends;
// a render whose charge would pass it is stopped, with an error for its
// target alone. Renders hold at most half of max: what the guard counts
// is what templates make, and the Go heap needs about as much again
// before the collector frees it (the driver also sets the runtime's
// soft memory limit to max).
type memBudget struct {
	max  int64
	used atomic.Int64
}

func newMemBudget(max int64) *memBudget { return &memBudget{max: max} }

// share is what renders in flight may hold together.
func (m *memBudget) share() int64 { return m.max / 2 }

// left is what is left of the share.
func (m *memBudget) left() int64 { return m.share() - m.used.Load() }

// take charges n; false when that passes the share (n stays charged
// until put back).
func (m *memBudget) take(n int64) bool { return m.used.Add(n) <= m.share() }

// put gives back n.
func (m *memBudget) put(n int64) { m.used.Add(-n) }
