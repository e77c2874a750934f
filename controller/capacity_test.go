package controller_test

import (
	"strings"
	"testing"
	"time"
)

// The coordinators' SLO model learns from the signals the controller
// collects for it (cpu and latency are no metric of the role), shows what
// it learned in /status and the metrics, and decides with reason slo.
func TestSLOModelLearnsAndDecides(t *testing.T) {
	h := newHarness(t, harnessOpts{slo: true})
	// Before any history the model says so and the metric decides.
	h.run(time.Minute)
	c := h.role("coordinators").Capacity
	if c == nil || c.Ready || c.NotReady == "" {
		t.Fatalf("capacity after a minute = %+v, want not ready with a reason", c)
	}
	if v := h.metric("arangoscale_slo_model_ready", map[string]string{"role": "coordinators"}); v != 0 {
		t.Fatalf("arangoscale_slo_model_ready = %g, want 0", v)
	}
	// Load that moves gives the fit its spread.
	for _, rps := range []float64{600, 1100, 900, 1400, 1200} {
		h.setRPS(rps)
		h.run(4 * time.Minute)
	}
	rs := h.role("coordinators")
	c = rs.Capacity
	if c == nil || !c.Ready {
		t.Fatalf("capacity = %+v, want ready", c)
	}
	// The emulated coordinator serves 1000 rps at 100 % cpu; Mesos counts
	// the executor's 0.1 cpus in the limit, so the signal reads 2/2.1 of
	// it and the learned rate at a signal of 1.0 is about 1050.
	if c.CapacityPerInstance < 950 || c.CapacityPerInstance > 1150 || c.UtilizationTarget <= 0 || c.UtilizationTarget > 0.9 || c.Headroom < 1 {
		t.Fatalf("learned %+v", c)
	}
	if c.Needed < 2 || rs.Desired < 2 {
		t.Fatalf("needed %d, desired %d", c.Needed, rs.Desired)
	}
	decided := strings.Join(rs.Reasons, ",")
	if !c.Decided && !strings.Contains(decided, "within_tolerance") {
		t.Errorf("reasons %s with the model ready and not deciding", decided)
	}
	if got := h.metric("arangoscale_capacity_per_instance_rps", map[string]string{"role": "coordinators"}); got != c.CapacityPerInstance {
		t.Errorf("arangoscale_capacity_per_instance_rps = %g, /status %g", got, c.CapacityPerInstance)
	}
	if got := h.metric("arangoscale_slo_desired_instances", map[string]string{"role": "coordinators"}); got != float64(max(c.Needed, c.TrendNeeded)) {
		t.Errorf("arangoscale_slo_desired_instances = %g, /status %d", got, c.Needed)
	}
	for _, m := range []string{"arangoscale_headroom_ratio", "arangoscale_slo_utilization_target", "arangoscale_slo_model_ready"} {
		if h.metric(m, map[string]string{"role": "coordinators"}) <= 0 {
			t.Errorf("%s not published", m)
		}
	}
	// The DB servers have no slo: no capacity in /status, no series.
	if h.role("dbservers").Capacity != nil || h.metric("arangoscale_slo_model_ready", map[string]string{"role": "dbservers"}) != 0 {
		t.Error("dbservers show an SLO model")
	}
	// A decision moved by the model says so.
	if n := h.metric("arangoscale_decisions_total", map[string]string{"role": "coordinators", "reason": "slo"}) +
		h.metric("arangoscale_decisions_total", map[string]string{"role": "coordinators", "reason": "trend"}); n == 0 {
		t.Error("no decision with reason slo or trend")
	}
	// Dropping the slo on reload drops its series and /status entry.
	h.reload(harnessOpts{})
	h.run(15 * time.Second)
	if h.role("coordinators").Capacity != nil || h.metric("arangoscale_capacity_per_instance_rps", nil) != 0 {
		t.Error("slo series left after the slo was removed")
	}
}
