package statuspage

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
)

// Sample is one role's counts and load at one time.
type Sample struct {
	At                       time.Time
	Current, Target, Desired int
	// Load is the highest signal of the role as a fraction of its target
	// (1 = at target); negative when no signal was available.
	Load float64
}

// Decision is a decision that changed the role's desired count or its
// reasons, as the page lists it.
type Decision struct {
	At        time.Time
	Cluster   string
	Role      string
	From, To  int
	Direction string
	Reasons   []string
	Blocked   []string
	Result    string
}

// HistoryOptions bound a History; zero values take the defaults.
type HistoryOptions struct {
	Window     time.Duration // plotted span, default 6h
	Resolution time.Duration // one sample per this, default Window/360
	Decisions  int           // decisions kept, default 20
}

// History keeps, per cluster and role, samples of the last Window at one
// per Resolution, and the last decisions: at most Window/Resolution
// samples per role and Decisions decisions in all.
type History struct {
	o HistoryOptions

	mu        sync.Mutex
	roles     map[roleKey]*roleHistory
	decisions []Decision // newest last
}

type roleKey struct{ cluster, role string }

type roleHistory struct {
	samples   []Sample // oldest first, at most cap
	decidedAt time.Time
	last      string // fingerprint of the last decision recorded
}

// NewHistory returns an empty History.
func NewHistory(o HistoryOptions) *History {
	if o.Window <= 0 {
		o.Window = 6 * time.Hour
	}
	if o.Resolution <= 0 {
		o.Resolution = o.Window / 360
	}
	if o.Decisions <= 0 {
		o.Decisions = 20
	}
	return &History{o: o, roles: map[roleKey]*roleHistory{}}
}

func (h *History) maxSamples() int { return int(h.o.Window/h.o.Resolution) + 1 }

// Record adds what st shows. Roles that left the policy are forgotten.
func (h *History) Record(st controller.Status) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[roleKey]bool{}
	for _, cl := range st.Clusters {
		for _, rs := range cl.Roles {
			k := roleKey{cl.Name, rs.Role}
			seen[k] = true
			rh := h.roles[k]
			if rh == nil {
				rh = &roleHistory{}
				h.roles[k] = rh
			}
			if !rs.Observed {
				continue
			}
			h.addSample(rh, Sample{At: st.Time, Current: rs.Current, Target: rs.Target, Desired: rs.Desired, Load: load(rs)})
			h.addDecision(rh, cl.Name, rs)
		}
	}
	for k := range h.roles {
		if !seen[k] {
			delete(h.roles, k)
		}
	}
	h.decisions = slices.DeleteFunc(h.decisions, func(d Decision) bool { return !seen[roleKey{d.Cluster, d.Role}] })
}

func (h *History) addSample(rh *roleHistory, s Sample) {
	n := len(rh.samples)
	// The last sample is the live one: it is replaced until it lies a
	// resolution step after the one before it, so samples are spaced at
	// least that far apart and the plot still ends at the current state.
	if n >= 2 && rh.samples[n-1].At.Sub(rh.samples[n-2].At) < h.o.Resolution {
		rh.samples[n-1] = s
	} else {
		rh.samples = append(rh.samples, s)
	}
	cut := s.At.Add(-h.o.Window)
	i := 0
	for i < len(rh.samples)-1 && rh.samples[i].At.Before(cut) {
		i++
	}
	if over := len(rh.samples) - h.maxSamples(); over > i {
		i = over
	}
	if i > 0 {
		rh.samples = slices.Delete(rh.samples, 0, i)
	}
}

func (h *History) addDecision(rh *roleHistory, cluster string, rs controller.RoleStatus) {
	if rs.DecidedAt.IsZero() || !rs.DecidedAt.After(rh.decidedAt) {
		return
	}
	rh.decidedAt = rs.DecidedAt
	d := Decision{At: rs.DecidedAt, Cluster: cluster, Role: rs.Role, From: rs.Current, To: rs.Desired,
		Direction: rs.Direction, Reasons: slices.Clone(rs.Reasons), Blocked: slices.Clone(rs.Blocked)}
	if a := rs.LastAction; a != nil && a.At.Equal(rs.DecidedAt) {
		d.From, d.To, d.Result = a.From, a.To, a.Result
	}
	// A role that holds steady decides the same every interval: listed once.
	fp := fingerprint(d)
	if fp == rh.last && d.Result == "" {
		return
	}
	rh.last = fp
	h.decisions = append(h.decisions, d)
	if over := len(h.decisions) - h.o.Decisions; over > 0 {
		h.decisions = slices.Delete(h.decisions, 0, over)
	}
}

func fingerprint(d Decision) string {
	b := []byte(d.Direction)
	b = append(b, byte(d.To), byte(d.From))
	for _, r := range d.Reasons {
		b = append(append(b, ','), r...)
	}
	for _, r := range d.Blocked {
		b = append(append(b, ';'), r...)
	}
	return string(b)
}

// load is the highest available signal as a fraction of its target.
func load(rs controller.RoleStatus) float64 {
	best := -1.0
	for _, s := range rs.Signals {
		if s.Missing || s.Target <= 0 {
			continue
		}
		best = max(best, s.Value/s.Target)
	}
	return best
}

// Samples returns a copy of one role's samples, oldest first.
func (h *History) Samples(cluster, role string) []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rh := h.roles[roleKey{cluster, role}]; rh != nil {
		return slices.Clone(rh.samples)
	}
	return nil
}

// Decisions returns the recorded decisions, newest first.
func (h *History) Decisions() []Decision {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := slices.Clone(h.decisions)
	slices.Reverse(out)
	return out
}

// Window is the span the history covers.
func (h *History) Window() time.Duration { return h.o.Window }

// Run records status() every period of clk until ctx ends.
func (h *History) Run(ctx context.Context, clk clock.Clock, period time.Duration, status func() controller.Status) {
	tick, stop := clock.NewTicker(clk, period)
	defer stop()
	h.Record(status())
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			h.Record(status())
		}
	}
}
