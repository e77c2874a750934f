package controller_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// BenchmarkReconcile measures one reconcile of every cluster (both roles)
// against the emulated world over HTTP. ns/op is the wall time of one
// interval's work; cpu-ms/op the process CPU it took (emulators included,
// so an upper bound for the controller); heap-MiB the live heap the
// controller added once warmed up.
func BenchmarkReconcile(b *testing.B) {
	for _, n := range []int{50, 500} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) { benchReconcile(b, n) })
	}
}

func benchReconcile(b *testing.B, n int) {
	clk := clock.NewVirtual(t0)
	p := sim.DefaultParams()
	// 30 agents (the emulator's port ranges allow no more), sized for 5
	// instances (16 cpus, 56 GiB) per cluster with room to scale.
	p.DCOS.Agents = 30
	p.DCOS.AgentCPUs = float64(n)
	p.DCOS.AgentMemMB = float64(n) * 4 * 1024
	var specs []sim.ClusterSpec
	var yaml strings.Builder
	yaml.WriteString("clusters:\n")
	for i := range n {
		name := fmt.Sprintf("c%03d", i)
		specs = append(specs, sim.ClusterSpec{
			Name: name, Coordinators: 2, DBServers: 3, Load: sim.Constant(800),
			Collections: []arango.CollectionSpec{{Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 1 << 30}},
		})
	}
	w, err := sim.NewWorld(clk, p, specs...)
	if err != nil {
		b.Fatal(err)
	}
	if err := w.Start(); err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for i := range n {
		name := fmt.Sprintf("c%03d", i)
		fmt.Fprintf(&yaml, `  - name: %s
    arangodb: {endpoints: [%s]}
    marathon: {coordinators: /arangodb-%s/coordinator, dbservers: /arangodb-%s/dbserver}
    roles:
      coordinators: {min: 2, max: 10, metrics: [{signal: cpu_utilization, target: 0.7}, {signal: requests_per_second, target_per_instance: 650}]}
      dbservers: {min: 3, max: 6, metrics: [{signal: cpu_utilization, target: 0.7}, {signal: disk_utilization, target: 0.8}]}
`, name, w.ArangoURL(name), name, name)
	}
	pol, err := policy.Load("bench.yaml", []byte(yaml.String()))
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	s := &controller.Setup{MarathonURL: w.MarathonURL(), MesosURL: w.MesosURL(), Clock: clk,
		Registry: prometheus.NewRegistry(), Interval: step, SourceTimeout: 10 * time.Second}
	ctl, err := s.Build()
	if err != nil {
		b.Fatal(err)
	}
	if err := ctl.SetPolicy(pol); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for range 3 { // warm up: rates need two scrapes
		w.Advance(step)
		ctl.Step(ctx, true)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	heap := float64(int64(after.HeapInuse)-int64(before.HeapInuse)) / (1 << 20)
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		w.Advance(step)
		ctl.Step(ctx, true)
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(heap, "heap-MiB") // after ResetTimer, which drops reported metrics
}
