// Package sim joins the emulators into one world: an emulated DC/OS
// (package sim/dcos: Marathon + Mesos) running ArangoDB clusters (package
// sim/arango), with a load model that turns offered requests per second
// into utilisation, latency, queue lengths, CPU time and memory — the same
// numbers in ArangoDB's metrics and in Mesos' statistics. The world owns
// the wiring (Marathon tasks becoming healthy join their ArangoDB cluster,
// tasks that go away leave it), the clock-driven stepping, and the load
// traces. It runs in real time (demo, emulate) or virtual time (tests,
// simulate) with the same code.
package sim

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// Errors of NewWorld and Start.
var (
	ErrBadSpec    = errors.New("sim: invalid cluster spec")
	ErrBadParams  = errors.New("sim: invalid params")
	ErrNoCapacity = errors.New("sim: initial instances do not fit the Mesos agents")
	ErrStarted    = errors.New("sim: world already started")
)

// Resources of one Marathon app instance.
type Resources struct {
	CPUs   float64
	MemMB  float64
	DiskMB float64
}

// Params configure the world. DefaultParams documents the defaults; zero
// fields of a Params passed to NewWorld take them.
type Params struct {
	// Tick is the largest model increment of Step, and Run's period (5s).
	Tick time.Duration
	// CoordinatorRPS is what one coordinator serves at 100 % cpu (1000).
	CoordinatorRPS float64
	// DBServerRPS is the coordinator traffic one DB server absorbs at
	// 100 % cpu (1500).
	DBServerRPS float64
	// BaseLatency is a request's latency through an idle server (5 ms);
	// it grows as BaseLatency/(1-u) near saturation, capped at MaxLatency.
	BaseLatency time.Duration
	// MaxLatency caps latency (10 s): requests time out beyond it.
	MaxLatency time.Duration
	// IdleCPU is the cpu fraction a server uses with no load (0.02).
	IdleCPU float64
	// Coordinator and DBServer are the app resources (2 cpus / 4 GiB and
	// 4 cpus / 16 GiB, 1 GiB disk each); Agency those of an agency
	// instance (0.5 cpus / 1 GiB / 1 GiB).
	Coordinator, DBServer, Agency Resources
	// DCOS configures Marathon + Mesos; Arango every ArangoDB cluster.
	DCOS   dcos.Params
	Arango arango.Params
	// AdvertiseHost, when set, is the host part of the endpoint an
	// ArangoDB server advertises (its --cluster.my-address) for a task on
	// host with first port port: a DNS name where Marathon shows an IP,
	// say. Unset, it is the task's host, as the apps' --cluster.my-address
	// tcp://$HOST:$PORT0 gives (deploy/marathon/arangodb-cluster.json).
	AdvertiseHost func(host string, port int) string
	// Wrap, when set, wraps every listener's handler (fault injection,
	// request recording). service is "marathon", "mesos", "agent:<i>" or
	// ArangoService(cluster). It is also DCOS.Wrap unless that is set.
	Wrap func(service string, h http.Handler) http.Handler
	// Addr, when set, is the listen address of a service (same names as
	// Wrap; "" keeps 127.0.0.1 on a random port). It is also DCOS.Addr
	// unless that is set.
	Addr func(service string) string
}

// ArangoService is the Params.Wrap service name of a cluster's ArangoDB
// coordinator endpoint.
func ArangoService(cluster string) string { return "arangodb:" + cluster }

// DefaultParams returns the documented defaults.
func DefaultParams() Params {
	return Params{
		Tick:           5 * time.Second,
		CoordinatorRPS: 1000,
		DBServerRPS:    1500,
		BaseLatency:    5 * time.Millisecond,
		MaxLatency:     10 * time.Second,
		IdleCPU:        0.02,
		Coordinator:    Resources{CPUs: 2, MemMB: 4096, DiskMB: 1024},
		DBServer:       Resources{CPUs: 4, MemMB: 16384, DiskMB: 1024},
		Agency:         Resources{CPUs: 0.5, MemMB: 1024, DiskMB: 1024},
		DCOS:           dcos.DefaultParams(),
		Arango:         arango.DefaultParams(),
	}
}

func (p Params) withDefaults() (Params, error) {
	d := DefaultParams()
	if p.Tick < 0 || p.CoordinatorRPS < 0 || p.DBServerRPS < 0 || p.BaseLatency < 0 || p.MaxLatency < 0 ||
		p.IdleCPU < 0 || p.IdleCPU >= 1 {
		return p, fmt.Errorf("%w: negative tick, capacity or latency, or idle cpu outside [0,1)", ErrBadParams)
	}
	if p.Tick == 0 {
		p.Tick = d.Tick
	}
	if p.CoordinatorRPS == 0 {
		p.CoordinatorRPS = d.CoordinatorRPS
	}
	if p.DBServerRPS == 0 {
		p.DBServerRPS = d.DBServerRPS
	}
	if p.BaseLatency == 0 {
		p.BaseLatency = d.BaseLatency
	}
	if p.MaxLatency == 0 {
		p.MaxLatency = d.MaxLatency
	}
	if p.IdleCPU == 0 {
		p.IdleCPU = d.IdleCPU
	}
	if p.Coordinator == (Resources{}) {
		p.Coordinator = d.Coordinator
	}
	if p.DBServer == (Resources{}) {
		p.DBServer = d.DBServer
	}
	if p.Agency == (Resources{}) {
		p.Agency = d.Agency
	}
	return p, nil
}

// ClusterSpec describes one ArangoDB cluster of the world. Its Marathon
// apps are /arangodb-<Name>/coordinator and /arangodb-<Name>/dbserver, and
// /arangodb-<Name>/agency when Agents > 0 (that app only takes Mesos
// resources: the emulated ArangoDB's agency is implicit).
type ClusterSpec struct {
	Name         string
	Coordinators int
	DBServers    int
	Agents       int
	Collections  []arango.CollectionSpec
	Load         LoadFunc // nil: no load
}

// CoordinatorApp is the Marathon app id of the cluster's coordinators.
func CoordinatorApp(cluster string) string { return "/arangodb-" + cluster + "/coordinator" }

// DBServerApp is the Marathon app id of the cluster's DB servers.
func DBServerApp(cluster string) string { return "/arangodb-" + cluster + "/dbserver" }

// AgencyApp is the Marathon app id of the cluster's agency.
func AgencyApp(cluster string) string { return "/arangodb-" + cluster + "/agency" }

// RoleState counts one role's Marathon instances.
type RoleState struct {
	Target, Running, Healthy, Staged int
}

// ClusterState is the view of one cluster: Marathon's instance counters and
// the load model's results.
type ClusterState struct {
	Name                          string
	At                            time.Time
	Offered                       float64 // rps offered by the load function
	Served                        float64 // rps the healthy coordinators serve (≤ Offered)
	Coordinators, DBServers       RoleState
	CoordinatorUtil, DBServerUtil float64 // demand / capacity; > 1 is overload
	LatencyP95                    float64 // seconds, end to end
	Overloaded                    bool
	LostShards                    int
}

type appRef struct {
	c    *cluster
	role arango.Role
}

type taskRef struct {
	cluster  *cluster
	role     arango.Role
	serverID string
}

type cluster struct {
	name  string
	load  LoadFunc
	ac    *arango.Cluster
	state ClusterState
	srv   *http.Server
	ln    net.Listener
}

// World is the emulated DC/OS with its ArangoDB clusters.
type World struct {
	clk   clock.Clock
	p     Params
	dc    *dcos.Cluster
	start time.Time

	stepMu sync.Mutex // one Step at a time

	mu       sync.Mutex
	last     time.Time
	clusters map[string]*cluster
	names    []string
	apps     map[string]appRef   // app id → cluster and role
	tasks    map[string]*taskRef // task id → server
	started  bool
}

func validName(n string) bool {
	if n == "" || n[0] == '-' || n[len(n)-1] == '-' {
		return false
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// NewWorld builds the world at clk.Now(): the clusters' instances already
// running and healthy, their servers joined and their collections placed.
func NewWorld(clk clock.Clock, p Params, clusters ...ClusterSpec) (*World, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	if p.DCOS.Addr == nil {
		p.DCOS.Addr = p.Addr
	}
	if p.DCOS.Wrap == nil {
		p.DCOS.Wrap = p.Wrap
	}
	dc, err := dcos.New(clk, p.DCOS)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	w := &World{
		clk: clk, p: p, dc: dc, start: clk.Now(), last: clk.Now(),
		clusters: map[string]*cluster{},
		apps:     map[string]appRef{},
		tasks:    map[string]*taskRef{},
	}
	dc.SetHooks(dcos.Hooks{OnTaskHealthy: w.taskHealthy, OnTaskGone: w.taskGone})
	for _, s := range clusters {
		if err := w.addCluster(s); err != nil {
			return nil, err
		}
	}
	w.mu.Lock()
	w.computeLocked(w.last)
	w.mu.Unlock()
	return w, nil
}

func (w *World) addCluster(s ClusterSpec) error {
	if !validName(s.Name) {
		return fmt.Errorf("%w: name %q: use lowercase letters, digits and inner dashes", ErrBadSpec, s.Name)
	}
	if _, dup := w.clusters[s.Name]; dup {
		return fmt.Errorf("%w: duplicate cluster %q", ErrBadSpec, s.Name)
	}
	if s.Coordinators < 0 || s.DBServers < 0 || s.Agents < 0 {
		return fmt.Errorf("%w: cluster %q: negative instance count", ErrBadSpec, s.Name)
	}
	c := &cluster{name: s.Name, load: s.Load, ac: arango.NewCluster(s.Name, w.clk, w.p.Arango)}
	w.mu.Lock()
	w.clusters[s.Name] = c
	w.names = append(w.names, s.Name)
	sort.Strings(w.names)
	w.apps[CoordinatorApp(s.Name)] = appRef{c, arango.Coordinator}
	w.apps[DBServerApp(s.Name)] = appRef{c, arango.DBServer}
	w.mu.Unlock()
	apps := []struct {
		id string
		n  int
		r  Resources
	}{{CoordinatorApp(s.Name), s.Coordinators, w.p.Coordinator}, {DBServerApp(s.Name), s.DBServers, w.p.DBServer}}
	if s.Agents > 0 {
		apps = append(apps, struct {
			id string
			n  int
			r  Resources
		}{AgencyApp(s.Name), s.Agents, w.p.Agency})
	}
	for _, a := range apps {
		err := w.dc.AddApp(dcos.AppSpec{ID: a.id, Instances: a.n, CPUs: a.r.CPUs, MemMB: a.r.MemMB, DiskMB: a.r.DiskMB,
			Ports: 1, Cmd: "arangodb", Labels: map[string]string{"arangoscale/cluster": s.Name}})
		if err != nil {
			return fmt.Errorf("sim: cluster %q: %w", s.Name, err)
		}
		if st, _ := w.dc.AppStatus(a.id); st.Queued > 0 {
			return fmt.Errorf("%w: cluster %q: %d of %d instances of %s", ErrNoCapacity, s.Name, st.Queued, a.n, a.id)
		}
	}
	// A real _system holds the system collections (2 copies each) before
	// any user collection.
	if err := c.ac.AddSystemCollections(); err != nil {
		return fmt.Errorf("sim: cluster %q: %w", s.Name, err)
	}
	for _, col := range s.Collections {
		if err := c.ac.AddCollection(col); err != nil {
			return fmt.Errorf("sim: cluster %q: %w", s.Name, err)
		}
	}
	return nil
}

// taskHealthy joins a healthy Marathon task to its ArangoDB cluster.
func (w *World) taskHealthy(appID string, t dcos.Task) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.apps[appID]
	if !ok {
		return
	}
	endpoint := "tcp://" + t.Host
	if len(t.Ports) > 0 {
		host := t.Host
		if w.p.AdvertiseHost != nil {
			host = w.p.AdvertiseHost(t.Host, t.Ports[0])
		}
		endpoint = fmt.Sprintf("tcp://%s:%d", host, t.Ports[0])
	}
	id := a.c.ac.ServerUp(a.role, t.ID, endpoint)
	w.tasks[t.ID] = &taskRef{cluster: a.c, role: a.role, serverID: id}
}

// taskGone tells ArangoDB the server's task is gone.
func (w *World) taskGone(appID, taskID string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	a, ok := w.apps[appID]
	if !ok {
		return
	}
	a.c.ac.ServerDown(taskID)
	delete(w.tasks, taskID)
}

// Start opens the HTTP listeners: Marathon, Mesos master and agents, and
// one ArangoDB coordinator endpoint per cluster, on 127.0.0.1.
func (w *World) Start() error {
	w.mu.Lock()
	if w.started {
		w.mu.Unlock()
		return ErrStarted
	}
	w.started = true
	w.mu.Unlock()
	if err := w.dc.Start(); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range w.names {
		c := w.clusters[name]
		addr := "127.0.0.1:0"
		if a := w.p.Addr; a != nil && a(ArangoService(name)) != "" {
			addr = a(ArangoService(name))
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("sim: cluster %q: listen: %w", name, err)
		}
		c.ln = ln
		var h http.Handler = c.ac.Handler()
		if w.p.Wrap != nil {
			h = w.p.Wrap(ArangoService(name), h)
		}
		c.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = c.srv.Serve(ln) }()
	}
	return nil
}

// Close stops every listener.
func (w *World) Close() {
	w.dc.Close()
	w.mu.Lock()
	var srvs []*http.Server
	for _, c := range w.clusters {
		if c.srv != nil {
			srvs = append(srvs, c.srv)
		}
	}
	w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range srvs {
		if err := s.Shutdown(ctx); err != nil {
			_ = s.Close()
		}
	}
}

// MarathonURL is Marathon's base URL ("" before Start).
func (w *World) MarathonURL() string { return w.dc.MarathonURL() }

// MesosURL is the Mesos master's base URL ("" before Start).
func (w *World) MesosURL() string { return w.dc.MesosURL() }

// ArangoURL is the coordinator endpoint of a cluster ("" before Start or
// for an unknown cluster). One listener serves all of a cluster's
// coordinators, like the DC/OS l4lb VIP in front of them.
func (w *World) ArangoURL(cluster string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.clusters[cluster]
	if !ok || c.ln == nil {
		return ""
	}
	return "http://" + c.ln.Addr().String()
}

// Marathon is the emulated Marathon + Mesos, for tests and fault injection.
func (w *World) Marathon() *dcos.Cluster { return w.dc }

// ArangoDB is a cluster's emulated ArangoDB (nil if unknown).
func (w *World) ArangoDB(cluster string) *arango.Cluster {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.clusters[cluster]; ok {
		return c.ac
	}
	return nil
}

// Clusters returns the cluster names, sorted.
func (w *World) Clusters() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.names...)
}

// Params returns the effective parameters.
func (w *World) Params() Params { return w.p }

// Start time of the world (elapsed time for load functions counts from it).
func (w *World) Started() time.Time { return w.start }

// SetLoad replaces a cluster's load function (nil: no load). It takes
// effect at the next Step.
func (w *World) SetLoad(cluster string, f LoadFunc) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.clusters[cluster]; ok {
		c.load = f
	}
}

// Step advances the model to clk.Now() in increments of at most Tick. It
// does nothing if time did not move.
func (w *World) Step() {
	w.stepMu.Lock()
	defer w.stepMu.Unlock()
	now := w.clk.Now()
	for {
		w.mu.Lock()
		last := w.last
		w.mu.Unlock()
		if !now.After(last) {
			return
		}
		next := last.Add(w.p.Tick)
		if next.After(now) {
			next = now
		}
		w.stepTo(next)
	}
}

// stepTo: Marathon/Mesos first (tasks launch, become healthy and join or
// leave ArangoDB; CPU time accrues at the usage set for this interval),
// then ArangoDB integrates the same loads, then the loads for the next
// interval are computed from the new state.
func (w *World) stepTo(t time.Time) {
	w.dc.Step(t) // must not hold w.mu: hooks take it
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range w.names {
		w.clusters[name].ac.Step(t)
	}
	w.computeLocked(t)
	w.last = t
}

// Advance moves a virtual clock forward by d and Steps. With any other
// clock it only Steps.
func (w *World) Advance(d time.Duration) {
	if v, ok := w.clk.(*clock.Virtual); ok {
		v.Advance(d)
	}
	w.Step()
}

// Run Steps every Tick of real time until ctx is done.
func (w *World) Run(ctx context.Context) {
	tk := time.NewTicker(w.p.Tick)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			w.Step()
		}
	}
}

// State returns a cluster's state (zero if unknown): the load model's
// figures as of the last Step, the roles' Marathon counters as of now, so
// a scale made since the last Step already shows in Target.
func (w *World) State(cluster string) ClusterState {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, ok := w.clusters[cluster]
	if !ok {
		return ClusterState{}
	}
	st := c.state
	if a, ok := w.dc.AppStatus(CoordinatorApp(cluster)); ok {
		st.Coordinators = roleState(a)
	}
	if a, ok := w.dc.AppStatus(DBServerApp(cluster)); ok {
		st.DBServers = roleState(a)
	}
	return st
}

// Losses returns every cluster's shard losses, in time order.
func (w *World) Losses() []arango.Loss {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []arango.Loss
	for _, name := range w.names {
		out = append(out, w.clusters[name].ac.Losses()...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// Incidents returns every cluster's incidents (DB servers that went down
// still holding shards or being cleaned out), in time order.
func (w *World) Incidents() []arango.Incident {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []arango.Incident
	for _, name := range w.names {
		out = append(out, w.clusters[name].ac.Incidents()...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

func roleState(st dcos.AppStatus) RoleState {
	return RoleState{Target: st.Instances, Running: st.Running, Healthy: st.Healthy, Staged: st.Staged}
}

// servingTasks are the app's healthy tasks that have joined ArangoDB.
func (w *World) servingTasks(appID string) []servingTask {
	var out []servingTask
	for _, t := range w.dc.Tasks(appID) {
		if ref, ok := w.tasks[t.ID]; ok && t.Healthy {
			out = append(out, servingTask{taskID: t.ID, serverID: ref.serverID, memMB: t.MemMB})
		}
	}
	return out
}

type servingTask struct {
	taskID, serverID string
	memMB            float64
}

// computeLocked runs the load model for every cluster at time t and pushes
// the per-server loads to ArangoDB and the per-task usage to Mesos.
func (w *World) computeLocked(t time.Time) {
	for _, name := range w.names {
		c := w.clusters[name]
		offered := 0.0
		if c.load != nil {
			offered = c.load(t.Sub(w.start))
			if math.IsNaN(offered) || offered < 0 || math.IsInf(offered, 0) {
				offered = 0
			}
		}
		coords := w.servingTasks(CoordinatorApp(name))
		dbs := w.servingTasks(DBServerApp(name))
		m := model(w.p, offered, len(coords), len(dbs))
		cst, _ := w.dc.AppStatus(CoordinatorApp(name))
		dst, _ := w.dc.AppStatus(DBServerApp(name))
		c.state = ClusterState{
			Name: name, At: t, Offered: offered, Served: m.served,
			Coordinators: roleState(cst), DBServers: roleState(dst),
			CoordinatorUtil: m.coord.util, DBServerUtil: m.db.util,
			LatencyP95: m.p95, Overloaded: m.overloaded, LostShards: len(c.ac.Losses()),
		}
		for _, r := range []struct {
			tasks []servingTask
			l     roleLoad
			e2e   float64
		}{{coords, m.coord, m.meanLatency}, {dbs, m.db, m.db.latency}} {
			for _, st := range r.tasks {
				rss := int64(st.memMB * (1 << 20) * r.l.memFraction)
				c.ac.SetLoad(st.serverID, arango.Load{RequestsPerSecond: r.l.rpsPerServer, CPUFraction: r.l.cpu,
					LatencySeconds: r.e2e, QueueLength: r.l.queue, MemRSSBytes: rss})
				w.dc.SetTaskUsage(st.taskID, r.l.cpu, rss)
			}
		}
	}
}

// String renders a state compactly for logs and test failures.
func (s ClusterState) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s@%s offered=%.0f served=%.0f coord=%d/%d/%d util=%.2f db=%d/%d/%d util=%.2f p95=%.3fs",
		s.Name, s.At.Format(time.RFC3339), s.Offered, s.Served,
		s.Coordinators.Healthy, s.Coordinators.Running, s.Coordinators.Target, s.CoordinatorUtil,
		s.DBServers.Healthy, s.DBServers.Running, s.DBServers.Target, s.DBServerUtil, s.LatencyP95)
	if s.Overloaded {
		b.WriteString(" OVERLOADED")
	}
	if s.LostShards > 0 {
		fmt.Fprintf(&b, " lost=%d", s.LostShards)
	}
	return b.String()
}

// InProcess returns a transport that serves requests to every listener of
// the world (Marathon, Mesos master and agents, each cluster's ArangoDB
// endpoint) with the listener's own handler, fault wrappers included,
// without the socket: the same URLs, requests and answers, much cheaper.
// It needs Start (the listeners' addresses are the hosts it knows).
func (w *World) InProcess() *InProcess {
	t := NewInProcess()
	for addr, h := range w.dc.Handlers() {
		t.Handle(addr, h)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range w.names {
		if c := w.clusters[name]; c.srv != nil {
			t.Handle(c.ln.Addr().String(), c.srv.Handler)
		}
	}
	return t
}
