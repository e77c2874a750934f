package simulate

import (
	"strings"
	"testing"
	"time"
)

// --from skips the head of the trace: step.csv from 10 min on starts at
// 4,000 rps (until 20 min: samples at 15 s … 1,185 s), lasts 50 minutes,
// and its default start moves on by 10 min.
func TestFrom(t *testing.T) {
	o := stepOptions(t, Oracle)
	o.From = 10 * time.Minute
	r := result(t, run(t, o), "step", Oracle)
	if len(r.Samples) != 200 || r.Samples[0].Offered != 4000 || r.Samples[78].Offered != 4000 || r.Samples[79].Offered != 1000 {
		t.Fatalf("%d samples, offered %v %v %v; want 200 starting with 79 at 4,000 rps", len(r.Samples),
			r.Samples[0].Offered, r.Samples[78].Offered, r.Samples[79].Offered)
	}
	if want := DefaultStart.Add(10 * time.Minute); !r.Start.Equal(want) || r.From != 10*time.Minute {
		t.Errorf("start %s, from %s; want %s, 10m", r.Start, r.From, want)
	}
	o.From = time.Hour
	if _, err := Run(t.Context(), o); err == nil || !strings.Contains(err.Error(), "from 1h0m0s") {
		t.Errorf("from past the end: %v", err)
	}
}

// --warmup replays the step as history: counting the last 30 minutes of
// step.csv, hpa's overload on the rise (samples 39–44) and its scale-ups
// are not counted; what it does after the warm-up is — the scale-down
// from 8 (a flip against the warm-up's last scale-up) — and the samples
// count from the end of the warm-up.
func TestWarmup(t *testing.T) {
	cold := result(t, run(t, stepOptions(t, HPA)), "step", HPA)
	o := stepOptions(t, HPA, OracleTarget)
	o.Warmup = 30 * time.Minute
	rep := run(t, o)
	warm := result(t, rep, "step", HPA)
	if cold.OverloadMinutes != 1.5 || warm.OverloadMinutes != 0 {
		t.Errorf("overload cold %v, after the warm-up %v; want 1.5 and 0", cold.OverloadMinutes, warm.OverloadMinutes)
	}
	if len(warm.Samples) != 120 || warm.Samples[0].At != 15*time.Second || warm.Duration != 30*time.Minute || warm.Warmup != 30*time.Minute {
		t.Fatalf("%d samples from %s, duration %s, warm-up %s; want 120 from 15s, 30m, 30m",
			len(warm.Samples), warm.Samples[0].At, warm.Duration, warm.Warmup)
	}
	// Counted: 8 coordinators until the down window ends (cold sample 140
	// = counted sample 20), then 3, then 2.
	if warm.Samples[0].Coordinators != 8 || warm.Samples[20].Coordinators != 3 || warm.Samples[119].Coordinators != 2 {
		t.Errorf("counted coordinators %d, %d, %d; want 8, 3, 2", warm.Samples[0].Coordinators, warm.Samples[20].Coordinators,
			warm.Samples[119].Coordinators)
	}
	if cold.CoordinatorActions != 4 || warm.CoordinatorActions != 2 || warm.DirectionChanges < 1 {
		t.Errorf("coordinator actions cold %d, warm %d, direction changes %d; want 4, 2 and the flip down counted",
			cold.CoordinatorActions, warm.CoordinatorActions, warm.DirectionChanges)
	}
	var h float64
	for _, s := range warm.Samples {
		h += float64(s.Coordinators) * 15 / 3600
	}
	if !near(warm.CoordinatorHours, h) || warm.CoordinatorHours >= cold.CoordinatorHours {
		t.Errorf("coordinator hours %v, want %v from the counted samples only (cold %v)", warm.CoordinatorHours, h, cold.CoordinatorHours)
	}
	// The oracle at the target: 2 coordinators for the counted 30 minutes.
	if ot := result(t, rep, "step", OracleTarget); !near(ot.CoordinatorHours, 1) || ot.CoordinatorActions != 0 {
		t.Errorf("oracle-target after the warm-up: %v coordinator-h, %d actions; want 1 and 0", ot.CoordinatorHours, ot.CoordinatorActions)
	}
	var md strings.Builder
	if err := WriteMarkdown(&md, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "after a 30m0s warm-up (replayed, not counted), counted from Mon 2026-06-22 00:30 UTC") {
		t.Errorf("the report does not say the warm-up:\n%s", md.String())
	}
	o.Warmup = time.Hour
	if _, err := Run(t.Context(), o); err == nil || !strings.Contains(err.Error(), "warm-up of 1h0m0s") {
		t.Errorf("warm-up as long as the trace: %v", err)
	}
}
