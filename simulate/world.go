package simulate

import (
	"context"
	"fmt"
	"log/slog"
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
	case Policy, HPA, Threshold:
		// Every dynamic contender is the real controller; the baselines
		// only swap the role strategies of the policy (see worldPolicy).
		var closeIdle func()
		if act, closeIdle, err = s.policyActor(w, clk, name); err != nil {
			return Result{}, err
		}
		defer closeIdle()
	case Static:
	default:
		return Result{}, fmt.Errorf("%w: %q", ErrUnknownSetup, name)
	}

	r := Result{Trace: tc.name, Contender: name, Start: tc.start, ScaleRPS: tc.scale, Duration: tc.duration, Step: s.interval,
		Samples: make([]Sample, 0, tc.steps)}
	var acts, warmed [2]actionCounter
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
		if i+1 == tc.warm {
			warmed = acts
		}
	}
	r.CoordinatorActions, r.DBServerActions = acts[0].actions, acts[1].actions
	r.DirectionChanges = acts[0].changes + acts[1].changes
	r.LostShards = len(w.Losses())
	tc.dropWarmup(&r, warmed)
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

// cpu is the cpu fraction the load model gives a server at utilisation u
// (what Mesos' cpu statistics show for it).
func (s *setup) cpu(u float64) float64 {
	return s.params.IdleCPU + (1-s.params.IdleCPU)*min(u, 1)
}

// policyActor runs the real controller over HTTP against the world, as
// `run` would, with the selected cluster's endpoint and app ids pointed at
// the world.
func (s *setup) policyActor(w *sim.World, clk interface{ Now() time.Time }, contender string) (act actor, closeIdle func(), err error) {
	if err := w.Start(); err != nil {
		return nil, nil, err
	}
	cfg, err := s.worldPolicy(w, contender)
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
		Sequential:    true,
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
// without PromQL metrics (there is no Prometheus to ask). For the hpa and
// threshold contenders each role keeps its min, max and missing-metrics
// rule but decides by that strategy on cpu (baselineRole).
func (s *setup) worldPolicy(w *sim.World, contender string) (*policy.Config, error) {
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
	if s.opts.adjust != nil {
		if err := s.opts.adjust(pc); err != nil {
			return nil, err
		}
	}
	pc.ArangoDB.Endpoints = []string{w.ArangoURL(pc.Name)}
	pc.Marathon.Coordinators = sim.CoordinatorApp(pc.Name)
	pc.Marathon.DBServers = sim.DBServerApp(pc.Name)
	for r, rp := range pc.Roles {
		rp.Metrics = slices.DeleteFunc(rp.Metrics, func(m policy.Metric) bool { return m.PromQL != "" })
		if contender != Policy {
			s.baselineRole(rp, contender, r)
		}
	}
	cfg.Clusters = []*policy.Cluster{pc}
	return cfg, nil
}

// baselineRole turns rp into the named baseline: the Kubernetes HPA on a
// cpu target at the policy's utilisation target (the same line the policy
// is held to), or marathon-autoscale's rule with its defaults (cpu above
// 0.8 or below 0.2 for more than 3 cycles scales by × or ÷ 1.5).
func (s *setup) baselineRole(rp *policy.RolePolicy, contender string, r policy.Role) {
	rp.Schedule = nil
	switch contender {
	case HPA:
		u := s.targets.coord
		if r == policy.DBServers {
			u = s.targets.db
		}
		rp.Strategy = policy.RoleStrategyHPA
		rp.Metrics = []policy.Metric{{Strategy: policy.StrategyTarget, Signal: "cpu_utilization", Target: s.cpu(u)}}
	case Threshold:
		rp.Strategy = policy.RoleStrategyThreshold
		rp.Metrics = []policy.Metric{{Strategy: policy.StrategyThreshold, Signal: "cpu_utilization",
			Upper: thresholdUpper, Lower: thresholdLower, Periods: thresholdTrigger + 1, Multiplier: thresholdMult}}
	}
	policy.ApplyStrategy(rp)
}

// marathon-autoscale's settings the threshold baseline uses (its
// max_cpu_time, min_cpu_time, trigger_number and autoscale_multiplier).
const (
	thresholdUpper   = 0.8
	thresholdLower   = 0.2
	thresholdTrigger = 3
	thresholdMult    = 1.5
)
