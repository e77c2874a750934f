package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// Tests against the project's emulators: the same code paths as against a
// real cluster, over loopback HTTP.

func TestSimArangoCluster(t *testing.T) {
	clk := clock.NewVirtual(t0)
	c := arango.NewCluster("sim", clk, arango.Params{CPUs: 2, Agents: 3})
	crdn := c.ServerUp(arango.Coordinator, "crdn.t1", "tcp://127.0.0.1:18529")
	dbs1 := c.ServerUp(arango.DBServer, "dbs.t1", "tcp://127.0.0.1:18530")
	dbs2 := c.ServerUp(arango.DBServer, "dbs.t2", "tcp://127.0.0.1:18531")
	if err := c.AddCollection(arango.CollectionSpec{Name: "docs", NumberOfShards: 4, ReplicationFactor: 2, SizeBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	load := arango.Load{RequestsPerSecond: 200, CPUFraction: 0.5, LatencySeconds: 0.03, QueueLength: 2, MemRSSBytes: 1 << 30}
	for _, id := range []string{crdn, dbs1, dbs2} {
		c.SetLoad(id, load)
	}
	c.Step(clk.Now())
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()

	a := NewArangoDB(srv.Client(), srv.URL, clk, ArangoDBOptions{})
	s1, err := a.Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s1.Errors) != 0 {
		t.Fatal(s1.Errors)
	}
	if s1.Missing[crdn][SignalRequests] != reasonFirstScrape {
		t.Errorf("first scrape: %q", s1.Missing[crdn][SignalRequests])
	}
	clk.Advance(15 * time.Second)
	c.Step(clk.Now())
	s2, err := a.Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{crdn, dbs1, dbs2} {
		v := s2.Signals[id]
		if !near(v[SignalRequests], 200) || !near(v[SignalCPU], 0.5) || !near(v[SignalMemory], 0.25) || v[SignalQueue] != 2 {
			t.Errorf("%s: %v missing %v", id, v, s2.Missing[id])
		}
		if p := v[SignalLatencyP95]; p < 0.01 || p > 0.05 {
			t.Errorf("%s p95 = %v (%s)", id, p, s2.Missing[id][SignalLatencyP95])
		}
	}
	for _, id := range []string{dbs1, dbs2} {
		if v, ok := s2.Signals[id][SignalShards]; !ok || v != 4 {
			t.Errorf("%s shards = %v %v", id, v, ok)
		}
		if _, ok := s2.Signals[id][SignalDisk]; !ok {
			t.Errorf("%s disk missing: %s", id, s2.Missing[id][SignalDisk])
		}
	}

	// A DB server whose task is gone: BAD → not asked (it would not
	// answer), only its signals are missing, no source error.
	c.ServerDown("dbs.t2")
	clk.Advance(5 * time.Second) // BAD, not yet FAILED
	c.Step(clk.Now())
	s3, err := a.Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s3.Errors) != 0 || len(s3.Signals[dbs2]) != 0 || len(s3.Signals[dbs1]) == 0 || s3.Missing[dbs2][SignalCPU] != "server is BAD" {
		t.Errorf("after ServerDown: errors %v signals %v", s3.Errors, s3.Signals)
	}

	// Once FAILED it is no longer asked: missing, but not an error.
	clk.Advance(time.Minute)
	c.Step(clk.Now())
	s4, err := a.Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(s4.Errors) != 0 || s4.Missing[dbs2][SignalCPU] != "server is FAILED" {
		t.Errorf("after FAILED: errors %v missing %v", s4.Errors, s4.Missing[dbs2])
	}
}

func TestSimDCOS(t *testing.T) {
	for _, adminRouter := range []bool{false, true} {
		clk := clock.NewVirtual(t0)
		d, err := dcos.New(clk, dcos.Params{Agents: 3})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.AddApp(dcos.AppSpec{ID: "/arangodb/coordinator", Instances: 3, CPUs: 2, MemMB: 1024}); err != nil {
			t.Fatal(err)
		}
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		for range 4 {
			d.Step(clk.Advance(15 * time.Second))
		}
		var tasks []Task
		for _, st := range d.Tasks("/arangodb/coordinator") {
			tasks = append(tasks, Task{ID: st.ID, AgentID: st.AgentID, Host: st.Host, Ports: st.Ports})
			d.SetTaskUsage(st.ID, 0.4, 512<<20)
		}
		if len(tasks) != 3 {
			t.Fatalf("tasks %+v", tasks)
		}
		master := d.MesosURL()
		if adminRouter {
			master += "/mesos"
		}
		m := NewMesos(&http.Client{}, master, clk, MesosOptions{AdminRouter: adminRouter})
		capa, err := m.Capacity(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if cpus, _, _ := capa.Free(); capa.CPUsTotal != 24 || !near(cpus, 18) {
			t.Errorf("capacity %+v", capa)
		}
		if _, err := m.TaskStats(context.Background(), tasks); err != nil {
			t.Fatal(err)
		}
		d.Step(clk.Advance(15 * time.Second))
		u, err := m.TaskStats(context.Background(), tasks)
		if err != nil {
			t.Fatal(err)
		}
		// Mesos' limits include the command executor's 0.1 cpus and 32 MB,
		// so 0.8 of 2 cpus reads as 0.8/2.1.
		for _, tk := range tasks {
			got := u[tk.ID]
			if !got.CPUOK || !near(got.CPU, 0.8/2.1) || !got.MemoryOK || !near(got.Memory, 512.0/(1024+32)) {
				t.Errorf("admin router %v, %s: %+v", adminRouter, tk.ID, got)
			}
		}
	}
}

// TestSimCollector joins the two emulators the way the demo does: the
// ArangoDB servers' endpoints are their Marathon tasks' host:port.
func TestSimCollector(t *testing.T) {
	clk := clock.NewVirtual(t0)
	d, err := dcos.New(clk, dcos.Params{Agents: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddApp(dcos.AppSpec{ID: "/arangodb/coordinator", Instances: 2, CPUs: 1, MemMB: 2048}); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for range 4 {
		d.Step(clk.Advance(15 * time.Second))
	}
	c := arango.NewCluster("sim", clk, arango.Params{CPUs: 1})
	var tasks []Task
	for i, st := range d.Tasks("/arangodb/coordinator") {
		tasks = append(tasks, Task{ID: st.ID, AgentID: st.AgentID, Host: st.Host, Ports: st.Ports})
		id := c.ServerUp(arango.Coordinator, st.ID, fmt.Sprintf("tcp://%s:%d", st.Host, st.Ports[0]))
		c.SetLoad(id, arango.Load{RequestsPerSecond: 100, CPUFraction: 0.3, MemRSSBytes: 1 << 30})
		if i == 0 {
			d.SetTaskUsage(st.ID, 0.6, 1<<30) // Mesos sees this one
		}
	}
	c.Step(clk.Now())
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()

	var log errLog
	m := NewMesos(&http.Client{}, d.MesosURL(), clk, MesosOptions{})
	col := NewCollector(CollectorConfig{ArangoDB: NewArangoDB(srv.Client(), srv.URL, clk, ArangoDBOptions{}), Mesos: m, OnError: log.on})
	req := Request{Tasks: map[string][]Task{RoleCoordinators: tasks}, Signals: map[string][]string{RoleCoordinators: {SignalCPU, SignalRequests}}}
	col.Observe(context.Background(), req)
	clk.Advance(15 * time.Second)
	d.Step(clk.Now())
	c.Step(clk.Now())
	ob := col.Observe(context.Background(), req)
	cpu := ob.Roles[RoleCoordinators][SignalCPU]
	// Both tasks have Mesos statistics (the second one idle at 0).
	// 0.6 of 1 cpu over the limit with the executor's 0.1 cpus.
	if cpu.Missing != 0 || len(cpu.Values) != 2 || !near(cpu.Values[0], 0.6/1.1) || cpu.Values[1] != 0 {
		t.Errorf("cpu %+v", cpu)
	}
	rps := ob.Roles[RoleCoordinators][SignalRequests]
	if rps.Missing != 0 || len(rps.Values) != 2 || !near(rps.Values[0], 100) {
		t.Errorf("rps %+v", rps)
	}
	if !ob.CapacityOK || len(log.errs) != 0 {
		t.Errorf("capacity %v errors %v", ob.CapacityOK, log.errs)
	}

	// Without Mesos the CPU comes from ArangoDB through the endpoint link.
	col = NewCollector(CollectorConfig{ArangoDB: NewArangoDB(srv.Client(), srv.URL, clk, ArangoDBOptions{})})
	col.Observe(context.Background(), req)
	clk.Advance(15 * time.Second)
	c.Step(clk.Now())
	ob = col.Observe(context.Background(), req)
	cpu = ob.Roles[RoleCoordinators][SignalCPU]
	if cpu.Missing != 0 || len(cpu.Values) != 2 || !near(cpu.Values[0], 0.3) || cpu.IDs[0] != tasks[0].ID {
		t.Errorf("fallback cpu %+v", cpu)
	}
}
