package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// TestProgressLine drives the progress line through two passes with a
// fake clock: nothing within the first second of a pass, then one line
// rewritten in place, blanked at the end of the pass.
func TestProgressLine(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	var buf strings.Builder
	p := newProgress(&buf, clock.now, time.Second)
	expect := func(step, want string) {
		t.Helper()
		if got := buf.String(); got != want {
			t.Fatalf("%s: wrote %q, want %q", step, got, want)
		}
		buf.Reset()
	}

	p.update(0, 12)
	clock.advance(500 * time.Millisecond)
	p.update(1, 12)
	p.tick()
	expect("within the first second", "")

	clock.advance(600 * time.Millisecond)
	p.tick()
	expect("first tick after a second", "\rrendering 1/12 targets")
	p.tick()
	expect("tick without change", "")
	p.update(9, 12)
	p.update(10, 12)
	expect("updates", "\rrendering 9/12 targets\rrendering 10/12 targets")
	p.update(12, 12)
	expect("end of pass", "\r"+strings.Repeat(" ", len("rendering 10/12 targets"))+"\r")
	p.tick()
	expect("tick between passes", "")

	// The second pass waits its own second.
	p.update(0, 3)
	clock.advance(900 * time.Millisecond)
	p.tick()
	expect("second pass, early", "")
	clock.advance(200 * time.Millisecond)
	p.update(2, 3)
	expect("second pass, late", "\rrendering 2/3 targets")
	p.stop()
	expect("stop", "\r"+strings.Repeat(" ", len("rendering 2/3 targets"))+"\r")
	p.stop()
	expect("second stop", "")

	// A fast pass draws nothing at all.
	p.update(0, 2)
	p.update(1, 2)
	p.update(2, 2)
	expect("fast pass", "")
}

// TestProgressPadsShorterLine: a shorter line overwrites all of a longer
// one.
func TestProgressPadsShorterLine(t *testing.T) {
	clock := &fakeClock{}
	var buf strings.Builder
	p := newProgress(&buf, clock.now, 0)
	p.update(99, 100)
	p.update(1, 2) // a caller that restarts without ending the pass
	if got, want := buf.String(), "\rrendering 99/100 targets\rrendering 1/2 targets   "; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

// sink records the progress callback startProgress wires.
type sink struct{ progress func(done, total int) }

func (s *sink) SetProgress(f func(done, total int)) {
	if f != nil {
		s.progress = f
	}
}

// TestStartProgressNeedsTerminal: no progress for a buffer, a regular
// file, or with --quiet.
func TestStartProgressNeedsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]*os.File{"file": f, "stdin pipe or file": os.Stdin} {
		if isTerminal(w) {
			t.Logf("%s is a terminal here; skipping", name)
			continue
		}
		r := &sink{}
		stop := startProgress(r, w, false)
		if r.progress != nil {
			t.Errorf("%s: progress wired to a non-terminal", name)
		}
		stop()
	}
	r := &sink{}
	startProgress(r, new(strings.Builder), false)()
	if r.progress != nil {
		t.Error("progress wired to a buffer")
	}
	startProgress(r, os.Stderr, true)()
	if r.progress != nil {
		t.Error("progress wired with --quiet")
	}
	if f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		defer f.Close()
		if isTerminal(f) {
			t.Errorf("%s counts as a terminal", os.DevNull)
		}
	}
}
