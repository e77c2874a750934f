// Package clock is the single source of time for arangoscale.
//
// Everything that decides or schedules reads time through a Clock, never
// through time.Now, so the same code runs in real time (run, demo, emulate)
// and in virtual time (tests, simulate) where a caller advances the clock
// explicitly and nothing sleeps.
package clock

import (
	"sync"
	"time"
)

// Clock tells the current time.
type Clock interface {
	Now() time.Time
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// Virtual is a clock that only moves when told to. It is safe for
// concurrent use: emulators read it from HTTP handlers while a test or the
// simulator advances it.
type Virtual struct {
	mu      sync.RWMutex
	t       time.Time
	tickers []*virtualTicker
}

// NewVirtual returns a virtual clock standing at start.
func NewVirtual(start time.Time) *Virtual { return &Virtual{t: start} }

// Now returns the virtual time.
func (v *Virtual) Now() time.Time {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return v.t
}

// Advance moves the clock forward by d (a negative d is ignored: virtual
// time never runs backwards) and returns the new time.
func (v *Virtual) Advance(d time.Duration) time.Time {
	v.mu.Lock()
	defer v.mu.Unlock()
	if d > 0 {
		v.t = v.t.Add(d)
		v.fireLocked()
	}
	return v.t
}

// Set moves the clock to t if t is not before the current time.
func (v *Virtual) Set(t time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if t.After(v.t) {
		v.t = t
		v.fireLocked()
	}
}
