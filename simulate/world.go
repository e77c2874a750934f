package simulate

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

// actor is one contender's decision step, run after every world step.
type actor func(ctx context.Context, now time.Time, st sim.ClusterState) error

// runWorld replays tc against a fresh world driven by the named contender.
func (s *setup) runWorld(ctx context.Context, tc traceCase, name string) (Result, error) {
	clk := s.worldClock(tc)
	cluster := s.pc.Name
	spec := sim.ClusterSpec{Name: cluster, Collections: collections(), Load: tc.load}
	if name == Static {
		spec.Coordinators, spec.DBServers = s.staticCounts(tc)
	} else {
		spec.Coordinators, spec.DBServers = s.startCounts(tc)
	}
	w, err := sim.NewWorld(clk, s.worldParams(tc), spec)
	if err != nil {
		return Result{}, err
	}
	defer w.Close()
	coordApp, dbApp := sim.CoordinatorApp(cluster), sim.DBServerApp(cluster)

	var act actor
	switch name {
	case Policy:
		var closeIdle func()
		if act, closeIdle, err = s.policyActor(w, clk); err != nil {
			return Result{}, err
		}
		defer closeIdle()
	case Static:
	case HPA:
		c := newHPARole(coordApp, s.pc.Roles[policy.Coordinators], s.cpuTarget(s.targets.coord), s.interval)
		d := newHPARole(dbApp, s.pc.Roles[policy.DBServers], s.cpuTarget(s.targets.db), s.interval)
		act = func(_ context.Context, now time.Time, st sim.ClusterState) error {
			if err := c.act(w, now, st.Coordinators, s.cpu(st.CoordinatorUtil)); err != nil {
				return err
			}
			return d.act(w, now, st.DBServers, s.cpu(st.DBServerUtil))
		}
	case Threshold:
		c := newThresholdRole(coordApp, s.pc.Roles[policy.Coordinators])
		d := newThresholdRole(dbApp, s.pc.Roles[policy.DBServers])
		act = func(_ context.Context, _ time.Time, st sim.ClusterState) error {
			if err := c.act(w, st.Coordinators, s.cpu(st.CoordinatorUtil)); err != nil {
				return err
			}
			return d.act(w, st.DBServers, s.cpu(st.DBServerUtil))
		}
	default:
		return Result{}, fmt.Errorf("%w: %q", ErrUnknownSetup, name)
	}

	r := Result{Trace: tc.name, Contender: name, Start: tc.start, ScaleRPS: tc.scale, Duration: tc.duration, Step: s.interval,
		Samples: make([]Sample, 0, tc.steps)}
	var acts [2]actionCounter
	prev := [2]int{spec.Coordinators, spec.DBServers}
	for i := 0; i < tc.steps; i++ {
		if i%240 == 0 {
			if ctx.Err() != nil {
				return Result{}, ctx.Err()
			}
			if s.opts.Advance != nil {
				s.opts.Advance(tc.name, name, time.Duration(i)*s.interval, tc.duration)
			}
		}
		w.Advance(s.interval)
		st := w.State(cluster)
		r.Samples = append(r.Samples, s.sample(st, clk.Now().Sub(tc.start)))
		if act != nil {
			if err := act(ctx, clk.Now(), st); err != nil {
				return Result{}, err
			}
		}
		for k, app := range []string{coordApp, dbApp} {
			as, _ := w.Marathon().AppStatus(app)
			acts[k].observe(prev[k], as.Instances)
			prev[k] = as.Instances
		}
	}
	r.CoordinatorActions, r.DBServerActions = acts[0].actions, acts[1].actions
	r.DirectionChanges = acts[0].changes + acts[1].changes
	r.LostShards = len(w.Losses())
	return r, nil
}

// actionCounter counts changes of one role's instance count and how often
// their direction flips.
type actionCounter struct {
	actions, changes int
	last             int // +1 up, -1 down, 0 none yet
}

func (a *actionCounter) observe(from, to int) {
	if from == to {
		return
	}
	dir := 1
	if to < from {
		dir = -1
	}
	a.actions++
	if a.last != 0 && a.last != dir {
		a.changes++
	}
	a.last = dir
}

// sample records the state the world reached in the last step.
func (s *setup) sample(st sim.ClusterState, at time.Duration) Sample {
	return Sample{
		At:           at,
		Offered:      st.Offered,
		Capacity:     min(float64(st.Coordinators.Healthy)*s.params.CoordinatorRPS, float64(st.DBServers.Healthy)*s.params.DBServerRPS),
		Coordinators: st.Coordinators.Running + st.Coordinators.Staged,
		DBServers:    st.DBServers.Running + st.DBServers.Staged,
		CoordUtil:    st.CoordinatorUtil,
		DBUtil:       st.DBServerUtil,
		P95:          st.LatencyP95,
		Overloaded:   st.Overloaded || st.LatencyP95 > s.opts.SLO.Seconds(),
	}
}

// cpu is the cpu fraction the load model gives a server at utilisation u;
// the baselines read it where marathon-autoscale and the HPA read Mesos'
// cpu statistics.
func (s *setup) cpu(u float64) float64 {
	return s.params.IdleCPU + (1-s.params.IdleCPU)*min(u, 1)
}

// cpuTarget is the cpu fraction at utilisation target u.
func (s *setup) cpuTarget(u float64) float64 { return s.cpu(u) }

// policyActor runs the real controller over HTTP against the world, as
// `run` would, with the selected cluster's endpoint and app ids pointed at
// the world.
func (s *setup) policyActor(w *sim.World, clk interface{ Now() time.Time }) (act actor, closeIdle func(), err error) {
	if err := w.Start(); err != nil {
		return nil, nil, err
	}
	cfg, err := s.worldPolicy(w)
	if err != nil {
		return nil, nil, err
	}
	// The controller's clients reach the emulators through the in-process
	// transport: the same handlers, requests and answers as over TCP,
	// without the sockets (most of a replay's time went to them).
	client := &http.Client{Transport: w.InProcess()}
	closeIdle = func() {}
	st := &controller.Setup{
		Plain:         client,
		DCOS:          client,
		MarathonURL:   w.MarathonURL(),
		MesosURL:      w.MesosURL(),
		Clock:         clockFunc(clk.Now),
		Logger:        slog.New(slog.DiscardHandler),
		Interval:      s.interval,
		SourceTimeout: time.Minute, // a busy machine must not change the outcome
		Backoff:       controller.BackoffSettings{NoJitter: true},
	}
	ctl, err := st.Build()
	if err != nil {
		return nil, nil, err
	}
	if err := ctl.SetPolicy(cfg); err != nil {
		return nil, nil, err
	}
	return func(ctx context.Context, _ time.Time, _ sim.ClusterState) error {
		ctl.Step(ctx, true)
		return nil
	}, closeIdle, nil
}

// clockFunc adapts a Now function to clock.Clock.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

// worldPolicy loads the policy afresh (the controller keeps it) with only
// the selected cluster, its endpoints and app ids those of the world, and
// without PromQL metrics (there is no Prometheus to ask).
func (s *setup) worldPolicy(w *sim.World) (*policy.Config, error) {
	cfg, err := policy.Load(s.opts.PolicyName, s.opts.Policy)
	if err != nil {
		return nil, err
	}
	var pc *policy.Cluster
	for _, c := range cfg.Clusters {
		if c.Name == s.pc.Name {
			pc = c
		}
	}
	if pc == nil {
		return nil, fmt.Errorf("%w: cluster %q vanished", ErrBadPolicy, s.pc.Name)
	}
	pc.ArangoDB.Endpoints = []string{w.ArangoURL(pc.Name)}
	pc.Marathon.Coordinators = sim.CoordinatorApp(pc.Name)
	pc.Marathon.DBServers = sim.DBServerApp(pc.Name)
	for _, rp := range pc.Roles {
		rp.Metrics = slices.DeleteFunc(rp.Metrics, func(m policy.Metric) bool { return m.PromQL != "" })
	}
	cfg.Clusters = []*policy.Cluster{pc}
	return cfg, nil
}

// hpaRole is the Kubernetes HPA algorithm for one role on a cpu target:
// desired = ceil(current × metric/target) with a 10 % tolerance, pods not
// yet ready counted at 0 % for a scale-up and at the target for a
// scale-down, a 5-minute scale-down stabilization window (the highest
// recommendation of the window), scale-up limited per 15 s period to the
// larger of +100 % and +4 pods, scale-down to −100 %, within min/max.
type hpaRole struct {
	app       string
	rp        *policy.RolePolicy
	target    float64
	tolerance float64
	window    time.Duration
	recs      []hpaRec
}

type hpaRec struct {
	at time.Time
	n  int
}

func newHPARole(app string, rp *policy.RolePolicy, cpuTarget float64, _ time.Duration) *hpaRole {
	return &hpaRole{app: app, rp: rp, target: cpuTarget, tolerance: 0.1, window: 5 * time.Minute}
}

// raw is the replica calculator's recommendation before stabilization.
func (h *hpaRole) raw(current, ready int, cpu float64) int {
	if ready <= 0 || current <= 0 {
		return current
	}
	ratio := cpu / h.target
	if ready < current {
		switch {
		case ratio > 1: // unready pods count as idle
			ratio = cpu * float64(ready) / float64(current) / h.target
		case ratio < 1: // unready pods count as at the target
			ratio = (cpu*float64(ready) + h.target*float64(current-ready)) / float64(current) / h.target
		}
	}
	if math.Abs(ratio-1) <= h.tolerance {
		return current
	}
	return int(math.Ceil(ratio*float64(current) - 1e-9))
}

// next is the count the HPA sets at now.
func (h *hpaRole) next(now time.Time, current, ready int, cpu float64) int {
	rec := h.raw(current, ready, cpu)
	i := 0
	for i < len(h.recs) && now.Sub(h.recs[i].at) >= h.window {
		i++
	}
	h.recs = append(h.recs[:0], h.recs[i:]...)
	h.recs = append(h.recs, hpaRec{at: now, n: rec})
	up, down := rec, rec
	for _, r := range h.recs {
		down = max(down, r.n) // up window is 0: only rec itself
	}
	n := current
	if n < up {
		n = up
	}
	if n > down {
		n = down
	}
	if n > current {
		n = min(n, max(2*current, current+4))
	}
	return clampRole(h.rp, n)
}

func (h *hpaRole) act(w *sim.World, now time.Time, rs sim.RoleState, cpu float64) error {
	n := h.next(now, rs.Target, rs.Healthy, cpu)
	if n == rs.Target {
		return nil
	}
	_, err := w.Marathon().Scale(h.app, n)
	return err
}

// thresholdRole is marathon-autoscale's cpu rule: average cpu above
// Upper (or below Lower) for more than Trigger consecutive cycles scales
// by the multiplier (ceil(n × 1.5) up, floor(n / 1.5) down) within
// min/max; a cycle within the bounds resets both counters.
type thresholdRole struct {
	app          string
	rp           *policy.RolePolicy
	upper, lower float64
	trigger      int
	mult         float64
	up, down     int
}

// marathon-autoscale's settings the threshold baseline uses.
const (
	thresholdUpper   = 0.8
	thresholdLower   = 0.2
	thresholdTrigger = 3
	thresholdMult    = 1.5
)

func newThresholdRole(app string, rp *policy.RolePolicy) *thresholdRole {
	return &thresholdRole{app: app, rp: rp, upper: thresholdUpper, lower: thresholdLower, trigger: thresholdTrigger, mult: thresholdMult}
}

// next is the count after one cycle that observed cpu with current instances.
func (t *thresholdRole) next(current int, cpu float64) int {
	switch {
	case cpu >= t.lower && cpu <= t.upper:
		t.up, t.down = 0, 0
	case cpu > t.upper && t.up >= t.trigger:
		t.up = 0
		return clampRole(t.rp, int(math.Ceil(float64(current)*t.mult-1e-9)))
	case cpu < t.lower && t.down >= t.trigger:
		t.down = 0
		return clampRole(t.rp, int(math.Floor(float64(current)/t.mult+1e-9)))
	case cpu > t.upper:
		t.up++
		t.down = 0
	default:
		t.down++
		t.up = 0
	}
	return current
}

func (t *thresholdRole) act(w *sim.World, rs sim.RoleState, cpu float64) error {
	if rs.Healthy == 0 {
		return nil // no statistics to average
	}
	n := t.next(rs.Target, cpu)
	if n == rs.Target {
		return nil
	}
	_, err := w.Marathon().Scale(t.app, n)
	return err
}
