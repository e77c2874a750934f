package controller_test

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAlertRuleMetricsExist checks that every metric the shipped alert
// rules use is one this controller's registry exports.
func TestAlertRuleMetricsExist(t *testing.T) {
	f, err := os.Open("../deploy/prometheus/metric_names.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// With an slo whose model gets ready, and a forecast: their gauges
	// have series only then.
	h := newHarness(t, harnessOpts{slo: true, forecast: "        forecast: {mode: forecast_only}"})
	for _, rps := range []float64{600, 1100, 900, 1400} {
		h.setRPS(rps)
		h.run(3 * time.Minute)
	}
	h.ctl.ReloadResult(true)
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		have[mf.GetName()] = true
	}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		n++
		if haMetrics[name] {
			continue // exported by package ha's node, checked in its tests
		}
		// Counters without any event yet have no series; they are
		// registered all the same (their help text is exported).
		if !have[name] && !registered(h, name) {
			t.Errorf("alert rules use %s, which the controller does not export", name)
		}
	}
	if n == 0 {
		t.Fatal("no metric names read")
	}
}

// haMetrics are the names a replica's ZooKeeper node adds to the
// controller's registry when ARANGOSCALE_ZK is set.
var haMetrics = map[string]bool{"arangoscale_leader": true, "arangoscale_owned_clusters": true, "arangoscale_zk_connected": true}

// registered reports whether the metrics endpoint lists name's HELP line.
func registered(h *harness, name string) bool {
	srv := httptestServer(h.t, h.ctl.Handler(controllerHTTPOptions()))
	_, body := get(h.t, srv+"/metrics")
	return strings.Contains(body, "# HELP "+name+" ")
}
