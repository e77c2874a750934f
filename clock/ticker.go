package clock

import "time"

// Ticker is a Clock that also delivers periodic ticks in its own time.
// Real and Virtual implement it.
type Ticker interface {
	Clock
	// NewTicker returns a channel that receives the clock's time every d,
	// dropping ticks for a slow receiver as time.Ticker does, and a stop
	// function.
	NewTicker(d time.Duration) (<-chan time.Time, func())
}

// NewTicker ticks every d in c's time: c's own ticker when it has one, else
// the wall clock's.
func NewTicker(c Clock, d time.Duration) (<-chan time.Time, func()) {
	if t, ok := c.(Ticker); ok {
		return t.NewTicker(d)
	}
	return Real{}.NewTicker(d)
}

// NewTicker wraps time.NewTicker.
func (Real) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// virtualTicker fires when Advance or Set moves the clock past next.
type virtualTicker struct {
	c    chan time.Time
	d    time.Duration
	next time.Time
}

// NewTicker returns a ticker that fires when the virtual clock is moved past
// each multiple of d from now. A jump over several periods gives one tick
// (the receiver was too slow for the others, as with time.Ticker).
func (v *Virtual) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	if d <= 0 {
		panic("clock: non-positive ticker period")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	t := &virtualTicker{c: make(chan time.Time, 1), d: d, next: v.t.Add(d)}
	v.tickers = append(v.tickers, t)
	return t.c, func() { v.stop(t) }
}

func (v *Virtual) stop(t *virtualTicker) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, x := range v.tickers {
		if x == t {
			v.tickers = append(v.tickers[:i], v.tickers[i+1:]...)
			return
		}
	}
}

// fireLocked delivers the ticks that are due; the caller holds v.mu.
func (v *Virtual) fireLocked() {
	for _, t := range v.tickers {
		if v.t.Before(t.next) {
			continue
		}
		for !v.t.Before(t.next) {
			t.next = t.next.Add(t.d)
		}
		select {
		case t.c <- v.t:
		default:
		}
	}
}
