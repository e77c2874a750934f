package policy

import (
	"strings"
	"testing"
	"time"
)

func TestSLOLoadDefaultsAndOptions(t *testing.T) {
	src := `clusters:
  - name: a
    arangodb: {endpoints: ["https://c:8529"]}
    marathon: {coordinators: /a/coordinator, dbservers: /a/dbserver}
    roles:
      coordinators:
        min: 2
        max: 8
        metrics: [{signal: cpu_utilization, target: 0.65}]
        slo: {latency_p95: 400ms}
      dbservers:
        min: 3
        max: 9
        metrics: [{signal: disk_utilization, target: 0.7}]
        slo:
          queue_length: 2.5
          max_utilization: 0.8
          lead: 90s
          headroom: {quantile: 0.99, window: 2h, base_window: 10m}
          trend: {}
`
	cfg, err := Load("s.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Clusters[0].Roles[Coordinators].SLO
	want := SLO{LatencyP95: 400 * time.Millisecond, MaxUtilization: 0.85, Lead: time.Minute,
		Headroom: Headroom{Quantile: 0.95, Window: 6 * time.Hour, BaseWindow: 30 * time.Minute}}
	if c == nil || *c != want {
		t.Fatalf("coordinators slo = %+v, want %+v", c, want)
	}
	d := cfg.Clusters[0].Roles[DBServers].SLO
	want = SLO{QueueLength: 2.5, MaxUtilization: 0.8, Lead: 90 * time.Second,
		Headroom: Headroom{Quantile: 0.99, Window: 2 * time.Hour, BaseWindow: 10 * time.Minute}, Trend: Trend{Window: 5 * time.Minute}}
	if d == nil || *d != want {
		t.Fatalf("dbservers slo = %+v, want %+v", d, want)
	}
	out, err := cfg.Effective()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"latency_p95: 400ms", "queue_length: 2.5", "base_window: 30m", "lead: 1m30s", "window: 5m"} {
		if !strings.Contains(string(out), s) {
			t.Errorf("effective policy lacks %q:\n%s", s, out)
		}
	}
	again, err := Load("e.yaml", out)
	if err != nil {
		t.Fatalf("effective policy does not load: %v", err)
	}
	if *again.Clusters[0].Roles[DBServers].SLO != want {
		t.Errorf("round trip changed the slo: %+v", again.Clusters[0].Roles[DBServers].SLO)
	}
}
