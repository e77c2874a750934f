package arango

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/arangodb/go-driver/v2/arangodb/shared"
	"github.com/arangodb/go-driver/v2/connection"
	"github.com/arangodb/go-driver/v2/utils/jwt"

	"github.com/arangoscale/arangoscale/clock"
)

func readFixture(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func parseProm(t *testing.T, b []byte) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse metrics: %v\n%s", err, b)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil || len(f.Metric) != 1 {
		t.Fatalf("metric %s missing", name)
	}
	m := f.Metric[0]
	switch f.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	t.Fatalf("metric %s has type %v", name, f.GetType())
	return 0
}

func TestMetricsIntegrateLoad(t *testing.T) {
	e := newEnv(t, Params{CPUs: 2, DiskBytesPerDBServer: 1 << 30}, 2, 3, nil)
	ctx := context.Background()
	if err := e.c.AddCollection(CollectionSpec{Name: "c", NumberOfShards: 3, ReplicationFactor: 2, SizeBytes: 300 << 20}); err != nil {
		t.Fatal(err)
	}
	e.c.SetLoad(e.dbs[0], Load{RequestsPerSecond: 100, CPUFraction: 0.5, LatencySeconds: 0.07, QueueLength: 3, MemRSSBytes: 123456})
	e.c.SetLoad(e.crd[0], Load{RequestsPerSecond: 40, CPUFraction: 0.25, LatencySeconds: 2})
	e.advance(10 * time.Second)

	id := e.dbs[0]
	// The v2 path is what arangoscale scrapes on 3.11/3.12.
	//lint:ignore SA1019 the emulated versions serve /_admin/metrics/v2
	body, err := e.cl.GetMetrics(ctx, "_system", &id)
	if err != nil {
		t.Fatal(err)
	}
	fams := parseProm(t, body)
	if got := value(t, fams, "arangodb_http_request_statistics_total_requests_total"); got != 1000 {
		t.Errorf("requests = %v, want 1000", got)
	}
	h := fams["arangodb_client_connection_statistics_request_time"].Metric[0].GetHistogram()
	if h.GetSampleCount() != 1000 || math.Abs(h.GetSampleSum()-70) > 1e-6 {
		t.Errorf("histogram count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}
	for _, b := range h.GetBucket() {
		want := uint64(1000)
		if b.GetUpperBound() < 0.07 {
			want = 0
		}
		if b.GetCumulativeCount() != want {
			t.Errorf("bucket le=%v: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), want)
		}
	}
	cpu := value(t, fams, "arangodb_process_statistics_user_time") + value(t, fams, "arangodb_process_statistics_system_time")
	if math.Abs(cpu-10) > 1e-9 { // 0.5 × 2 cpus × 10 s
		t.Errorf("cpu seconds = %v, want 10", cpu)
	}
	if q := value(t, fams, "arangodb_scheduler_queue_length"); q != 3 {
		t.Errorf("queue = %v", q)
	}
	if v := value(t, fams, "arangodb_process_statistics_resident_set_size"); v != 123456 {
		t.Errorf("rss = %v", v)
	}
	if v := value(t, fams, "arangodb_shards_number"); v != 2 {
		t.Errorf("shards = %v", v)
	}
	if v := value(t, fams, "arangodb_shards_leader_number"); v != 1 {
		t.Errorf("leaders = %v", v)
	}
	if v := value(t, fams, "rocksdb_free_disk_space"); v != float64(1<<30-200<<20) {
		t.Errorf("free disk = %v", v)
	}
	if v := value(t, fams, "rocksdb_total_disk_space"); v != 1<<30 {
		t.Errorf("total disk = %v", v)
	}
	if v := value(t, fams, "arangodb_server_statistics_physical_memory"); v != 4<<30 {
		t.Errorf("physical memory = %v", v)
	}
	for name, f := range fams {
		for _, m := range f.Metric {
			l := labels(m)
			if l["role"] != "PRIMARY" || l["shortname"] != "DBServer0001" {
				t.Errorf("%s labels %v", name, l)
			}
		}
	}

	// Default: the first GOOD coordinator (lowest ID) answers.
	body, err = e.cl.Metrics(ctx, "_system", nil)
	if err != nil {
		t.Fatal(err)
	}
	fams = parseProm(t, body)
	first := e.c.Servers()[0]
	if l := labels(fams["arangodb_scheduler_queue_length"].Metric[0]); l["role"] != "COORDINATOR" || l["shortname"] != first.ShortName {
		t.Errorf("default server labels %v, want %s", l, first.ShortName)
	}
	if fams["rocksdb_free_disk_space"] != nil || fams["arangodb_shards_number"] != nil {
		t.Error("coordinator exposes DB-server-only metrics")
	}

	// Out-of-sync and not-replicated shards are visible on the leaders.
	e.c.ServerDown("dbs.1")
	var outOfSync, notRepl float64
	for _, s := range []string{e.dbs[0], e.dbs[2]} {
		b, err := e.cl.Metrics(ctx, "_system", &s) // same body since 3.10
		if err != nil {
			t.Fatal(err)
		}
		f := parseProm(t, b)
		outOfSync += value(t, f, "arangodb_shards_out_of_sync")
		notRepl += value(t, f, "arangodb_shards_not_replicated")
	}
	if outOfSync != 2 || notRepl != 2 {
		t.Errorf("out of sync %v, not replicated %v; want 2 and 2", outOfSync, notRepl)
	}

	// Unknown serverId: 404 with errorNum 400, as arangod.
	resp, err := http.Get(e.srv.URL + "/_admin/metrics/v2?serverId=PRMR-x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), `"errorNum":400`) {
		t.Errorf("unknown serverId: %d %s", resp.StatusCode, b)
	}
	bad := "PRMR-x"
	if _, err := e.cl.Metrics(ctx, "_system", &bad); err == nil {
		t.Error("driver accepted unknown serverId")
	}
}

// TestMetricTypesMatchRealBody checks that every metric we emit that a real
// server body also has carries the same TYPE there.
func TestMetricTypesMatchRealBody(t *testing.T) {
	real, err := os.ReadFile(filepath.Join("testdata", "datadog_metrics_v2_single.prom"))
	if err != nil {
		t.Fatal(err)
	}
	want := parseProm(t, append(real, '\n'))
	e := newEnv(t, Params{}, 1, 1, nil)
	e.c.mu.Lock()
	body := e.c.renderMetricsLocked(e.c.servers[e.dbs[0]], nil)
	e.c.mu.Unlock()
	got := parseProm(t, body)
	matched := 0
	for name, f := range got {
		w := want[name]
		if w == nil {
			continue
		}
		matched++
		if w.GetType() != f.GetType() {
			t.Errorf("%s: type %v, real %v", name, f.GetType(), w.GetType())
		}
	}
	if matched < 10 {
		t.Errorf("only %d metrics found in the real body", matched)
	}
}

func TestAuth(t *testing.T) {
	const secret = "s3cr3t"
	p := Params{Username: "root", Password: "pw", JWTSecret: secret}
	ctx := context.Background()

	e := newEnv(t, p, 1, 3, connection.NewBasicAuth("root", "pw"))
	if _, err := e.cl.Health(ctx); err != nil {
		t.Errorf("basic auth: %v", err)
	}
	hdr, err := jwt.CreateArangodJwtAuthorizationHeader(secret, "arangoscale")
	if err != nil {
		t.Fatal(err)
	}
	good := connection.NewHttpConnection(connection.HttpConfiguration{
		Endpoint: connection.NewRoundRobinEndpoints([]string{e.srv.URL}), Authentication: connection.NewHeaderAuth("Authorization", hdr),
	})
	var out map[string]any
	if resp, err := connection.CallGet(ctx, good, "/_admin/cluster/health", &out); err != nil || resp.Code() != 200 {
		t.Errorf("jwt: %v %v", resp, err)
	}
	wrongHdr, _ := jwt.CreateArangodJwtAuthorizationHeader("other", "arangoscale")
	for name, a := range map[string]connection.Authentication{
		"wrong password": connection.NewBasicAuth("root", "nope"),
		"wrong user":     connection.NewBasicAuth("admin", "pw"),
		"wrong secret":   connection.NewHeaderAuth("Authorization", wrongHdr),
		"garbage":        connection.NewHeaderAuth("Authorization", "bearer x.y.z"),
	} {
		c := connection.NewHttpConnection(connection.HttpConfiguration{Endpoint: connection.NewRoundRobinEndpoints([]string{e.srv.URL}), Authentication: a})
		var eb errorBody
		resp, err := connection.CallGet(ctx, c, "/_admin/cluster/health", &eb)
		if err != nil || resp.Code() != 401 {
			t.Errorf("%s: %v %v", name, resp, err)
		}
	}
	// No header at all, on every kind of path: the exact real body.
	for _, path := range []string{"/_api/version", "/_admin/metrics/v2", "/_db/_system/_admin/cluster/health", "/nowhere"} {
		resp, err := http.Get(e.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || string(b) != `{"code":401,"error":true,"errorMessage":"not authorized to execute this request","errorNum":11}` {
			t.Errorf("%s: %d %s", path, resp.StatusCode, b)
		}
	}
	// The driver sees an unauthorized error.
	noAuth := newEnv(t, p, 1, 1, nil)
	if _, err := noAuth.cl.Health(ctx); !shared.IsUnauthorized(err) {
		t.Errorf("driver without auth: %v", err)
	}
	// JWT only: basic is refused.
	jwtOnly := newEnv(t, Params{JWTSecret: secret}, 1, 1, connection.NewBasicAuth("root", ""))
	if _, err := jwtOnly.cl.Health(ctx); !shared.IsUnauthorized(err) {
		t.Errorf("basic on jwt-only: %v", err)
	}
}

func TestHTTPErrors(t *testing.T) {
	e := newEnv(t, Params{}, 1, 3, nil)
	if err := e.c.AddCollection(CollectionSpec{Database: "shop", Name: "orders", NumberOfShards: 2, ReplicationFactor: 2, WriteConcern: 2}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path, body string
		code               int
		contains           string
	}{
		{"GET", "/x", "", 404, `{"code":404,"error":true,"errorMessage":"unknown path '/x'","errorNum":404}`},
		{"POST", "/_api/version", "", 405, `"errorNum":405`},
		{"GET", "/_admin/cluster/cleanOutServer", "", 405, `"errorMessage":"method not supported"`},
		{"POST", "/_admin/cluster/cleanOutServer", "{", 400, `"errorNum":600`},
		{"POST", "/_admin/cluster/cleanOutServer", `{"srv":1}`, 400, `"errorNum":10`},
		{"POST", "/_admin/cluster/removeServer", `17`, 400, "expecting string or object"},
		{"POST", "/_admin/cluster/removeServer", `{"server":"PRMR-none"}`, 404, `"errorNum":404`},
		{"GET", "/_admin/cluster/queryAgencyJob", "", 400, "missing id"},
		{"GET", "/_admin/cluster/bogus", "", 400, "invalid command 'bogus'"},
		{"POST", "/_api/agency/read", `[["/arango/Target"]]`, 404, `{"code":404,"error":true,"errorMessage":"unknown path '/_api/agency/read'","errorNum":404}`},
		{"POST", "/_admin/cluster/rebalance", `{"version":2}`, 400, "unknown version"},
		{"POST", "/_admin/cluster/rebalance/execute", `{"version":1,"moves":[{"shard":"s1","from":"a","to":"b","collection":"zz"}]}`, 400, "not found"},
		{"GET", "/_db/nodb/_api/collection", "", 404, `"errorNum":1228`},
		{"GET", "/_db/shop/_api/collection/none/properties", "", 404, `"errorNum":1203`},
		{"GET", "/_db/shop/_api/collection/orders/properties", "", 200, `"replicationFactor":2`},
		{"GET", "/_db/shop/_api/collection/orders/shards?details=true", "", 200, `"PRMR-`},
		{"GET", "/_db/shop/_api/collection", "", 200, `"name":"orders"`},
		{"GET", "/_api/collection", "", 200, `"result":[]`},
		{"GET", "/_api/database", "", 200, `"result":["_system","shop"]`},
		{"GET", "/_api/cluster/endpoints", "", 200, `"endpoints":[{"endpoint":"tcp://127.0.0.1:30000"}]`},
		{"PUT", "/_admin/cluster/numberOfServers", `[1]`, 400, `"errorNum":600`},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.contains) {
			t.Errorf("%s %s: %d %s; want %d containing %s", tc.method, tc.path, resp.StatusCode, b, tc.code, tc.contains)
		}
		if resp.StatusCode >= 400 {
			var eb errorBody
			if err := json.Unmarshal(b, &eb); err != nil || !eb.Error || eb.Code != resp.StatusCode || eb.ErrorMessage == "" {
				t.Errorf("%s %s: error body %s", tc.method, tc.path, b)
			}
		}
	}
}

func FuzzHandler(f *testing.F) {
	seeds := []struct{ m, p, b string }{
		{"GET", "/_admin/cluster/health", ""},
		{"POST", "/_admin/cluster/cleanOutServer", `{"server":"DBServer0001"}`},
		{"POST", "/_admin/cluster/removeServer", `"DBServer0002"`},
		{"PUT", "/_admin/cluster/numberOfServers", `{"numberOfDBServers":4}`},
		{"PUT", "/_admin/cluster/rebalance", `{"version":1,"moveLeaders":true,"moveFollowers":true,"maximumNumberOfMoves":-3}`},
		{"POST", "/_admin/cluster/rebalance/execute", `{"version":1,"moves":[{"shard":"s10001","from":"DBServer0001","to":"DBServer0003","collection":"c","database":""}]}`},
		{"GET", "/_db/%zz/_api/collection/c/shards?details=true", ""},
		{"GET", "/_admin/metrics/v2?serverId=", ""},
		{"GET", "/_admin/cluster/queryAgencyJob?id=1000001", ""},
	}
	for _, s := range seeds {
		f.Add(s.m, s.p, s.b)
	}
	clk := clock.NewVirtual(t0)
	c := NewCluster("fuzz", clk, Params{})
	c.ServerUp(Coordinator, "c", "tcp://127.0.0.1:1")
	for i := 0; i < 3; i++ {
		c.ServerUp(DBServer, "d"+string(rune('0'+i)), "tcp://127.0.0.1:"+string(rune('2'+i)))
	}
	if err := c.AddCollection(CollectionSpec{Name: "c", NumberOfShards: 3, ReplicationFactor: 2, SizeBytes: 1 << 20}); err != nil {
		f.Fatal(err)
	}
	h := c.Handler()
	f.Fuzz(func(t *testing.T, method, path, body string) {
		req := httptest.NewRequest(http.MethodGet, "/", strings.NewReader(body))
		req.Method = method
		req.URL.Path = path
		if i := strings.IndexByte(path, '?'); i >= 0 {
			req.URL.Path, req.URL.RawQuery = path[:i], path[i+1:]
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		c.Step(clk.Advance(time.Second))
		if rec.Code >= 400 {
			var eb errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || !eb.Error || eb.Code != rec.Code {
				t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.Bytes())
			}
		}
	})
}

// BenchmarkStepAndMetrics is one world step of a 10-coordinator /
// 6-DB-server cluster plus a metrics scrape of every server.
func BenchmarkStepAndMetrics(b *testing.B) {
	clk := clock.NewVirtual(t0)
	c := NewCluster("bench", clk, Params{})
	var ids []string
	for i := 0; i < 10; i++ {
		ids = append(ids, c.ServerUp(Coordinator, "c"+string(rune('a'+i)), "tcp://10.0.0.1:"+string(rune('a'+i))))
	}
	for i := 0; i < 6; i++ {
		ids = append(ids, c.ServerUp(DBServer, "d"+string(rune('a'+i)), "tcp://10.0.0.2:"+string(rune('a'+i))))
	}
	for i := 0; i < 10; i++ {
		if err := c.AddCollection(CollectionSpec{Name: "c" + string(rune('a'+i)), NumberOfShards: 9, ReplicationFactor: 2, SizeBytes: 1 << 30}); err != nil {
			b.Fatal(err)
		}
	}
	for _, id := range ids {
		c.SetLoad(id, Load{RequestsPerSecond: 500, CPUFraction: 0.6, LatencySeconds: 0.02, QueueLength: 2, MemRSSBytes: 1 << 30})
	}
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Step(clk.Advance(time.Second))
		c.mu.Lock()
		for _, id := range ids {
			buf = c.renderMetricsLocked(c.servers[id], buf)
		}
		c.mu.Unlock()
	}
}

func TestMoveShardJobsAndDownServerMetrics(t *testing.T) {
	e := newEnv(t, Params{}, 1, 2, nil)
	if err := e.c.AddCollection(CollectionSpec{Name: "c", NumberOfShards: 4, ReplicationFactor: 1, SizeBytes: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	newID := e.addDB(2)
	body := `{"version":1,"moveLeaders":true,"moveFollowers":true}`
	resp, err := http.Post(e.srv.URL+"/_admin/cluster/rebalance", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var plan struct {
		Result struct {
			Moves []map[string]any `json:"moves"`
		} `json:"result"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&plan)
	resp.Body.Close()
	if len(plan.Result.Moves) != 1 || plan.Result.Moves[0]["to"] != newID {
		t.Fatalf("plan: %+v", plan)
	}
	exec, _ := json.Marshal(map[string]any{"version": 1, "moves": plan.Result.Moves})
	resp, err = http.Post(e.srv.URL+"/_admin/cluster/rebalance/execute", "application/json", bytes.NewReader(exec))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("execute: %d", resp.StatusCode)
	}
	e.c.mu.Lock()
	var todo []*job
	for _, j := range e.c.active {
		if j.status == JobToDo {
			todo = append(todo, j)
		}
	}
	e.c.mu.Unlock()
	if len(todo) != 1 {
		t.Fatalf("ToDo: %+v", todo)
	}
	if j := todo[0]; j.typ != "moveShard" || j.moves[0].to != newID || j.moves[0].sh.id != plan.Result.Moves[0]["shard"] {
		t.Errorf("moveShard job: %+v %+v", j, j.moves[0])
	}
	e.advance(time.Second)
	if e.c.ShardCounts()[newID] != 1 {
		t.Errorf("counts: %v", e.c.ShardCounts())
	}
	// Executing the same move again fails in supervision: the shard left.
	resp, _ = http.Post(e.srv.URL+"/_admin/cluster/rebalance/execute", "application/json", bytes.NewReader(exec))
	resp.Body.Close()
	e.advance(time.Second)
	e.c.mu.Lock()
	last := e.c.jobs[len(e.c.jobs)-1]
	e.c.mu.Unlock()
	if last.status != JobFailed {
		t.Errorf("stale move: %s", last.status)
	}

	// A server that is down does not answer a forwarded metrics request.
	e.c.ServerDown("dbs.0")
	resp, err = http.Get(e.srv.URL + "/_admin/metrics/v2?serverId=" + e.dbs[0])
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("down server metrics: %d", resp.StatusCode)
	}
}
