package metrics

import (
	"fmt"
	"sync"
	"time"
)

// Reasons for a missing rate.
const (
	reasonFirstScrape  = "first scrape, no rate yet"
	reasonCounterReset = "counter reset (value went down), interval skipped"
	reasonNoInterval   = "no time passed since previous scrape"
)

// rates turns cumulative values into per-second rates across observations,
// keyed by instance and counter. A counter that goes down marks a process
// restart: that interval is reported missing (the new value becomes the
// base), because the amount counted before the restart is unknown and
// "from zero" would overstate or understate it depending on when the
// restart happened. Keys not observed for forgetAfter are dropped.
type rates struct {
	mu          sync.Mutex
	forgetAfter time.Duration
	prev        map[rateKey]ratePoint
}

type rateKey struct{ id, name string }

type ratePoint struct {
	v    float64
	at   time.Time // the time the value refers to
	seen time.Time // the clock time it was recorded (for forgetting)
}

func newRates(forgetAfter time.Duration) *rates {
	if forgetAfter <= 0 {
		forgetAfter = DefaultForgetAfter
	}
	return &rates{forgetAfter: forgetAfter, prev: map[rateKey]ratePoint{}}
}

// observe records v at time at for (id, name) and returns the rate since the
// previous observation, or ok=false and the reason.
func (r *rates) observe(id, name string, v float64, at, now time.Time) (rate float64, ok bool, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := rateKey{id, name}
	p, had := r.prev[k]
	if had && !at.After(p.at) {
		// A repeated or older reading keeps the base: the next fresh one
		// still gets a rate over the full interval.
		if at.Equal(p.at) && v == p.v {
			p.seen = now
			r.prev[k] = p
		}
		return 0, false, reasonNoInterval
	}
	r.prev[k] = ratePoint{v: v, at: at, seen: now}
	switch {
	case !had:
		return 0, false, reasonFirstScrape
	case v < p.v:
		return 0, false, reasonCounterReset
	}
	return (v - p.v) / at.Sub(p.at).Seconds(), true, ""
}

// forget drops keys not observed since now-forgetAfter.
func (r *rates) forget(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cut := now.Add(-r.forgetAfter)
	for k, p := range r.prev {
		if p.seen.Before(cut) {
			delete(r.prev, k)
		}
	}
}

func (r *rates) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.prev)
}

func itoa(i int) string { return fmt.Sprint(i) }
