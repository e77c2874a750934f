package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

type errLog struct {
	mu   sync.Mutex
	errs map[string][]error
}

func (l *errLog) on(source string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.errs == nil {
		l.errs = map[string][]error{}
	}
	l.errs[source] = append(l.errs[source], err)
}

// threeTasks are the Marathon tasks of threeServerHealth's coordinator and
// DB servers: the coordinator's on agent S1, both DB servers' on S2.
func threeTasks() map[string][]Task {
	return map[string][]Task{
		RoleCoordinators: {{ID: "crdn.t1", AgentID: "S1", Host: "10.0.0.1", Ports: []int{8529}}},
		RoleDBServers: {
			{ID: "dbs.t1", AgentID: "S2", Host: "10.0.0.2", Ports: []int{8530}},
			{ID: "dbs.t2", AgentID: "S2", Host: "10.0.0.3", Ports: []int{8530}},
		},
	}
}

// TestCollectorObserve, side by side and with CollectorConfig.Sequential
// (the sources one after another, as a replay reads them): the same
// observation.
func TestCollectorObserve(t *testing.T) {
	for _, seq := range []bool{false, true} {
		t.Run(fmt.Sprintf("sequential=%v", seq), func(t *testing.T) { testCollectorObserve(t, seq) })
	}
}

func testCollectorObserve(t *testing.T, seq bool) {
	par := 0
	if seq {
		par = 1
	}
	clk := clock.NewVirtual(t0)
	fa := newFakeArango(t)
	fm := newFakeMesos(t, false, "S1", "S2")
	fp, _ := newFakePrometheus(t)
	prom, err := NewPrometheus(fp.URL, fp.Client())
	if err != nil {
		t.Fatal(err)
	}
	var log errLog
	c := NewCollector(CollectorConfig{
		ArangoDB:   NewArangoDB(fa.srv.Client(), fa.srv.URL, clk, ArangoDBOptions{Parallel: par}),
		Mesos:      NewMesos(fm.master.Client(), fm.master.URL, clk, MesosOptions{Sequential: seq}),
		Prometheus: prom,
		OnError:    log.on,
		Clock:      clk,
		Sequential: seq,
	})
	req := Request{
		Tasks: threeTasks(),
		Signals: map[string][]string{
			RoleCoordinators: {SignalCPU, SignalRequests, SignalMemory},
			RoleDBServers:    {SignalCPU, SignalDisk, SignalMemory, "bogus_signal"},
		},
		PromQL: map[string][]string{RoleCoordinators: {"one", "two"}},
	}
	fm.failing["S2"] = true // DB servers' CPU falls back to ArangoDB
	fa.fail("PRMR-2", 500)  // and PRMR-2's signals are missing
	publish := func(req, cpu, mesosCPU float64, ts float64) {
		for _, id := range []string{"CRDN-1", "PRMR-1"} {
			fa.set(id, fixtureBody(t, map[string]string{mRequests: fmt.Sprint(req), mUserTime: fmt.Sprint(cpu), mSystemTime: "0"}))
		}
		fm.setStats("S1", fmt.Sprintf(`[{"executor_id":"crdn.t1","statistics":{"cpus_limit":2,"cpus_user_time_secs":%v,"cpus_system_time_secs":0,"mem_limit_bytes":1000,"mem_rss_bytes":250,"timestamp":%v}}]`, mesosCPU, ts))
	}
	publish(100, 10, 50, 1000)
	ob := c.Observe(context.Background(), req)
	if !ob.CapacityOK || ob.Capacity.CPUsTotal != 64 || len(ob.Servers) != 4 {
		t.Errorf("capacity %+v ok %v servers %d", ob.Capacity, ob.CapacityOK, len(ob.Servers))
	}
	co := ob.Roles[RoleCoordinators]
	if s := co[SignalCPU]; s.Missing != 1 || len(s.Values) != 0 || !strings.Contains(s.Reason, reasonFirstScrape) {
		t.Errorf("first cpu %+v", s)
	}
	if s := co[SignalMemory]; s.Missing != 0 || len(s.Values) != 1 || s.Values[0] != 0.25 || s.IDs[0] != "crdn.t1" {
		t.Errorf("memory from Mesos %+v", s)
	}
	if s := co[PromQLSignalPrefix+"one"]; !s.Aggregate || len(s.Values) != 1 || s.Values[0] != 1234.5 {
		t.Errorf("promql one %+v", s)
	}
	if s := co[PromQLSignalPrefix+"two"]; s.Missing != 1 || !strings.Contains(s.Reason, "2 series") {
		t.Errorf("promql two %+v", s)
	}

	clk.Advance(10 * time.Second)
	publish(600, 15, 60, 1010)
	ob = c.Observe(context.Background(), req)
	co = ob.Roles[RoleCoordinators]
	if s := co[SignalCPU]; s.Missing != 0 || len(s.Values) != 1 || !near(s.Values[0], 0.5) {
		t.Errorf("coordinator cpu from Mesos %+v", s)
	}
	if s := co[SignalRequests]; s.Missing != 0 || len(s.Values) != 1 || !near(s.Values[0], 50) || s.IDs[0] != "CRDN-1" {
		t.Errorf("rps %+v", s)
	}
	db := ob.Roles[RoleDBServers]
	// dbs.t1: Mesos agent down → ArangoDB process time 5 s/10 s on 5 cores.
	// dbs.t2: Mesos down and its ArangoDB server failing → missing.
	if s := db[SignalCPU]; len(s.Values) != 1 || !near(s.Values[0], 0.1) || s.IDs[0] != "dbs.t1" || s.Missing != 1 || !strings.Contains(s.Reason, "dbs.t2") {
		t.Errorf("dbserver cpu %+v", s)
	}
	if s := db[SignalDisk]; len(s.Values) != 1 || s.Missing != 1 || !strings.Contains(s.Reason, "DBServer0002: scrape failed") {
		t.Errorf("disk %+v", s)
	}
	if s := db["bogus_signal"]; s.Missing != 2 || !strings.Contains(s.Reason, "unknown signal") {
		t.Errorf("bogus %+v", s)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	var ae *AgentError
	var se *ServerError
	if len(log.errs[SourceMesos]) != 2 || !errors.As(log.errs[SourceMesos][0], &ae) || ae.AgentID != "S2" {
		t.Errorf("mesos errors %v", log.errs[SourceMesos])
	}
	if len(log.errs[SourceArangoDB]) != 2 || !errors.As(log.errs[SourceArangoDB][0], &se) || se.ServerID != "PRMR-2" {
		t.Errorf("arangodb errors %v", log.errs[SourceArangoDB])
	}
	if len(log.errs[SourcePrometheus]) != 0 {
		t.Errorf("prometheus errors %v (a non-single answer is not a source failure)", log.errs[SourcePrometheus])
	}
	if len(ob.Errors) != 2 {
		t.Errorf("observation errors %v", ob.Errors)
	}
}

func TestCollectorSourcesDown(t *testing.T) {
	clk := clock.NewVirtual(t0)
	fa := newFakeArango(t)
	fa.fail("health", 503)
	var log errLog
	c := NewCollector(CollectorConfig{
		ArangoDB: NewArangoDB(fa.srv.Client(), fa.srv.URL, clk, ArangoDBOptions{}),
		OnError:  log.on,
	})
	ob := c.Observe(context.Background(), Request{
		Tasks:   map[string][]Task{RoleDBServers: {{ID: "a"}, {ID: "b"}, {ID: "c"}}},
		Signals: map[string][]string{RoleDBServers: {SignalDisk, SignalCPU}},
		PromQL:  map[string][]string{RoleDBServers: {"up"}},
	})
	db := ob.Roles[RoleDBServers]
	if s := db[SignalDisk]; s.Missing != 3 || len(s.Values) != 0 || !strings.Contains(s.Reason, "health unreadable") {
		t.Errorf("disk %+v", s)
	}
	if s := db[SignalCPU]; s.Missing != 3 || len(s.Values) != 0 {
		t.Errorf("cpu %+v", s)
	}
	if s := db[PromQLSignalPrefix+"up"]; s.Missing != 1 || !strings.Contains(s.Reason, "no Prometheus") {
		t.Errorf("promql %+v", s)
	}
	if ob.CapacityOK || len(log.errs[SourceArangoDB]) != 1 {
		t.Errorf("capacity ok %v, errors %v", ob.CapacityOK, log.errs)
	}
}

func TestCollectorDeadline(t *testing.T) {
	// A source that never answers is cut at the collector's deadline.
	block := make(chan struct{})
	defer close(block)
	fa := newFakeArangoWrapped(t, func(http.Handler) http.Handler { return blockHandler(block) })
	var log errLog
	c := NewCollector(CollectorConfig{
		ArangoDB: NewArangoDB(fa.srv.Client(), fa.srv.URL, clock.NewVirtual(t0), ArangoDBOptions{}),
		OnError:  log.on,
		Timeout:  50 * time.Millisecond,
	})
	ob := c.Observe(context.Background(), Request{Signals: map[string][]string{RoleCoordinators: {SignalRequests}}})
	if len(ob.Errors) != 1 || !errors.Is(ob.Errors[0], context.DeadlineExceeded) {
		t.Errorf("errors %v", ob.Errors)
	}
}

// A role that reads only cpu is not scraped from ArangoDB while Mesos has
// its statistics; a task Mesos has none for gets its server scraped, and
// from the second such interval its cpu from ArangoDB's process time.
func TestCollectorScrapesOnlyWhatSignalsRead(t *testing.T) {
	clk := clock.NewVirtual(t0)
	fa := newFakeArango(t)
	fm := newFakeMesos(t, false, "S1", "S2")
	c := NewCollector(CollectorConfig{
		ArangoDB: NewArangoDB(fa.srv.Client(), fa.srv.URL, clk, ArangoDBOptions{}),
		Mesos:    NewMesos(fm.master.Client(), fm.master.URL, clk, MesosOptions{}),
	})
	req := Request{
		Tasks:   threeTasks(),
		Signals: map[string][]string{RoleCoordinators: {SignalCPU}, RoleDBServers: {SignalCPU}},
	}
	fm.failing["S2"] = true
	scraped := func() (ids []string) {
		fa.mu.Lock()
		defer fa.mu.Unlock()
		for _, r := range fa.requests {
			if strings.HasPrefix(r, "/_admin/metrics/v2") {
				ids = append(ids, r[strings.Index(r, "serverId=")+len("serverId="):])
			}
		}
		fa.requests = nil
		slices.Sort(ids)
		return ids
	}
	publish := func(cpu, mesosCPU, ts float64) {
		for _, id := range []string{"CRDN-1", "PRMR-1", "PRMR-2"} {
			fa.set(id, fixtureBody(t, map[string]string{mUserTime: fmt.Sprint(cpu), mSystemTime: "0"}))
		}
		fm.setStats("S1", fmt.Sprintf(`[{"executor_id":"crdn.t1","statistics":{"cpus_limit":2,"cpus_user_time_secs":%v,"cpus_system_time_secs":0,"mem_limit_bytes":1000,"mem_rss_bytes":250,"timestamp":%v}}]`, mesosCPU, ts))
	}
	publish(10, 50, 1000)
	c.Observe(context.Background(), req)
	// The first Mesos sample gives no cpu rate either: all three are asked.
	if got := scraped(); !slices.Equal(got, []string{"CRDN-1", "PRMR-1", "PRMR-2"}) {
		t.Errorf("first: scraped %v", got)
	}
	clk.Advance(10 * time.Second)
	publish(15, 60, 1010)
	ob := c.Observe(context.Background(), req)
	if got := scraped(); !slices.Equal(got, []string{"PRMR-1", "PRMR-2"}) {
		t.Errorf("scraped %v, want only the DB servers Mesos has no statistics for", got)
	}
	if s := ob.Roles[RoleCoordinators][SignalCPU]; s.Missing != 0 || !near(s.Values[0], 0.5) {
		t.Errorf("coordinator cpu from Mesos %+v", s)
	}
	if s := ob.Roles[RoleDBServers][SignalCPU]; s.Missing != 0 || len(s.Values) != 2 || !near(s.Values[0], 0.1) {
		t.Errorf("DB server cpu from ArangoDB %+v", s)
	}

	fm.failing["S2"] = false
	fm.setStats("S2", `[]`)
	clk.Advance(10 * time.Second)
	publish(20, 70, 1020)
	c.Observe(context.Background(), req)
	if got := scraped(); !slices.Equal(got, []string{"PRMR-1", "PRMR-2"}) {
		t.Errorf("scraped %v with no statistics for either DB server", got)
	}
}

// An ArangoDB-only read (the disk usage a scale-down checks between
// intervals) asks neither Mesos nor Prometheus, and gives a PromQL signal
// as missing, not as 0.
func TestCollectorArangoDBOnly(t *testing.T) {
	clk := clock.NewVirtual(t0)
	fa := newFakeArango(t)
	fm := newFakeMesos(t, false, "S1", "S2")
	fp, times := newFakePrometheus(t)
	prom, err := NewPrometheus(fp.URL, fp.Client())
	if err != nil {
		t.Fatal(err)
	}
	c := NewCollector(CollectorConfig{
		ArangoDB:   NewArangoDB(fa.srv.Client(), fa.srv.URL, clk, ArangoDBOptions{}),
		Mesos:      NewMesos(fm.master.Client(), fm.master.URL, clk, MesosOptions{}),
		Prometheus: prom,
		Clock:      clk,
	})
	for _, id := range []string{"CRDN-1", "PRMR-1", "PRMR-2"} {
		fa.set(id, fixtureBody(t, nil))
	}
	ob := c.Observe(context.Background(), Request{
		Signals:      map[string][]string{RoleDBServers: {SignalDisk}},
		PromQL:       map[string][]string{RoleDBServers: {"one"}},
		ArangoDBOnly: true,
	})
	if len(fm.hits) != 0 || len(*times) != 0 {
		t.Errorf("asked Mesos %v and Prometheus %d times", fm.hits, len(*times))
	}
	if ob.CapacityOK {
		t.Error("capacity read")
	}
	if s := ob.Roles[RoleDBServers][SignalDisk]; s == nil || s.Missing != 0 || len(s.Values) != 2 {
		t.Errorf("disk %+v", s)
	}
	if s := ob.Roles[RoleDBServers][PromQLSignalPrefix+"one"]; s == nil || s.Missing != 1 || len(s.Values) != 0 {
		t.Errorf("promql %+v", s)
	}
}
