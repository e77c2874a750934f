// Package simulate owns `arangoscale simulate`: it replays request-rate
// traces in virtual time against the emulated DC/OS + ArangoDB world (package
// sim) with the real controller, runs the same traces against baselines
// (static peak provisioning; the Kubernetes HPA algorithm and
// marathon-autoscale's threshold rule as role strategies of the same
// engine, run by the same controller: same metrics, actuation, clean-out
// saga, startup delay and min/max) and two analytic oracles (a lower bound
// at the loosest line, and perfect foresight at the policy's own targets and
// min), and reports cost and service quality side by side as a Markdown
// table, CSV and PNG plots.
//
// A run is deterministic for a given seed: every contender gets its own
// world on a virtual clock, the controller runs without jitter, and nothing
// reads the wall clock.
package simulate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// Contender names, in report order.
const (
	Policy    = "policy"
	Static    = "static"
	HPA       = "hpa"
	Threshold = "threshold"
	Oracle    = "oracle"
	// OracleTarget is the oracle at the contenders' own utilisation target
	// and min: what perfect foresight costs on the line the policy and
	// the hpa baseline aim at.
	OracleTarget = "oracle-target"
)

// DefaultStart is where a replay of a trace without timestamps starts:
// a Monday, 00:00 UTC.
var DefaultStart = time.Date(2026, 6, 22, 0, 0, 0, 0, time.UTC)

// Baselines lists the baseline names Options.Baselines accepts, in report order.
func Baselines() []string { return []string{Static, HPA, Threshold, Oracle, OracleTarget} }

// Errors of Run; each is wrapped with details.
var (
	ErrNoTrace      = errors.New("simulate: no trace")
	ErrBadOptions   = errors.New("simulate: invalid options")
	ErrBadPolicy    = errors.New("simulate: unusable policy")
	ErrUnknownSetup = errors.New("simulate: unknown baseline")
	// ErrNoPlots: this build was made with -tags noplot and draws no PNG.
	ErrNoPlots = errors.New("simulate: this build draws no plots (built with -tags noplot)")
)

// TraceInput is one trace to replay, under a name for the report.
type TraceInput struct {
	Name  string
	Trace sim.Trace
}

// Options configure Run. Zero values take the documented defaults.
type Options struct {
	Traces []TraceInput
	// PolicyName is the file name used in policy errors; Policy its YAML.
	PolicyName string
	Policy     []byte
	// Cluster selects the policy's cluster ("" = the first).
	Cluster string
	// Baselines to run next to the policy (nil = all of Baselines()).
	Baselines []string
	// Seed makes the emulated DC/OS ids and placement reproducible (0 = 1).
	Seed uint64
	// ScaleRPS multiplies every trace rate; 0 = auto (see AutoScale).
	ScaleRPS float64
	// Speed compresses trace time (2 = twice as fast; ≤ 0 = 1).
	Speed float64
	// Duration bounds the counted virtual time per trace, after the
	// warm-up (0 = the rest of the trace).
	Duration time.Duration
	// From skips the first From of every trace (trace time); the replay
	// starts there, and so does its default start time (see Start).
	From time.Duration
	// Warmup replays the first Warmup (virtual time, after From) as
	// history: the controller sees it, the results do not count it.
	Warmup time.Duration
	// SLO is the p95 latency above which a step counts as overloaded (500ms).
	SLO time.Duration
	// Start is the virtual wall-clock time every replay starts at, which
	// places the policy's schedules. Zero: the trace's own start when it
	// carries one (Prometheus answers), else DefaultStart; either moved on
	// by the part From skips (in trace time).
	Start time.Time
	// Params of the world (zero: sim.DefaultParams; agents are sized to
	// fit every contender's largest count).
	Params sim.Params
	// Progress, when set, receives one line per finished run.
	Progress io.Writer
	// Advance, when set, is told how far each contender got: virtual time
	// done of total, about every virtual hour and at the end. It is called
	// from the contenders' goroutines at once.
	Advance func(trace, contender string, done, total time.Duration)
	// Parallel bounds how many contender runs (of all traces) go at once,
	// started longest first (0: all at once; 1: one after the other). The
	// results do not depend on it.
	Parallel int

	// adjust, when set, changes the selected cluster after every load of
	// the policy (a sweep's setting, see applySweep).
	adjust func(*policy.Cluster) error
	// fixedScale, when set, is the auto scale per trace name: a sweep
	// holds the load of the policy as written across its values.
	fixedScale map[string]float64
}

// Report is the outcome of Run.
type Report struct {
	Results []Result
	Notes   []string // adjustments made to the policy for the simulation
	SLO     time.Duration
}

// Result is one contender on one trace.
type Result struct {
	Trace     string
	Contender string
	Start     time.Time // virtual wall-clock time the replay started at
	ScaleRPS  float64
	Duration  time.Duration // counted, after the warm-up
	Step      time.Duration
	// From is the part of the trace skipped; Warmup the replayed part
	// not counted (from Start on). Everything below counts after it.
	From, Warmup time.Duration
	// Instance-hours of allocated (staged or running) Marathon tasks.
	CoordinatorHours, DBServerHours float64
	// OverloadMinutes: steps where a role's utilisation exceeds 1 or the
	// p95 latency exceeds the SLO.
	OverloadMinutes float64
	// Actions are changes of the Marathon instance count, per role.
	CoordinatorActions, DBServerActions int
	// DirectionChanges counts actions whose direction differs from the
	// previous action of the same role.
	DirectionChanges int
	LostShards       int
	// Rise episodes: a run of steps where a role's utilisation is above
	// the top of its target's dead band (target × (1 + tolerance)), i.e.
	// from a load rise beyond the capacity in place until enough capacity
	// is healthy again (or the load fell back). RiseMean and RiseMax are
	// their lengths.
	RiseEpisodes      int
	RiseMean, RiseMax time.Duration
	Samples           []Sample
}

// Sample is the state after one step.
type Sample struct {
	At                      time.Duration // since the start
	Offered                 float64       // rps
	Capacity                float64       // rps the healthy servers serve at 100 % utilisation
	Coordinators, DBServers int           // allocated instances
	CoordUtil, DBUtil       float64
	P95                     float64 // seconds
	Overloaded              bool
}

// setup is everything derived once per Run call.
type setup struct {
	opts     Options
	params   sim.Params
	pc       *policy.Cluster // the selected cluster, as loaded
	interval time.Duration
	targets  roleTargets
	line     oracleLine // the loosest line any contender aims at (oracle)
	own      oracleLine // the policy's own lines (oracle-target)
	notes    []string
}

// roleTargets are the utilisation targets (demand / capacity) per role that
// the baselines, the oracle and the rise measure use, with the top of the
// policy's dead band (target × (1 + tolerance)): derived from the policy so
// every contender is held to the same line.
type roleTargets struct{ coord, db, coordBand, dbBand float64 }

// oracleLine is the utilisation the oracle may run each role at: the
// loosest line any contender aims at without acting — the top of the
// policy's (and the HPA's) dead band, or the utilisation at
// marathon-autoscale's upper cpu bound, whichever is higher — so the
// oracle is a lower bound for all of them.
type oracleLine struct{ coord, db float64 }

// Run replays every trace against the policy and the chosen baselines.
func Run(ctx context.Context, o Options) (*Report, error) {
	s, err := prepare(o)
	if err != nil {
		return nil, err
	}
	rep := &Report{Notes: s.notes, SLO: s.opts.SLO}
	// Every trace is checked before anything runs.
	tcs := make([]traceCase, len(s.opts.Traces))
	for i, ti := range s.opts.Traces {
		if tcs[i], err = s.traceCase(ti); err != nil {
			return nil, fmt.Errorf("trace %s: %w", ti.Name, err)
		}
	}
	runs, err := s.runAll(ctx, tcs)
	if err != nil {
		return nil, err
	}
	for _, r := range runs {
		rep.Results = append(rep.Results, r...)
	}
	return rep, nil
}

func prepare(o Options) (*setup, error) {
	if len(o.Traces) == 0 {
		return nil, ErrNoTrace
	}
	for _, t := range o.Traces {
		if len(t.Trace.T) == 0 {
			return nil, fmt.Errorf("%w: %s has no rows", ErrNoTrace, t.Name)
		}
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Speed <= 0 {
		o.Speed = 1
	}
	if o.SLO <= 0 {
		o.SLO = 500 * time.Millisecond
	}
	if o.ScaleRPS < 0 || math.IsNaN(o.ScaleRPS) || math.IsInf(o.ScaleRPS, 0) || o.Duration < 0 || o.From < 0 || o.Warmup < 0 {
		return nil, fmt.Errorf("%w: scale-rps, duration, from and warmup must not be negative", ErrBadOptions)
	}
	if o.Baselines == nil {
		o.Baselines = Baselines()
	}
	for _, b := range o.Baselines {
		if !slices.Contains(Baselines(), b) {
			return nil, fmt.Errorf("%w: %q (want some of %s)", ErrUnknownSetup, b, strings.Join(Baselines(), ","))
		}
	}
	s := &setup{opts: o}
	p := o.Params
	if p.CoordinatorRPS == 0 && p.DBServerRPS == 0 && p.Tick == 0 {
		p = sim.DefaultParams()
	}
	if p.CoordinatorRPS == 0 {
		p.CoordinatorRPS = sim.DefaultParams().CoordinatorRPS
	}
	if p.DBServerRPS == 0 {
		p.DBServerRPS = sim.DefaultParams().DBServerRPS
	}
	if p.IdleCPU == 0 {
		p.IdleCPU = sim.DefaultParams().IdleCPU
	}
	p.DCOS.Seed = o.Seed
	s.params = p

	cfg, err := policy.Load(o.PolicyName, o.Policy)
	if err != nil {
		return nil, err
	}
	for _, c := range cfg.Clusters {
		if o.Cluster == "" || c.Name == o.Cluster {
			s.pc = c
			break
		}
	}
	if s.pc == nil {
		return nil, fmt.Errorf("%w: no cluster %q in %s", ErrBadPolicy, o.Cluster, o.PolicyName)
	}
	if o.adjust != nil {
		if err := o.adjust(s.pc); err != nil {
			return nil, err
		}
	}
	if len(cfg.Clusters) > 1 {
		s.notes = append(s.notes, fmt.Sprintf("simulating cluster %q only", s.pc.Name))
	}
	if !validWorldName(s.pc.Name) {
		return nil, fmt.Errorf("%w: cluster name %q: the simulation needs lowercase letters, digits and inner dashes", ErrBadPolicy, s.pc.Name)
	}
	for _, r := range policy.Roles() {
		if s.pc.Roles[r] == nil {
			return nil, fmt.Errorf("%w: cluster %q has no %s role: both roles are simulated", ErrBadPolicy, s.pc.Name, r)
		}
		for _, m := range s.pc.Roles[r].Metrics {
			if m.PromQL != "" {
				s.notes = append(s.notes, fmt.Sprintf("%s: promql metric %q ignored (no Prometheus in the simulation)", r, m.PromQL))
			}
		}
		if f := s.pc.Roles[r].Forecast; f != nil {
			s.notes = append(s.notes, fmt.Sprintf("%s: %s %s forecast learns from what the controller observes during the replay (history from Prometheus is not simulated)", r, f.Mode, f.Season))
		}
	}
	s.interval = s.pc.Interval
	if s.interval <= 0 {
		s.interval = 15 * time.Second
	}
	s.targets = roleTargets{
		coord: utilTarget(s.pc.Roles[policy.Coordinators], p.CoordinatorRPS, p.IdleCPU),
		db:    utilTarget(s.pc.Roles[policy.DBServers], p.DBServerRPS, p.IdleCPU),
	}
	s.targets.coordBand = min(s.targets.coord*(1+s.pc.Roles[policy.Coordinators].Tolerance), 1)
	s.targets.dbBand = min(s.targets.db*(1+s.pc.Roles[policy.DBServers].Tolerance), 1)
	thr := (thresholdUpper - p.IdleCPU) / (1 - p.IdleCPU)
	s.own = oracleLine{coord: ownTarget(s.pc.Roles[policy.Coordinators], s.targets.coord),
		db: ownTarget(s.pc.Roles[policy.DBServers], s.targets.db)}
	s.line = oracleLine{coord: max(s.targets.coordBand, thr, s.own.coord), db: max(s.targets.dbBand, thr, s.own.db)}
	return s, nil
}

func validWorldName(n string) bool {
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

// ownTarget is the utilisation the policy's own role aims at: the cap of
// its slo when it has one (the SLO model sizes at u* ≤ max_utilization,
// a utilisation of the learned capacity), else metricsLine. oracle-target
// gives perfect foresight at this line.
func ownTarget(rp *policy.RolePolicy, metricsLine float64) float64 {
	if rp.SLO != nil && rp.SLO.MaxUtilization > 0 {
		return min(rp.SLO.MaxUtilization, 1)
	}
	return metricsLine
}

// utilTarget turns a role's metrics into the utilisation (demand/capacity)
// they aim at: cpu targets and threshold upper bounds through the load
// model's cpu = idle + (1-idle)·u, requests-per-second targets through the
// per-server capacity. The lowest wins (the largest desired count wins in
// the engine); 0.7 when no metric maps onto utilisation.
func utilTarget(rp *policy.RolePolicy, perServerRPS, idle float64) float64 {
	best := math.Inf(1)
	fromCPU := func(c float64) float64 { return (c - idle) / (1 - idle) }
	for _, m := range rp.Metrics {
		var u float64
		switch {
		case m.Strategy == policy.StrategyThreshold && m.Signal == "cpu_utilization":
			u = fromCPU(m.Upper)
		case m.Signal == "cpu_utilization" && m.Target > 0:
			u = fromCPU(m.Target)
		case m.Signal == "requests_per_second" && m.TargetPerInstance > 0:
			u = m.TargetPerInstance / perServerRPS
		default:
			continue
		}
		if u > 0 {
			best = min(best, u)
		}
	}
	if math.IsInf(best, 1) {
		return 0.7
	}
	return min(best, 1)
}

// traceCase is one trace as replayed: its load function, length and scale.
type traceCase struct {
	name     string
	load     sim.LoadFunc
	duration time.Duration
	scale    float64
	peak     float64 // of the replayed part, after scaling
	steps    int     // replayed, warm-up included
	warm     int     // steps of the warm-up
	from     time.Duration
	start    time.Time // virtual wall-clock time of the replay's start
}

// AutoScale is the factor that makes a trace's peak need about 80 % of the
// coordinators' max at the policy's coordinator target.
func AutoScale(peak float64, coordMax int, coordRPS, target float64) float64 {
	if peak <= 0 {
		return 1
	}
	return 0.8 * float64(coordMax) * coordRPS * target / peak
}

func (s *setup) traceCase(ti TraceInput) (traceCase, error) {
	tr, err := ti.Trace.From(s.opts.From)
	if err != nil {
		return traceCase{}, fmt.Errorf("%w: from %s: %w", ErrBadOptions, s.opts.From, err)
	}
	dur := time.Duration(float64(tr.Duration()) / s.opts.Speed)
	if s.opts.Duration > 0 && s.opts.Warmup+s.opts.Duration < dur {
		dur = s.opts.Warmup + s.opts.Duration
	}
	steps := int(dur / s.interval)
	warm := s.warmSteps()
	if steps-warm < 1 {
		return traceCase{}, fmt.Errorf("%w: %s is shorter than a warm-up of %s and one interval (%s)", ErrBadOptions, ti.Name, s.opts.Warmup, s.interval)
	}
	// Peak of the replayed part (trace time [0, dur·speed)).
	end := time.Duration(float64(dur) * s.opts.Speed)
	raw := 0.0
	for i, t := range tr.T {
		if t >= end && i > 0 {
			break
		}
		raw = max(raw, tr.RPS[i])
	}
	scale := s.opts.ScaleRPS
	if f, ok := s.opts.fixedScale[ti.Name]; ok && scale == 0 {
		scale = f
	}
	if scale == 0 {
		scale = AutoScale(raw, s.pc.Roles[policy.Coordinators].Max, s.params.CoordinatorRPS, s.targets.coord)
	}
	start := s.opts.Start
	if start.IsZero() {
		start = tr.Start
	}
	if start.IsZero() {
		start = DefaultStart.Add(s.opts.From)
	}
	return traceCase{
		start: start, warm: warm, from: s.opts.From,
		name: ti.Name, load: tr.Func(s.opts.Speed, scale), duration: time.Duration(steps) * s.interval,
		scale: scale, peak: raw * scale, steps: steps,
	}, nil
}

// runAll runs every contender of every trace, each on its own world and
// clock, Options.Parallel at a time (0: all at once), and returns the
// results by trace in contender order. Their results do not depend on each
// other or on scheduling (TestDeterministic compares with a sequential
// run). Bounded, the runs start longest first: the policy contenders of
// every trace, then the other controllers, then the static and oracle
// baselines (a few % of a policy run). A policy contender is one reconcile
// after another and the slowest run of a trace, so with it started first
// on a core of its own the command ends about when it does, instead of
// sharing the cores with the baselines until the end.
func (s *setup) runAll(ctx context.Context, tcs []traceCase) ([][]Result, error) {
	names := append([]string{Policy}, s.opts.Baselines...)
	type job struct{ trace, contender int }
	jobs := make([]job, 0, len(tcs)*len(names))
	for t := range tcs {
		for c := range names {
			jobs = append(jobs, job{t, c})
		}
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return cmp.Compare(runRank(names[a.contender]), runRank(names[b.contender])) })
	runs := make([][]Result, len(tcs))
	errs := make([][]error, len(tcs))
	for t := range tcs {
		runs[t], errs[t] = make([]Result, len(names)), make([]error, len(names))
	}
	var mu sync.Mutex // serialises progress lines
	do := func(j job) {
		tc, name := tcs[j.trace], names[j.contender]
		var r Result
		var err error
		if name == Oracle || name == OracleTarget {
			r = s.oracle(tc, name)
		} else if r, err = s.runWorld(ctx, tc, name); err != nil {
			errs[j.trace][j.contender] = fmt.Errorf("trace %s: %s: %w", tc.name, name, err)
			return
		}
		s.finish(&r)
		runs[j.trace][j.contender] = r
		if s.opts.Advance != nil {
			s.opts.Advance(tc.name, name, tc.duration, tc.duration)
		}
		if s.opts.Progress != nil {
			mu.Lock()
			fmt.Fprintf(s.opts.Progress, "%s × %s: %.1f coordinator-h, %.1f dbserver-h, %.1f overload min, lost shards %d\n",
				r.Trace, r.Contender, r.CoordinatorHours, r.DBServerHours, r.OverloadMinutes, r.LostShards)
			mu.Unlock()
		}
	}
	workers := s.opts.Parallel
	if workers <= 0 || workers > len(jobs) {
		workers = len(jobs)
	}
	next := make(chan job)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range next {
				do(j)
			}
		})
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	var all []error
	for _, e := range errs {
		all = append(all, e...)
	}
	if err := errors.Join(all...); err != nil {
		return nil, err
	}
	return runs, nil
}

// runRank orders the runs when they are bounded: longest first.
func runRank(contender string) int {
	switch contender {
	case Policy:
		return 0
	case HPA, Threshold:
		return 1
	}
	return 2
}

// need is the fewest servers that keep demand/capacity ≤ target.
func need(load, perServer, target float64) int {
	if load <= 0 {
		return 0
	}
	return int(math.Ceil(load/(perServer*target) - 1e-9))
}

// replicationFloor is the highest replication factor of the collections.
func replicationFloor(cols []arango.CollectionSpec) int {
	f := 1
	for _, c := range cols {
		f = max(f, c.ReplicationFactor)
	}
	return f
}

// collections are the simulated cluster's data: replication factors 1, 2
// and 3, so a DB server removed without a clean-out loses shards.
func collections() []arango.CollectionSpec {
	return []arango.CollectionSpec{
		{Database: "_system", Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 24 << 30},
		{Database: "_system", Name: "sessions", NumberOfShards: 3, ReplicationFactor: 1, WriteConcern: 1, SizeBytes: 2 << 30},
		{Database: "_system", Name: "users", NumberOfShards: 3, ReplicationFactor: 3, WriteConcern: 2, SizeBytes: 6 << 30},
	}
}

// clampRole keeps n within the role's min/max.
func clampRole(rp *policy.RolePolicy, n int) int {
	if rp.Max > 0 {
		n = min(n, rp.Max)
	}
	return max(n, rp.Min, 1)
}

// startCounts are the counts every dynamic contender starts with: what the
// load at the start needs, within the policy's bounds.
func (s *setup) startCounts(tc traceCase) (coords, dbs int) {
	l := tc.load(0)
	coords = clampRole(s.pc.Roles[policy.Coordinators], need(l, s.params.CoordinatorRPS, s.targets.coord))
	dbs = clampRole(s.pc.Roles[policy.DBServers], max(need(l, s.params.DBServerRPS, s.targets.db), replicationFloor(collections())))
	return coords, dbs
}

// staticCounts are what the replayed part's peak needs.
func (s *setup) staticCounts(tc traceCase) (coords, dbs int) {
	coords = max(need(tc.peak, s.params.CoordinatorRPS, s.targets.coord), s.pc.Roles[policy.Coordinators].Min, 1)
	dbs = max(need(tc.peak, s.params.DBServerRPS, s.targets.db), s.pc.Roles[policy.DBServers].Min, replicationFloor(collections()))
	return coords, dbs
}

// worldParams sizes the Mesos agents so that every contender's largest
// count fits: capacity limits are not what is compared.
func (s *setup) worldParams(tc traceCase) sim.Params {
	p := s.params
	sc, sd := s.staticCounts(tc)
	nc := max(sc, s.pc.Roles[policy.Coordinators].Max)
	nd := max(sd, s.pc.Roles[policy.DBServers].Max)
	d := sim.DefaultParams()
	coord, db := p.Coordinator, p.DBServer
	if coord == (sim.Resources{}) {
		coord = d.Coordinator
	}
	if db == (sim.Resources{}) {
		db = d.DBServer
	}
	cpus := float64(nc)*coord.CPUs + float64(nd)*db.CPUs
	mem := float64(nc)*coord.MemMB + float64(nd)*db.MemMB
	p.DCOS.AgentCPUs, p.DCOS.AgentMemMB = 64, 256*1024
	p.DCOS.AgentDiskMB = 1 << 20
	p.DCOS.Agents = int(math.Ceil(max(cpus/p.DCOS.AgentCPUs, mem/p.DCOS.AgentMemMB))) + 1
	return p
}

// worldClock is a fresh virtual clock at the options' start.
func (s *setup) worldClock(tc traceCase) *clock.Virtual { return clock.NewVirtual(tc.start) }
