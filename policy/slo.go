package policy

import "time"

// SLO is a role's service-level objective: instead of a fixed cpu target the
// engine learns a queueing model of one instance from what it observes and
// keeps the role at the highest utilisation that meets the objective, with
// headroom for the load's short-term rises (see capacity.go).
type SLO struct {
	// Exactly one objective is set.
	LatencyP95  time.Duration // the p95 the role's own request_latency_p95 may reach
	QueueLength float64       // the scheduler queue per instance the role may reach

	// MaxUtilization caps the operating point whatever the objective
	// allows: the learned capacity is the rate at a cpu signal of 1.0, and
	// a signal that never reaches 1.0 (e.g. Mesos counts the executor's
	// share in the limit) would otherwise make it optimistic.
	MaxUtilization float64
	// Lead is how long new capacity takes to serve: startup, health
	// check and one interval. Headroom and trend look this far ahead.
	Lead     time.Duration
	Headroom Headroom
	Trend    Trend
}

// Headroom sizes the insurance against short-term rises: the count is
// sized for the peak demand of the last BaseWindow times the Quantile of
// the load ratio demand(t+lead)/peak(t) observed over Window. A peak
// rather than the demand of the moment as the base: on a noisy load the
// ratio to a trough is large, to a recent peak small.
type Headroom struct {
	Quantile   float64
	Window     time.Duration
	BaseWindow time.Duration
}

// Trend is the feed-forward on a rising load: the least-squares slope of
// the demand over Window projected over the lead. Window 0: off.
type Trend struct {
	Window time.Duration
}

// The SLO defaults (the one place they live).
const (
	defaultMaxUtilization   = 0.85
	defaultLead             = time.Minute
	defaultHeadroomQuantile = 0.95
	defaultHeadroomWindow   = 6 * time.Hour
	defaultBaseWindow       = 30 * time.Minute
	defaultTrendWindow      = 5 * time.Minute
)

func defaultSLO() *SLO {
	return &SLO{
		MaxUtilization: defaultMaxUtilization,
		Lead:           defaultLead,
		Headroom:       Headroom{Quantile: defaultHeadroomQuantile, Window: defaultHeadroomWindow, BaseWindow: defaultBaseWindow},
	}
}

// sloActive reports whether the engine sizes rp by its SLO: only the policy
// strategy does; hpa and threshold replay their own algorithms.
func sloActive(rp *RolePolicy) bool {
	return rp.SLO != nil && (rp.Strategy == "" || rp.Strategy == RoleStrategyPolicy)
}

// SLOSignals returns the built-in signals the SLO model of rp learns from,
// whether or not rp lists them as metrics; nil without an SLO. The
// controller collects them for the role.
func SLOSignals(rp *RolePolicy) []string {
	if !sloActive(rp) {
		return nil
	}
	if rp.SLO.QueueLength > 0 {
		return []string{signalRPS, signalCPU, signalQueue}
	}
	return []string{signalRPS, signalCPU, signalLatency}
}

// The signals the SLO model reads, and which metrics it replaces when it
// decides: the ones it models (cpu, rate, latency, queue). Memory, disk,
// shards and PromQL metrics still apply.
const (
	signalRPS     = "requests_per_second"
	signalCPU     = "cpu_utilization"
	signalLatency = "request_latency_p95"
	signalQueue   = "scheduler_queue_length"
)

func sloCovers(m *Metric) bool {
	switch m.Signal {
	case signalRPS, signalCPU, signalLatency, signalQueue:
		return true
	}
	return false
}
