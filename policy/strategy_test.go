package policy

import (
	"reflect"
	"testing"
	"time"
)

// hpaRole is a coordinator role on the hpa strategy with a 0.5 cpu target;
// its own tolerance, windows and steps are set to values the strategy must
// ignore.
func hpaRole() *RolePolicy {
	rp := plain()
	rp.Strategy = RoleStrategyHPA
	rp.Tolerance = 0.5
	rp.Stabilization = UpDown{Up: time.Hour, Down: time.Hour}
	rp.Cooldown = UpDown{Up: time.Hour, Down: time.Hour}
	rp.Step = StepLimits{Up: Step{Count: 1}, Down: Step{Count: 1}}
	rp.Schedule = []ScheduleEntry{{Cron: "* * * * *", Duration: time.Hour, Min: 15}}
	return rp
}

func TestHPAStrategy(t *testing.T) {
	for _, c := range []struct {
		name          string
		target, ready int
		cpu           float64
		want          int
	}{
		{"steady load: the textbook ceil(4 × 0.9/0.5)", 4, 4, 0.9, 8},
		{"ratio 1.08 within the 0.1 tolerance", 4, 4, 0.54, 4},
		{"ratio 1.1 at the tolerance edge", 4, 4, 0.55, 4},
		{"ratio 0.6 down", 6, 6, 0.3, 4},
		{"ratio 0.88 down: ceil(4.4)", 5, 5, 0.44, 5},
		{"scale-up limit: +4 beats +100 % at 2", 2, 2, 5, 6},
		{"scale-up limit: +100 % beats +4 at 10", 10, 10, 5, 20},
		{"unready count as idle on a rise: 0.9 × 2/4 / 0.5 = 0.9, within tolerance", 4, 2, 0.9, 4},
		{"unready count as idle on a rise: 1.5 × 2/4 / 0.5 = 1.5", 4, 2, 1.5, 6},
		{"unready count at the target on a fall: (0.2·2 + 0.5·2)/4/0.5 = 0.7", 4, 2, 0.2, 3},
		{"min holds", 2, 2, 0.01, 1},
		{"max holds", 15, 15, 5, 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			rp := hpaRole()
			var h History
			var out Recommendation
			obs := Observation{Now: t0, Target: c.target, Healthy: c.ready, Metrics: cpu(fill(c.ready, c.cpu)...)}
			Recommend(rp, &obs, &h, &out)
			if out.Desired != c.want {
				t.Fatalf("desired %d, want %d (reasons %s)", out.Desired, c.want, out.Reasons)
			}
		})
	}
}

// The HPA keeps the highest recommendation of the last 5 minutes for a
// scale-down, has no up window and no cooldown.
func TestHPADownStabilization(t *testing.T) {
	rp := hpaRole()
	var h History
	var out Recommendation
	step := func(at time.Duration, target int, v float64) int {
		obs := Observation{Now: t0.Add(at), Target: target, Healthy: target, Metrics: cpu(fill(target, v)...)}
		Recommend(rp, &obs, &h, &out)
		return out.Desired
	}
	if n := step(0, 4, 1.0); n != 8 {
		t.Fatalf("rise: %d, want 8", n)
	}
	h.RecordScale(t0, Up)
	// No cooldown: a further rise 15 s later goes through.
	if n := step(15*time.Second, 8, 1.0); n != 16 {
		t.Fatalf("second rise 15 s after a scale: %d, want 16", n)
	}
	h.RecordScale(t0.Add(15*time.Second), Up)
	if n := step(30*time.Second, 16, 0.1); n != 16 {
		t.Fatalf("fall within 5 min of a 16 recommendation: %d, want 16", n)
	}
	if n := step(15*time.Second+5*time.Minute-time.Second, 16, 0.1); n != 16 {
		t.Fatalf("fall while the 15 s recommendation (16) is in the window: %d, want 16", n)
	}
	if n := step(15*time.Second+5*time.Minute, 16, 0.1); n != 4 {
		t.Fatalf("after the window: %d, want ceil(16 × 0.2) = 4", n)
	}
}

// DB servers on the hpa strategy leave one at a time (each through a
// clean-out), however far the HPA would go down.
func TestHPADBServersOneAtATime(t *testing.T) {
	rp := hpaRole()
	rp.Role = DBServers
	var h History
	var out Recommendation
	obs := Observation{Now: t0, Target: 8, Healthy: 8, Metrics: cpu(fill(8, 0.05)...)}
	Recommend(rp, &obs, &h, &out)
	if out.Desired != 7 {
		t.Fatalf("desired %d, want 7", out.Desired)
	}
}

// marathon-autoscale's rule: more than 3 cycles above 0.8 scales by × 1.5;
// a cycle within the bounds resets the counter; below 0.2 ÷ 1.5.
func TestThresholdStrategy(t *testing.T) {
	rp := plain()
	rp.Strategy = RoleStrategyThreshold
	rp.Min = 2
	rp.Cooldown = UpDown{Up: time.Hour, Down: time.Hour}
	rp.Stabilization = UpDown{Down: time.Hour}
	rp.Metrics = []Metric{{Strategy: StrategyThreshold, Signal: "cpu_utilization", Upper: 0.8, Lower: 0.2, Periods: 4, Multiplier: 1.5}}
	var h History
	var out Recommendation
	at := t0
	next := func(target int, v float64) int {
		at = at.Add(15 * time.Second)
		obs := Observation{Now: at, Target: target, Healthy: target, Metrics: cpu(v)}
		Recommend(rp, &obs, &h, &out)
		if out.Desired != target {
			h.RecordScale(at, out.Direction)
		}
		return out.Desired
	}
	for i, want := range []int{4, 4, 4, 6} {
		if n := next(4, 0.9); n != want {
			t.Fatalf("cycle %d above: %d, want %d", i+1, n, want)
		}
	}
	next(6, 0.9)
	next(6, 0.9)
	next(6, 0.5) // within: resets
	for i, want := range []int{6, 6, 6, 9} {
		if n := next(6, 0.95); n != want {
			t.Fatalf("after reset, cycle %d: %d, want %d", i+1, n, want)
		}
	}
	// Down: floor(9/1.5) = 6, floor(6/1.5) = 4, floor(4/1.5) = 2, then min.
	for _, c := range []struct{ from, want int }{{9, 6}, {6, 4}, {4, 2}, {2, 2}} {
		var n int
		for range 4 {
			n = next(c.from, 0.1)
		}
		if n != c.want {
			t.Fatalf("down from %d: %d, want %d", c.from, n, c.want)
		}
	}
}

// A shard rebalance holds DB-server scale-downs, never scale-ups.
func TestRebalancingHoldsOnlyDown(t *testing.T) {
	rp := plain()
	rp.Role = DBServers
	for _, c := range []struct {
		v    float64
		want int
	}{{1.0, 8}, {0.1, 4}} {
		var h History
		var out Recommendation
		obs := Observation{Now: t0, Target: 4, Healthy: 4, Metrics: cpu(fill(4, c.v)...),
			Constraints: Constraints{Rebalancing: true}}
		Recommend(rp, &obs, &h, &out)
		if out.Desired != c.want {
			t.Errorf("cpu %v while rebalancing: desired %d, want %d", c.v, out.Desired, c.want)
		}
		if c.want == 4 && out.Blocked&ReasonDeploymentInProgress == 0 {
			t.Errorf("a held scale-down must say why: blocked %s", out.Blocked)
		}
	}
}

const strategiesYAML = `clusters:
  - name: prod
    arangodb: {endpoints: ["http://c:8529"]}
    marathon: {coordinators: /p/coordinator, dbservers: /p/dbserver}
    roles:
      coordinators:
        strategy: hpa
        min: 2
        max: 10
        metrics:
          - {signal: cpu_utilization, target: 0.6}
      dbservers:
        strategy: threshold
        min: 3
        max: 9
        metrics:
          - {strategy: threshold, signal: cpu_utilization, upper: 0.8, lower: 0.2, periods: 4, multiplier: 1.5}
`

// The strategies load with their fixed knobs, and the effective policy
// (which leaves those knobs out) loads back to the same config.
func TestStrategiesLoadAndRoundTrip(t *testing.T) {
	cfg, err := Load("strategies.yaml", []byte(strategiesYAML))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Clusters[0].Roles[Coordinators]
	if c.Strategy != RoleStrategyHPA || c.Tolerance != 0.1 || c.Stabilization != (UpDown{Down: 5 * time.Minute}) || c.Cooldown != (UpDown{}) {
		t.Errorf("hpa role: %+v", c)
	}
	d := cfg.Clusters[0].Roles[DBServers]
	if d.Strategy != RoleStrategyThreshold || d.Metrics[0].Multiplier != 1.5 || d.Metrics[0].Step != 0 || d.Cooldown != (UpDown{}) {
		t.Errorf("threshold role: %+v", d)
	}
	out, err := cfg.Effective()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load("effective.yaml", out)
	if err != nil {
		t.Fatalf("effective policy does not load:\n%s\n%v", out, err)
	}
	if !reflect.DeepEqual(stripParsed(cfg), stripParsed(again)) {
		t.Errorf("round trip changed the config:\n%s", out)
	}
}
