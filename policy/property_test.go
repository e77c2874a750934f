package policy

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestRecommendProperties drives random observation sequences through
// Recommend, with a caller that always acts on the recommendation, and
// checks the invariants every decision must keep.
func TestRecommendProperties(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 42))
		rp := randomPolicy(r)
		obsSeq := randomObservations(r, rp, 150)
		first := replay(t, seed, rp, obsSeq, true)
		// Determinism: the same inputs give the same decisions.
		if second := replay(t, seed, rp, obsSeq, false); !equalRecs(first, second) {
			t.Fatalf("seed %d: replay differs", seed)
		}
	}
}

func randomPolicy(r *rand.Rand) *RolePolicy {
	rp := &RolePolicy{Role: Coordinators, OnMetricsMissing: MissingHold}
	rp.Min = 1 + r.IntN(5)
	rp.Max = rp.Min + r.IntN(15)
	rp.Tolerance = []float64{0, 0.05, 0.1, 0.2}[r.IntN(4)]
	durs := []time.Duration{0, 15 * time.Second, time.Minute, 5 * time.Minute}
	rp.Stabilization = UpDown{Up: durs[r.IntN(4)], Down: durs[r.IntN(4)]}
	rp.Cooldown = UpDown{Up: durs[r.IntN(4)], Down: durs[r.IntN(4)]}
	steps := []Step{{Count: 1}, {Count: 2}, {Percent: 50}, {Percent: 100}, {Count: 4}}
	rp.Step = StepLimits{Up: steps[r.IntN(5)], Down: steps[r.IntN(5)]}
	if r.IntN(2) == 0 {
		rp.OnMetricsMissing = MissingScaleUp
	}
	rp.Metrics = []Metric{
		{Strategy: StrategyTarget, Signal: "cpu_utilization", Target: 0.6},
		{Strategy: StrategyTarget, Signal: "requests_per_second", TargetPerInstance: 500},
		{Strategy: StrategyThreshold, Signal: "scheduler_queue_length", Upper: 20, Lower: 2, Periods: 1 + r.IntN(3), Step: 1 + r.IntN(2)},
	}
	if r.IntN(3) == 0 {
		rp.Schedule = []ScheduleEntry{{Cron: "*/20 * * * *", Duration: 5 * time.Minute, Min: rp.Min + r.IntN(rp.Max-rp.Min+1)}}
	}
	return rp
}

func randomObservations(r *rand.Rand, rp *RolePolicy, n int) []Observation {
	out := make([]Observation, n)
	now := t0
	for i := range out {
		now = now.Add(time.Duration(5+r.IntN(30)) * time.Second)
		o := Observation{Now: now, Metrics: map[string]MetricValue{}}
		inst := 1 + r.IntN(20)
		if r.IntN(25) > 0 {
			o.Metrics["cpu_utilization"] = MetricValue{Values: fill(inst, r.Float64()*0.9), Missing: r.IntN(2) * r.IntN(3)}
		}
		if r.IntN(25) > 0 {
			o.Metrics["requests_per_second"] = MetricValue{Values: []float64{r.Float64() * 500 * float64(rp.Max)}, Aggregate: true}
		}
		if r.IntN(25) > 0 {
			o.Metrics["scheduler_queue_length"] = MetricValue{Values: fill(inst, r.Float64()*22)}
		}
		c := &o.Constraints
		c.DeploymentInProgress = r.IntN(15) == 0
		c.Paused = r.IntN(30) == 0
		c.Backoff = r.IntN(20) == 0
		c.Unsafe = r.IntN(8) == 0
		c.DryRun = r.IntN(10) == 0
		if r.IntN(4) == 0 {
			c.ReplicationFloor = 1 + r.IntN(rp.Max+3)
		}
		if r.IntN(6) == 0 {
			c.CapacityMax = 1 + r.IntN(rp.Max+3)
		}
		out[i] = o
	}
	return out
}

func replay(t *testing.T, seed uint64, rp *RolePolicy, seq []Observation, check bool) []Recommendation {
	t.Helper()
	var h History
	target := rp.Min + (rp.Max-rp.Min)/2
	recs := make([]Recommendation, 0, len(seq))
	for i := range seq {
		obs := seq[i]
		obs.Target = target
		obs.Healthy = target - i%2 // sometimes one instance is still starting
		obs.Running = target
		var rec Recommendation
		last := h.LastScale
		Recommend(rp, &obs, &h, &rec)
		rec.Metrics = append([]MetricResult(nil), rec.Metrics...)
		recs = append(recs, rec)
		if check {
			checkInvariants(t, seed, i, rp, &obs, last, &rec)
		}
		if rec.Direction != None {
			target = rec.Desired
			h.RecordScale(obs.Now, rec.Direction)
		}
	}
	return recs
}

func checkInvariants(t *testing.T, seed uint64, i int, rp *RolePolicy, obs *Observation, lastScale time.Time, rec *Recommendation) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d step %d (target %d, desired %d, reasons %v, blocked %v, constraints %+v): "+format,
			append([]any{seed, i, obs.Target, rec.Desired, rec.Reasons, rec.Blocked, obs.Constraints}, args...)...)
	}
	base := obs.Target
	c := obs.Constraints
	if rec.Reasons == 0 || rec.Reasons == ReasonDryRun {
		fail("no reason")
	}
	if rec.Blocked&^rec.Reasons != 0 {
		fail("blocked not within reasons")
	}
	if (rec.Desired > base) != (rec.Direction == Up) || (rec.Desired < base) != (rec.Direction == Down) {
		fail("direction %v", rec.Direction)
	}
	if c.DryRun != rec.Reasons.Has(ReasonDryRun) {
		fail("dry_run reason")
	}
	if c.DeploymentInProgress || c.Paused || c.Backoff {
		if rec.Desired != base {
			fail("moved while held")
		}
		return
	}
	// Within [max(min, floors), max]; capacity may only keep it where it is.
	lo := max(rp.Min, min(ScheduleFloor(rp, obs.Now), rp.Max), min(c.ReplicationFloor, rp.Max))
	if rec.Desired > rp.Max {
		fail("above max %d", rp.Max)
	}
	if rec.Desired < lo && !(rec.Blocked.Has(ReasonCapacity) && rec.Desired >= base) {
		fail("below floor %d", lo)
	}
	if c.Unsafe && rec.Desired < base {
		fail("scale-down on an unsafe cluster")
	}
	if c.CapacityMax > 0 && rec.Desired > base && rec.Desired > c.CapacityMax {
		fail("beyond capacity")
	}
	forced := rec.Reasons&(ReasonBounds|ReasonSchedule) != 0
	if forced {
		return
	}
	// Never more than one step, never against a cooldown.
	switch rec.Direction {
	case Up:
		if s := stepSize(rp.Step.Up, base); rec.Desired-base > s {
			fail("up by %d, step %d", rec.Desired-base, s)
		}
		if !lastScale.IsZero() && obs.Now.Before(lastScale.Add(rp.Cooldown.Up)) {
			fail("up inside the cooldown")
		}
	case Down:
		if s := stepSize(rp.Step.Down, base); base-rec.Desired > s {
			fail("down by %d, step %d", base-rec.Desired, s)
		}
		if !lastScale.IsZero() && obs.Now.Before(lastScale.Add(rp.Cooldown.Down)) {
			fail("down inside the cooldown")
		}
	}
}

func equalRecs(a, b []Recommendation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Current != y.Current || x.Desired != y.Desired || x.Direction != y.Direction ||
			x.Reasons != y.Reasons || x.Blocked != y.Blocked || len(x.Metrics) != len(y.Metrics) {
			return false
		}
		for j := range x.Metrics {
			if x.Metrics[j] != y.Metrics[j] {
				return false
			}
		}
	}
	return true
}
