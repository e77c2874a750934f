package arangodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHealthFromFixture(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/health": reply(200, fixture(t, "kube-arangodb_doc_cluster_health_3.4.2_truncated.jsonc")),
	})
	got, err := f.client(t).Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []ServerHealth{
		{ID: "AGNT-wrqmwpuw", Role: RoleAgent, Status: StatusGood, Endpoint: "ssl://my-arangodb-cluster-agent-wrqmwpuw.my-arangodb-cluster-int.default.svc:8529"},
		{ID: "CRDN-rxtu5pku", ShortName: "Coordinator0002", Role: RoleCoordinator, Status: StatusGood, Endpoint: "ssl://my-arangodb-cluster-coordinator-rxtu5pku.my-arangodb-cluster-int.default.svc:8529"},
		{ID: "PRMR-wbsq47rz", ShortName: "DBServer0006", Role: RoleDBServer, Status: StatusGood, Endpoint: "ssl://my-arangodb-cluster-dbserver-wbsq47rz.my-arangodb-cluster-int.default.svc:8529"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Health:\n got %+v\nwant %+v", got, want)
	}
}

func TestNumberOfServersGetAndPut(t *testing.T) {
	var stored map[string]any
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/numberOfServers": sequence(
			reply(200, `{"numberOfDBServers":null,"numberOfCoordinators":null,"cleanedServers":[],"error":false,"code":200}`),
			reply(200, `{"numberOfDBServers":5,"numberOfCoordinators":3,"cleanedServers":["PRMR-1"],"error":false,"code":200}`),
		),
		"PUT /_admin/cluster/numberOfServers": func(w http.ResponseWriter, r *http.Request) {
			if err := json.NewDecoder(r.Body).Decode(&stored); err != nil {
				t.Errorf("PUT body: %v", err)
			}
			writeJSONBody(w, 200, `{"error":false,"code":200}`)
		},
	})
	c := f.client(t)
	ctx := context.Background()
	n, err := c.NumberOfServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.CoordinatorsSet || n.DBServersSet || n.Coordinators != 0 || len(n.CleanedServers) != 0 {
		t.Fatalf("unset target read as %+v", n)
	}
	dbs := 5
	if err := c.SetNumberOfServers(ctx, nil, &dbs); err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"numberOfDBServers": 5.0}; !reflect.DeepEqual(stored, want) {
		t.Fatalf("PUT body %v, want %v", stored, want)
	}
	if err := c.SetNumberOfServers(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := len(f.requests("PUT", "/_admin/cluster/numberOfServers")); got != 1 {
		t.Fatalf("nil,nil sent a request: %d PUTs", got)
	}
	n, err = c.NumberOfServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := NumberOfServers{Coordinators: 3, DBServers: 5, CoordinatorsSet: true, DBServersSet: true, CleanedServers: []string{"PRMR-1"}}
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("got %+v want %+v", n, want)
	}
	neg := -1
	if err := c.SetNumberOfServers(ctx, &neg, nil); err == nil {
		t.Fatal("negative count accepted")
	}
}

func TestCleanOutServerAndJobStates(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"POST /_admin/cluster/cleanOutServer": reply(202, fixture(t, "kube-arangodb_doc_cleanOutServer_202.json")),
		"GET /_admin/cluster/queryAgencyJob": sequence(
			// 3.7+ shape: the job's keys at the top level, "job" is the id.
			reply(200, `{"type":"cleanOutServer","server":"PRMR-wbsq47rz","jobId":"38029195","creator":"CRDN-rxtu5pku","timeCreated":"2019-02-21T10:42:14.727Z","error":false,"job":"38029195","status":"ToDo"}`),
			reply(200, fixture(t, "kube-arangodb_doc_queryAgencyJob_pending.json")),
			reply(200, fixture(t, "kube-arangodb_doc_queryAgencyJob_finished.json")),
			reply(200, `{"type":"cleanOutServer","server":"PRMR-wbsq47rz","jobId":"38029195","timeCreated":"2019-02-21T10:42:14.727Z","reason":"no server to move shard s1 to","error":false,"job":"38029195","status":"Failed"}`),
		),
	})
	c := f.client(t)
	ctx := context.Background()
	id, err := c.CleanOutServer(ctx, "PRMR-wbsq47rz")
	if err != nil {
		t.Fatal(err)
	}
	if id != "38029195" {
		t.Fatalf("job id %q", id)
	}
	posts := f.requests("POST", "/_admin/cluster/cleanOutServer")
	if len(posts) != 1 || strings.TrimSpace(string(posts[0].Body)) != `{"server":"PRMR-wbsq47rz"}` {
		t.Fatalf("cleanOutServer body: %+v", posts)
	}
	created := time.Date(2019, 2, 21, 10, 42, 14, 727e6, time.UTC)
	for _, want := range []Job{
		{ID: "38029195", Type: JobTypeCleanOutServer, Server: "PRMR-wbsq47rz", Status: JobToDo, Created: created},
		{ID: "38029195", Type: JobTypeCleanOutServer, Server: "PRMR-wbsq47rz", Status: JobPending, Created: created},
		{ID: "38029195", Type: JobTypeCleanOutServer, Server: "PRMR-e6hbjob1", Status: JobFinished, Created: created},
		{ID: "38029195", Type: JobTypeCleanOutServer, Server: "PRMR-wbsq47rz", Status: JobFailed, Reason: "no server to move shard s1 to", Created: created},
	} {
		got, err := c.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Job:\n got %+v\nwant %+v", got, want)
		}
		if got.Done() != (want.Status == JobFinished || want.Status == JobFailed) {
			t.Fatalf("Done() wrong for %s", got.Status)
		}
	}
	if q := f.requests("GET", "/_admin/cluster/queryAgencyJob")[0].Query; q != "id=38029195" {
		t.Fatalf("query %q", q)
	}
}

func TestJobUnknownIsNotFound(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/queryAgencyJob": reply(404, `{"error":true,"code":404,"errorNum":404,"errorMessage":"not found"}`),
	})
	_, err := f.client(t).Job(context.Background(), "42")
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 404 || ae.ErrorNum != 404 || ae.Message != "not found" {
		t.Fatalf("APIError: %+v", ae)
	}
}

func TestRemoveServer(t *testing.T) {
	health := healthWith(t, map[string]map[string]any{
		"PRMR-gone": {"Role": "DBServer", "Status": "FAILED", "CanBeDeleted": true, "ShortName": "DBServer0003"},
		"PRMR-full": {"Role": "DBServer", "Status": "FAILED", "CanBeDeleted": false},
		"PRMR-up":   {"Role": "DBServer", "Status": "GOOD", "CanBeDeleted": false},
		"CRDN-gone": {"Role": "Coordinator", "Status": "FAILED", "CanBeDeleted": true},
	})
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/health": reply(200, health),
		"POST /_admin/cluster/removeServer": sequence(
			reply(412, `{"error":true,"code":412,"errorNum":412,"errorMessage":"server may not be deleted"}`),
			// arangod answers success with an empty body
			// (RestAdminClusterHandler.cpp tryDeleteServer).
			reply(200, ``),
		),
	})
	c := f.client(t)
	ctx := context.Background()
	err := c.RemoveServer(ctx, "PRMR-gone")
	var ae *APIError
	if !errors.Is(err, ErrPrecondition) || !errors.As(err, &ae) || ae.StatusCode != 412 {
		t.Fatalf("first removeServer: want 412 ErrPrecondition, got %v", err)
	}
	if err := c.RemoveServer(ctx, "PRMR-gone"); err != nil {
		t.Fatalf("second removeServer: %v", err)
	}
	posts := f.requests("POST", "/_admin/cluster/removeServer")
	if len(posts) != 2 || strings.TrimSpace(string(posts[1].Body)) != `"PRMR-gone"` {
		t.Fatalf("removeServer requests: %+v", posts)
	}
	// Refused locally, without waiting for ArangoDB's minute of retries.
	for _, id := range []string{"PRMR-up", "PRMR-full"} {
		if err := c.RemoveServer(ctx, id); !errors.Is(err, ErrPrecondition) {
			t.Fatalf("%s: want ErrPrecondition, got %v", id, err)
		}
	}
	if err := c.RemoveServer(ctx, "PRMR-nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: want ErrNotFound, got %v", err)
	}
	if n := len(f.requests("POST", "/_admin/cluster/removeServer")); n != 2 {
		t.Fatalf("refused removals reached ArangoDB: %d POSTs", n)
	}
}

func TestShardStats(t *testing.T) {
	health := healthWith(t, map[string]map[string]any{
		"PRMR-a":  {"Role": "DBServer", "Status": "GOOD", "ShortName": "DBServer0001"},
		"PRMR-b":  {"Role": "DBServer", "Status": "GOOD", "ShortName": "DBServer0002"},
		"PRMR-c":  {"Role": "DBServer", "Status": "GOOD", "ShortName": "DBServer0003"},
		"PRMR-e":  {"Role": "DBServer", "Status": "GOOD", "ShortName": "DBServer0004"}, // new, empty
		"CRDN-x":  {"Role": "Coordinator", "Status": "GOOD", "ShortName": "Coordinator0001"},
		"AGNT-ag": {"Role": "Agent", "Status": "GOOD"},
	})
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/health":                         reply(200, health),
		"GET /_db/_system/_api/database":                     reply(200, `{"error":false,"code":200,"result":["_system","shop"]}`),
		"GET /_db/_system/_api/collection":                   reply(200, `{"error":false,"code":200,"result":[{"name":"_users","isSystem":true},{"name":"sat","isSystem":false}]}`),
		"GET /_db/shop/_api/collection":                      reply(200, `{"error":false,"code":200,"result":[{"name":"orders"}]}`),
		"GET /_db/_system/_api/collection/_users/properties": reply(200, `{"name":"_users","replicationFactor":2,"writeConcern":1,"error":false,"code":200}`),
		"GET /_db/_system/_api/collection/sat/properties":    reply(200, `{"name":"sat","replicationFactor":"satellite","writeConcern":0,"error":false,"code":200}`),
		"GET /_db/shop/_api/collection/orders/properties":    reply(200, `{"name":"orders","replicationFactor":3,"writeConcern":2,"error":false,"code":200}`),
		// Servers by short name, as ArangoDB's reporter prints its aliases.
		"GET /_db/_system/_admin/cluster/shardDistribution": reply(200, `{"results":{
			"_users":{"Plan":{"s1":{"leader":"DBServer0001","followers":["DBServer0002"]}},
			          "Current":{"s1":{"leader":"DBServer0001","followers":["DBServer0002"]}}},
			"sat":{"Plan":{"s2":{"leader":"DBServer0002","followers":["DBServer0001","DBServer0003"]}},
			       "Current":{"s2":{"leader":"DBServer0002","followers":["DBServer0003","DBServer0001"]}}}},"error":false,"code":200}`),
		"GET /_db/shop/_admin/cluster/shardDistribution": reply(200, `{"results":{
			"orders":{"Plan":{
			    "s10":{"leader":"PRMR-a","followers":["PRMR-b","PRMR-c"]},
			    "s11":{"leader":"PRMR-b","followers":["PRMR-c","PRMR-a"]},
			    "s12":{"leader":"PRMR-c","followers":["PRMR-a","PRMR-b"],"progress":{"total":10,"current":3}}},
			  "Current":{
			    "s10":{"leader":"PRMR-a","followers":["PRMR-c","PRMR-b"]},
			    "s11":{"leader":"PRMR-b","followers":["PRMR-c"]},
			    "s12":{"leader":"PRMR-c","followers":[]}}}},"error":false,"code":200}`),
	})
	st, err := f.client(t).Shards(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantPer := map[string]ServerShards{
		"PRMR-a": {Leaders: 2, Followers: 3},
		"PRMR-b": {Leaders: 2, Followers: 3},
		"PRMR-c": {Leaders: 1, Followers: 3},
		"PRMR-e": {},
	}
	if !reflect.DeepEqual(st.PerServer, wantPer) {
		t.Fatalf("PerServer %+v", st.PerServer)
	}
	if st.MaxReplicationFactor != 3 || st.MaxWriteConcern != 2 {
		t.Fatalf("max rf %d wc %d", st.MaxReplicationFactor, st.MaxWriteConcern)
	}
	// s11 misses a follower (out of sync, 2 copies: still replicated);
	// s12 has only its leader (out of sync and not replicated).
	if st.OutOfSync != 2 || st.NotReplicated != 1 {
		t.Fatalf("out of sync %d, not replicated %d", st.OutOfSync, st.NotReplicated)
	}
	if st.PerServer["PRMR-c"].Total() != 4 {
		t.Fatal("Total")
	}
}

func TestSatelliteAloneKeepsFloorAtOne(t *testing.T) {
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/health":                        reply(200, healthWith(t, nil)),
		"GET /_db/_system/_api/database":                    reply(200, `{"error":false,"code":200,"result":["_system"]}`),
		"GET /_db/_system/_api/collection":                  reply(200, `{"error":false,"code":200,"result":[{"name":"sat"}]}`),
		"GET /_db/_system/_api/collection/sat/properties":   reply(200, `{"name":"sat","replicationFactor":"satellite","error":false,"code":200}`),
		"GET /_db/_system/_admin/cluster/shardDistribution": reply(200, `{"results":{},"error":false,"code":200}`),
	})
	st, err := f.client(t).Shards(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.MaxReplicationFactor != 1 || st.MaxWriteConcern != 1 {
		t.Fatalf("satellite floor: rf %d wc %d", st.MaxReplicationFactor, st.MaxWriteConcern)
	}
}

func TestRebalance(t *testing.T) {
	var put map[string]any
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/cluster/rebalance": reply(200, fixture(t, "docs-hugo_3.12_get_rebalance_truncated.jsonc")),
		"PUT /_admin/cluster/rebalance": func(w http.ResponseWriter, r *http.Request) {
			_ = json.NewDecoder(r.Body).Decode(&put)
			// The documented shape (docs-hugo 3.11 cluster.md: collection
			// a number, no database) and the string go-driver expects.
			writeJSONBody(w, 200, `{"error":false,"code":200,"result":{"imbalanceBefore":{},"imbalanceAfter":{},"moves":[
				{"from":"PRMR-a","to":"PRMR-b","shard":"s1","collection":10017,"isLeader":true},
				{"from":"PRMR-a","to":"PRMR-c","shard":"s2","collection":"10017","isLeader":false}]}}`)
		},
	})
	c := f.client(t)
	ctx := context.Background()
	pending, imb, err := c.RebalanceStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// numberShards [58 102 52]: mean 70.67, worst 102 is 44 % above it.
	if pending != 0 || math.Abs(imb-(102-212.0/3)/(212.0/3)) > 1e-9 {
		t.Fatalf("pending %d imbalance %v", pending, imb)
	}
	moves, err := c.StartRebalance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if moves != 2 {
		t.Fatalf("moves %d", moves)
	}
	for k, want := range map[string]any{"version": 1.0, "moveLeaders": true, "moveFollowers": true, "leaderChanges": true} {
		if put[k] != want {
			t.Fatalf("rebalance body %s = %v, want %v (body %v)", k, put[k], want, put)
		}
	}
}

func TestMetricsPassesServerID(t *testing.T) {
	prom := fixture(t, "datadog_metrics_v2_single.prom")
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_admin/metrics/v2": func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("serverId") == "PRMR-missing" {
				writeJSONBody(w, 404, `{"error":true,"code":404,"errorNum":400,"errorMessage":"Unknown value of serverId parameter."}`)
				return
			}
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = w.Write([]byte(prom))
		},
	})
	c := f.client(t)
	got, err := c.Metrics(context.Background(), "PRMR-a")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != prom {
		t.Fatalf("metrics body differs (%d vs %d bytes)", len(got), len(prom))
	}
	if q := f.requests("GET", "/_admin/metrics/v2")[0].Query; q != "serverId=PRMR-a" {
		t.Fatalf("query %q", q)
	}
	_, err = c.Metrics(context.Background(), "PRMR-missing")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "PRMR-missing") {
		t.Fatalf("unknown server: %v", err)
	}
}

// ShardsFor reuses a collection's properties read less than propsMaxAge
// ago: a new collection is read at once, a changed replication factor once
// they are older, and propsMaxAge 0 or a clock that went back reads all.
func TestShardsForReusesProperties(t *testing.T) {
	var mu sync.Mutex
	ordersRF, withNew := 2, false
	f := newFake(t, map[string]http.HandlerFunc{
		"GET /_db/_system/_api/database": reply(200, `{"error":false,"code":200,"result":["_system"]}`),
		"GET /_db/_system/_api/collection": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			list := `{"name":"orders"}`
			if withNew {
				list += `,{"name":"users"}`
			}
			writeJSONBody(w, 200, `{"error":false,"code":200,"result":[`+list+`]}`)
		},
		"GET /_db/_system/_api/collection/orders/properties": func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			writeJSONBody(w, 200, fmt.Sprintf(`{"name":"orders","replicationFactor":%d,"writeConcern":1,"error":false,"code":200}`, ordersRF))
		},
		"GET /_db/_system/_api/collection/users/properties": reply(200, `{"name":"users","replicationFactor":1,"writeConcern":1,"error":false,"code":200}`),
		"GET /_db/_system/_admin/cluster/shardDistribution": reply(200, `{"results":{},"error":false,"code":200}`),
	})
	clk := &stepClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	c, err := New(Config{Endpoints: []string{f.URL}, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	reads := func() int {
		return len(f.requests("GET", "/_db/_system/_api/collection/orders/properties")) +
			len(f.requests("GET", "/_db/_system/_api/collection/users/properties"))
	}
	const maxAge = 5 * time.Minute
	for i, s := range []struct {
		name    string
		advance time.Duration
		maxAge  time.Duration
		change  func()
		reads   int // properties requests so far
		rf, wc  int
	}{
		{"first", 0, maxAge, nil, 1, 2, 1},
		{"reused", time.Minute, maxAge, nil, 1, 2, 1},
		{"changed but reused", time.Minute, maxAge, func() { ordersRF = 3 }, 1, 2, 1},
		{"a new collection is read", time.Minute, maxAge, func() { withNew = true }, 2, 2, 1},
		{"too old", 2 * time.Minute, maxAge, nil, 3, 3, 1},
		{"fresh", 0, 0, nil, 5, 3, 1},
		{"clock went back", -time.Hour, maxAge, nil, 7, 3, 1},
		{"reused after the jump", time.Minute, maxAge, nil, 7, 3, 1},
	} {
		clk.t = clk.t.Add(s.advance)
		if s.change != nil {
			mu.Lock()
			s.change()
			mu.Unlock()
		}
		st, err := c.ShardsFor(context.Background(), nil, s.maxAge)
		if err != nil {
			t.Fatalf("%d %s: %v", i, s.name, err)
		}
		if got := reads(); got != s.reads || st.MaxReplicationFactor != s.rf || st.MaxWriteConcern != s.wc {
			t.Fatalf("%d %s: %d property reads, rf %d wc %d; want %d, rf %d wc %d", i, s.name, got,
				st.MaxReplicationFactor, st.MaxWriteConcern, s.reads, s.rf, s.wc)
		}
	}
}

// stepClock is a clock a test sets by hand.
type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { return c.t }
