package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/fault"
)

// Faults modes of Options.Faults.
const (
	FaultsRandom = "random"
	FaultsNone   = "none"
)

// DefaultSettle is the bound, in reconcile intervals, within which the
// controller must reach the policy's answer once the faults stop. The
// slowest legitimate path after a fault is: the longest backoff (2 min, 8
// intervals), then two DB-server removals (max 5 → min 3), each a
// cooldown (2 min), a clean-out of ~2.3 GiB at 50 MiB/s (~1 min), the
// kill, FAILED after 15 s and the removal (together ~3.5 min, 14
// intervals), while the coordinators settle in parallel (down 50 % per
// minute). 8 + 2×14 = 36 intervals; 40 leaves one interval of slack per
// step of the saga.
const DefaultSettle = 40

// Options configure a chaos run.
type Options struct {
	Seed int64
	// Faults is FaultsRandom (a fault plan drawn from Seed) or FaultsNone.
	Faults string
	// Duration is the virtual time with faults (default 30m); then the
	// faults stop and the run waits for convergence.
	Duration time.Duration
	// Settle bounds convergence in intervals (default DefaultSettle).
	Settle int
	// SourceTimeout is the controller's per-call timeout (default 300ms):
	// slow-answer faults cost this much real time each.
	SourceTimeout time.Duration
	// RestartAfterLost restarts the controller right after every lost
	// response (the random plan sets it for some seeds).
	RestartAfterLost bool
	// Logs, when set, receives the controllers' JSON logs as well.
	Logs io.Writer

	alphaDBServers int // alpha's DB servers at the start (tests; default 3)
	alphaLoad      float64
}

// Result is the outcome of one run.
type Result struct {
	Seed       int64
	Violations []string
	// Steps is the number of reconcile intervals run.
	Steps int
	// Faults describes the faults injected and the run's notable events.
	Faults []string
	// Hits is the number of requests an HTTP fault hit.
	Hits     int
	Restarts int
	Reloads  int
	// ConvergedAfter is the number of intervals from the end of the
	// faults to convergence (-1: not converged).
	ConvergedAfter int
	// SpuriousPins lists roles the controller pinned as if an operator had
	// set a count in ArangoDB's web UI; no operator acts in a chaos run,
	// so each is the controller mistaking a count it wrote itself.
	SpuriousPins []string
	Wall         time.Duration
}

// ErrOptions reports invalid Options.
var ErrOptions = errors.New("chaos: invalid options")

func (o *Options) defaults() error {
	if o.Faults == "" {
		o.Faults = FaultsRandom
	}
	if o.Faults != FaultsRandom && o.Faults != FaultsNone {
		return fmt.Errorf("%w: faults %q: want %q or %q", ErrOptions, o.Faults, FaultsRandom, FaultsNone)
	}
	if o.Duration == 0 {
		o.Duration = 30 * time.Minute
	}
	if o.Duration < 0 || o.Settle < 0 || o.SourceTimeout < 0 {
		return fmt.Errorf("%w: negative duration, settle or timeout", ErrOptions)
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
	}
	if o.SourceTimeout == 0 {
		o.SourceTimeout = 300 * time.Millisecond
	}
	return nil
}

// Run runs the real controller against the emulated world with faults,
// checking the invariants after every step; then stops the faults and
// checks that the controller converges within Settle intervals and that
// no secret showed anywhere.
// A done ctx ends the run early with ctx's error.
func Run(ctx context.Context, o Options) (Result, error) {
	start := time.Now()
	if err := o.defaults(); err != nil {
		return Result{}, err
	}
	e, err := newEnv(ctx, o)
	if err != nil {
		return Result{}, fmt.Errorf("chaos: seed %d: %w", o.Seed, err)
	}
	defer e.close()
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed))
	end := epoch.Add(o.Duration)
	if o.Faults == FaultsRandom {
		e.plan(rng, end)
	}
	for e.clk.Now().Before(end) && !e.aborted {
		e.step()
	}
	res := Result{Seed: o.Seed, ConvergedAfter: -1}
	if !e.aborted {
		res.ConvergedAfter = e.settle(rng)
	}
	e.checkExposed("at the end")
	e.chk.CheckSecrets(e.sec, "the logs", e.logs.String())
	res.Violations = e.chk.Violations()
	for _, v := range res.Violations {
		e.chk.CheckSecrets(e.sec, "a violation text", v)
	}
	res.Violations = e.chk.Violations()
	res.Steps, res.Restarts, res.Reloads = e.steps, e.restarts, e.reloads
	res.Faults = e.notes
	res.SpuriousPins = e.pins
	res.Hits = len(e.inj.Events())
	res.Wall = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("chaos: seed %d: %w", o.Seed, err)
	}
	return res, nil
}

// settle stops every fault, restores the full policy, holds the load and
// runs until the controller has reached the policy's answer for
// stableFor consecutive intervals, at most Settle intervals. It returns
// the intervals it took, or -1 (a violation) if it did not converge.
func (e *env) settle(rng *rand.Rand) int {
	e.inj.StopAll()
	e.crashArm = false
	e.timeline = nil
	e.hooks = nil
	if len(e.controller().Policy().Clusters) != len(e.full.Clusters) {
		e.setClusters(alpha, beta)
	}
	if e.o.Faults == FaultsRandom {
		e.setLoad(alpha, loadLevels[rng.IntN(len(loadLevels))])
	}
	e.note("faults stopped; alpha load %.0f rps", e.loadOf(alpha))
	const stableFor = 3
	streak, why := 0, ""
	for i := 1; i <= e.o.Settle+stableFor; i++ {
		e.step()
		if e.aborted {
			return -1
		}
		ok, w := e.converged()
		if !ok {
			streak, why = 0, w
			continue
		}
		streak++
		if streak == stableFor {
			if i-stableFor+1 > e.o.Settle {
				break
			}
			return i - stableFor + 1
		}
	}
	e.chk.Violate("converge", "not converged within %d intervals after the faults stopped: %s", e.o.Settle, why)
	return -1
}

// loadLevels are alpha's offered loads (rps): light, medium, heavy and
// peak, from 2 coordinators / 3 DB servers up to 7 / 5.
var loadLevels = []float64{400, 1500, 3000, 4500}

// faultClass installs one fault between from and until.
type faultClass struct {
	name    string
	install func(e *env, rng *rand.Rand, from, until time.Time) string
}

// Classes lists the fault classes of the random plan.
func Classes() []string {
	out := make([]string, len(classes))
	for i, c := range classes {
		out[i] = c.name
	}
	return out
}

func rule(e *env, r fault.Rule) {
	if err := e.inj.Add(r); err != nil {
		e.chk.Violate("", "fault rule %s: %v", r.Name, err)
	}
}

func model(e *env, name string, from, until time.Time, start, stop func()) {
	e.inj.AddModel(fault.Model{Name: name, From: from, Until: until, Start: start, Stop: stop})
}

var alphaApps = []string{sim.CoordinatorApp(alpha), sim.DBServerApp(alpha)}

var classes = []faultClass{
	{"marathon_5xx", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "marathon_5xx", Service: "marathon", Action: fault.Unavailable,
			Status: []int{500, 502, 503}[rng.IntN(3)], Probability: 0.5, From: from, Until: until})
		return "Marathon answers 5xx to half the requests"
	}},
	{"marathon_slow", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "marathon_slow", Service: "marathon", Action: fault.Slow, Probability: 0.2, Limit: 6, From: from, Until: until})
		return "Marathon answers a fifth of the requests past the deadline"
	}},
	{"marathon_reset", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "marathon_reset", Service: "marathon", Action: fault.Reset, Probability: 0.3, From: from, Until: until})
		return "Marathon resets a third of the connections"
	}},
	{"conflict_storm", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "conflict_storm", Service: "marathon", Method: "PUT", Path: "/v2/apps/", Action: fault.Conflict, From: from, Until: until})
		rule(e, fault.Rule{Name: "conflict_storm", Service: "marathon", Method: "POST", Path: "/v2/tasks/delete", Action: fault.Conflict, From: from, Until: until})
		return "Marathon answers 409 to every change"
	}},
	{"marathon_truncated", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "marathon_truncated", Service: "marathon", Method: "GET", Action: fault.Truncate, Probability: 0.4, From: from, Until: until})
		return "Marathon truncates 40% of its answers"
	}},
	{"garbled", func(e *env, rng *rand.Rand, from, until time.Time) string {
		svc := []string{"marathon", "mesos", "agent:*", "arangodb:alpha"}[rng.IntN(4)]
		rule(e, fault.Rule{Name: "garbled", Service: svc, Method: "GET", Action: fault.Garble, Probability: 0.4, From: from, Until: until})
		return svc + " garbles 40% of its answers"
	}},
	{"lost_scale", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "lost_scale", Service: "marathon", Method: "PUT", Path: "/v2/apps/", Action: fault.LostResponse, Limit: 1, From: from, Until: until})
		rule(e, fault.Rule{Name: "lost_kill", Service: "marathon", Method: "POST", Path: "/v2/tasks/delete", Action: fault.LostResponse, Limit: 1, From: from, Until: until})
		if rng.IntN(2) == 0 {
			e.o.RestartAfterLost = true
			return "the next scale and kill succeed but their answers are lost; the controller restarts right after"
		}
		return "the next scale and kill succeed but their answers are lost"
	}},
	{"leader_change", func(e *env, rng *rand.Rand, from, until time.Time) string {
		start, stop := fault.LeaderChange(e.world.Marathon(), "10.0.7.2:8080")
		model(e, "leader_change", from, until, start, stop)
		if rng.IntN(2) == 0 {
			rule(e, fault.Rule{Name: "leader_change", Service: "marathon", Action: fault.Redirect, Probability: 0.3, From: from, Until: until})
			return "Marathon leader changes; a third of the requests are redirected"
		}
		rule(e, fault.Rule{Name: "leader_change", Service: "marathon", Action: fault.NotLeader, Probability: 0.5, From: from, Until: until})
		return "Marathon leader changes; half the requests get 503 no leader"
	}},
	{"mesos_master_failover", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "mesos_failover", Service: "mesos", Action: fault.Unavailable, Probability: 0.6, From: from, Until: until})
		rule(e, fault.Rule{Name: "mesos_failover", Service: "mesos", Action: fault.Redirect, Probability: 0.5, From: from, Until: until})
		return "Mesos master fails over (503s and redirects)"
	}},
	{"mesos_agent_unreachable", func(e *env, rng *rand.Rand, from, until time.Time) string {
		svc := fmt.Sprintf("agent:%d", rng.IntN(8))
		rule(e, fault.Rule{Name: "agent_unreachable", Service: svc, Action: fault.Reset, From: from, Until: until})
		return "Mesos " + svc + " unreachable"
	}},
	{"statistics_missing", func(e *env, rng *rand.Rand, from, until time.Time) string {
		app := alphaApps[rng.IntN(2)]
		var hidden string
		pick := rng.Uint64()
		model(e, "statistics_missing", from, until, func() {
			ts := e.world.Marathon().Tasks(app)
			if len(ts) > 0 {
				hidden = ts[pick%uint64(len(ts))].ID
				e.world.Marathon().HideTaskStatistics(hidden, true)
			}
		}, func() {
			if hidden != "" {
				e.world.Marathon().HideTaskStatistics(hidden, false)
			}
		})
		return "Mesos statistics miss a task of " + app
	}},
	{"arango_coordinator_down", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "coordinator_down", Service: "arangodb:alpha", Action: fault.Unavailable,
			Body: `{"code":503,"error":true,"errorMessage":"service unavailable","errorNum":503}`, From: from, Until: until})
		return "alpha's ArangoDB coordinator endpoint answers 503"
	}},
	{"arango_slow", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "arango_slow", Service: "arangodb:alpha", Action: fault.Slow, Probability: 0.15, Limit: 6, From: from, Until: until})
		return "alpha's ArangoDB answers some requests past the deadline"
	}},
	{"remove_server_412", func(e *env, rng *rand.Rand, from, until time.Time) string {
		rule(e, fault.Rule{Name: "remove_412", Service: "arangodb:*", Method: "POST", Path: "/_admin/cluster/removeServer",
			Action: fault.Respond, Status: 412, Body: fault.ArangoPreconditionBody, From: from, Until: until})
		return "removeServer answers 412"
	}},
	{"deployment_stuck", func(e *env, rng *rand.Rand, from, until time.Time) string {
		app := alphaApps[rng.IntN(2)]
		start, stop := fault.DeploymentStuck(e.world.Marathon(), app)
		model(e, "deployment_stuck", from, until, start, stop)
		return "deployments of " + app + " never finish"
	}},
	{"health_failing", func(e *env, rng *rand.Rand, from, until time.Time) string {
		app := alphaApps[rng.IntN(2)]
		start, stop := fault.HealthFailing(e.world.Marathon(), app)
		model(e, "health_failing", from, until, start, stop)
		return "tasks of " + app + " fail their health checks"
	}},
	{"cleanout_failed", func(e *env, rng *rand.Rand, from, until time.Time) string {
		start, stop := fault.CleanOut(e.world.ArangoDB(alpha), arango.CleanOutFail)
		model(e, "cleanout_failed", from, until, start, stop)
		return "alpha's clean-out jobs fail"
	}},
	{"cleanout_stuck", func(e *env, rng *rand.Rand, from, until time.Time) string {
		start, stop := fault.CleanOut(e.world.ArangoDB(alpha), arango.CleanOutStuck)
		model(e, "cleanout_stuck", from, until, start, stop)
		return "alpha's clean-out jobs stay Pending"
	}},
	{"flapping", func(e *env, rng *rand.Rand, from, until time.Time) string {
		ac := e.world.ArangoDB(alpha)
		var bad string
		pick := rng.Uint64()
		model(e, "flapping", from, until, func() {
			var dbs []string
			for _, s := range ac.Servers() {
				if s.Role == arango.DBServer && s.Status == arango.StatusGood {
					dbs = append(dbs, s.ID)
				}
			}
			if len(dbs) > 0 {
				bad = dbs[pick%uint64(len(dbs))]
				ac.SetReportedBad(bad, true)
			}
		}, func() {
			if bad != "" {
				ac.SetReportedBad(bad, false)
			}
		})
		return "a DB server of alpha reported BAD"
	}},
	{"crash_mid_cleanout", func(e *env, rng *rand.Rand, from, until time.Time) string {
		e.at(from, "arm crash", func() { e.crashArm = true })
		e.at(until, "disarm crash", func() { e.crashArm = false })
		return "the DB server being cleaned out crashes"
	}},
	{"coordinator_crash", func(e *env, rng *rand.Rand, from, until time.Time) string {
		pick := rng.Uint64()
		e.at(from, "crash coordinator", func() {
			ts := e.world.Marathon().Tasks(sim.CoordinatorApp(alpha))
			if len(ts) == 0 {
				return
			}
			t := ts[pick%uint64(len(ts))]
			e.chk.Excuse(t.ID, "")
			if e.world.Marathon().FailTask(t.ID) == nil {
				e.note("crashed coordinator task %s", t.ID)
			}
		})
		return "a coordinator of alpha crashes"
	}},
	{"restart", func(e *env, rng *rand.Rand, from, until time.Time) string {
		e.at(from, "restart", func() { e.restart("planned") })
		return "the controller is killed and restarted"
	}},
	{"invalid_reload", func(e *env, rng *rand.Rand, from, until time.Time) string {
		e.at(from, "invalid reload", e.invalidReload)
		return "an invalid policy is reloaded"
	}},
	{"remove_cluster", func(e *env, rng *rand.Rand, from, until time.Time) string {
		removed := false
		e.addHook(from, until, func(last bool) {
			if removed {
				return
			}
			_, saga, _ := e.role(alpha, policy.DBServers)
			if saga.Step != "idle" && saga.Step != "" || last {
				e.setClusters(beta)
				removed = true
			}
		})
		e.at(until, "re-add alpha", func() {
			if removed {
				e.setClusters(alpha, beta)
			}
		})
		return "alpha is removed from the policy (mid-saga if one runs), then added back"
	}},
}

// addHook runs f at every step in [from, until); last is set on the
// final step before until.
func (e *env) addHook(from, until time.Time, f func(last bool)) {
	e.hooks = append(e.hooks, hook{from, until, f})
}

type hook struct {
	from, until time.Time
	f           func(last bool)
}

func (e *env) runHooks() {
	now := e.clk.Now()
	for _, h := range e.hooks {
		if now.Before(h.from) || !now.Before(h.until) {
			continue
		}
		h.f(!now.Add(interval).Before(h.until))
	}
}

// plan draws the load changes and 3–7 fault episodes of 1–8 minutes.
func (e *env) plan(rng *rand.Rand, end time.Time) {
	for t := epoch; t.Before(end); t = t.Add(time.Duration(3+rng.IntN(6)) * time.Minute) {
		lvl := loadLevels[rng.IntN(len(loadLevels))]
		e.at(t, "load", func() { e.setLoad(alpha, lvl) })
	}
	span := end.Sub(epoch)
	n := 3 + rng.IntN(5)
	for range n {
		c := classes[rng.IntN(len(classes))]
		from := epoch.Add(time.Duration(rng.Int64N(int64(max(span-time.Minute, time.Minute)/time.Second))) * time.Second)
		until := from.Add(time.Duration(1+rng.IntN(8)) * time.Minute)
		if until.After(end) {
			until = end
		}
		what := c.install(e, rng, from, until)
		e.planned = append(e.planned, planned{from, fmt.Sprintf("+%s–%s %s: %s", from.Sub(epoch), until.Sub(epoch), c.name, what)})
	}
	sort.SliceStable(e.planned, func(i, j int) bool { return e.planned[i].from.Before(e.planned[j].from) })
	for _, p := range e.planned {
		e.notes = append(e.notes, p.text)
	}
}

type planned struct {
	from time.Time
	text string
}

// String renders a result compactly.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d steps, %d fault hits, %d restarts, %d reloads, converged after %d intervals, %d violations (%s)",
		r.Seed, r.Steps, r.Hits, r.Restarts, r.Reloads, r.ConvergedAfter, len(r.Violations), r.Wall.Round(time.Millisecond))
	return b.String()
}
