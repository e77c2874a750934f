package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress shows how far a simulation got on stderr: a bar redrawn in
// place on a terminal, a plain line every period otherwise (logs, CI).
type progress struct {
	w        io.Writer
	terminal bool
	period   time.Duration
	now      func() time.Time // wall clock: the ETA is about the operator's wait

	mu      sync.Mutex
	started time.Time
	last    time.Time
	runs    map[string]progressRun // trace × contender → position
	total   time.Duration          // of all runs announced so far
}

type progressRun struct{ done, total time.Duration }

func newProgress(w io.Writer, now func() time.Time) *progress {
	p := &progress{w: w, period: 10 * time.Second, now: now, runs: map[string]progressRun{}}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.terminal, p.period = true, 200*time.Millisecond
		}
	}
	p.started = now()
	return p
}

// advance is simulate.Options.Advance.
func (p *progress) advance(trace, contender string, done, total time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := trace + " × " + contender
	r, seen := p.runs[key]
	if !seen {
		p.total += total
	}
	r.done, r.total = done, total
	p.runs[key] = r
	now := p.now()
	if now.Sub(p.last) < p.period && done < total {
		return
	}
	p.last = now
	p.render(trace, now)
}

// render writes one state line; p.mu is held.
func (p *progress) render(trace string, now time.Time) {
	var done time.Duration
	for _, r := range p.runs {
		done += r.done
	}
	frac := 0.0
	if p.total > 0 {
		frac = float64(done) / float64(p.total)
	}
	// The contenders run side by side at very different speeds (the
	// baselines need no HTTP): the slowest one's pace sets the ETA.
	eta := "?"
	if el := now.Sub(p.started); frac > 0.01 {
		var left time.Duration
		for _, r := range p.runs {
			if r.done >= r.total {
				continue
			}
			if r.done <= 0 {
				left = -1
				break
			}
			left = max(left, time.Duration(float64(el)*float64(r.total-r.done)/float64(r.done)))
		}
		if left >= 0 {
			eta = left.Round(time.Second).String()
		}
	}
	virt := fmt.Sprintf("%s / %s virtual", fmtVirtual(done), fmtVirtual(p.total))
	if !p.terminal {
		fmt.Fprintf(p.w, "simulate: %s: %s (%.0f%%), ETA %s\n", trace, virt, frac*100, eta)
		return
	}
	const width = 30
	n := min(int(frac*width), width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %s %3.0f%% ETA %s\x1b[K", trace, strings.Repeat("=", n), strings.Repeat(" ", width-n), virt, frac*100, eta)
}

// finish ends the bar's line so later output starts on a fresh one.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal && len(p.runs) > 0 {
		fmt.Fprintln(p.w)
	}
}

// fmtVirtual prints virtual time in days and hours past a day.
func fmtVirtual(d time.Duration) string {
	if d >= 24*time.Hour {
		return fmt.Sprintf("%dd%02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
	return d.Round(time.Minute).String()
}

// Write passes the per-run result lines through, clearing the bar first
// so the two do not mix.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
	return p.w.Write(b)
}
