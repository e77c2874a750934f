package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	marathon "github.com/gambol99/go-marathon"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

var t0 = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func prodSpec(load LoadFunc) ClusterSpec {
	return ClusterSpec{
		Name: "prod", Coordinators: 2, DBServers: 3, Load: load,
		Collections: []arango.CollectionSpec{{Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, SizeBytes: 6 << 30}},
	}
}

func newWorld(t testing.TB, p Params, specs ...ClusterSpec) (*World, *clock.Virtual) {
	t.Helper()
	clk := clock.NewVirtual(t0)
	w, err := NewWorld(clk, p, specs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w, clk
}

func client(t *testing.T, w *World) marathon.Marathon {
	t.Helper()
	cfg := marathon.NewDefaultConfig()
	cfg.URL = w.MarathonURL()
	cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	m, err := marathon.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func countServers(ac *arango.Cluster, role arango.Role, status string) int {
	n := 0
	for _, s := range ac.Servers() {
		if s.Role == role && s.Status == status {
			n++
		}
	}
	return n
}

func TestWorldStartsRunningAndHealthy(t *testing.T) {
	w, _ := newWorld(t, Params{}, prodSpec(Constant(1000)))
	st := w.State("prod")
	if st.Coordinators != (RoleState{Target: 2, Running: 2, Healthy: 2}) || st.DBServers != (RoleState{Target: 3, Running: 3, Healthy: 3}) {
		t.Fatalf("state %v", st)
	}
	ac := w.ArangoDB("prod")
	if countServers(ac, arango.Coordinator, arango.StatusGood) != 2 || countServers(ac, arango.DBServer, arango.StatusGood) != 3 {
		t.Fatalf("servers %+v", ac.Servers())
	}
	shards := 0
	for _, s := range ac.Servers() {
		shards += s.Shards
		if !strings.HasPrefix(s.Endpoint, "tcp://127.0.0.1:3") || s.TaskID == "" {
			t.Errorf("server %+v", s)
		}
	}
	// 12 of the user collections, 2 of each system collection.
	if want := 12 + 2*len(arango.SystemCollections); shards != want {
		t.Fatalf("shard replicas placed %d, want %d", shards, want)
	}
	resp, err := http.Get(w.ArangoURL("prod") + "/_admin/cluster/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("arango health %d", resp.StatusCode)
	}
	if w.ArangoURL("nope") != "" || w.ArangoDB("nope") != nil || w.State("nope").Name != "" {
		t.Fatal("unknown cluster")
	}
}

func TestScaleThroughMarathonJoinsArangoDB(t *testing.T) {
	w, _ := newWorld(t, Params{}, prodSpec(nil))
	m := client(t, w)
	if _, err := m.ScaleApplicationInstances(DBServerApp("prod"), 4, false); err != nil {
		t.Fatal(err)
	}
	w.Advance(5 * time.Second)
	if st := w.State("prod").DBServers; st != (RoleState{Target: 4, Running: 3, Healthy: 3, Staged: 1}) {
		t.Fatalf("after 5s %+v", st)
	}
	w.Advance(5 * time.Second)
	if st := w.State("prod").DBServers; st != (RoleState{Target: 4, Running: 4, Healthy: 3}) {
		t.Fatalf("after 10s %+v", st)
	}
	if n := countServers(w.ArangoDB("prod"), arango.DBServer, arango.StatusGood); n != 3 {
		t.Fatalf("joined before healthy: %d", n)
	}
	w.Advance(20 * time.Second)
	if st := w.State("prod").DBServers; st != (RoleState{Target: 4, Running: 4, Healthy: 4}) {
		t.Fatalf("after 30s %+v", st)
	}
	if n := countServers(w.ArangoDB("prod"), arango.DBServer, arango.StatusGood); n != 4 {
		t.Fatalf("DB servers GOOD %d, want 4", n)
	}
	if deps, err := m.Deployments(); err != nil || len(deps) != 0 {
		t.Fatalf("deployments %v %v", deps, err)
	}
	// Scaling down through the bulk kill removes exactly that server.
	victim := w.Marathon().Tasks(DBServerApp("prod"))[0].ID
	if err := m.KillTasks([]string{victim}, &marathon.KillTaskOpts{Scale: true}); err != nil {
		t.Fatal(err)
	}
	w.Advance(time.Second)
	for _, s := range w.ArangoDB("prod").Servers() {
		if s.TaskID == victim && s.Status == arango.StatusGood {
			t.Fatalf("killed server still GOOD: %+v", s)
		}
	}
	if st := w.State("prod").DBServers; st != (RoleState{Target: 3, Running: 3, Healthy: 3}) {
		t.Fatalf("after kill %+v", st)
	}
}

func TestFailTaskIsReplaced(t *testing.T) {
	p := Params{}
	p.DCOS.RestartDelay = 10 * time.Second
	w, _ := newWorld(t, p, prodSpec(Constant(500)))
	victim := w.Marathon().Tasks(CoordinatorApp("prod"))[0].ID
	if err := w.Marathon().FailTask(victim); err != nil {
		t.Fatal(err)
	}
	w.Advance(time.Second)
	st := w.State("prod")
	if st.Coordinators.Healthy != 1 || st.CoordinatorUtil != 0.5 {
		t.Fatalf("after failure %v", st)
	}
	if n := countServers(w.ArangoDB("prod"), arango.Coordinator, arango.StatusGood); n != 1 {
		t.Fatalf("coordinators GOOD %d", n)
	}
	w.Advance(time.Minute)
	st = w.State("prod")
	if st.Coordinators != (RoleState{Target: 2, Running: 2, Healthy: 2}) || st.CoordinatorUtil != 0.25 {
		t.Fatalf("after replacement %v", st)
	}
	for _, tk := range w.Marathon().Tasks(CoordinatorApp("prod")) {
		if tk.ID == victim {
			t.Fatal("failed task still listed")
		}
	}
}

func TestFullMesosQueuesInstances(t *testing.T) {
	p := Params{}
	p.DCOS.Agents, p.DCOS.AgentCPUs = 3, 8 // 24 cpus: 2×2 + 2×4 used
	w, _ := newWorld(t, p, ClusterSpec{Name: "small", Coordinators: 2, DBServers: 2})
	m := client(t, w)
	// Two more DB servers fit (4 free cpus on two agents), the third not:
	// 4 cpus are free in total, but 2 on each of two agents.
	if _, err := m.ScaleApplicationInstances(DBServerApp("small"), 5, false); err != nil {
		t.Fatal(err)
	}
	w.Advance(time.Minute)
	if st := w.State("small").DBServers; st != (RoleState{Target: 5, Running: 4, Healthy: 4}) {
		t.Fatalf("state %+v", st)
	}
	q, err := m.Queue()
	if err != nil || len(q.Items) != 1 || q.Items[0].Count != 1 {
		t.Fatalf("queue %+v %v", q, err)
	}
	// Too many instances for a fresh world is an error.
	_, err = NewWorld(clock.NewVirtual(t0), p, ClusterSpec{Name: "big", Coordinators: 2, DBServers: 6})
	if !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("want ErrNoCapacity, got %v", err)
	}
}

type execStats struct {
	ExecutorID string `json:"executor_id"`
	Statistics struct {
		User   float64 `json:"cpus_user_time_secs"`
		System float64 `json:"cpus_system_time_secs"`
		Limit  float64 `json:"cpus_limit"`
		RSS    int64   `json:"mem_rss_bytes"`
	} `json:"statistics"`
}

func taskCPU(t *testing.T, w *World, taskID string) (float64, int64) {
	t.Helper()
	var agentID string
	for _, a := range []string{CoordinatorApp("prod"), DBServerApp("prod")} {
		for _, tk := range w.Marathon().Tasks(a) {
			if tk.ID == taskID {
				agentID = tk.AgentID
			}
		}
	}
	resp, err := http.Get(w.MesosURL() + "/slave/" + agentID + "/monitor/statistics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats []execStats
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &stats); err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.ExecutorID == taskID {
			return s.Statistics.User + s.Statistics.System, s.Statistics.RSS
		}
	}
	t.Fatalf("task %s not in %s", taskID, b)
	return 0, 0
}

func TestLoadDrivesUtilisationMetricsAndMesosUsage(t *testing.T) {
	w, _ := newWorld(t, Params{}, prodSpec(Constant(1000)))
	st := w.State("prod")
	if !near(st.CoordinatorUtil, 0.5) || !near(st.DBServerUtil, 1000.0/4500) || st.Overloaded || st.Offered != 1000 || st.Served != 1000 {
		t.Fatalf("state %v", st)
	}
	if st.LatencyP95 <= 0 || st.LatencyP95 > 0.1 {
		t.Fatalf("p95 %v", st.LatencyP95)
	}
	coord := w.Marathon().Tasks(CoordinatorApp("prod"))[0].ID
	c0, _ := taskCPU(t, w, coord)
	w.Advance(10 * time.Second)
	c1, rss := taskCPU(t, w, coord)
	// cpu fraction 0.02 + 0.98×0.5 of 2 cpus for 10 s.
	if want := (0.02 + 0.98*0.5) * 2 * 10; !near(c1-c0, want) || rss <= 0 {
		t.Fatalf("coordinator cpu seconds %v, want %v (rss %d)", c1-c0, want, rss)
	}

	w.SetLoad("prod", Constant(3000))
	w.Advance(5 * time.Second)
	st = w.State("prod")
	if !near(st.CoordinatorUtil, 1.5) || !st.Overloaded || st.Served != 2000 || st.LatencyP95 != 10 {
		t.Fatalf("overload state %v", st)
	}
	w.Advance(10 * time.Second)
	c2, _ := taskCPU(t, w, coord)
	if !near(c2-c1, (0.02+0.98*0.5)*2*5+1.0*2*10) {
		t.Fatalf("overloaded coordinator cpu seconds %v", c2-c1)
	}
	// ArangoDB's metrics count the same requests.
	req, _ := http.NewRequest(http.MethodGet, w.ArangoURL("prod")+"/_admin/metrics/v2", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("arangodb_http_request_statistics_total_requests_total")) {
		t.Fatalf("metrics %d %.300s", resp.StatusCode, body)
	}

	// No healthy coordinator: everything is dropped.
	for _, tk := range w.Marathon().Tasks(CoordinatorApp("prod")) {
		if err := w.Marathon().FailTask(tk.ID); err != nil {
			t.Fatal(err)
		}
	}
	w.Advance(time.Second)
	st = w.State("prod")
	if !st.Overloaded || st.Served != 0 || st.Coordinators.Healthy != 0 {
		t.Fatalf("no coordinators %v", st)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestStepIsIdempotentAndTicked(t *testing.T) {
	w, clk := newWorld(t, Params{}, prodSpec(func(e time.Duration) float64 { return e.Seconds() }))
	clk.Advance(12 * time.Second)
	w.Step()
	if st := w.State("prod"); st.Offered != 12 || !st.At.Equal(t0.Add(12*time.Second)) {
		t.Fatalf("state %v", st)
	}
	before := w.State("prod")
	w.Step()
	if w.State("prod") != before {
		t.Fatal("Step without time moving changed the state")
	}
}

func TestBadSpecs(t *testing.T) {
	clk := clock.NewVirtual(t0)
	for _, specs := range [][]ClusterSpec{
		{{Name: "Prod"}},
		{{Name: ""}},
		{{Name: "a"}, {Name: "a"}},
		{{Name: "a", DBServers: -1}},
	} {
		if _, err := NewWorld(clk, Params{}, specs...); !errors.Is(err, ErrBadSpec) {
			t.Errorf("%+v: %v", specs, err)
		}
	}
	if _, err := NewWorld(clk, Params{Tick: -1}); !errors.Is(err, ErrBadParams) {
		t.Errorf("negative tick: %v", err)
	}
	_, err := NewWorld(clk, Params{}, ClusterSpec{Name: "a", DBServers: 1,
		Collections: []arango.CollectionSpec{{Name: "c", ReplicationFactor: 2}}})
	if !errors.Is(err, arango.ErrNotEnoughServers) {
		t.Errorf("collection: %v", err)
	}
	var dp dcos.Params
	dp.Agents = -1
	if _, err := NewWorld(clk, Params{DCOS: dp}); !errors.Is(err, dcos.ErrInvalidParams) {
		t.Errorf("dcos params: %v", err)
	}
}

// BenchmarkWorldHour: one virtual hour of a 10-coordinator / 6-DB-server
// cluster at 15 s steps.
func BenchmarkWorldHour(b *testing.B) {
	tr, err := ReadTrace(bytes.NewReader(DemoTrace))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		clk := clock.NewVirtual(t0)
		w, err := NewWorld(clk, Params{}, ClusterSpec{Name: "bench", Coordinators: 10, DBServers: 6, Load: tr.Func(1, 3),
			Collections: []arango.CollectionSpec{{Name: "c", NumberOfShards: 12, ReplicationFactor: 2, SizeBytes: 1 << 30}}})
		if err != nil {
			b.Fatal(err)
		}
		for range 240 {
			w.Advance(15 * time.Second)
		}
	}
}

// Scrapes, Marathon calls and stepping run concurrently in demo mode.
func TestConcurrentUseWhileStepping(t *testing.T) {
	w, _ := newWorld(t, Params{}, prodSpec(Constant(800)))
	m := client(t, w)
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(done)
		for i := range 20 {
			if _, err := m.Application(DBServerApp("prod")); err != nil {
				errc <- err
				return
			}
			if i == 5 {
				if _, err := m.ScaleApplicationInstances(CoordinatorApp("prod"), 3, true); err != nil {
					errc <- err
					return
				}
			}
			for _, path := range []string{w.MesosURL() + "/metrics/snapshot", w.ArangoURL("prod") + "/_admin/metrics/v2"} {
				resp, err := http.Get(path)
				if err != nil {
					errc <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()
	for range 50 {
		w.Advance(3 * time.Second)
	}
	<-done
	select {
	case err := <-errc:
		t.Fatal(err)
	default:
	}
	w.Advance(time.Minute)
	if st := w.State("prod").Coordinators; st != (RoleState{Target: 3, Running: 3, Healthy: 3}) {
		t.Fatalf("coordinators %+v", st)
	}
}

func TestRunStepsInRealTime(t *testing.T) {
	p := Params{Tick: time.Millisecond}
	clk := &stepClock{t: t0}
	w, err := NewWorld(clk, p, prodSpec(Constant(100)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { w.Run(ctx); close(ran) }()
	clk.set(t0.Add(time.Second))
	for w.State("prod").At.Before(t0.Add(time.Second)) {
		runtime.Gosched()
	}
	cancel()
	<-ran
}

// stepClock is a settable clock for Run, which ticks in real time.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *stepClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func TestStateShowsScaleBeforeNextStep(t *testing.T) {
	w, _ := newWorld(t, Params{}, prodSpec(nil))
	if _, err := w.Marathon().Scale(CoordinatorApp("prod"), 5); err != nil {
		t.Fatal(err)
	}
	if st := w.State("prod").Coordinators; st.Target != 5 || st.Healthy != 2 {
		t.Fatalf("coordinators %+v", st)
	}
}
