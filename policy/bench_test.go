package policy

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchSetup is a role with 5 metrics over 100 instances.
func benchSetup() (*RolePolicy, *Observation) {
	cfg, err := Load("bench.yaml", []byte(`clusters:
  - name: bench
    arangodb: {endpoints: ["http://c:8529"]}
    marathon: {coordinators: /arangodb-bench/coordinator}
    roles:
      coordinators:
        min: 2
        max: 200
        metrics:
          - {signal: cpu_utilization, target: 0.65}
          - {signal: memory_utilization, target: 0.8}
          - {signal: requests_per_second, target_per_instance: 800}
          - {strategy: threshold, signal: scheduler_queue_length, upper: 50, lower: 1}
          - {promql: 'sum(rate(http_requests_total[2m]))', target_per_instance: 500}
        schedule: [{cron: "0 8 * * 1-5", duration: 11h, min: 6}]
`))
	if err != nil {
		panic(err)
	}
	rp := cfg.Clusters[0].Roles[Coordinators]
	vals := func(v float64) []float64 { return fill(100, v) }
	obs := &Observation{Target: 100, Running: 100, Healthy: 100, Metrics: map[string]MetricValue{
		"cpu_utilization":                           {Values: vals(0.6)},
		"memory_utilization":                        {Values: vals(0.5)},
		"requests_per_second":                       {Values: vals(700)},
		"scheduler_queue_length":                    {Values: vals(3)},
		"promql:sum(rate(http_requests_total[2m]))": {Values: []float64{40000}, Aggregate: true},
	}}
	return rp, obs
}

func BenchmarkRecommend(b *testing.B) {
	rp, obs := benchSetup()
	var h History
	var rec Recommendation
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		obs.Now = t0.Add(time.Duration(i) * 15 * time.Second)
		i++
		Recommend(rp, obs, &h, &rec)
	}
}

func fiftyClusters() []byte {
	var b strings.Builder
	b.WriteString("clusters:\n")
	for i := range 50 {
		fmt.Fprintf(&b, `  - name: c%d
    interval: 15s
    arangodb: {endpoints: ["http://coordinator.arangodb-c%d.l4lb.thisdcos.directory:8529"]}
    marathon: {coordinators: /arangodb-c%d/coordinator, dbservers: /arangodb-c%d/dbserver}
    roles:
      coordinators:
        min: 2
        max: 16
        metrics:
          - {signal: cpu_utilization, target: 0.65}
          - {signal: requests_per_second, target_per_instance: 800}
          - {promql: 'sum(rate(http_requests_total{job="api"}[2m]))', target_per_instance: 500}
        tolerance: 0.1
        stabilization: {up: 0s, down: 5m}
        cooldown: {up: 1m, down: 10m}
        step: {up: "100%%", down: 1}
        schedule: [{cron: "0 8 * * 1-5", duration: 11h, min: 6, time_zone: Europe/Berlin}]
      dbservers:
        min: 3
        max: 9
        metrics:
          - {signal: disk_utilization, target: 0.7}
          - {strategy: threshold, signal: cpu_utilization, upper: 0.8, lower: 0.3}
        step: {up: 1, down: 1}
`, i, i, i, i)
	}
	return []byte(b.String())
}

func BenchmarkLoad50Clusters(b *testing.B) {
	data := fiftyClusters()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load("bench.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func TestFiftyClustersLoad(t *testing.T) {
	cfg, err := Load("fifty.yaml", fiftyClusters())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Clusters) != 50 {
		t.Fatalf("%d clusters", len(cfg.Clusters))
	}
}
