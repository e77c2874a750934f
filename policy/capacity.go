package policy

import (
	"math"
	"time"
)

// CapacityResult is the SLO model's part of a recommendation: what it
// learned of one instance and the count it needs. Zero without an SLO.
type CapacityResult struct {
	Active bool // the role has an SLO
	// Ready: the model decided. Otherwise NotReady says why (too little
	// history, a bad fit, no demand…) and the role's metrics decide.
	Ready    bool
	NotReady string

	Demand         float64 // requests per second of the role now
	PerInstanceRPS float64 // μ: one instance's rate at a cpu signal of 1.0
	IdleCPU        float64 // the cpu of an idle instance
	ServiceTime    float64 // seconds per request of an idle instance (latency objective)
	Utilization    float64 // u*: the highest utilisation that meets the SLO
	Peak           float64 // the highest demand of the base window
	Headroom       float64 // the quantile of demand(t+lead)/peak(t) (≥ 1)
	Slope          float64 // rps per second of a significant rise (0: none)
	Projected      float64 // demand projected over the lead (0: no rise)
	Needed         int     // ceil(peak × headroom / (u* × μ))
	TrendNeeded    int     // the same for the projected demand (0: no rise)
	Samples        int     // observations the model holds
}

// capHistory is what the SLO model remembers of a role: one sample per
// decision over the longest window it looks at.
type capHistory struct {
	samples []capSample
	scratch []float64 // reused for quantiles
	peak    []float64 // reused: the base window's peak demand per sample
	deque   []int     // reused by peaks
}

type capSample struct {
	at     time.Time
	ns     int64   // at in unix nanoseconds: the loops over hours of samples compare these
	demand float64 // the role's requests per second
	// fit: rps and cpu of every instance were observed, so x and cpu are
	// the same instances' means and the sample may teach the model.
	fit  bool
	x    float64 // requests per second per instance
	cpu  float64 // mean cpu signal
	lat  float64 // mean p95 latency in seconds (NaN: unknown)
	miss bool    // some instances had no rate
}

// Model limits: below these the model says it does not know yet.
const (
	minFitSamples = 12   // 3 minutes at 15 s
	minRatios     = 8    // load ratios before the headroom quantile means anything
	cpuSaturated  = 0.95 // above this an instance's rate is capped: no fit
	// Pairs whose earlier peak is under this share of one instance's
	// safe rate are left out of the headroom: a ratio of two tiny rates at
	// night says nothing about insurance at load.
	minRatioLoadShare = 0.25
	// A trend counts only when its slope is this many standard errors
	// above zero: noise alone makes half of all slopes positive.
	trendSignificance = 2
	minTrendSamples   = 4
)

var ln20 = math.Log(20)

// sampleOf reads the model's signals from obs; ok is false when the
// demand is unknown (no rates, or values that are not rates).
func sampleOf(obs *Observation) (capSample, bool) {
	s := capSample{at: obs.Now, ns: obs.Now.UnixNano(), lat: math.NaN(), cpu: math.NaN()}
	rps, ok := obs.Metrics[signalRPS]
	if !ok || len(rps.Values) == 0 || rps.Aggregate {
		return s, false
	}
	mean, ok := meanOf(rps.Values, 0, math.Inf(1))
	if !ok {
		return s, false
	}
	s.x = mean
	s.demand = mean * float64(len(rps.Values)+rps.Missing)
	s.miss = rps.Missing > 0
	if c, has := obs.Metrics[signalCPU]; has && !c.Aggregate && c.Missing == 0 && rps.Missing == 0 && len(c.Values) == len(rps.Values) {
		if m, ok := meanOf(c.Values, 0, 1.5); ok {
			s.cpu, s.fit = m, true
		}
	}
	if l, has := obs.Metrics[signalLatency]; has && !l.Aggregate && len(l.Values) > 0 {
		if m, ok := meanOf(l.Values, 0, math.Inf(1)); ok {
			s.lat = m
		}
	}
	return s, true
}

// meanOf is the mean of vs; false when any value is NaN or outside [lo, hi).
func meanOf(vs []float64, lo, hi float64) (float64, bool) {
	sum := 0.0
	for _, v := range vs {
		if math.IsNaN(v) || v < lo || v >= hi {
			return 0, false
		}
		sum += v
	}
	return sum / float64(len(vs)), true
}

// observe records s, forgetting samples older than keep. A clock that went
// back makes every sample suspect: the model starts again.
func (c *capHistory) observe(s capSample, keep time.Duration) {
	if n := len(c.samples); n > 0 {
		last := c.samples[n-1].at
		switch {
		case s.at.Before(last):
			c.samples = c.samples[:0]
		case s.at.Equal(last):
			c.samples = c.samples[:n-1]
		}
	}
	i := 0
	for i < len(c.samples) && s.at.Sub(c.samples[i].at) > keep {
		i++
	}
	if i > 0 {
		c.samples = c.samples[:copy(c.samples, c.samples[i:])]
	}
	c.samples = append(c.samples, s)
}

// forget drops every sample older than keep without adding one (a
// decision without demand still ages the history).
func (c *capHistory) forget(now time.Time, keep time.Duration) {
	if n := len(c.samples); n > 0 && now.Before(c.samples[n-1].at) {
		c.samples = c.samples[:0]
		return
	}
	i := 0
	for i < len(c.samples) && now.Sub(c.samples[i].at) > keep {
		i++
	}
	c.samples = c.samples[:copy(c.samples, c.samples[i:])]
}

// sloKeep is how far back the model looks.
func sloKeep(o *SLO) time.Duration {
	return max(o.Headroom.Window, o.Trend.Window, o.Headroom.BaseWindow) + o.Lead
}

// capacityTerm is the SLO step of Recommend: it records this observation
// in h and sizes the role for its objective. It is a pure function of its
// arguments and h.
func capacityTerm(o *SLO, obs *Observation, h *capHistory, out *CapacityResult) {
	*out = CapacityResult{Active: true}
	keep := sloKeep(o)
	s, ok := sampleOf(obs)
	if !ok {
		h.forget(obs.Now, keep)
		out.Samples = len(h.samples)
		out.NotReady = "no_demand"
		return
	}
	h.observe(s, keep)
	out.Samples = len(h.samples)
	out.Demand = s.demand
	sizeFor(o, h, out)
}

// sizeFor fits the model to h's samples and fills out; the last sample is
// now.
func sizeFor(o *SLO, h *capHistory, out *CapacityResult) {
	now := h.samples[len(h.samples)-1]
	fitFrom := now.at.Add(-o.Headroom.Window)
	a, b, why := fitCPU(h.samples, fitFrom)
	if why != "" {
		out.NotReady = why
		return
	}
	mu := (1 - a) / b
	out.IdleCPU, out.PerInstanceRPS = a, mu

	u := o.MaxUtilization
	if o.QueueLength > 0 {
		// M/M/1: requests waiting Lq = u²/(1-u) ≤ N.
		n := o.QueueLength
		u = min(u, (math.Sqrt(n*n+4*n)-n)/2)
	} else {
		st, ok := serviceTime(h, fitFrom, a)
		if !ok {
			out.NotReady = "no_latency"
			return
		}
		out.ServiceTime = st
		// M/M/1: p95 = ln20 · s / (1-u) ≤ SLO.
		u = min(u, 1-ln20*st/o.LatencyP95.Seconds())
	}
	if !(u >= 0.05) {
		out.NotReady = "slo_unreachable"
		return
	}
	out.Utilization = u
	safe := u * mu

	peak := h.peaks(o.Headroom.BaseWindow)
	hr, n := headroom(h, o, fitFrom, minRatioLoadShare*safe, peak)
	if n < minRatios {
		out.NotReady = "too_little_history"
		return
	}
	out.Headroom = hr
	out.Peak = peak[len(peak)-1]
	out.Needed = ceilInt(out.Peak * hr / safe)
	if o.Trend.Window > 0 {
		if slope, at, ok := trend(h.samples, now.at, o.Trend.Window); ok {
			out.Slope = slope
			out.Projected = max(at+slope*o.Lead.Seconds(), now.demand)
			out.TrendNeeded = ceilInt(out.Projected * hr / safe)
		}
	}
	out.Ready = true
}

// fitCPU fits cpu = a + b·x (idle cpu a, cpu per request per second b) to
// the samples since from that may teach it. With too little spread in x
// the line through the origin is used: it underestimates the capacity
// (1-a)/b, so it errs on the safe side. why is "" on success.
func fitCPU(samples []capSample, from time.Time) (a, b float64, why string) {
	var n, sx, sy, sxx, sxy float64
	since := from.UnixNano()
	for i := range samples {
		s := &samples[i]
		if !s.fit || s.ns < since || s.cpu >= cpuSaturated || !(s.x > 0) {
			continue
		}
		n++
		sx += s.x
		sy += s.cpu
		sxx += s.x * s.x
		sxy += s.x * s.cpu
	}
	if n < minFitSamples {
		return 0, 0, "too_little_history"
	}
	mx, my := sx/n, sy/n
	vx := sxx/n - mx*mx
	if vx > (0.02*mx)*(0.02*mx) {
		b = (sxy/n - mx*my) / vx
		a = my - b*mx
	} else {
		b = my / mx
	}
	if math.IsNaN(b) || math.IsInf(b, 0) || b <= 0 || math.IsNaN(a) {
		return 0, 0, "bad_fit"
	}
	// A negative idle cpu is noise; taking 0 only lowers the capacity.
	a = max(a, 0)
	if a >= cpuSaturated {
		return 0, 0, "bad_fit"
	}
	return a, b, ""
}

// serviceTime is the median over the samples since from of an idle
// instance's mean service time, s = p95 · (1-u) / ln20.
func serviceTime(h *capHistory, from time.Time, a float64) (float64, bool) {
	v := h.scratch[:0]
	since := from.UnixNano()
	for i := range h.samples {
		s := &h.samples[i]
		if !s.fit || s.ns < since || !(s.lat > 0) || math.IsInf(s.lat, 0) {
			continue
		}
		u := min(max((s.cpu-a)/(1-a), 0), 0.99)
		v = append(v, s.lat*(1-u)/ln20)
	}
	h.scratch = v
	if len(v) < minFitSamples/2 {
		return 0, false
	}
	return quantile(v, 0.5), true
}

// peaks sets c.peak[k] to the highest demand of the samples within
// window up to and including sample k (a sliding maximum, O(n)).
func (c *capHistory) peaks(window time.Duration) []float64 {
	c.peak = c.peak[:0]
	dq := c.deque[:0] // indices of falling demands
	for k := range c.samples {
		s := &c.samples[k]
		for len(dq) > 0 && c.samples[dq[len(dq)-1]].demand <= s.demand {
			dq = dq[:len(dq)-1]
		}
		dq = append(dq, k)
		for s.ns-c.samples[dq[0]].ns >= int64(window) {
			dq = dq[1:]
		}
		c.peak = append(c.peak, c.samples[dq[0]].demand)
	}
	c.deque = dq[:0]
	return c.peak
}

// headroom is the q quantile (at least 1) of demand(t)/peak(t-lead) over
// the pairs since from whose earlier peak is at least floor, and how many
// pairs there were; peak is the highest demand of the base window. Pairs
// across a gap (no sample within half the lead of t-lead) are left out.
func headroom(h *capHistory, o *SLO, from time.Time, floor float64, peak []float64) (float64, int) {
	v := h.scratch[:0]
	lead, slack, since := int64(o.Lead), int64(o.Lead/2), from.UnixNano()
	i := 0
	for j := range h.samples {
		sj := &h.samples[j]
		if sj.ns < since {
			continue
		}
		back := sj.ns - lead
		for i+1 < j && h.samples[i+1].ns <= back {
			i++
		}
		si := &h.samples[i]
		if i >= j || si.ns > back || back-si.ns > slack || peak[i] < floor || !(peak[i] > 0) {
			continue
		}
		v = append(v, sj.demand/peak[i])
	}
	h.scratch = v
	if len(v) == 0 {
		return 1, 0
	}
	return max(quantile(v, o.Headroom.Quantile), 1), len(v)
}

// quantile returns the nearest-rank q quantile of v, reordering v. It
// selects rather than sorts (O(n) on average): it runs every decision over
// hours of samples.
func quantile(v []float64, q float64) float64 {
	k := min(max(int(math.Ceil(q*float64(len(v))))-1, 0), len(v)-1)
	lo, hi := 0, len(v)-1
	for lo < hi {
		// Median of three as the pivot keeps sorted input linear.
		mid := lo + (hi-lo)/2
		a, b, c := v[lo], v[mid], v[hi]
		pivot := max(min(a, b), min(max(a, b), c))
		i, j := lo, hi
		for i <= j {
			for v[i] < pivot {
				i++
			}
			for v[j] > pivot {
				j--
			}
			if i <= j {
				v[i], v[j] = v[j], v[i]
				i++
				j--
			}
		}
		switch {
		case k <= j:
			hi = j
		case k >= i:
			lo = i
		default:
			return v[k]
		}
	}
	return v[k]
}

// capacityTerms is the capacity step of Recommend: each term gives a
// desired count and a reason, and the largest wins. Today's term is the SLO
// model with its trend. ok is false when no term is ready: the role's
// metrics then decide as they would without one.
func capacityTerms(rp *RolePolicy, obs *Observation, h *History, out *Recommendation) (need int, why Reasons, ok bool) {
	if !sloActive(rp) {
		out.Capacity = CapacityResult{}
		h.capa = capHistory{}
		return 0, 0, false
	}
	c := &out.Capacity
	capacityTerm(rp.SLO, obs, &h.capa, c)
	if !c.Ready {
		return 0, 0, false
	}
	need, why = c.Needed, ReasonSLO
	if c.TrendNeeded > need {
		need, why = c.TrendNeeded, ReasonTrend
	}
	// Instances without a rate may be the busy ones: never fewer then.
	if s := h.capa.samples; s[len(s)-1].miss {
		need = max(need, obs.Target)
	}
	return need, why, true
}
