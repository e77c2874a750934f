package policy

import (
	"math"
	"slices"
	"testing"
	"time"
)

// The instance the tests observe: idle cpu 0.02, 1000 rps at cpu 1.0
// (cpu = 0.02 + 0.98·x/1000), 5 ms service time, an M/M/1 p95.
const (
	tIdle = 0.02
	tMu   = 1000.0
	tS    = 0.005
)

func sloRole() *RolePolicy {
	rp := plain()
	rp.Metrics = []Metric{{Strategy: StrategyTarget, Signal: "cpu_utilization", Target: 0.65}}
	rp.SLO = defaultSLO()
	rp.SLO.LatencyP95 = 500 * time.Millisecond
	return rp
}

// instanceObs is what the controller observes of n instances serving
// demand rps in total, each per the test instance's model.
func instanceObs(at time.Time, n int, demand float64) Observation {
	x := demand / float64(n)
	u := x / tMu
	cpuV := tIdle + (1-tIdle)*min(u, 1)
	p95 := ln20 * tS / (1 - min(u, 0.99))
	return Observation{Now: at, Target: n, Healthy: n, Metrics: map[string]MetricValue{
		"cpu_utilization":     {Values: fill(n, cpuV)},
		"requests_per_second": {Values: fill(n, x)},
		"request_latency_p95": {Values: fill(n, p95)},
	}}
}

// feed replays obs every 15 s from t0 and returns the last recommendation
// and the time of the last step.
func feed(rp *RolePolicy, h *History, steps int, obsAt func(i int, at time.Time) Observation) (Recommendation, time.Time) {
	var out Recommendation
	var at time.Time
	for i := range steps {
		at = t0.Add(time.Duration(i) * 15 * time.Second)
		o := obsAt(i, at)
		Recommend(rp, &o, h, &out)
	}
	return out, at
}

// A steady 4000 rps after a history at two instance counts: μ = 1000,
// u* = min(0.85, 1 - ln20·5ms/500ms) = 0.85, headroom 1, so
// ceil(4000 / 850) = 5 where the 0.65 cpu target keeps ceil(4000/650) = 7.
func TestSLOSteadyLoadTextbookCount(t *testing.T) {
	rp := sloRole()
	var h History
	out, _ := feed(rp, &h, 60, func(i int, at time.Time) Observation {
		return instanceObs(at, 7+i%2, 4000) // the count moved: the fit sees spread
	})
	c := out.Capacity
	if !c.Ready {
		t.Fatalf("model not ready: %s", c.NotReady)
	}
	for _, x := range []struct {
		name      string
		got, want float64
	}{{"capacity", c.PerInstanceRPS, tMu}, {"idle cpu", c.IdleCPU, tIdle}, {"service time", c.ServiceTime, tS},
		{"utilisation", c.Utilization, 0.85}, {"headroom", c.Headroom, 1}, {"demand", c.Demand, 4000}} {
		if math.Abs(x.got-x.want) > 1e-6*math.Max(1, x.want) {
			t.Errorf("%s = %g, want %g", x.name, x.got, x.want)
		}
	}
	if c.Needed != 5 || out.Desired != 5 || !out.Reasons.Has(ReasonSLO) {
		t.Fatalf("needed %d, desired %d (%s), want 5 by slo", c.Needed, out.Desired, out.Reasons)
	}
	if out.Metrics[0].Reason != "slo" {
		t.Errorf("the cpu metric's reason is %q, want slo (replaced)", out.Metrics[0].Reason)
	}
	// Without the SLO the cpu target decides: ceil(8 × 0.512/0.65) = 7.
	plainRP := sloRole()
	plainRP.SLO = nil
	var h2 History
	o := instanceObs(t0, 8, 4000)
	var out2 Recommendation
	Recommend(plainRP, &o, &h2, &out2)
	if out2.Desired != 7 || out2.Capacity.Active {
		t.Fatalf("without slo: desired %d, want 7", out2.Desired)
	}
}

// A tight latency objective lowers u*: 1 - ln20·5ms/80ms ≈ 0.81.
func TestSLOLatencyOperatingPoint(t *testing.T) {
	rp := sloRole()
	rp.SLO.LatencyP95 = 80 * time.Millisecond
	var h History
	out, _ := feed(rp, &h, 40, func(i int, at time.Time) Observation { return instanceObs(at, 5+i%2, 3000) })
	want := 1 - ln20*tS/0.08
	if math.Abs(out.Capacity.Utilization-want) > 1e-6 {
		t.Fatalf("u* = %g, want %g", out.Capacity.Utilization, want)
	}
	if n := int(math.Ceil(3000 / (want * tMu))); out.Desired != n {
		t.Fatalf("desired %d, want %d", out.Desired, n)
	}
}

// queue_length: Lq = u²/(1-u) ≤ 2 gives u* = (√12 - 2)/2 ≈ 0.732.
func TestSLOQueueObjective(t *testing.T) {
	rp := sloRole()
	rp.SLO.LatencyP95, rp.SLO.QueueLength = 0, 2
	if got := SLOSignals(rp); len(got) != 3 || got[2] != "scheduler_queue_length" {
		t.Fatalf("signals %v", got)
	}
	var h History
	out, _ := feed(rp, &h, 40, func(i int, at time.Time) Observation {
		o := instanceObs(at, 5+i%2, 3000)
		delete(o.Metrics, "request_latency_p95") // not needed for a queue objective
		return o
	})
	want := (math.Sqrt(12) - 2) / 2
	if !out.Capacity.Ready || math.Abs(out.Capacity.Utilization-want) > 1e-9 {
		t.Fatalf("u* = %g (%s), want %g", out.Capacity.Utilization, out.Capacity.NotReady, want)
	}
	if out.Desired != 5 { // ceil(3000 / 732) = 5
		t.Fatalf("desired %d, want 5", out.Desired)
	}
}

// Headroom is the quantile of demand(t+lead)/peak(t): with a base window
// of one sample (the peak is the demand) demand alternating 1000 and 1200
// every minute (the lead) gives ratios 1.2 and 1/1.2, so a 0.95 quantile
// of 1.2; with the default 30-minute base window the peak is 1200 and the
// headroom 1.
func TestSLOHeadroomFromLoadRatio(t *testing.T) {
	rp := sloRole()
	rp.SLO.Headroom.BaseWindow = 15 * time.Second
	var h History
	out, _ := feed(rp, &h, 120, func(i int, at time.Time) Observation {
		d := 1000.0
		if (i/4)%2 == 1 {
			d = 1200
		}
		return instanceObs(at, 2+(i/8)%2, d)
	})
	c := out.Capacity
	if !c.Ready || math.Abs(c.Headroom-1.2) > 1e-9 {
		t.Fatalf("headroom %g (%s), want 1.2", c.Headroom, c.NotReady)
	}
	if want := ceilInt(c.Demand * 1.2 / 850); c.Needed != want {
		t.Fatalf("needed %d, want %d", c.Needed, want)
	}
	rp = sloRole()
	var h2 History
	// An hour: the four rises onto the first peak are under 5 % of the ratios.
	out, _ = feed(rp, &h2, 240, func(i int, at time.Time) Observation {
		d := 1000.0
		if (i/4)%2 == 1 {
			d = 1200
		}
		return instanceObs(at, 2+(i/8)%2, d)
	})
	if c := out.Capacity; c.Headroom != 1 || c.Peak != 1200 || c.Needed != 2 {
		t.Fatalf("30m base window: headroom %g, peak %g, needed %d; want 1, 1200, 2", c.Headroom, c.Peak, c.Needed)
	}
}

// A ramp of +10 rps/s: the trend projects the demand one lead (60 s) ahead
// and asks for the projected count before the rise lands.
func TestSLOTrendProjectsRamp(t *testing.T) {
	rp := sloRole()
	rp.SLO.Trend.Window = 5 * time.Minute
	var h History
	// A flat hour at two counts first, so the headroom knows the load is calm.
	const flat = 240
	out, _ := feed(rp, &h, flat+20, func(i int, at time.Time) Observation {
		d := 4000.0
		if i >= flat {
			d += 10 * 15 * float64(i-flat)
		}
		return instanceObs(at, 6+i%2, d)
	})
	c := out.Capacity
	if !c.Ready || math.Abs(c.Slope-10) > 1e-6 {
		t.Fatalf("slope %g (%s), want 10 rps/s", c.Slope, c.NotReady)
	}
	if math.Abs(c.Projected-(c.Demand+600)) > 1e-6 {
		t.Fatalf("projected %g, want demand %g + 600", c.Projected, c.Demand)
	}
	want := ceilInt(c.Projected * c.Headroom / 850)
	if c.TrendNeeded != want || c.TrendNeeded <= c.Needed || out.Desired != want || !out.Reasons.Has(ReasonTrend) {
		t.Fatalf("trend needed %d (slo %d), desired %d (%s), want %d by trend", c.TrendNeeded, c.Needed, out.Desired, out.Reasons, want)
	}
	// Off: the same history sizes for the current demand only.
	rp.SLO.Trend.Window = 0
	var h2 History
	out2, _ := feed(rp, &h2, flat+20, func(i int, at time.Time) Observation {
		d := 4000.0
		if i >= flat {
			d += 10 * 15 * float64(i-flat)
		}
		return instanceObs(at, 6+i%2, d)
	})
	if out2.Capacity.TrendNeeded != 0 || out2.Reasons.Has(ReasonTrend) {
		t.Fatalf("trend off: trend needed %d (%s)", out2.Capacity.TrendNeeded, out2.Reasons)
	}
}

// Noise around a flat load is no trend.
func TestSLOTrendIgnoresNoise(t *testing.T) {
	var samples []capSample
	for i := range 20 {
		d := 1000.0
		if i%2 == 1 {
			d = 1100
		}
		samples = append(samples, capSample{at: t0.Add(time.Duration(i) * 15 * time.Second), demand: d})
	}
	if s, _, ok := trend(samples, samples[19].at, 5*time.Minute); ok {
		t.Fatalf("noise taken for a trend of %g rps/s", s)
	}
}

// With no or too little history, or unusable signals, the model says so
// and the role's metrics decide exactly as without an SLO.
func TestSLOFallsBackToMetrics(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		name    string
		steps   int
		obsAt   func(i int, at time.Time) Observation
		atBack  bool // the last observation is from before the others
		notWhy  string
		desired int
	}{
		{name: "no history", steps: 1, notWhy: "too_little_history", desired: 7,
			obsAt: func(_ int, at time.Time) Observation { return instanceObs(at, 8, 4000) }},
		{name: "steady count, 3 minutes: too little", steps: 8, notWhy: "too_little_history", desired: 7,
			obsAt: func(_ int, at time.Time) Observation { return instanceObs(at, 8, 4000) }},
		{name: "no rates", steps: 60, notWhy: "no_demand", desired: 7, obsAt: func(i int, at time.Time) Observation {
			o := instanceObs(at, 8, 4000)
			delete(o.Metrics, "requests_per_second")
			return o
		}},
		{name: "NaN rate", steps: 60, notWhy: "no_demand", desired: 7, obsAt: func(i int, at time.Time) Observation {
			o := instanceObs(at, 8, 4000)
			o.Metrics["requests_per_second"] = MetricValue{Values: []float64{nan, 500, 500, 500, 500, 500, 500, 500}}
			return o
		}},
		{name: "negative rate (a counter went back)", steps: 60, notWhy: "no_demand", desired: 7, obsAt: func(i int, at time.Time) Observation {
			o := instanceObs(at, 8, 4000)
			o.Metrics["requests_per_second"] = MetricValue{Values: []float64{-3e6, 500, 500, 500, 500, 500, 500, 500}}
			return o
		}},
		{name: "NaN cpu: nothing to fit", steps: 60, notWhy: "too_little_history", desired: 8, obsAt: func(i int, at time.Time) Observation {
			o := instanceObs(at, 7+i%2, 4000)
			o.Metrics["cpu_utilization"] = MetricValue{Values: fill(7+i%2, nan)}
			return o
		}},
		{name: "cpu falls as the rate rises: bad fit", steps: 60, notWhy: "bad_fit", desired: 5, obsAt: func(i int, at time.Time) Observation {
			n := 7 + i%2
			o := instanceObs(at, n, 4000)
			o.Metrics["cpu_utilization"] = MetricValue{Values: fill(n, 0.3+0.1*float64(n-7))}
			return o
		}},
		{name: "no latency for a latency objective", steps: 60, notWhy: "no_latency", desired: 7, obsAt: func(i int, at time.Time) Observation {
			o := instanceObs(at, 7+i%2, 4000)
			delete(o.Metrics, "request_latency_p95")
			return o
		}},
		{name: "clock jumped back: history forgotten", steps: 60, atBack: true, notWhy: "too_little_history", desired: 7,
			obsAt: func(i int, at time.Time) Observation { return instanceObs(at, 7+i%2, 4000) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			rp := sloRole()
			var h History
			out, _ := feed(rp, &h, c.steps, c.obsAt)
			if c.atBack {
				o := instanceObs(t0.Add(-time.Hour), 8, 4000)
				Recommend(rp, &o, &h, &out)
			}
			if out.Capacity.Ready || out.Capacity.NotReady != c.notWhy {
				t.Fatalf("ready %v, not ready %q, want %q", out.Capacity.Ready, out.Capacity.NotReady, c.notWhy)
			}
			if out.Desired != c.desired || out.Reasons.Has(ReasonSLO) {
				t.Fatalf("desired %d (%s), want %d by the metrics", out.Desired, out.Reasons, c.desired)
			}
		})
	}
}

// A gap in the observations: the ratio across it is no load ratio over the
// lead, so a level that changed while nothing was seen does not become
// headroom.
func TestSLOGapIsNoRatio(t *testing.T) {
	rp := sloRole()
	var h History
	var out Recommendation
	step := func(at time.Time, n int, d float64) {
		o := instanceObs(at, n, d)
		Recommend(rp, &o, &h, &out)
	}
	at := t0
	for i := range 60 {
		step(at, 4+i%2, 2000)
		at = at.Add(15 * time.Second)
	}
	at = at.Add(30 * time.Minute)
	for i := range 10 {
		step(at, 7+i%2, 4000)
		at = at.Add(15 * time.Second)
	}
	if !out.Capacity.Ready || out.Capacity.Headroom != 1 {
		t.Fatalf("headroom %g (%s), want 1: the jump across the gap is no ratio", out.Capacity.Headroom, out.Capacity.NotReady)
	}
}

// Instances without a rate (just started, or a counter reset) may be the
// busy ones: the model never asks for fewer than the target then.
func TestSLOPartlyObservedNeverDown(t *testing.T) {
	rp := sloRole()
	var h History
	out, at := feed(rp, &h, 60, func(i int, at time.Time) Observation { return instanceObs(at, 7+i%2, 2000) })
	if out.Desired >= 7 {
		t.Fatalf("fully observed: desired %d, want a scale-down", out.Desired)
	}
	o := instanceObs(at.Add(15*time.Second), 8, 2000)
	rps := o.Metrics["requests_per_second"]
	rps.Values, rps.Missing = rps.Values[:6], 2
	o.Metrics["requests_per_second"] = rps
	Recommend(rp, &o, &h, &out)
	if out.Desired != 8 {
		t.Fatalf("partly observed: desired %d, want the target 8", out.Desired)
	}
}

// Another metric above the SLO count still wins, with its own reason; the
// hpa strategy never uses the SLO.
func TestSLOCombinesWithOtherMetrics(t *testing.T) {
	rp := sloRole()
	rp.Metrics = append(rp.Metrics, Metric{Strategy: StrategyTarget, Signal: "disk_utilization", Target: 0.5})
	var h History
	out, _ := feed(rp, &h, 60, func(i int, at time.Time) Observation {
		o := instanceObs(at, 7+i%2, 4000)
		o.Metrics["disk_utilization"] = MetricValue{Values: fill(7+i%2, 0.5)}
		return o
	})
	// The SLO needs 5, disk keeps the count (within tolerance): 8 or 7.
	if !out.Capacity.Ready || out.Desired != out.Metrics[1].Desired || !out.Reasons.Has(ReasonWithinTolerance) || out.Reasons.Has(ReasonSLO) {
		t.Fatalf("desired %d (%s), disk wants %d", out.Desired, out.Reasons, out.Metrics[1].Desired)
	}

	rp = sloRole()
	rp.Strategy = RoleStrategyHPA
	ApplyStrategy(rp)
	if rp.SLO != nil || SLOSignals(rp) != nil {
		t.Fatal("hpa kept the slo")
	}
}

// The steady path of a ready model does not allocate once its history has
// reached its window.
func BenchmarkRecommendSLO(b *testing.B) {
	rp := sloRole()
	rp.SLO.Trend.Window = 5 * time.Minute
	var h History
	var out Recommendation
	obs := make([]Observation, 2000)
	for i := range obs {
		obs[i] = instanceObs(t0.Add(time.Duration(i)*15*time.Second), 7+i%2, 4000+float64(i%7)*50)
	}
	for i := range obs {
		Recommend(rp, &obs[i], &h, &out)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		o := obs[i%len(obs)]
		o.Now = t0.Add(time.Duration(len(obs)+i) * 15 * time.Second)
		Recommend(rp, &o, &h, &out)
	}
}

// quantile selects the nearest-rank quantile whatever the order.
func TestQuantileSelects(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for _, q := range []float64{0, 0.5, 0.95, 0.99, 1} {
			v := make([]float64, n)
			for i := range v {
				v[i] = float64((i*7919 + n*31) % n) // a permutation of 0..n-1
			}
			v = append(v, v[:n/3]...) // and duplicates
			sorted := append([]float64(nil), v...)
			slices.Sort(sorted)
			k := min(max(int(math.Ceil(q*float64(len(v))))-1, 0), len(v)-1)
			if got := quantile(v, q); got != sorted[k] {
				t.Fatalf("n %d q %g: %g, want %g", len(v), q, got, sorted[k])
			}
		}
	}
}
