package metrics

import (
	"context"
	"errors"
	"math"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestParseHealthFixture(t *testing.T) {
	raw := readTestdata(t, "kube-arangodb_doc_cluster_health_3.4.2_truncated.jsonc")
	// The published sample elides entries with a "... [...]" line.
	raw = regexp.MustCompile(`,\s*\n\s*\.\.\..*\n`).ReplaceAll(raw, []byte("\n"))
	servers, err := parseHealth(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []Server{
		{ID: "AGNT-wrqmwpuw", Role: "AGENT", Status: "GOOD", Endpoint: "ssl://my-arangodb-cluster-agent-wrqmwpuw.my-arangodb-cluster-int.default.svc:8529"},
		{ID: "CRDN-rxtu5pku", ShortName: "Coordinator0002", Role: "COORDINATOR", Status: "GOOD", Endpoint: "ssl://my-arangodb-cluster-coordinator-rxtu5pku.my-arangodb-cluster-int.default.svc:8529"},
		{ID: "PRMR-wbsq47rz", ShortName: "DBServer0006", Role: "DBSERVER", Status: "GOOD", Endpoint: "ssl://my-arangodb-cluster-dbserver-wbsq47rz.my-arangodb-cluster-int.default.svc:8529"},
	}
	if len(servers) != len(want) {
		t.Fatalf("got %+v", servers)
	}
	for i := range want {
		if servers[i] != want[i] {
			t.Errorf("server %d = %+v, want %+v", i, servers[i], want[i])
		}
	}
	// The fixture as published (with the elision) is not JSON.
	if _, err := parseHealth(readTestdata(t, "kube-arangodb_doc_cluster_health_3.4.2_truncated.jsonc")); !errors.Is(err, ErrBadBody) {
		t.Errorf("elided body: %v", err)
	}
}

func TestParseHealthErrors(t *testing.T) {
	for _, b := range []string{``, `[]`, `{}`, `{"error":true,"errorMessage":"not a cluster"}`, `{"Health":`} {
		if _, err := parseHealth([]byte(b)); !errors.Is(err, ErrBadBody) {
			t.Errorf("%q: %v", b, err)
		}
	}
}

// scrapeAt sets the three servers' bodies and scrapes.
func scrape(t *testing.T, a *ArangoDB) *ArangoSnapshot {
	t.Helper()
	snap, err := a.Scrape(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func TestScrapeRatesOverTwoScrapes(t *testing.T) {
	f := newFakeArango(t)
	clk := clock.NewVirtual(t0)
	a := NewArangoDB(f.srv.Client(), f.srv.URL+"/", clk, ArangoDBOptions{CPUs: map[string]float64{"DBServer0002": 2}})

	base := requestTimeBuckets(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	for _, id := range []string{"CRDN-1", "PRMR-1", "PRMR-2"} {
		f.set(id, fixtureBody(t, merge(base, map[string]string{mRequests: "1000", mUserTime: "10", mSystemTime: "5"})))
	}
	s1 := scrape(t, a)
	if len(s1.Servers) != 4 || len(s1.Errors) != 0 {
		t.Fatalf("servers %+v errors %v", s1.Servers, s1.Errors)
	}
	for _, id := range []string{"CRDN-1", "PRMR-1", "PRMR-2"} {
		for _, sig := range []string{SignalRequests, SignalCPU, SignalLatencyP95} {
			if _, ok := s1.Signals[id][sig]; ok {
				t.Errorf("%s %s present on the first scrape", id, sig)
			}
			if s1.Missing[id][sig] != reasonFirstScrape {
				t.Errorf("%s %s reason %q", id, sig, s1.Missing[id][sig])
			}
		}
		if v := s1.Signals[id][SignalDisk]; !near(v, 1-21706735616.0/109647159296) {
			t.Errorf("%s disk = %v", id, v)
		}
		if v := s1.Signals[id][SignalMemory]; !near(v, 174575616.0/20992643072) {
			t.Errorf("%s memory = %v", id, v)
		}
		if v, ok := s1.Signals[id][SignalQueue]; !ok || v != 0 {
			t.Errorf("%s queue = %v %v", id, v, ok)
		}
		if !strings.Contains(s1.Missing[id][SignalShards], "not present") {
			t.Errorf("%s shards reason %q", id, s1.Missing[id][SignalShards])
		}
	}
	if _, ok := s1.Signals["AGNT-1"]; ok {
		t.Error("agent scraped")
	}

	clk.Advance(10 * time.Second)
	f.set("CRDN-1", fixtureBody(t, merge(requestTimeBuckets(10, 80, 100, 100, 100, 100, 100, 100, 100, 100),
		map[string]string{mRequests: "2000", mUserTime: "20", mSystemTime: "10", mQueue: "4"})))
	f.set("PRMR-1", fixtureBody(t, merge(base, map[string]string{mRequests: "1500", mUserTime: "12", mSystemTime: "5"})))
	f.set("PRMR-2", fixtureBody(t, merge(base, map[string]string{mRequests: "1000", mUserTime: "11", mSystemTime: "5"})))
	s2 := scrape(t, a)
	c := s2.Signals["CRDN-1"]
	if !near(c[SignalRequests], 100) || !near(c[SignalCPU], 15.0/10/5) || c[SignalQueue] != 4 {
		t.Errorf("coordinator %+v", c)
	}
	// p95 of the interval: rank 95 of 100 lies in (0.05, 0.1], 80 below.
	if !near(c[SignalLatencyP95], 0.05+0.05*15/20) {
		t.Errorf("p95 = %v (%s)", c[SignalLatencyP95], s2.Missing["CRDN-1"][SignalLatencyP95])
	}
	if v := s2.Signals["PRMR-1"][SignalRequests]; !near(v, 50) {
		t.Errorf("PRMR-1 rps = %v", v)
	}
	if v := s2.Signals["PRMR-2"][SignalRequests]; v != 0 {
		t.Errorf("PRMR-2 rps = %v, want 0 (idle, not missing)", v)
	}
	// CPUs by short name: 1 s over 10 s on 2 CPUs.
	if v := s2.Signals["PRMR-2"][SignalCPU]; !near(v, 0.05) {
		t.Errorf("PRMR-2 cpu = %v", v)
	}
	if r := s2.Missing["PRMR-1"][SignalLatencyP95]; !strings.Contains(r, "no requests") {
		t.Errorf("idle p95 reason %q", r)
	}
	// Every server was asked through the one endpoint with its id.
	seen := map[string]bool{}
	for _, r := range f.requests {
		seen[r] = true
	}
	for _, id := range []string{"CRDN-1", "PRMR-1", "PRMR-2"} {
		if !seen["/_admin/metrics/v2?serverId="+id] {
			t.Errorf("no request for %s in %v", id, f.requests)
		}
	}
}

func TestScrapeCounterReset(t *testing.T) {
	f := newFakeArango(t)
	f.health = `{"Health":{"CRDN-1":{"Role":"Coordinator","Status":"GOOD","Endpoint":"tcp://h:1"}}}`
	clk := clock.NewVirtual(t0)
	a := NewArangoDB(f.srv.Client(), f.srv.URL, clk, ArangoDBOptions{})
	step := func(req, user string, cum ...int) *ArangoSnapshot {
		f.set("CRDN-1", fixtureBody(t, merge(requestTimeBuckets(cum...), map[string]string{mRequests: req, mUserTime: user})))
		s := scrape(t, a)
		clk.Advance(15 * time.Second)
		return s
	}
	step("5000", "100", 50, 50, 50, 50, 50, 50, 50, 50, 50, 50)
	s := step("30", "1", 1, 1, 1, 1, 1, 1, 1, 1, 1, 1) // restarted
	for _, sig := range []string{SignalRequests, SignalCPU, SignalLatencyP95} {
		if _, ok := s.Signals["CRDN-1"][sig]; ok || s.Missing["CRDN-1"][sig] != reasonCounterReset {
			t.Errorf("%s after reset: %v %q", sig, s.Signals["CRDN-1"][sig], s.Missing["CRDN-1"][sig])
		}
	}
	s = step("180", "1", 11, 11, 11, 11, 11, 11, 11, 11, 11, 11)
	if v := s.Signals["CRDN-1"][SignalRequests]; !near(v, 10) {
		t.Errorf("rate after reset = %v (%s)", v, s.Missing["CRDN-1"][SignalRequests])
	}
	if v := s.Signals["CRDN-1"][SignalLatencyP95]; !near(v, 0.0095) {
		t.Errorf("p95 after reset = %v", v)
	}
}

func TestScrapeOneServerFails(t *testing.T) {
	f := newFakeArango(t)
	clk := clock.NewVirtual(t0)
	a := NewArangoDB(f.srv.Client(), f.srv.URL, clk, ArangoDBOptions{})
	for _, id := range []string{"CRDN-1", "PRMR-1", "PRMR-2"} {
		f.set(id, fixtureBody(t, nil))
	}
	f.fail("PRMR-2", http.StatusServiceUnavailable)
	f.set("PRMR-1", "# TYPE rocksdb_free_disk_space gauge\nrocksdb_free_disk_space{role=\"DBSERVER\"} 1\nrocksdb_total_disk_sp")
	s := scrape(t, a)
	if len(s.Errors) != 1 {
		t.Fatalf("errors %v", s.Errors)
	}
	var se *ServerError
	var st *StatusError
	if !errors.As(s.Errors[0], &se) || se.ServerID != "PRMR-2" || !errors.As(s.Errors[0], &st) || st.Code != 503 {
		t.Errorf("error %v", s.Errors[0])
	}
	if len(s.Signals["PRMR-2"]) != 0 || !strings.Contains(s.Missing["PRMR-2"][SignalDisk], "scrape failed") {
		t.Errorf("failed server: %v %v", s.Signals["PRMR-2"], s.Missing["PRMR-2"])
	}
	// The body cut inside the last line: disk is missing, not a wrong number.
	if _, ok := s.Signals["PRMR-1"][SignalDisk]; ok || !strings.Contains(s.Missing["PRMR-1"][SignalDisk], "not present") {
		t.Errorf("truncated body: %v %q", s.Signals["PRMR-1"], s.Missing["PRMR-1"][SignalDisk])
	}
	if _, ok := s.Signals["CRDN-1"][SignalMemory]; !ok {
		t.Error("healthy server lost its signals")
	}
}

func TestScrapeHealthFails(t *testing.T) {
	f := newFakeArango(t)
	f.fail("health", http.StatusUnauthorized)
	a := NewArangoDB(f.srv.Client(), f.srv.URL, clock.NewVirtual(t0), ArangoDBOptions{})
	_, err := a.Scrape(context.Background())
	var st *StatusError
	if !errors.As(err, &st) || st.Code != 401 || !errors.Is(err, ErrHTTPStatus) {
		t.Errorf("err = %v", err)
	}
}

func TestScrapeTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	f := newFakeArangoWrapped(t, func(inner http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("serverId") == "PRMR-1" {
				blockHandler(block).ServeHTTP(w, r)
				return
			}
			inner.ServeHTTP(w, r)
		})
	})
	for _, id := range []string{"CRDN-1", "PRMR-2"} {
		f.set(id, fixtureBody(t, nil))
	}
	a := NewArangoDB(f.srv.Client(), f.srv.URL, clock.NewVirtual(t0), ArangoDBOptions{Timeout: 50 * time.Millisecond})
	s := scrape(t, a)
	if len(s.Errors) != 1 || !errors.Is(s.Errors[0], context.DeadlineExceeded) {
		t.Errorf("errors %v", s.Errors)
	}
	if _, ok := s.Signals["PRMR-2"][SignalDisk]; !ok {
		t.Error("other server lost")
	}
}

func TestScrapeForgetsGoneServers(t *testing.T) {
	f := newFakeArango(t)
	clk := clock.NewVirtual(t0)
	a := NewArangoDB(f.srv.Client(), f.srv.URL, clk, ArangoDBOptions{ForgetAfter: time.Minute})
	for _, id := range []string{"CRDN-1", "PRMR-1", "PRMR-2"} {
		f.set(id, fixtureBody(t, nil))
	}
	scrape(t, a)
	if n := a.rates.len(); n != 6 {
		t.Fatalf("rates kept %d", n)
	}
	f.mu.Lock()
	f.health = `{"Health":{"CRDN-1":{"Role":"Coordinator","Status":"GOOD"}}}`
	f.mu.Unlock()
	clk.Advance(30 * time.Second)
	scrape(t, a)
	clk.Advance(45 * time.Second)
	scrape(t, a)
	if n := a.rates.len(); n != 2 {
		t.Errorf("rates kept %d after servers left", n)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.hists) != 1 {
		t.Errorf("histograms kept %d", len(a.hists))
	}
}

func TestReadTestdataUnchanged(t *testing.T) {
	// The copies must stay byte-identical to the shared fixtures.
	for _, name := range []string{"datadog_metrics_v2_single.prom", "mesos_doc_agent_monitor_statistics.json"} {
		shared, err := os.ReadFile("../../shared/fixtures/" + map[bool]string{true: "arangodb/", false: "mesos/"}[strings.HasSuffix(name, ".prom")] + name)
		if err != nil {
			t.Skip("shared fixtures not reachable")
		}
		if string(shared) != string(readTestdata(t, name)) {
			t.Errorf("%s differs from the shared fixture", name)
		}
	}
}

func TestScrapeWrongServer(t *testing.T) {
	// A coordinator that ignores serverId answers with its own metrics.
	f := newFakeArangoWrapped(t, func(inner http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/_admin/metrics/v2" {
				q := r.URL.Query()
				q.Set("serverId", "CRDN-1")
				r.URL.RawQuery = q.Encode()
			}
			inner.ServeHTTP(w, r)
		})
	})
	f.set("CRDN-1", fixtureBody(t, nil))
	a := NewArangoDB(f.srv.Client(), f.srv.URL, clock.NewVirtual(t0), ArangoDBOptions{})
	s := scrape(t, a)
	if len(s.Errors) != 2 || !errors.Is(s.Errors[0], ErrWrongServer) {
		t.Errorf("errors %v", s.Errors)
	}
	if len(s.Signals["PRMR-1"]) != 0 || len(s.Signals["CRDN-1"]) == 0 {
		t.Errorf("signals %v", s.Signals)
	}
}
