package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/policy"
)

// Config is what a Controller is built from.
type Config struct {
	Marathon Marathon
	Connect  Connector
	Clock    clock.Clock
	Logger   *slog.Logger
	// Registry receives every metric; use a fresh prometheus.NewRegistry per
	// controller (tests get their own).
	Registry *prometheus.Registry
	// Interval is used for clusters whose policy sets none.
	Interval time.Duration
	// DryRun decides and reports everything and changes nothing.
	DryRun bool
	// Timeout bounds one reconcile of one cluster (default: the interval).
	Timeout time.Duration
	Backoff BackoffSettings
	// Version and Commit label arangoscale_build_info.
	Version, Commit string
	// ReloadStatus, when set, reports the outcome of the latest policy
	// reload (however it was triggered) for the reload metrics.
	ReloadStatus func() (ok bool, at time.Time)
	// ReloadError, when set, is the error of the latest reload attempt.
	ReloadError func() error
	// Fence, when set, is asked right before every change whether this
	// process may act on the cluster (several replicas, package ha). nil:
	// it always may.
	Fence Fence
	// OnForecastHistory, when set, is told when a Prometheus forecast
	// history reading finished (points read, or the error); the role's
	// next reconcile takes it in.
	OnForecastHistory func(cluster string, role policy.Role, points int, err error)
	// Resolver looks up host names when matching ArangoDB servers to
	// Marathon tasks (default net.DefaultResolver.LookupHost).
	Resolver Resolver
	// Sequential: Setup.Sequential.
	Sequential bool
}

// BackoffSettings shape the per-worker exponential backoff after a failed
// action or an unreadable app. Zero values take the defaults.
type BackoffSettings struct {
	Initial time.Duration // default 5s
	Max     time.Duration // default 5m
	// Jitter is the randomization factor (default 0.2). The simulator sets
	// NoJitter so a run is reproducible.
	Jitter   float64
	NoJitter bool
}

// Controller reconciles every cluster of a policy.
type Controller struct {
	cfg     Config
	log     *slog.Logger
	metrics *promMetrics

	// setMu serialises SetPolicy, which may wait for reconciles. mu guards
	// the fields below and is only ever held for a copy or a swap, never
	// across I/O or while waiting for a cluster's lock.
	setMu    sync.Mutex
	mu       sync.Mutex
	policy   *policy.Config
	clusters map[string]*cluster
	order    []string
	// discovery is the latest discovery round (nil without discovery).
	discovery *DiscoveryStatus

	reconciled atomic.Bool
	lastLoop   atomic.Int64 // unix nanos of the last loop tick, for /healthz
	inflight   sync.WaitGroup
}

// New returns a controller with no policy; call SetPolicy before Step.
func New(cfg Config) (*Controller, error) {
	if cfg.Marathon == nil {
		return nil, errors.New("controller: no Marathon client")
	}
	if cfg.Connect == nil {
		return nil, errors.New("controller: no cluster connector")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Second
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	c := &Controller{
		cfg:      cfg,
		log:      cfg.Logger,
		metrics:  newPromMetrics(cfg.Registry, cfg.Version, cfg.Commit),
		clusters: map[string]*cluster{},
	}
	if cfg.DryRun {
		c.metrics.dryRun.Set(1)
	}
	return c, nil
}

// Registry returns the registry every metric of this controller lives in.
func (c *Controller) Registry() *prometheus.Registry { return c.cfg.Registry }

// Policy returns the policy in force (nil before the first SetPolicy).
func (c *Controller) Policy() *policy.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.policy
}

// SetPolicy swaps in a validated policy. Clusters that stay keep their
// workers and history (cooldowns, stabilization windows); removed clusters
// stop after their in-flight reconcile and their metric series go; new
// clusters are connected. It fails without changing anything when a new
// cluster cannot be connected.
//
// A cluster's policy is swapped between two of its reconciles, so SetPolicy
// may wait for a slow reconcile; it does so without holding c.mu, which
// health, readiness and status take only for a snapshot.
func (c *Controller) SetPolicy(p *policy.Config) error {
	if p == nil {
		return errors.New("controller: nil policy")
	}
	c.setMu.Lock()
	defer c.setMu.Unlock()

	c.mu.Lock()
	current := make(map[string]*cluster, len(c.clusters))
	for name, cl := range c.clusters {
		current[name] = cl
	}
	c.mu.Unlock()

	fresh := map[string]*cluster{}
	for _, pc := range p.Clusters {
		if old, ok := current[pc.Name]; ok {
			fresh[pc.Name] = old
			continue
		}
		cl, err := c.newCluster(pc)
		if err != nil {
			return fmt.Errorf("cluster %q: %w", pc.Name, err)
		}
		fresh[pc.Name] = cl
	}
	// Everything could be built: now swap, cluster by cluster, each between
	// two of its reconciles.
	for _, pc := range p.Clusters {
		fresh[pc.Name].setPolicy(pc)
	}
	for name, old := range current {
		if _, ok := fresh[name]; !ok {
			old.mu.Lock() // waits for an in-flight reconcile
			old.removed = true
			old.mu.Unlock()
			c.metrics.forgetCluster(name)
			c.log.Info("cluster removed from policy", "cluster", name)
		}
	}
	order := make([]string, 0, len(fresh))
	for name := range fresh {
		order = append(order, name)
	}
	sort.Strings(order)
	c.mu.Lock()
	c.clusters = fresh
	c.order = order
	c.policy = p
	c.mu.Unlock()
	return nil
}

// SyncReloadStatus copies the outcome of the latest policy reload (from
// Config.ReloadStatus) into the reload metrics. Step calls it; so does
// whoever triggers a reload and wants the metrics right away.
func (c *Controller) SyncReloadStatus() {
	if c.cfg.ReloadStatus == nil {
		return
	}
	ok, at := c.cfg.ReloadStatus()
	c.metrics.reloadOK.Set(b2f(ok))
	if !at.IsZero() {
		c.metrics.reloadTimestamp.Set(float64(at.UnixNano()) / 1e9)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// ReloadResult records the outcome of a policy reload in the metrics.
func (c *Controller) ReloadResult(ok bool) {
	if ok {
		c.metrics.reloadOK.Set(1)
		c.metrics.reloadTimestamp.Set(float64(c.cfg.Clock.Now().UnixNano()) / 1e9)
		return
	}
	c.metrics.reloadOK.Set(0)
}

// Step runs one reconcile of every cluster that is due. Clusters run
// concurrently and never wait for each other; a cluster still busy from an
// earlier Step is skipped. With wait set, Step returns when every cluster it
// started is done (tests and the simulator run in virtual time this way).
func (c *Controller) Step(ctx context.Context, wait bool) {
	now := c.cfg.Clock.Now()
	c.lastLoop.Store(now.UnixNano())
	c.SyncReloadStatus()
	c.mu.Lock()
	due := make([]*cluster, 0, len(c.order))
	for _, name := range c.order {
		cl := c.clusters[name]
		if cl.due(now) {
			due = append(due, cl)
		}
	}
	c.mu.Unlock()

	var wg sync.WaitGroup
	var inline func()
	for _, cl := range due {
		if !cl.busy.CompareAndSwap(false, true) {
			continue
		}
		c.inflight.Add(1)
		one := func() {
			defer c.inflight.Done()
			defer cl.busy.Store(false)
			cl.reconcile(ctx)
			c.reconciled.Store(true)
		}
		if wait && inline == nil {
			// A waiting Step runs one reconcile in this goroutine, whose
			// stack is grown already: a replay steps one cluster per
			// interval, and a fresh goroutine's stack growth was 5 % of it.
			inline = one
			continue
		}
		wg.Go(one)
	}
	if inline != nil {
		inline()
	}
	if wait {
		wg.Wait()
	}
}

// Run steps the controller every second of its clock until ctx ends, then
// waits for in-flight reconciles so no action is left half-done. With a
// clock.Virtual it ticks as the virtual time is advanced.
func (c *Controller) Run(ctx context.Context) {
	tick, stop := clock.NewTicker(c.cfg.Clock, time.Second)
	defer stop()
	// The reconciles get their own context: on shutdown an action already
	// sent to Marathon or ArangoDB finishes and is recorded.
	work, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	c.Step(work, false)
	for {
		select {
		case <-ctx.Done():
			c.inflight.Wait()
			return
		case <-tick:
			c.Step(work, false)
		}
	}
}

// Ready reports whether a policy is loaded and a reconcile has completed.
func (c *Controller) Ready() bool {
	ok, _ := c.Readiness()
	return ok
}

// Alive reports whether the loop ticked recently.
func (c *Controller) Alive() bool {
	last := c.lastLoop.Load()
	if last == 0 {
		return true // not started yet: the process is alive
	}
	limit := 3 * c.maxInterval()
	return c.cfg.Clock.Now().Sub(time.Unix(0, last)) <= limit
}

func (c *Controller) maxInterval() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.cfg.Interval
	for _, cl := range c.clusters {
		if iv := cl.interval(); iv > m {
			m = iv
		}
	}
	return m
}

// Status is the JSON of /status.
type Status struct {
	Time     time.Time    `json:"time"`
	DryRun   bool         `json:"dry_run"`
	Ready    bool         `json:"ready"`
	Clusters []ClusterRun `json:"clusters"`
	// Reload is the latest policy reload (absent without a reloader).
	Reload *ReloadResult `json:"reload,omitempty"`
	// Discovery is the latest round of cluster discovery by Marathon
	// labels (absent when discovery is off).
	Discovery *DiscoveryStatus `json:"discovery,omitempty"`
}

// Status returns a snapshot of every cluster and role.
func (c *Controller) Status() Status {
	c.mu.Lock()
	clusters := make([]*cluster, 0, len(c.order))
	for _, name := range c.order {
		clusters = append(clusters, c.clusters[name])
	}
	c.mu.Unlock()
	st := Status{Time: c.cfg.Clock.Now(), DryRun: c.cfg.DryRun, Ready: c.Ready(), Reload: c.reloadResult(), Discovery: c.discoveryStatus()}
	for _, cl := range clusters {
		st.Clusters = append(st.Clusters, cl.status())
	}
	return st
}
