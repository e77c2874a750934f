package ha_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/ha"
	"github.com/arangoscale/arangoscale/ha/zktest"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// The end-to-end tests of this file run several real controllers, each
// with its own ZooKeeper session (through its own TCP proxy, to cut it
// off), against one emulated DC/OS + ArangoDB world in virtual time.
// ZooKeeper runs in real time: the tests wait for its sessions on the
// nodes' change notifications, with the virtual clock standing still.

const step = 15 * time.Second

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

var worldPolicy = template.Must(template.New("p").Parse(`clusters:
  - name: prod
    interval: 15s
    arangodb:
      endpoints: [{{.URL}}]
    marathon:
      coordinators: /arangodb-prod/coordinator
      dbservers: /arangodb-prod/dbserver
    roles:
      coordinators:
        min: 2
        max: 10
        metrics:
          - signal: requests_per_second
            target_per_instance: 650
        stabilization: {up: 0s, down: 2m}
        cooldown: {up: 1m, down: 3m}
      dbservers:
        min: 3
        max: 6
        metrics:
          - signal: cpu_utilization
            target: 0.7
        stabilization: {up: 0s, down: 2m}
        cooldown: {up: 2m, down: 3m}
        step: {up: 1, down: 1}
`))

// request is one changing request a replica sent, in the order the
// emulators received them.
type request struct {
	seq     int64
	replica string
	method  string
	path    string
}

// requestLog records the changing requests of every replica.
type requestLog struct {
	seq        atomic.Int64
	mu         sync.Mutex
	reqs       []request
	violations []string
}

func (l *requestLog) all() []request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]request(nil), l.reqs...)
}

func (l *requestLog) count(suffix string) int {
	n := 0
	for _, r := range l.all() {
		if strings.HasSuffix(r.path, suffix) {
			n++
		}
	}
	return n
}

// recorder is a replica's HTTP transport: it logs the changing requests
// (anything but reads; AQL cursors and PUT …?onlyget=true are reads) before they are sent, and
// asks ZooKeeper itself, on a connection of its own, whether the lock of
// the cluster belongs to the sender's session at that moment.
type recorder struct {
	replica *replica
	log     *requestLog
	obs     *observer
}

func (r recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	read := req.Method == http.MethodGet || req.Method == http.MethodHead || strings.Contains(req.URL.Path, "/_api/cursor") ||
		// the holds' multi-document read (documents.md, getDocuments)
		(req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/_api/document/") && req.URL.Query().Get("onlyget") == "true")
	if !read {
		q := request{seq: r.log.seq.Add(1), replica: r.replica.name, method: req.Method, path: req.URL.Path}
		st, err := r.obs.lockHolder()
		r.log.mu.Lock()
		r.log.reqs = append(r.log.reqs, q)
		if err != nil || st.EphemeralOwner != r.replica.node.SessionID() {
			r.log.violations = append(r.log.violations, fmt.Sprintf("#%d %s %s by %s without the lock (lock: %+v, %v)", q.seq, q.method, q.path, q.replica, st, err))
		}
		r.log.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

type replica struct {
	name  string
	proxy *zktest.Proxy
	node  *ha.Node
	ctl   *controller.Controller
	dead  bool
}

type world struct {
	t        *testing.T
	clk      *clock.Virtual
	w        *sim.World
	zk       *zktest.Server
	log      *requestLog
	obs      *observer // the test's own view of ZooKeeper
	replicas []*replica
	pol      *policy.Config
	mu       sync.Mutex
	rps      float64
}

func newWorld(t *testing.T, dbservers int) *world {
	t.Helper()
	zks := zktest.Start(t)
	h := &world{t: t, clk: clock.NewVirtual(t0), zk: zks, log: &requestLog{}, rps: 800}
	h.obs = newObserver(t, zks.Addr())
	spec := sim.ClusterSpec{
		Name: "prod", Coordinators: 2, DBServers: dbservers,
		Collections: []arango.CollectionSpec{
			{Database: "_system", Name: "sessions", NumberOfShards: 4, ReplicationFactor: 1, WriteConcern: 1, SizeBytes: 2 << 30},
			{Database: "_system", Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 6 << 30},
		},
		Load: func(time.Duration) float64 {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.rps
		},
	}
	params := sim.DefaultParams()
	// A clean-out takes minutes, so a replica can die in the middle of one.
	params.Arango.CleanOutBytesPerSecond = 10 << 20
	w, err := sim.NewWorld(h.clk, params, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	h.w = w
	var buf bytes.Buffer
	if err := worldPolicy.Execute(&buf, map[string]string{"URL": w.ArangoURL("prod")}); err != nil {
		t.Fatal(err)
	}
	if h.pol, err = policy.Load("ha.yaml", buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *world) setRPS(v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rps = v
}

// start adds a replica: its own ZooKeeper session and controller.
func (h *world) start(name string) *replica {
	h.t.Helper()
	r := &replica{name: name, proxy: zktest.NewProxy(h.t, h.zk.Addr())}
	reg := prometheus.NewRegistry()
	node, err := ha.Start(ha.Config{
		Servers: []string{r.proxy.Addr()}, Root: "/arangoscale", SessionTimeout: sessionTimeout,
		ID: name, Resync: 200 * time.Millisecond, Registry: reg,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	node.SetClusters([]string{"prod"})
	r.node = node
	client := &http.Client{Transport: recorder{replica: r, log: h.log, obs: h.obs}}
	s := &controller.Setup{
		MarathonURL: h.w.MarathonURL(), MesosURL: h.w.MesosURL(),
		DCOS: client, Plain: client,
		Clock: h.clk, Registry: reg, Interval: step, SourceTimeout: 2 * time.Second,
		Backoff: controller.BackoffSettings{Initial: 15 * time.Second, Max: 2 * time.Minute, NoJitter: true},
		Fence:   node,
	}
	ctl, err := s.Build()
	if err != nil {
		h.t.Fatal(err)
	}
	if err := ctl.SetPolicy(h.pol); err != nil {
		h.t.Fatal(err)
	}
	r.ctl = ctl
	h.replicas = append(h.replicas, r)
	h.t.Cleanup(func() {
		if !r.dead {
			r.node.Close()
		}
	})
	return r
}

// kill stops a replica abruptly: it is cut off from ZooKeeper, is never
// stepped again, and its session is left to expire.
func (h *world) kill(r *replica) {
	r.proxy.Cut()
	r.dead = true
	h.t.Cleanup(r.node.Close)
}

// stop shuts a replica down as Marathon does: the controller stops, then
// the node leaves.
func (h *world) stop(r *replica) {
	r.dead = true
	r.node.Close()
}

// run advances virtual time by d, reconciling every live replica after
// every step, and checks that no shard was lost and that every change was
// sent by the holder of the cluster's lock: never two replicas acting on
// one cluster.
func (h *world) run(d time.Duration) {
	h.t.Helper()
	for end := h.clk.Now().Add(d); h.clk.Now().Before(end); {
		h.w.Advance(step)
		for _, r := range h.replicas {
			if !r.dead {
				r.ctl.Step(context.Background(), true)
			}
		}
		h.log.mu.Lock()
		v := h.log.violations
		h.log.mu.Unlock()
		if len(v) > 0 {
			h.t.Fatalf("changes without the cluster's lock:\n%s", strings.Join(v, "\n"))
		}
		if l := h.w.Losses(); len(l) > 0 {
			h.t.Fatalf("shards lost: %+v", l)
		}
	}
}

func (h *world) runUntil(limit time.Duration, what string, cond func() bool) {
	h.t.Helper()
	for start := h.clk.Now(); h.clk.Now().Sub(start) <= limit; h.run(step) {
		if cond() {
			return
		}
	}
	h.t.Fatalf("%s: not reached within %s; state %+v; requests %v", what, limit, h.w.State("prod"), h.log.all())
}

// owner waits until every connected replica sees them all as members and prod
// is owned by the one it hashes to (so no handover is still under way),
// and returns that replica.
func (h *world) owner(limit time.Duration) *replica {
	h.t.Helper()
	var live []*ha.Node
	for _, r := range h.replicas {
		if !r.dead {
			live = append(live, r.node)
		}
	}
	waitAll(h.t, limit, "prod owned", live, func(s []ha.Snapshot) bool {
		connected := 0
		for _, x := range s {
			if x.Connected {
				connected++
			}
		}
		n, settled := 0, true
		for _, x := range s {
			if !x.Connected { // cut off: its session, and member node, will expire
				continue
			}
			n += len(x.Owned)
			if len(x.Members) != connected || (len(x.Owned) == 1) != (ha.Owner("prod", x.Members) == x.Member) {
				settled = false
			}
		}
		return n == 1 && settled
	})
	for _, r := range h.replicas {
		if !r.dead && r.node.MayAct("prod") == nil {
			return r
		}
	}
	h.t.Fatal("owner vanished")
	return nil
}

func (h *world) saga(r *replica) controller.SagaStatus {
	return r.ctl.Status().Clusters[0].Saga
}

func (h *world) dbTarget() int {
	a, _ := h.w.Marathon().AppStatus(sim.DBServerApp("prod"))
	return a.Instances
}

func (h *world) coordTarget() int {
	a, _ := h.w.Marathon().AppStatus(sim.CoordinatorApp("prod"))
	return a.Instances
}

func (h *world) byReplica() map[string]int {
	out := map[string]int{}
	for _, q := range h.log.all() {
		out[q.replica]++
	}
	return out
}

func describe(reqs []request) string {
	var b strings.Builder
	for _, q := range reqs {
		fmt.Fprintf(&b, "\n  #%d %s %s %s", q.seq, q.replica, q.method, q.path)
	}
	return b.String()
}

type snapshot = ha.Snapshot

// observer is the test's own ZooKeeper connection.
type observer struct {
	t    *testing.T
	addr string
	mu   sync.Mutex
	conn *zk.Conn
}

func newObserver(t *testing.T, addr string) *observer {
	o := &observer{t: t, addr: addr}
	o.reconnect()
	t.Cleanup(func() { o.mu.Lock(); o.conn.Close(); o.mu.Unlock() })
	return o
}

func (o *observer) reconnect() {
	c, _, err := zk.Connect([]string{o.addr}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		o.t.Fatal(err)
	}
	o.mu.Lock()
	if o.conn != nil {
		o.conn.Close()
	}
	o.conn = c
	o.mu.Unlock()
}

func (o *observer) get() *zk.Conn {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.conn
}

// lockHolder reads the lock of prod. A read that fails on a loaded
// machine is retried on a fresh connection: this is the only way to ask
// an external server, and a replica's change waits for the answer.
func (o *observer) lockHolder() (*zk.Stat, error) {
	var err error
	for range 5 {
		var st *zk.Stat
		_, st, err = o.get().Get("/arangoscale/owners/prod")
		if err == nil || errors.Is(err, zk.ErrNoNode) {
			return st, err
		}
		o.reconnect()
	}
	return nil, err
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func nodesOf(rs ...*replica) []*ha.Node {
	out := make([]*ha.Node, len(rs))
	for i, r := range rs {
		out[i] = r.node
	}
	return out
}
