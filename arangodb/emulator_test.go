package arangodb

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/sim/arango"
)

const emuSecret = "emulated-cluster-secret"

type emu struct {
	clk *clock.Virtual
	cl  *arango.Cluster
	c   *Client
	url string
	db  map[string]string // task ID → server ID
}

// newEmu starts an emulated cluster with one coordinator and n DB servers
// behind a real HTTP server, and a Client using a superuser JWT.
func newEmu(t *testing.T, dbservers int) *emu {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	p := arango.DefaultParams()
	p.JWTSecret = emuSecret
	cl := arango.NewCluster("emu", clk, p)
	cl.ServerUp(arango.Coordinator, "crdn-1", "tcp://127.0.0.1:30001")
	e := &emu{clk: clk, cl: cl, db: map[string]string{}}
	for i := 1; i <= dbservers; i++ {
		e.addDBServer(i)
	}
	srv := httptest.NewServer(cl.Handler())
	t.Cleanup(srv.Close)
	e.url = srv.URL
	c, err := New(Config{Endpoints: []string{srv.URL}, JWTSecret: emuSecret})
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

func (e *emu) addDBServer(i int) string {
	task := "dbserver-" + string(rune('0'+i))
	id := e.cl.ServerUp(arango.DBServer, task, "tcp://127.0.0.1:3100"+string(rune('0'+i)))
	e.db[task] = id
	return id
}

func (e *emu) step(d time.Duration) { e.cl.Step(e.clk.Advance(d)) }

func healthOf(t *testing.T, c *Client, id string) (ServerHealth, bool) {
	t.Helper()
	hs, err := c.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.ID == id {
			return h, true
		}
	}
	return ServerHealth{}, false
}

// TestEmulatorScaleDownSaga walks the DB-server scale-down the controller
// performs: cleanOutServer, follow the job (also found again without its
// ID), refuse removal while the server lives, remove it once FAILED.
func TestEmulatorScaleDownSaga(t *testing.T) {
	e := newEmu(t, 4)
	ctx := context.Background()
	if err := e.cl.AddCollection(arango.CollectionSpec{Name: "orders", NumberOfShards: 8, ReplicationFactor: 2, SizeBytes: 4 << 30}); err != nil {
		t.Fatal(err)
	}
	hs, err := e.c.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var dbs int
	for _, h := range hs {
		if h.Role == RoleDBServer && h.Status == StatusGood {
			dbs++
		}
	}
	if dbs != 4 || !slices.IsSortedFunc(hs, func(a, b ServerHealth) int { return strings.Compare(a.ID, b.ID) }) {
		t.Fatalf("health: %+v", hs)
	}

	victim := e.db["dbserver-4"]
	jobID, err := e.c.CleanOutServer(ctx, victim)
	if err != nil {
		t.Fatal(err)
	}
	job, err := e.c.Job(ctx, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if job.ID != jobID || job.Server != victim || job.Done() {
		t.Fatalf("job right after the request: %+v", job)
	}
	for i := 0; i < 10000; i++ {
		if job, err = e.c.Job(ctx, jobID); err != nil {
			t.Fatal(err)
		}
		if job.Done() {
			break
		}
		e.step(5 * time.Second)
	}
	if job.Status != JobFinished || job.Server != victim || job.Type != JobTypeCleanOutServer {
		t.Fatalf("job ended as %+v", job)
	}
	nos, err := e.c.NumberOfServers(ctx)
	if err != nil || !slices.Contains(nos.CleanedServers, victim) {
		t.Fatalf("cleanedServers after the job: %+v, %v", nos, err)
	}

	if err := e.c.RemoveServer(ctx, victim); !errors.Is(err, ErrPrecondition) {
		t.Fatalf("removing a GOOD server: want ErrPrecondition, got %v", err)
	}
	e.cl.ServerDown("dbserver-4")
	e.step(time.Minute)
	if h, _ := healthOf(t, e.c, victim); h.Status != StatusFailed || !h.CanBeDeleted {
		t.Fatalf("victim after its task is gone: %+v", h)
	}
	if err := e.c.RemoveServer(ctx, victim); err != nil {
		t.Fatalf("removeServer: %v", err)
	}
	if _, ok := healthOf(t, e.c, victim); ok {
		t.Fatal("removed server still in health")
	}
	if err := e.c.RemoveServer(ctx, victim); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second removal: want ErrNotFound, got %v", err)
	}
	if losses := e.cl.Losses(); len(losses) != 0 {
		t.Fatalf("data lost: %+v", losses)
	}
}

func TestEmulatorCleanOutWithoutRoomFails(t *testing.T) {
	e := newEmu(t, 2)
	ctx := context.Background()
	if err := e.cl.AddCollection(arango.CollectionSpec{Name: "orders", NumberOfShards: 2, ReplicationFactor: 2}); err != nil {
		t.Fatal(err)
	}
	jobID, err := e.c.CleanOutServer(ctx, e.db["dbserver-1"])
	if err != nil {
		t.Fatal(err)
	}
	var job Job
	for i := 0; i < 100 && !job.Done(); i++ {
		e.step(5 * time.Second)
		if job, err = e.c.Job(ctx, jobID); err != nil {
			t.Fatal(err)
		}
	}
	if job.Status != JobFailed {
		t.Fatalf("job: %+v", job)
	}
}

func TestEmulatorNumberOfServersAndAuth(t *testing.T) {
	e := newEmu(t, 3)
	ctx := context.Background()
	n, err := e.c.NumberOfServers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n.CoordinatorsSet || n.DBServersSet {
		t.Fatalf("fresh cluster has a target: %+v", n)
	}
	three, four := 3, 4
	if err := e.c.SetNumberOfServers(ctx, &three, &four); err != nil {
		t.Fatal(err)
	}
	n, err = e.c.NumberOfServers(ctx)
	if err != nil || !n.CoordinatorsSet || !n.DBServersSet || n.Coordinators != 3 || n.DBServers != 4 {
		t.Fatalf("after PUT: %+v, %v", n, err)
	}
	bad, err := New(Config{Endpoints: []string{e.url}, JWTSecret: "wrong-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Health(ctx); !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("wrong secret: %v", err)
	}
	if _, err := bad.Metrics(ctx, ""); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("metrics with wrong secret: %v", err)
	}
}

func TestEmulatorMetricsAndRebalance(t *testing.T) {
	e := newEmu(t, 3)
	ctx := context.Background()
	if err := e.cl.AddCollection(arango.CollectionSpec{Name: "orders", NumberOfShards: 12, ReplicationFactor: 2, SizeBytes: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	text, err := e.c.Metrics(ctx, e.db["dbserver-1"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "# TYPE") {
		t.Fatalf("metrics text: %.200q", text)
	}
	if _, err := e.c.Metrics(ctx, "PRMR-unknown"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown server metrics: %v", err)
	}

	e.addDBServer(4) // joins empty
	e.step(time.Second)
	_, before, err := e.c.RebalanceStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 {
		t.Fatalf("a new empty server should make the cluster imbalanced, got %v", before)
	}
	moves, err := e.c.StartRebalance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if moves == 0 {
		t.Fatal("no moves planned for an empty new server")
	}
	pending, _, err := e.c.RebalanceStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pending == 0 {
		t.Fatal("no pending moves right after starting a rebalance")
	}
	for i := 0; i < 1000 && pending > 0; i++ {
		e.step(5 * time.Second)
		if pending, _, err = e.c.RebalanceStatus(ctx); err != nil {
			t.Fatal(err)
		}
	}
	_, after, err := e.c.RebalanceStatus(ctx)
	if err != nil || pending != 0 || after >= before {
		t.Fatalf("after rebalance: pending %d imbalance %v (before %v), %v", pending, after, before, err)
	}
}

func TestEmulatorShards(t *testing.T) {
	e := newEmu(t, 3)
	ctx := context.Background()
	if err := e.cl.AddCollection(arango.CollectionSpec{Name: "orders", NumberOfShards: 6, ReplicationFactor: 3, WriteConcern: 2}); err != nil {
		t.Fatal(err)
	}
	// Both in _system: the emulator's shardDistribution lists every
	// database's collections whatever the /_db/ prefix, where ArangoDB
	// lists only that database's; TestShardStats covers several databases.
	if err := e.cl.AddCollection(arango.CollectionSpec{Name: "items", NumberOfShards: 3, ReplicationFactor: 2}); err != nil {
		t.Fatal(err)
	}
	st, err := e.c.Shards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.MaxReplicationFactor != 3 || st.MaxWriteConcern != 2 || st.OutOfSync != 0 || st.NotReplicated != 0 {
		t.Fatalf("healthy cluster: %+v", st)
	}
	total := 0
	for _, s := range st.PerServer {
		total += s.Total()
	}
	if len(st.PerServer) != 3 || total != 6*3+3*2 {
		t.Fatalf("per server %+v", st.PerServer)
	}
	e.cl.ServerDown("dbserver-1")
	st, err = e.c.Shards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.OutOfSync == 0 || st.NotReplicated == 0 {
		t.Fatalf("a down server leaves every shard in sync and replicated: %+v", st)
	}
}
