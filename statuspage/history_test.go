package statuspage

import (
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
)

func status(at time.Time, current, desired int, dir string, reasons ...string) controller.Status {
	return controller.Status{Time: at, Clusters: []controller.ClusterRun{{Name: "c", Roles: []controller.RoleStatus{{
		Role: "coordinators", Observed: true, Current: current, Target: current, Desired: desired,
		Direction: dir, Reasons: reasons, DecidedAt: at,
		Signals: []controller.SignalStatus{{Signal: "cpu_utilization", Value: 0.5, Target: 0.65}},
	}}}}}
}

// A week of reconciles every 15 s keeps at most Window/Resolution+1
// samples, spaced at least Resolution apart, and the newest is the
// current state.
func TestHistoryIsBounded(t *testing.T) {
	h := NewHistory(HistoryOptions{Window: time.Hour, Resolution: time.Minute, Decisions: 5})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var last time.Time
	for i := range 7 * 24 * 240 {
		last = start.Add(time.Duration(i) * 15 * time.Second)
		n := 2 + i%3
		h.Record(status(last, n, n+1, "up", "metrics"))
	}
	ss := h.Samples("c", "coordinators")
	if len(ss) > 61 || len(ss) < 55 {
		t.Fatalf("%d samples for one hour at one a minute", len(ss))
	}
	for i := 1; i < len(ss)-1; i++ {
		if d := ss[i].At.Sub(ss[i-1].At); d < time.Minute {
			t.Fatalf("samples %d and %d %s apart", i-1, i, d)
		}
	}
	if end := ss[len(ss)-1]; !end.At.Equal(last) || last.Sub(ss[0].At) > time.Hour+time.Minute {
		t.Errorf("samples span %s..%s, want the hour up to %s", ss[0].At, end.At, last)
	}
	if got := len(h.Decisions()); got != 5 {
		t.Errorf("%d decisions kept, want 5", got)
	}
	if d := h.Decisions()[0]; !d.At.Equal(last) {
		t.Errorf("newest decision at %s, want %s", d.At, last)
	}
}

// A role that holds steady is listed once, not every interval; a role that
// left the policy is forgotten.
func TestHistoryDecisions(t *testing.T) {
	h := NewHistory(HistoryOptions{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		h.Record(status(t0.Add(time.Duration(i)*15*time.Second), 3, 3, "none", "within_tolerance"))
	}
	h.Record(status(t0.Add(3*time.Minute), 3, 4, "up", "metrics"))
	ds := h.Decisions()
	if len(ds) != 2 || ds[0].Direction != "up" || ds[0].Reasons[0] != "metrics" || ds[1].Reasons[0] != "within_tolerance" {
		t.Fatalf("decisions %+v", ds)
	}
	if l := h.Samples("c", "coordinators"); len(l) == 0 || l[len(l)-1].Load < 0.76 || l[len(l)-1].Load > 0.78 {
		t.Errorf("load of the last sample: %+v (want 0.5/0.65)", l)
	}
	h.Record(controller.Status{Time: t0.Add(4 * time.Minute)})
	if len(h.Decisions()) != 0 || h.Samples("c", "coordinators") != nil {
		t.Error("a cluster gone from the policy is still in the history")
	}
}
