package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/metrics"
	"github.com/arangoscale/arangoscale/policy"
)

// roles is the order roles are handled in: coordinators first, so a
// cluster under load gets its front door widened before its storage.
var roles = []policy.Role{policy.Coordinators, policy.DBServers}

// cluster is one ArangoDB cluster of the policy with its role workers.
type cluster struct {
	ctl     *Controller
	name    string
	log     *slog.Logger
	clients *ClusterClients
	// marathon is the controller's Marathon behind this cluster's fence.
	marathon Marathon
	// standby says why this process does not act on the cluster now (""
	// when it does); only reconcile writes it.
	standby string
	// waiting mirrors standby != "" for Step, which reads it without mu.
	waiting atomic.Bool

	busy    atomic.Bool  // a reconcile is running
	nextDue atomic.Int64 // unix nanos
	iv      atomic.Int64 // the interval in force, readable without mu

	mu      sync.Mutex // held by reconcile and by a policy swap
	pol     *policy.Cluster
	removed bool
	workers map[policy.Role]*worker
	saga    sagaState
	shards  shardCache

	// The /status snapshot, published at the end of every reconcile so a
	// status request never waits for a slow reconcile.
	stMu sync.Mutex
	st   ClusterRun
}

func (c *Controller) newCluster(pc *policy.Cluster) (*cluster, error) {
	cl := &cluster{
		ctl:     c,
		name:    pc.Name,
		log:     c.log.With("cluster", pc.Name),
		workers: map[policy.Role]*worker{},
	}
	cl.saga.status.Step = StepIdle
	clients, err := c.cfg.Connect(pc, cl.sourceError)
	if err != nil {
		return nil, err
	}
	if clients == nil || clients.Observer == nil {
		return nil, fmt.Errorf("connector returned no metrics observer")
	}
	cl.marathon = c.cfg.Marathon
	if f := c.cfg.Fence; f != nil {
		cl.marathon = fencedMarathon{Marathon: c.cfg.Marathon, fence: f, cluster: pc.Name}
		fenced := *clients
		if clients.ArangoDB != nil {
			fenced.ArangoDB = fencedArangoDB{ArangoDB: clients.ArangoDB, fence: f, cluster: pc.Name}
		}
		if clients.Holds != nil {
			fenced.Holds = fencedHolds{HoldStore: clients.Holds, fence: f, cluster: pc.Name}
		}
		clients = &fenced
	}
	cl.clients = clients
	// Series that exist from the start make rate() and increase() see the
	// first event, and let alerts refer to them before anything happened.
	for _, src := range []string{"arangodb", "mesos", "marathon", "prometheus"} {
		c.metrics.sourceErrors.WithLabelValues(pc.Name, src)
	}
	for _, res := range []string{"started", "finished", "failed"} {
		c.metrics.cleanouts.WithLabelValues(pc.Name, res)
	}
	return cl, nil
}

// setPolicy installs the cluster's new policy between two reconciles.
// Workers of roles that stay keep their history.
func (cl *cluster) setPolicy(pc *policy.Cluster) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	cl.pol = pc
	cl.iv.Store(int64(cl.intervalLocked()))
	cl.ctl.metrics.interval.WithLabelValues(cl.name).Set(cl.intervalLocked().Seconds())
	for _, r := range roles {
		rp, ok := pc.Roles[r]
		if !ok {
			if w, had := cl.workers[r]; had {
				w.forgetMetrics()
				delete(cl.workers, r)
			}
			continue
		}
		w, had := cl.workers[r]
		if !had {
			w = newWorker(cl, r)
			cl.workers[r] = w
		}
		w.setPolicy(rp, pc.AppID(r))
	}
	cl.publish()
}

// publish stores the /status snapshot; the caller holds cl.mu.
func (cl *cluster) publish() {
	cr := ClusterRun{Name: cl.name, Interval: cl.intervalLocked().String(), Saga: cl.saga.status, Holds: cl.holds(), Standby: cl.standby}
	for _, r := range roles {
		if w, ok := cl.workers[r]; ok {
			// The worker reuses its slices' arrays at its next reconcile; a
			// status request may be encoding this snapshot meanwhile.
			rs := w.st
			rs.Signals = slices.Clone(rs.Signals)
			rs.Errors = slices.Clone(rs.Errors)
			rs.Reasons = slices.Clone(rs.Reasons)
			rs.Blocked = slices.Clone(rs.Blocked)
			if rs.Forecast != nil {
				fs := *rs.Forecast
				rs.Forecast = &fs
			}
			cr.Roles = append(cr.Roles, rs)
		}
	}
	cl.stMu.Lock()
	cl.st = cr
	cl.stMu.Unlock()
}

func (cl *cluster) interval() time.Duration { return time.Duration(cl.iv.Load()) }

func (cl *cluster) intervalLocked() time.Duration {
	if cl.pol != nil && cl.pol.Interval > 0 {
		return cl.pol.Interval
	}
	return cl.ctl.cfg.Interval
}

func (cl *cluster) due(now time.Time) bool {
	return now.UnixNano() >= cl.nextDue.Load() || cl.takingOver()
}

// takingOver: the cluster was standby at its last reconcile and this
// process may act on it now. It is reconciled at the next tick, not an
// interval later, so a takeover costs the session timeout and a second.
func (cl *cluster) takingOver() bool {
	f := cl.ctl.cfg.Fence
	return f != nil && cl.waiting.Load() && f.MayAct(cl.name) == nil
}

func (cl *cluster) sourceError(source string, err error) {
	if errors.Is(err, ErrStandby) {
		cl.log.Info("change not sent: standby", "source", source, "error", err)
		return
	}
	cl.ctl.metrics.sourceErrors.WithLabelValues(cl.name, source).Inc()
	cl.log.Warn("source call failed", "source", source, "error", err)
}

// observation is what one reconcile learned about the cluster, shared by
// its role workers.
type observation struct {
	now      time.Time
	apps     map[policy.Role]*marathon.App
	appErrs  map[policy.Role]error
	queue    map[string]int // app id → instances waiting for offers
	queueOK  bool
	signals  *metrics.Observation
	arango   *arangoView // nil without an ArangoDB client or when unreadable
	arangoOK bool
	taskIdx  map[string]*taskIndex // app ID + server role → servers' tasks
	resolved map[string][]string   // host name → IPs, looked up this reconcile
	// holds are the stored manual holds by role, read once a reconcile by
	// the first role that needs them (readHold).
	holds     map[string]arangodb.Hold
	holdsErr  error
	holdsRead bool
}

func (cl *cluster) reconcile(ctx context.Context) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if cl.removed || cl.pol == nil {
		return
	}
	ctl := cl.ctl
	now := ctl.cfg.Clock.Now()
	interval := cl.intervalLocked()
	cl.nextDue.Store(now.Add(interval).UnixNano())
	timeout := ctl.cfg.Timeout
	if timeout <= 0 {
		timeout = interval
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	started := time.Now() // wall time: this measures the reconcile itself

	cl.checkFence()
	ob := cl.observe(ctx, now)
	if cl.standby == "" {
		cl.advanceSaga(ctx, ob)
	}
	for _, r := range roles {
		if w, ok := cl.workers[r]; ok {
			w.reconcile(ctx, ob)
		}
	}
	if ob.arango != nil && cl.standby == "" {
		cl.hygiene(ctx, ob)
	}
	cl.publish()
	ctl.metrics.reconcile.WithLabelValues(cl.name).Observe(time.Since(started).Seconds())
	for _, r := range roles {
		if _, ok := cl.workers[r]; ok {
			ctl.metrics.lastReconcile.WithLabelValues(cl.name, string(r)).Set(float64(now.UnixNano()) / 1e9)
		}
	}
}

func (cl *cluster) observe(ctx context.Context, now time.Time) *observation {
	ctl := cl.ctl
	ob := &observation{
		now:     now,
		apps:    map[policy.Role]*marathon.App{},
		appErrs: map[policy.Role]error{},
	}
	req := metrics.Request{
		Tasks:   map[string][]metrics.Task{},
		PromQL:  map[string][]string{},
		Signals: map[string][]string{},
	}
	for _, r := range roles {
		w, ok := cl.workers[r]
		if !ok {
			continue
		}
		app, err := ctl.cfg.Marathon.App(ctx, w.appID)
		if err != nil {
			ob.appErrs[r] = err
			cl.sourceError("marathon", fmt.Errorf("app %s: %w", w.appID, err))
			continue
		}
		ob.apps[r] = app
		tasks := make([]metrics.Task, 0, len(app.Tasks))
		for _, t := range app.Tasks {
			tasks = append(tasks, metrics.Task{ID: t.ID, AgentID: t.AgentID, Host: t.Host, Ports: t.Ports})
		}
		req.Tasks[string(r)] = tasks
		for _, m := range w.rp.Metrics {
			if m.PromQL != "" {
				req.PromQL[string(r)] = append(req.PromQL[string(r)], m.PromQL)
			} else {
				req.Signals[string(r)] = append(req.Signals[string(r)], m.Signal)
			}
		}
		// The SLO model learns from these whether or not they are metrics.
		req.Signals[string(r)] = append(req.Signals[string(r)], policy.SLOSignals(w.rp)...)
		if w.rp.Forecast != nil && !slices.Contains(req.Signals[string(r)], policy.ForecastSignal) {
			req.Signals[string(r)] = append(req.Signals[string(r)], policy.ForecastSignal)
		}
		if r == policy.DBServers && scrapesServers(req.Signals[string(r)]) {
			// The scale-down check's disk usage comes with the same
			// bodies; otherwise it is read only before a clean-out
			// (readDisk).
			req.Signals[string(r)] = append(req.Signals[string(r)], metrics.SignalDisk)
		}
	}
	if len(ob.apps) > 0 && !allLaunched(ob.apps) {
		queue, err := ctl.cfg.Marathon.Queue(ctx)
		if err != nil {
			cl.sourceError("marathon", fmt.Errorf("queue: %w", err))
		} else {
			ob.queueOK = true
			ob.queue = map[string]int{}
			for _, q := range queue {
				ob.queue[q.AppID] += q.Count
			}
		}
	} else if len(ob.apps) > 0 {
		ob.queueOK, ob.queue = true, map[string]int{}
	}
	// ArangoDB's health is read once and handed to the metric scrapes and
	// the shard reads (it used to be read three times per reconcile).
	var health []arangodb.ServerHealth
	var healthErr error
	if cl.clients.ArangoDB != nil {
		if health, healthErr = cl.clients.ArangoDB.Health(ctx); healthErr == nil {
			req.Health = metricsServers(health)
		}
	}
	ob.signals = cl.clients.Observer.Observe(ctx, req)
	if cl.clients.ArangoDB != nil {
		jobID := ""
		if c := cl.saga.chosen; c != nil && c.killed.IsZero() {
			jobID = c.job
		} else if a := cl.saga.abandoned; a != nil && c == nil {
			jobID = a.job
		}
		if healthErr != nil {
			cl.sourceError("arangodb", fmt.Errorf("cluster health: %w", healthErr))
		} else {
			ob.arango = readArango(ctx, cl.clients.ArangoDB, health, cl.cachedShards(health, now), jobID, ctl.cfg.Sequential)
			ob.arangoOK = true
			if ob.arango.shardsErr == nil && !ob.arango.shardsCached {
				cl.shards = shardCache{health: health, stats: ob.arango.shards, at: now}
			}
		}
	}
	return ob
}

// allLaunched says whether every app has all its instances running or
// staged and no deployment: Marathon's launch queue then holds nothing of
// theirs to wait for offers (an item's count is its instancesLeftToLaunch,
// Marathon core/launchqueue LaunchQueue.QueuedInstanceInfo), so the
// reconcile need not read it.
func allLaunched(apps map[policy.Role]*marathon.App) bool {
	for _, a := range apps {
		if len(a.Deployments) > 0 || a.TasksRunning+a.TasksStaged < a.Instances {
			return false
		}
	}
	return true
}

// scrapesServers says whether signals make the collector scrape the
// role's ArangoDB servers each interval: any signal but cpu and memory,
// which Mesos gives.
func scrapesServers(signals []string) bool {
	for _, s := range signals {
		if s != metrics.SignalCPU && s != metrics.SignalMemory {
			return true
		}
	}
	return false
}

// shardCache is the last shard placement read and the health it was read
// with.
type shardCache struct {
	health []arangodb.ServerHealth
	stats  arangodb.ShardStats
	at     time.Time
}

// shardCacheMaxAge bounds how long a placement is reused while health does
// not change, so a new collection's replication factor is seen soon.
const shardCacheMaxAge = 5 * time.Minute

// cachedShards returns the last placement when it may stand for this
// reconcile: the same servers in the same states, nothing moving (no
// clean-out running, no rebalance pending, everything in sync when last
// read) and read less than shardCacheMaxAge ago. A clean-out re-reads it
// first (startScaleDown). nil: read it.
func (cl *cluster) cachedShards(health []arangodb.ServerHealth, now time.Time) *arangodb.ShardStats {
	c := &cl.shards
	if c.at.IsZero() || now.Sub(c.at) >= shardCacheMaxAge || now.Before(c.at) || !sameDBServers(c.health, health) ||
		c.stats.OutOfSync > 0 || c.stats.NotReplicated > 0 || cl.saga.status.Step != StepIdle || cl.saga.rebalanceSince != (time.Time{}) {
		return nil
	}
	return &c.stats
}

// sameDBServers says whether two health lists (sorted by id) hold the same
// DB servers in the same states. Only DB servers hold shards, so
// coordinators coming and going leave a placement valid (they changed
// health in most intervals that re-read it).
func sameDBServers(a, b []arangodb.ServerHealth) bool {
	i, j := 0, 0
	for {
		for i < len(a) && a[i].Role != arangodb.RoleDBServer {
			i++
		}
		for j < len(b) && b[j].Role != arangodb.RoleDBServer {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if a[i] != b[j] {
			return false
		}
		i, j = i+1, j+1
	}
}

// metricsServers is the health list as the metrics sources take it.
func metricsServers(h []arangodb.ServerHealth) []metrics.Server {
	out := make([]metrics.Server, len(h))
	for i, s := range h {
		out[i] = metrics.Server{ID: s.ID, ShortName: s.ShortName, Role: s.Role, Status: s.Status, Endpoint: s.Endpoint}
	}
	return out
}

// ClusterRun is the /status entry of one cluster.
type ClusterRun struct {
	Name     string       `json:"name"`
	Interval string       `json:"interval"`
	Roles    []RoleStatus `json:"roles"`
	Saga     SagaStatus   `json:"saga"`
	// Holds are the manual holds in force, with their expiry.
	Holds []HoldStatus `json:"holds"`
	// Standby says why this replica only observes the cluster (another
	// replica owns it, or the coordination session is down); empty when it
	// acts.
	Standby string `json:"standby,omitempty"`
}

func (cl *cluster) status() ClusterRun {
	cl.stMu.Lock()
	defer cl.stMu.Unlock()
	return cl.st
}

// checkFence sets cl.standby for this reconcile. A replica that takes a
// cluster over forgets what it remembered of the saga and re-reads the
// cooldowns from Marathon, as a restarted process does: the previous owner
// may have acted since.
func (cl *cluster) checkFence() {
	f := cl.ctl.cfg.Fence
	if f == nil {
		return
	}
	was := cl.standby
	if err := f.MayAct(cl.name); err != nil {
		cl.standby = err.Error()
		cl.waiting.Store(true)
		if was == "" {
			cl.log.Info("standby: not acting on the cluster", "why", cl.standby)
		}
		return
	}
	cl.standby = ""
	cl.waiting.Store(false)
	if was != "" {
		cl.log.Info("owner of the cluster: acting")
		cl.saga = sagaState{status: SagaStatus{Step: StepIdle}}
		for _, w := range cl.workers {
			w.seeded = false
		}
	}
}
