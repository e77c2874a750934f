package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

// statsFixture returns the Mesos docs' /monitor/statistics entries with
// executor_id/source and the CPU times and timestamp changed.
func statsFixture(t testing.TB, name string, edit func(e map[string]any, st map[string]any)) string {
	t.Helper()
	var es []map[string]any
	if err := json.Unmarshal(readTestdata(t, name), &es); err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		edit(e, e["statistics"].(map[string]any))
	}
	b, err := json.Marshal(es)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fakeMesos is a master (and, for the admin router, the agents behind it);
// agents reached directly are separate servers.
type fakeMesos struct {
	mu       sync.Mutex
	snapshot string
	slaves   string
	stats    map[string]string // agent id -> statistics body
	failing  map[string]bool   // agent id -> answer 500
	hits     map[string]int    // path -> requests
	master   *httptest.Server
	agents   map[string]*httptest.Server
}

const snapshotBody = `{"master/cpus_total":64,"master/cpus_used":40.5,"master/mem_total":257000,"master/mem_used":128500,` +
	`"master/disk_total":1000000,"master/disk_used":250000,"master/slaves_active":4,"master/uptime_secs":1234.5}`

func newFakeMesos(t testing.TB, adminRouter bool, agentIDs ...string) *fakeMesos {
	f := &fakeMesos{snapshot: snapshotBody, stats: map[string]string{}, failing: map[string]bool{}, hits: map[string]int{}, agents: map[string]*httptest.Server{}}
	serveStats := func(w http.ResponseWriter, id string) {
		if f.failing[id] {
			http.Error(w, "agent down", http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, f.stats[id])
	}
	prefix := ""
	if adminRouter {
		prefix = "/mesos"
	}
	f.master = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.hits[r.URL.Path]++
		switch {
		case r.URL.Path == prefix+"/metrics/snapshot":
			fmt.Fprint(w, f.snapshot)
		case r.URL.Path == prefix+"/master/slaves":
			fmt.Fprint(w, f.slaves)
		case adminRouter && strings.HasPrefix(r.URL.Path, "/slave/") && strings.HasSuffix(r.URL.Path, "/monitor/statistics"):
			serveStats(w, strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/slave/"), "/monitor/statistics"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.master.Close)
	var slaves []string
	for i, id := range agentIDs {
		host, port := fmt.Sprintf("10.9.9.%d", i+1), 5051
		if !adminRouter {
			id := id
			a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.hits[id+r.URL.Path]++
				if r.URL.Path != "/monitor/statistics" {
					http.NotFound(w, r)
					return
				}
				serveStats(w, id)
			}))
			t.Cleanup(a.Close)
			f.agents[id] = a
			u, _ := url.Parse(a.URL)
			h, p, _ := net.SplitHostPort(u.Host)
			host = h
			port, _ = strconv.Atoi(p)
		}
		slaves = append(slaves, fmt.Sprintf(`{"id":%q,"hostname":%q,"port":%d,"pid":"slave(1)@%s:%d","active":true,"resources":{"cpus":8}}`, id, host, port, host, port))
	}
	f.slaves = `{"slaves":[` + strings.Join(slaves, ",") + `],"recovered_slaves":[]}`
	return f
}

func (f *fakeMesos) setStats(id, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats[id] = body
}

func TestMesosCapacity(t *testing.T) {
	f := newFakeMesos(t, false)
	m := NewMesos(f.master.Client(), f.master.URL, clock.NewVirtual(t0), MesosOptions{})
	c, err := m.Capacity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cpus, mem, disk := c.Free()
	if cpus != 23.5 || mem != 128500 || disk != 750000 || c.AgentsActive != 4 {
		t.Errorf("capacity %+v free %v %v %v", c, cpus, mem, disk)
	}
	f.snapshot = `{"master/cpus_total":64}`
	if _, err := m.Capacity(context.Background()); !errors.Is(err, ErrBadBody) || !strings.Contains(err.Error(), "master/cpus_used") {
		t.Errorf("incomplete snapshot: %v", err)
	}
	f.snapshot = `<html>`
	if _, err := m.Capacity(context.Background()); !errors.Is(err, ErrBadBody) {
		t.Errorf("garbled snapshot: %v", err)
	}
}

func TestMesosTaskStatsDirect(t *testing.T) { testTaskStats(t, false) }

func TestMesosTaskStatsAdminRouter(t *testing.T) { testTaskStats(t, true) }

func testTaskStats(t *testing.T, adminRouter bool) {
	f := newFakeMesos(t, adminRouter, "S1", "S2")
	ts := 1388534400.0
	user, sys := 96348.84, 34501.45
	publish := func() {
		f.setStats("S1", statsFixture(t, "mesos_doc_agent_monitor_statistics.json", func(e, st map[string]any) {
			e["executor_id"] = "coord.task-1" // matched by executor id
			st["timestamp"], st["cpus_user_time_secs"], st["cpus_system_time_secs"] = ts, user, sys
		}))
		f.setStats("S2", statsFixture(t, "mesos_doc_agent_monitor_statistics_network-port-mapping.json", func(e, st map[string]any) {
			e["executor_id"] = "thermos-coord.task-2" // matched by source
			e["source"] = "coord.task-2"
			st["timestamp"] = ts
		}))
	}
	publish()
	master := f.master.URL
	opts := MesosOptions{AdminRouter: adminRouter}
	if adminRouter {
		master += "/mesos"
	}
	m := NewMesos(f.master.Client(), master, clock.NewVirtual(t0), opts)
	tasks := []Task{
		{ID: "coord.task-1", AgentID: "S1"},
		{ID: "coord.task-2", Host: agentHost(f, "S2", adminRouter)}, // found by host
		{ID: "coord.task-3", AgentID: "S1"},                         // not on the agent
		{ID: "coord.task-4", AgentID: "S9"},                         // unknown agent
	}
	u, err := m.TaskStats(context.Background(), tasks)
	if err != nil {
		t.Fatal(err)
	}
	if got := u["coord.task-1"]; got.CPUOK || !got.MemoryOK || !near(got.Memory, 5105614848.0/7650410496) || !strings.Contains(got.Reason, reasonFirstScrape) {
		t.Errorf("task-1 first: %+v", got)
	}
	if got := u["coord.task-2"]; got.CPUOK || !got.MemoryOK || !near(got.Memory, 8388608.0/167772160) {
		t.Errorf("task-2 first: %+v", got)
	}
	if got := u["coord.task-3"]; got.CPUOK || got.MemoryOK || got.Reason == "" {
		t.Errorf("task-3: %+v", got)
	}
	if got := u["coord.task-4"]; got.CPUOK || got.MemoryOK || !strings.Contains(got.Reason, "agent of task not found") {
		t.Errorf("task-4: %+v", got)
	}

	ts += 10
	user, sys = user+3, sys+1.125 // 4.125 CPU-seconds in 10 s on 8.25 CPUs
	publish()
	u, err = m.TaskStats(context.Background(), tasks)
	if err != nil {
		t.Fatal(err)
	}
	if got := u["coord.task-1"]; !got.CPUOK || !near(got.CPU, 0.05) {
		t.Errorf("task-1 second: %+v", got)
	}
	if got := u["coord.task-2"]; !got.CPUOK || got.CPU != 0 {
		t.Errorf("task-2 second (idle): %+v", got)
	}
	// One request per agent per observation.
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, id := range []string{"S1", "S2"} {
		key := id + "/monitor/statistics"
		if adminRouter {
			key = "/slave/" + id + "/monitor/statistics"
		}
		if f.hits[key] != 2 {
			t.Errorf("%s asked %d times in two observations (%v)", id, f.hits[key], f.hits)
		}
	}
}

func agentHost(f *fakeMesos, id string, adminRouter bool) string {
	if adminRouter {
		return "10.9.9." + strings.TrimPrefix(id, "S")
	}
	u, _ := url.Parse(f.agents[id].URL)
	h, _, _ := net.SplitHostPort(u.Host)
	return h
}

func TestMesosAgentFails(t *testing.T) {
	f := newFakeMesos(t, false, "S1", "S2")
	f.setStats("S1", statsFixture(t, "mesos_doc_agent_monitor_statistics.json", func(e, st map[string]any) { e["executor_id"] = "a" }))
	f.failing["S2"] = true
	m := NewMesos(f.master.Client(), f.master.URL, clock.NewVirtual(t0), MesosOptions{})
	u, err := m.TaskStats(context.Background(), []Task{{ID: "a", AgentID: "S1"}, {ID: "b", AgentID: "S2"}})
	var ae *AgentError
	if !errors.As(err, &ae) || ae.AgentID != "S2" || !errors.Is(err, ErrHTTPStatus) {
		t.Errorf("err = %v", err)
	}
	if !u["a"].MemoryOK || u["b"].MemoryOK || !strings.Contains(u["b"].Reason, "agent statistics unavailable") {
		t.Errorf("usage %+v", u)
	}
	f.failing["S2"] = false
	f.setStats("S2", `[{"executor_id":"b","statistics":{"cpus_limit":1,`) // truncated JSON
	_, err = m.TaskStats(context.Background(), []Task{{ID: "b", AgentID: "S2"}})
	if !errors.Is(err, ErrBadBody) {
		t.Errorf("truncated statistics: %v", err)
	}
}

func TestMesosTaskStatsCounterReset(t *testing.T) {
	f := newFakeMesos(t, false, "S1")
	m := NewMesos(f.master.Client(), f.master.URL, clock.NewVirtual(t0), MesosOptions{})
	obs := func(ts, cpu float64) TaskUsage {
		f.setStats("S1", fmt.Sprintf(`[{"executor_id":"x","statistics":{"cpus_limit":2,"cpus_user_time_secs":%v,"cpus_system_time_secs":0,"mem_limit_bytes":100,"mem_rss_bytes":50,"timestamp":%v}}]`, cpu, ts))
		u, err := m.TaskStats(context.Background(), []Task{{ID: "x", AgentID: "S1"}})
		if err != nil {
			t.Fatal(err)
		}
		return u["x"]
	}
	obs(1000, 500)
	if u := obs(1010, 510); !u.CPUOK || u.CPU != 0.5 {
		t.Errorf("rate %+v", u)
	}
	if u := obs(1020, 3); u.CPUOK || !strings.Contains(u.Reason, reasonCounterReset) || !u.MemoryOK {
		t.Errorf("after restart %+v", u)
	}
	if u := obs(1030, 13); !u.CPUOK || u.CPU != 0.5 {
		t.Errorf("after reset %+v", u)
	}
}

func TestMesosForgetsTasks(t *testing.T) {
	f := newFakeMesos(t, false, "S1")
	clk := clock.NewVirtual(t0)
	m := NewMesos(f.master.Client(), f.master.URL, clk, MesosOptions{ForgetAfter: time.Minute})
	f.setStats("S1", `[{"executor_id":"x","statistics":{"cpus_limit":2,"cpus_user_time_secs":1,"cpus_system_time_secs":0,"timestamp":5}},`+
		`{"executor_id":"y","statistics":{"cpus_limit":2,"cpus_user_time_secs":1,"cpus_system_time_secs":0,"timestamp":5}}]`)
	m.TaskStats(context.Background(), []Task{{ID: "x", AgentID: "S1"}, {ID: "y", AgentID: "S1"}})
	clk.Advance(2 * time.Minute)
	m.TaskStats(context.Background(), []Task{{ID: "x", AgentID: "S1"}})
	if n := m.rates.len(); n != 1 {
		t.Errorf("kept %d task rates", n)
	}
}

func TestParseAgents(t *testing.T) {
	as, err := parseAgents([]byte(`{"slaves":[{"id":"S0","hostname":"a1","port":5051,"pid":"slave(1)@10.0.0.5:5051"},{"id":"S1","pid":"slave(1)@10.0.0.6:5052"}]}`))
	if err != nil || len(as) != 2 {
		t.Fatal(as, err)
	}
	m := NewMesos(nil, "http://m:5050", clock.NewVirtual(t0), MesosOptions{})
	if u, _ := m.statsURL(as[0]); u != "http://a1:5051/monitor/statistics" {
		t.Error(u)
	}
	if u, _ := m.statsURL(as[1]); u != "http://10.0.0.6:5052/monitor/statistics" {
		t.Error(u)
	}
	ar := NewMesos(nil, "https://dcos.example.com/mesos/", clock.NewVirtual(t0), MesosOptions{AdminRouter: true})
	if u, _ := ar.statsURL(as[0]); u != "https://dcos.example.com/slave/S0/monitor/statistics" {
		t.Error(u)
	}
	for _, b := range []string{`{}`, `[]`, `{"slaves":`, `{"slaves":{}}`} {
		if _, err := parseAgents([]byte(b)); !errors.Is(err, ErrBadBody) {
			t.Errorf("%s: %v", b, err)
		}
	}
}

// TestMesosSharedAcrossClusters: one Mesos source shared by many clusters
// asks the master and each agent once per MaxAge, whatever the number of
// callers, and asks again once the answers are older.
func TestMesosSharedAcrossClusters(t *testing.T) {
	f := newFakeMesos(t, false, "S1", "S2")
	f.setStats("S1", statsFixture(t, "mesos_doc_agent_monitor_statistics.json", func(e, _ map[string]any) { e["executor_id"] = "a.task-1" }))
	f.setStats("S2", statsFixture(t, "mesos_doc_agent_monitor_statistics.json", func(e, _ map[string]any) { e["executor_id"] = "b.task-1" }))
	clk := clock.NewVirtual(t0)
	m := NewMesos(f.master.Client(), f.master.URL, clk, MesosOptions{MaxAge: 7 * time.Second})
	clusters := [][]Task{{{ID: "a.task-1", AgentID: "S1"}}, {{ID: "b.task-1", AgentID: "S2"}, {ID: "b.task-2", AgentID: "S1"}}}
	observe := func() {
		var wg sync.WaitGroup
		for range 5 { // five clusters' collectors at once
			for _, ts := range clusters {
				wg.Go(func() {
					if _, err := m.TaskStats(context.Background(), ts); err != nil {
						t.Error(err)
					}
					if _, err := m.Capacity(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()
	}
	observe()
	clk.Advance(5 * time.Second)
	observe() // still fresh
	f.mu.Lock()
	got := []int{f.hits["S1/monitor/statistics"], f.hits["S2/monitor/statistics"], f.hits["/master/slaves"], f.hits["/metrics/snapshot"]}
	f.mu.Unlock()
	if !slices.Equal(got, []int{1, 1, 1, 1}) {
		t.Fatalf("requests per agent, slaves, snapshot = %v within MaxAge, want one each", got)
	}
	clk.Advance(5 * time.Second)
	observe()
	f.mu.Lock()
	defer f.mu.Unlock()
	if n := f.hits["S1/monitor/statistics"]; n != 2 {
		t.Fatalf("S1 asked %d times after MaxAge, want 2", n)
	}
}

// There is no published sample of /master/slaves, but a master's /state
// lists its agents under the same "slaves" key with the same agent object
// (Mesos docs/endpoints/master/state.md): parseAgents must read real ones,
// and statsURL must reach an agent that gives only its pid (mesos-dns's
// 0.19 capture has no port key).
func TestParseAgentsOnRealMasterState(t *testing.T) {
	for _, c := range []struct {
		file, id, url string
		n             int
	}{
		{"datadog_mesos_master_state.json", "20150410-134224-16777343-5050-1778-S0", "http://localhost:5051/monitor/statistics", 1},
		{"mesos-dns_master_state_fake.json", "20140916-194712-631065744-5050-4798-2", "http://1.2.3.10:5051/monitor/statistics", 4},
	} {
		agents, err := parseAgents(readTestdata(t, c.file))
		if err != nil || len(agents) != c.n {
			t.Fatalf("%s: %d agents, %v", c.file, len(agents), err)
		}
		var a *agent
		for i := range agents {
			if agents[i].ID == c.id {
				a = &agents[i]
			}
		}
		if a == nil {
			t.Fatalf("%s: no agent %s in %+v", c.file, c.id, agents)
		}
		m := &Mesos{opts: MesosOptions{AgentScheme: "http"}}
		if u, err := m.statsURL(*a); err != nil || u != c.url {
			t.Errorf("%s: statsURL %q %v, want %q", c.file, u, err, c.url)
		}
	}
}

// The agent list is read again only when it is older than agentListMaxAge,
// misses a task's agent, an agent's statistics failed, or the clock went
// back; otherwise a reconcile asks only the agents.
func TestMesosAgentListKept(t *testing.T) {
	f := newFakeMesos(t, false, "S1", "S2")
	f.setStats("S1", statsFixture(t, "mesos_doc_agent_monitor_statistics.json", func(e, _ map[string]any) { e["executor_id"] = "a" }))
	f.setStats("S2", statsFixture(t, "mesos_doc_agent_monitor_statistics.json", func(e, _ map[string]any) { e["executor_id"] = "b" }))
	clk := &jumpClock{t: t0}
	m := NewMesos(f.master.Client(), f.master.URL, clk, MesosOptions{})
	a, b := Task{ID: "a", AgentID: "S1"}, Task{ID: "b", AgentID: "S2"}
	reads := func() int {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.hits["/master/slaves"]
	}
	for i, step := range []struct {
		name    string
		advance time.Duration
		tasks   []Task
		fail    bool
		want    int // /master/slaves reads so far
	}{
		{"first", 0, []Task{a}, false, 1},
		{"next interval", 15 * time.Second, []Task{a}, false, 1},
		{"task on a listed agent", 15 * time.Second, []Task{a, b}, false, 1},
		{"task on an unlisted agent", 15 * time.Second, []Task{a, {ID: "c", AgentID: "S9"}}, false, 2},
		{"the list read then stands", 15 * time.Second, []Task{a, b}, false, 2},
		{"too old", agentListMaxAge, []Task{a, b}, false, 3},
		{"agent fails", 15 * time.Second, []Task{a, b}, true, 3},
		{"after the failure", 15 * time.Second, []Task{a, b}, false, 4},
		{"clock went back", -time.Hour, []Task{a, b}, false, 5},
		{"kept after the jump", 15 * time.Second, []Task{a, b}, false, 5},
	} {
		clk.t = clk.t.Add(step.advance)
		f.mu.Lock()
		f.failing["S2"] = step.fail
		f.mu.Unlock()
		u, err := m.TaskStats(context.Background(), step.tasks)
		if step.fail != (err != nil) {
			t.Fatalf("%d %s: err %v", i, step.name, err)
		}
		if !u["a"].MemoryOK {
			t.Fatalf("%d %s: task a %+v", i, step.name, u["a"])
		}
		if got := reads(); got != step.want {
			t.Fatalf("%d %s: %d agent list reads, want %d", i, step.name, got, step.want)
		}
	}
}

// jumpClock is a clock a test moves by hand, backwards too.
type jumpClock struct{ t time.Time }

func (c *jumpClock) Now() time.Time { return c.t }
