package policy

import (
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC) // a Monday

// plain is a coordinator policy with every hysteresis switched off, so each
// test turns on only the rule it is about.
func plain() *RolePolicy {
	return &RolePolicy{
		Role: Coordinators, Min: 1, Max: 20, Tolerance: 0.1, OnMetricsMissing: MissingHold,
		Metrics: []Metric{{Strategy: StrategyTarget, Signal: "cpu_utilization", Target: 0.5}},
	}
}

func cpu(vals ...float64) map[string]MetricValue {
	return map[string]MetricValue{"cpu_utilization": {Values: vals}}
}

func fill(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestRecommendRules(t *testing.T) {
	rps := Metric{Strategy: StrategyTarget, Signal: "requests_per_second", TargetPerInstance: 800}
	tests := []struct {
		name    string
		policy  func(*RolePolicy)
		hist    func(*History)
		obs     Observation
		desired int
		reasons Reasons
		blocked Reasons
	}{
		{name: "target formula up", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(fill(4, 0.75)...)},
			desired: 6, reasons: ReasonMetrics},
		{name: "target formula down", obs: Observation{Target: 10, Healthy: 10, Metrics: cpu(fill(10, 0.2)...)},
			desired: 4, reasons: ReasonMetrics},
		{name: "exactly at upper tolerance", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(0.55, 0.55, 0.55, 0.55)},
			desired: 4, reasons: ReasonWithinTolerance},
		{name: "just over upper tolerance", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(0.5501)},
			desired: 5, reasons: ReasonMetrics},
		{name: "exactly at lower tolerance", obs: Observation{Target: 10, Healthy: 10, Metrics: cpu(0.45)},
			desired: 10, reasons: ReasonWithinTolerance},
		{name: "just under lower tolerance", obs: Observation{Target: 10, Healthy: 10, Metrics: cpu(0.4499)},
			desired: 9, reasons: ReasonMetrics},
		{name: "mean over instances with a value", obs: Observation{Target: 2, Healthy: 2, Metrics: cpu(1.0, 0.5)},
			desired: 3, reasons: ReasonMetrics},
		{name: "target_per_instance", policy: func(rp *RolePolicy) { rp.Metrics = []Metric{rps} },
			obs:     Observation{Target: 2, Healthy: 2, Metrics: map[string]MetricValue{"requests_per_second": {Values: []float64{1500, 1000}}}},
			desired: 4, reasons: ReasonMetrics},
		{name: "aggregate promql value", policy: func(rp *RolePolicy) {
			rp.Metrics = []Metric{{Strategy: StrategyTarget, PromQL: "sum(x)", TargetPerInstance: 500}}
		}, obs: Observation{Target: 2, Healthy: 2, Metrics: map[string]MetricValue{"promql:sum(x)": {Values: []float64{2600}, Aggregate: true}}},
			desired: 6, reasons: ReasonMetrics},
		{name: "largest desired wins", policy: func(rp *RolePolicy) { rp.Metrics = append(rp.Metrics, rps) },
			obs: Observation{Target: 4, Healthy: 4, Metrics: map[string]MetricValue{
				"cpu_utilization": {Values: fill(4, 0.75)}, "requests_per_second": {Values: fill(4, 1600)}}},
			desired: 8, reasons: ReasonMetrics},
		{name: "0 ready instances use the target", obs: Observation{Target: 4, Healthy: 0, Metrics: cpu(1.0)},
			desired: 8, reasons: ReasonMetrics},
		{name: "starting instances never turn a high signal into a scale-down",
			obs: Observation{Target: 5, Healthy: 3, Metrics: cpu(0.65)}, desired: 5, reasons: ReasonWithinTolerance},
		{name: "all metrics missing: hold", obs: Observation{Target: 4, Healthy: 4},
			desired: 4, reasons: ReasonMetricsMissing, blocked: ReasonMetricsMissing},
		{name: "all metrics missing: scale_up", policy: func(rp *RolePolicy) { rp.OnMetricsMissing = MissingScaleUp },
			obs: Observation{Target: 4, Healthy: 4, Metrics: cpu()}, desired: 5, reasons: ReasonMetricsMissing},
		{name: "a missing metric blocks scale-down", policy: func(rp *RolePolicy) { rp.Metrics = append(rp.Metrics, rps) },
			obs: Observation{Target: 10, Healthy: 10, Metrics: cpu(0.1)}, desired: 10,
			reasons: ReasonMetricsMissing, blocked: ReasonMetricsMissing},
		{name: "a missing metric never blocks scale-up", policy: func(rp *RolePolicy) { rp.Metrics = append(rp.Metrics, rps) },
			obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0)}, desired: 8, reasons: ReasonMetrics | ReasonMetricsMissing},
		{name: "instances without a value block scale-down",
			obs:     Observation{Target: 10, Healthy: 10, Metrics: map[string]MetricValue{"cpu_utilization": {Values: []float64{0.1}, Missing: 9}}},
			desired: 10, reasons: ReasonMetricsMissing, blocked: ReasonMetricsMissing},
		{name: "min = max", policy: func(rp *RolePolicy) { rp.Min, rp.Max = 3, 3 },
			obs: Observation{Target: 3, Healthy: 3, Metrics: cpu(1.0)}, desired: 3, reasons: ReasonAtMax, blocked: ReasonAtMax},
		{name: "min = max, low load", policy: func(rp *RolePolicy) { rp.Min, rp.Max = 3, 3 },
			obs: Observation{Target: 3, Healthy: 3, Metrics: cpu(0.01)}, desired: 3, reasons: ReasonAtMin, blocked: ReasonAtMin},
		{name: "at max", policy: func(rp *RolePolicy) { rp.Max = 6 },
			obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(2.0)}, desired: 6, reasons: ReasonMetrics | ReasonAtMax, blocked: ReasonAtMax},
		{name: "under min: bounds", policy: func(rp *RolePolicy) { rp.Min = 3 },
			obs: Observation{Target: 1, Healthy: 1, Metrics: cpu(0.5)}, desired: 3, reasons: ReasonBounds},
		{name: "over max: bounds", policy: func(rp *RolePolicy) { rp.Max = 5 },
			obs: Observation{Target: 8, Healthy: 8, Metrics: cpu(0.5)}, desired: 5, reasons: ReasonBounds},
		{name: "step count up", policy: func(rp *RolePolicy) { rp.Step.Up = Step{Count: 2} },
			obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.5)}, desired: 6, reasons: ReasonMetrics},
		{name: "step percent rounds up", policy: func(rp *RolePolicy) { rp.Step.Up = Step{Percent: 50} },
			obs: Observation{Target: 3, Healthy: 3, Metrics: cpu(2.0)}, desired: 5, reasons: ReasonMetrics},
		{name: "step percent at least 1", policy: func(rp *RolePolicy) { rp.Step.Up = Step{Percent: 10}; rp.Min = 0 },
			obs: Observation{Target: 2, Healthy: 2, Metrics: cpu(2.0)}, desired: 3, reasons: ReasonMetrics},
		{name: "step down 1", policy: func(rp *RolePolicy) { rp.Step.Down = Step{Count: 1} },
			obs: Observation{Target: 10, Healthy: 10, Metrics: cpu(0.1)}, desired: 9, reasons: ReasonMetrics},
		{name: "cooldown up 1ns before expiry", policy: func(rp *RolePolicy) { rp.Cooldown.Up = time.Minute },
			hist: func(h *History) { h.RecordScale(t0.Add(-time.Minute+1), Down) },
			obs:  Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0)}, desired: 4, reasons: ReasonCooldown, blocked: ReasonCooldown},
		{name: "cooldown up expired to the nanosecond", policy: func(rp *RolePolicy) { rp.Cooldown.Up = time.Minute },
			hist: func(h *History) { h.RecordScale(t0.Add(-time.Minute), Down) },
			obs:  Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0)}, desired: 8, reasons: ReasonMetrics},
		{name: "cooldown down runs from a scale-up", policy: func(rp *RolePolicy) { rp.Cooldown = UpDown{Up: time.Minute, Down: 5 * time.Minute} },
			hist: func(h *History) { h.RecordScale(t0.Add(-4*time.Minute), Up) },
			obs:  Observation{Target: 10, Healthy: 10, Metrics: cpu(0.1)}, desired: 10, reasons: ReasonCooldown, blocked: ReasonCooldown},
		{name: "cooldown seeded after restart", policy: func(rp *RolePolicy) { rp.Cooldown.Down = 5 * time.Minute },
			hist: func(h *History) { h.SeedLastScale(t0.Add(-time.Minute)) },
			obs:  Observation{Target: 10, Healthy: 10, Metrics: cpu(0.1)}, desired: 10, reasons: ReasonCooldown, blocked: ReasonCooldown},
		{name: "bounds override cooldown", policy: func(rp *RolePolicy) { rp.Min = 3; rp.Cooldown.Up = time.Hour },
			hist: func(h *History) { h.RecordScale(t0, Down) },
			obs:  Observation{Target: 2, Healthy: 2, Metrics: cpu(1.0)}, desired: 3, reasons: ReasonBounds | ReasonCooldown, blocked: ReasonCooldown},
		{name: "deployment in progress", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0), Constraints: Constraints{DeploymentInProgress: true}},
			desired: 4, reasons: ReasonDeploymentInProgress, blocked: ReasonDeploymentInProgress},
		{name: "paused by constraint", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0), Constraints: Constraints{Paused: true}},
			desired: 4, reasons: ReasonPaused, blocked: ReasonPaused},
		{name: "paused by policy", policy: func(rp *RolePolicy) { rp.Paused = true },
			obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0)}, desired: 4, reasons: ReasonPaused, blocked: ReasonPaused},
		{name: "backoff", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(0.1), Constraints: Constraints{Backoff: true}},
			desired: 4, reasons: ReasonBackoff, blocked: ReasonBackoff},
		{name: "manual pin within bounds", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0), Constraints: Constraints{ManualPin: 3}},
			desired: 3, reasons: ReasonManualOverride},
		{name: "manual pin clamped to max", policy: func(rp *RolePolicy) { rp.Max = 8 },
			obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(0.5), Constraints: Constraints{ManualPin: 12}}, desired: 8, reasons: ReasonManualOverride},
		{name: "manual pin holding", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0), Constraints: Constraints{ManualPin: 4}},
			desired: 4, reasons: ReasonManualOverride, blocked: ReasonManualOverride},
		{name: "unsafe blocks scale-down", obs: Observation{Target: 10, Healthy: 10, Metrics: cpu(0.1), Constraints: Constraints{Unsafe: true}},
			desired: 10, reasons: ReasonUnsafeCluster, blocked: ReasonUnsafeCluster},
		{name: "unsafe allows scale-up", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0), Constraints: Constraints{Unsafe: true}},
			desired: 8, reasons: ReasonMetrics},
		{name: "capacity caps scale-up", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0), Constraints: Constraints{CapacityMax: 6}},
			desired: 6, reasons: ReasonMetrics | ReasonCapacity, blocked: ReasonCapacity},
		{name: "no capacity at all", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0), Constraints: Constraints{CapacityMax: 3}},
			desired: 4, reasons: ReasonCapacity, blocked: ReasonCapacity},
		{name: "replication floor blocks scale-down", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(0.1), Constraints: Constraints{ReplicationFloor: 4}},
			desired: 4, reasons: ReasonReplicationFloor, blocked: ReasonReplicationFloor},
		{name: "replication floor limits scale-down", obs: Observation{Target: 6, Healthy: 6, Metrics: cpu(0.1), Constraints: Constraints{ReplicationFloor: 4}},
			desired: 4, reasons: ReasonMetrics | ReasonReplicationFloor, blocked: ReasonReplicationFloor},
		{name: "under the replication floor: bounds", obs: Observation{Target: 2, Healthy: 2, Metrics: cpu(0.5), Constraints: Constraints{ReplicationFloor: 3}},
			desired: 3, reasons: ReasonBounds | ReasonReplicationFloor},
		{name: "replication floor never above max", policy: func(rp *RolePolicy) { rp.Max = 3 },
			obs: Observation{Target: 2, Healthy: 2, Metrics: cpu(0.5), Constraints: Constraints{ReplicationFloor: 5}}, desired: 3, reasons: ReasonBounds | ReasonReplicationFloor},
		{name: "dry run changes nothing but the reasons", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(1.0), Constraints: Constraints{DryRun: true}},
			desired: 8, reasons: ReasonMetrics | ReasonDryRun},
		{name: "dry run steady", obs: Observation{Target: 4, Healthy: 4, Metrics: cpu(0.5), Constraints: Constraints{DryRun: true}},
			desired: 4, reasons: ReasonWithinTolerance | ReasonDryRun},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rp := plain()
			if tc.policy != nil {
				tc.policy(rp)
			}
			var h History
			if tc.hist != nil {
				tc.hist(&h)
			}
			obs := tc.obs
			obs.Now = t0
			var rec Recommendation
			Recommend(rp, &obs, &h, &rec)
			if rec.Desired != tc.desired || rec.Reasons != tc.reasons || rec.Blocked != tc.blocked {
				t.Errorf("desired %d reasons %v blocked %v, want %d %v %v (metrics %+v)",
					rec.Desired, rec.Reasons, rec.Blocked, tc.desired, tc.reasons, tc.blocked, rec.Metrics)
			}
			wantDir := None
			if tc.desired > obs.Target {
				wantDir = Up
			} else if tc.desired < obs.Target {
				wantDir = Down
			}
			if rec.Direction != wantDir {
				t.Errorf("direction %v, want %v", rec.Direction, wantDir)
			}
			if rec.Blocked&^rec.Reasons != 0 {
				t.Errorf("blocked %v not within reasons %v", rec.Blocked, rec.Reasons)
			}
			if len(rec.Metrics) != len(rp.Metrics) {
				t.Errorf("%d metric results for %d metrics", len(rec.Metrics), len(rp.Metrics))
			}
		})
	}
}

func TestMetricBreakdown(t *testing.T) {
	rp := plain()
	rp.Metrics = append(rp.Metrics, Metric{Strategy: StrategyTarget, Signal: "requests_per_second", TargetPerInstance: 800})
	obs := Observation{Now: t0, Target: 4, Healthy: 4, Metrics: map[string]MetricValue{
		"cpu_utilization": {Values: fill(4, 0.75)}, "requests_per_second": {Missing: 4, Reason: "scrape_failed"}}}
	var rec Recommendation
	Recommend(rp, &obs, &History{}, &rec)
	want := []MetricResult{
		{Key: "cpu_utilization", Value: 0.75, Target: 0.5, Desired: 6, Reason: "metrics"},
		{Key: "requests_per_second", Target: 0, Desired: 4, Missing: true, Reason: "scrape_failed"},
	}
	if !reflect.DeepEqual(rec.Metrics, want) {
		t.Errorf("metrics = %+v\nwant %+v", rec.Metrics, want)
	}
	if rec.Current != 4 {
		t.Errorf("current = %d", rec.Current)
	}
}

// stabilize runs recommendations at the given offsets from t0 with cpu
// values that ask for the given counts on a base of 10, and returns the last
// recommendation.
func TestStabilizationWindow(t *testing.T) {
	rp := plain()
	rp.Stabilization = UpDown{Up: time.Minute, Down: 5 * time.Minute}
	run := func(h *History, at time.Duration, target int, want float64) Recommendation {
		obs := Observation{Now: t0.Add(at), Target: target, Healthy: target, Metrics: cpu(want * 0.5 / float64(target))}
		var rec Recommendation
		Recommend(rp, &obs, h, &rec)
		return rec
	}
	t.Run("down acts on the highest of the window", func(t *testing.T) {
		var h History
		run(&h, 0, 10, 8)
		run(&h, time.Minute, 10, 6)
		if rec := run(&h, 2*time.Minute, 10, 4); rec.Desired != 8 || !rec.Reasons.Has(ReasonStabilizing) {
			t.Errorf("got %d %v, want 8 stabilizing", rec.Desired, rec.Reasons)
		}
		// At exactly 5m the sample from 0 has left the window.
		if rec := run(&h, 5*time.Minute, 10, 4); rec.Desired != 6 {
			t.Errorf("at the window edge got %d %v, want 6", rec.Desired, rec.Reasons)
		}
		if rec := run(&h, 5*time.Minute+time.Minute-1, 10, 4); rec.Desired != 6 {
			t.Errorf("1ns before the 1m sample leaves got %d, want 6", rec.Desired)
		}
		if rec := run(&h, 6*time.Minute, 10, 4); rec.Desired != 4 {
			t.Errorf("after the window got %d, want 4", rec.Desired)
		}
	})
	t.Run("up acts on the lowest of the window", func(t *testing.T) {
		var h History
		run(&h, 0, 4, 4)
		if rec := run(&h, 30*time.Second, 4, 8); rec.Desired != 4 || rec.Reasons != ReasonStabilizing {
			t.Errorf("got %d %v, want 4 stabilizing", rec.Desired, rec.Reasons)
		}
		if rec := run(&h, 59*time.Second, 4, 10); rec.Desired != 4 {
			t.Errorf("got %d, want 4", rec.Desired)
		}
		if rec := run(&h, 60*time.Second, 4, 10); rec.Desired != 8 {
			t.Errorf("at the window edge got %d %v, want 8 (lowest of 8, 10)", rec.Desired, rec.Reasons)
		}
	})
	t.Run("window memory stays bounded", func(t *testing.T) {
		var h History
		for i := range 1000 {
			run(&h, time.Duration(i)*15*time.Second, 10, 10)
		}
		if n := len(h.window); n > 21 {
			t.Errorf("window holds %d samples for 5m at 15s", n)
		}
	})
}

func TestThreshold(t *testing.T) {
	rp := plain()
	rp.Metrics = []Metric{{Strategy: StrategyThreshold, Signal: "cpu_utilization", Upper: 0.8, Lower: 0.3, Periods: 3, Step: 2}}
	var h History
	step := func(i int, target int, v float64) Recommendation {
		obs := Observation{Now: t0.Add(time.Duration(i) * 15 * time.Second), Target: target, Healthy: target, Metrics: cpu(v)}
		var rec Recommendation
		Recommend(rp, &obs, &h, &rec)
		return rec
	}
	for i, want := range []Reasons{ReasonStabilizing, ReasonStabilizing} {
		if rec := step(i, 4, 0.9); rec.Desired != 4 || rec.Reasons != want {
			t.Fatalf("obs %d: %d %v", i, rec.Desired, rec.Reasons)
		}
	}
	rec := step(2, 4, 0.9)
	if rec.Desired != 6 || rec.Reasons != ReasonMetrics {
		t.Fatalf("3rd: %d %v, want 6 metrics", rec.Desired, rec.Reasons)
	}
	// Not acted on (e.g. cooldown): the streak holds.
	if rec := step(3, 4, 0.9); rec.Desired != 6 {
		t.Fatalf("4th: %d, want 6", rec.Desired)
	}
	h.RecordScale(t0.Add(time.Minute), Up)
	if rec := step(4, 6, 0.9); rec.Desired != 6 || rec.Reasons != ReasonStabilizing {
		t.Fatalf("after the scale the count starts again: %d %v", rec.Desired, rec.Reasons)
	}
	// Within the bounds resets; a break in the streak means starting over.
	step(5, 6, 0.5)
	step(6, 6, 0.1)
	step(7, 6, 0.1)
	if rec := step(8, 6, 0.9); rec.Desired != 6 {
		t.Fatalf("direction change: %d", rec.Desired)
	}
	step(9, 6, 0.1)
	step(10, 6, 0.1)
	if rec := step(11, 6, 0.1); rec.Desired != 4 || rec.Direction != Down {
		t.Fatalf("down: %d %v", rec.Desired, rec.Direction)
	}
	// A missing value breaks the streak.
	h.RecordScale(t0.Add(3*time.Minute), Down)
	step(12, 4, 0.1)
	step(13, 4, 0.1)
	obs := Observation{Now: t0.Add(14 * 15 * time.Second), Target: 4, Healthy: 4}
	Recommend(rp, &obs, &h, &rec)
	if rec := step(15, 4, 0.1); rec.Desired != 4 {
		t.Fatalf("after missing: %d", rec.Desired)
	}
}

func TestScheduleFloor(t *testing.T) {
	rp := plain()
	rp.Schedule = []ScheduleEntry{
		{Cron: "0 8 * * 1-5", Duration: time.Hour, Min: 6},
		{Cron: "30 8 * * *", Duration: 10 * time.Minute, Min: 9, TimeZone: "Europe/Berlin"},
	}
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) // Monday; Berlin is UTC+1 in March before DST
	tests := []struct {
		at   time.Duration
		want int
	}{
		{8*time.Hour - 1, 0},
		{8 * time.Hour, 6},
		{9*time.Hour - 1, 6},
		{9 * time.Hour, 0},
		{7*time.Hour + 30*time.Minute, 9}, // 08:30 Berlin
		{7*time.Hour + 40*time.Minute - 1, 9},
		{7*time.Hour + 40*time.Minute, 0},
		{5*24*time.Hour + 8*time.Hour + time.Minute, 0}, // Saturday
	}
	for _, tc := range tests {
		if got := ScheduleFloor(rp, day.Add(tc.at)); got != tc.want {
			t.Errorf("at %v: floor %d, want %d", day.Add(tc.at), got, tc.want)
		}
	}
	// The floor raises the count, with reason schedule, even in a cooldown.
	rp.Cooldown.Up = time.Hour
	h := History{}
	h.RecordScale(day.Add(8*time.Hour-time.Minute), Down)
	obs := Observation{Now: day.Add(8 * time.Hour), Target: 3, Healthy: 3, Metrics: cpu(0.5)}
	var rec Recommendation
	Recommend(rp, &obs, &h, &rec)
	if rec.Desired != 6 || !rec.Reasons.Has(ReasonSchedule) || rec.Reasons.Primary() != "schedule" {
		t.Errorf("got %d %v", rec.Desired, rec.Reasons)
	}
	// Holding a floor against a scale-down.
	obs = Observation{Now: day.Add(8*time.Hour + time.Minute), Target: 6, Healthy: 6, Metrics: cpu(0.1)}
	Recommend(rp, &obs, &History{}, &rec)
	if rec.Desired != 6 || rec.Direction != None || !rec.Blocked.Has(ReasonAtMin) {
		t.Errorf("holding: got %d %v blocked %v", rec.Desired, rec.Reasons, rec.Blocked)
	}
}

func TestReasons(t *testing.T) {
	r := ReasonCooldown | ReasonAtMax | ReasonDryRun
	if got := r.Strings(); !reflect.DeepEqual(got, []string{"cooldown", "at_max", "dry_run"}) {
		t.Errorf("Strings() = %q", got)
	}
	if r.Primary() != "at_max" || r.String() != "cooldown,at_max,dry_run" {
		t.Errorf("Primary() = %q, String() = %q", r.Primary(), r.String())
	}
	if Reasons(0).Primary() != "" || len(Reasons(0).Strings()) != 0 {
		t.Error("empty reasons")
	}
	all := ReasonList()
	if len(all) != 20 {
		t.Fatalf("%d reasons", len(all))
	}
	seen := map[string]bool{}
	for _, x := range all {
		n := x.Primary()
		if n == "" || seen[n] {
			t.Errorf("reason %b has name %q", x, n)
		}
		seen[n] = true
	}
	for _, want := range []string{"within_tolerance", "stabilizing", "cooldown", "deployment_in_progress", "at_max", "at_min",
		"capacity", "metrics_missing", "unsafe_cluster", "replication_floor", "paused", "manual_override", "backoff", "dry_run",
		"metrics", "schedule", "bounds", "slo", "trend"} {
		if !seen[want] {
			t.Errorf("no reason %q", want)
		}
	}
	if Up.String() != "up" || Down.String() != "down" || None.String() != "none" {
		t.Error("Direction.String")
	}
}

func TestRecommendSteadyPathDoesNotAllocate(t *testing.T) {
	rp, obs := benchSetup()
	var h History
	var rec Recommendation
	for i := range 100 {
		obs.Now = t0.Add(time.Duration(i) * 15 * time.Second)
		Recommend(rp, obs, &h, &rec)
	}
	i := 100
	allocs := testing.AllocsPerRun(200, func() {
		obs.Now = t0.Add(time.Duration(i) * 15 * time.Second)
		i++
		Recommend(rp, obs, &h, &rec)
		_ = rec.Reasons.Primary()
	})
	if allocs != 0 {
		t.Errorf("%v allocs per Recommend", allocs)
	}
}
