package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressDelay is how long a rendering pass runs before its progress
// line appears: quick runs print nothing at all.
const progressDelay = time.Second

// progressTick is how often the line is redrawn while no target
// finishes, so that a slow first target still shows the line on time.
const progressTick = 100 * time.Millisecond

// progress draws a single line "rendering 12/40 targets" on a terminal,
// rewritten in place with a carriage return and blanked out when the
// pass ends, so that nothing of it is left between the lines of a
// report. A pass is one call of repo.renderAll: it starts with update(0,
// total) and ends with update(total, total); the line appears only once a
// pass has run for longer than delay. All methods are safe for concurrent
// use.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	now   func() time.Time
	delay time.Duration
	// from is when the current pass may start drawing.
	from        time.Time
	done, total int
	// active is true between the start and the end of a pass.
	active bool
	// shown is what is on the terminal now; "" when nothing.
	shown string
}

func newProgress(w io.Writer, now func() time.Time, delay time.Duration) *progress {
	return &progress{w: w, now: now, delay: delay}
}

// update records that done of total targets are rendered. It is the
// repo's progress callback.
func (p *progress) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if done >= total {
		p.active = false
		p.clear()
		return
	}
	if !p.active {
		p.active = true
		p.from = p.now().Add(p.delay)
	}
	p.done, p.total = done, total
	p.draw()
}

// tick redraws the line if a pass has become slow since the last update.
func (p *progress) tick() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active {
		p.draw()
	}
}

// stop blanks the line and draws nothing more.
func (p *progress) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active = false
	p.clear()
}

func (p *progress) draw() {
	if p.now().Before(p.from) {
		return
	}
	line := fmt.Sprintf("rendering %d/%d targets", p.done, p.total)
	if line == p.shown {
		return
	}
	// Pad over what a longer previous line left on the screen.
	pad := max(len(p.shown)-len(line), 0)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
	p.shown = line
}

func (p *progress) clear() {
	if p.shown == "" {
		return
	}
	fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", len(p.shown)))
	p.shown = ""
}

// progressSink is what reports rendering progress: a driver.Repo.
type progressSink interface{ SetProgress(func(done, total int)) }

// startProgress shows the rendering progress of r on stderr when stderr
// is a terminal and quiet is off; otherwise it does nothing. The returned
// function stops it and leaves the line blank; call it before anything
// else is written to stderr.
func startProgress(r progressSink, stderr io.Writer, quiet bool) (stop func()) {
	if quiet || !isTerminal(stderr) {
		return func() {}
	}
	p := newProgress(stderr, time.Now, progressDelay)
	r.SetProgress(p.update)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(progressTick)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				p.tick()
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
		r.SetProgress(nil)
		p.stop()
	}
}

// isTerminal reports whether w is a terminal (not a file, pipe or
// /dev/null).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
