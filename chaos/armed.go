package chaos

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/fault"
)

// An armed fault waits, from its episode's start, for what it aims at —
// a clean-out running in alpha — and fires then; meanwhile the run
// steers alpha's load so a scale-down (and so a clean-out) comes: peak
// load until alpha has more DB servers than its min, then light load.
// An armed fault that saw no clean-out by its deadline missed.
type armedFault struct {
	ep       *episode
	from     time.Time
	deadline time.Time
	hold     time.Duration
	fire     func() (stop func()) // runs mid clean-out; stop (may be nil) ends the fault
	stop     func()
	stopAt   time.Time
	fired    bool
	done     bool
}

// armWait bounds how long an armed fault waits for a clean-out; the plan
// starts armed episodes early enough (armLead before the end) for the
// steered load to bring one.
const (
	armWait = 25 * time.Minute
	armLead = 15 * time.Minute
)

// armedClasses are the classes whose episodes the plan may arm.
var armedClasses = map[string]bool{"crash_mid_cleanout": true, "cleanout_failed": true, "cleanout_stuck": true,
	"reload_mid_cleanout": true, "second_controller": true}

func (e *env) arm(ep *episode, rng *rand.Rand, from, end time.Time, fire func() func()) {
	e.armed = append(e.armed, &armedFault{ep: ep, from: from, deadline: minTime(from.Add(armWait), end),
		hold: time.Duration(1+rng.IntN(4)) * time.Minute, fire: fire})
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// runArmed fires, stops and gives up armed faults, and steers the load
// while one waits.
func (e *env) runArmed() {
	now := e.clk.Now()
	running := len(e.world.ArangoDB(alpha).RunningCleanOuts()) > 0
	waiting := false
	for _, a := range e.armed {
		switch {
		case a.done || now.Before(a.from):
		case a.fired:
			if !now.Before(a.stopAt) {
				a.done = true
				if a.stop != nil {
					a.stop()
				}
			}
		case running:
			a.fired, a.ep.hit, a.stopAt = true, true, now.Add(a.hold)
			a.stop = a.fire()
		case !now.Before(a.deadline):
			a.done = true
		default:
			waiting = true
		}
	}
	e.steering = waiting
	if !waiting || running {
		return
	}
	st, _ := e.world.Marathon().AppStatus(sim.DBServerApp(alpha))
	peak, light := loadLevels[len(loadLevels)-1], loadLevels[0]
	if h := e.o.Host; h != nil {
		peak, light = h.peak, h.light
	}
	if rp := e.full.Clusters[0].Roles[policy.DBServers]; rp != nil && st.Instances <= rp.Min {
		e.setLoad(alpha, peak)
	} else {
		e.setLoad(alpha, light)
	}
}

// stopArmed ends every fired armed fault (the faults stop).
func (e *env) stopArmed() {
	for _, a := range e.armed {
		if a.fired && !a.done && a.stop != nil {
			a.stop()
		}
		a.done = true
	}
	e.steering = false
}

// cleanOutVictim returns alpha's server being cleaned out and its task.
func (e *env) cleanOutVictim() (arango.ServerInfo, bool) {
	ac := e.world.ArangoDB(alpha)
	run := ac.RunningCleanOuts()
	if len(run) == 0 {
		return arango.ServerInfo{}, false
	}
	for _, s := range ac.Servers() {
		if s.ID == run[0] {
			return s, true
		}
	}
	return arango.ServerInfo{}, false
}

// crash fails a DB server's task as a machine loss does, excusing what
// goes down with it at this moment.
func (e *env) crash(s arango.ServerInfo, why string) bool {
	if s.TaskID == "" {
		return false
	}
	e.chk.Excuse(s.TaskID, s.ID)
	if e.world.Marathon().FailTask(s.TaskID) != nil {
		return false
	}
	e.crashed++
	e.note("crashed DB server %s of alpha %s", s.ShortName, why)
	return true
}

// armedCleanOut is a class that, once a clean-out of alpha runs, gives
// alpha's clean-out jobs the mode until the episode ends.
func armedCleanOut(mode arango.CleanOutFault, fired, plan string) func(*env, *rand.Rand, *episode, time.Time, time.Time) string {
	return func(e *env, rng *rand.Rand, ep *episode, from, _ time.Time) string {
		e.arm(ep, rng, from, e.end, func() func() {
			start, stop := fault.CleanOut(e.world.ArangoDB(alpha), mode)
			start()
			e.note("%s", fired)
			return stop
		})
		return plan
	}
}

var newClasses = []faultClass{
	{"crash_mid_cleanout", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		e.arm(ep, rng, from, e.end, func() func() {
			if s, ok := e.cleanOutVictim(); ok {
				e.crash(s, "mid clean-out")
			}
			return nil
		})
		return "the DB server being cleaned out crashes (armed: fires when a clean-out runs)"
	}},
	{"cleanout_failed", armedCleanOut(arango.CleanOutFail, "alpha's running clean-out fails", "alpha's clean-out jobs fail (armed)")},
	{"cleanout_stuck", armedCleanOut(arango.CleanOutStuck, "alpha's running clean-out is stuck", "alpha's clean-out jobs stay Pending (armed)")},
	{"reload_mid_cleanout", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		pause := rng.IntN(2) == 0
		e.arm(ep, rng, from, e.end, func() func() {
			st, _ := e.world.Marathon().AppStatus(sim.DBServerApp(alpha))
			o := dbOverride{Paused: pause}
			rp := e.full.Clusters[0].Roles[policy.DBServers]
			if rp == nil {
				return nil
			}
			if !pause {
				o.Min = min(st.Instances, rp.Max)
			}
			// The reload lands while the next reconcile runs; the checker
			// holds the controller to it from the reconcile after.
			e.duringReconcile = append(e.duringReconcile, func() { e.reloadOverride(&o) })
			return func() { e.setOverride(nil) }
		})
		if pause {
			return "alpha's DB servers are paused by a reload while a clean-out runs (armed)"
		}
		return "alpha's DB-server min is raised to the current count by a reload while a clean-out runs (armed)"
	}},
	{"second_controller", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		if rng.IntN(2) == 0 {
			e.arm(ep, rng, from, e.end, func() func() {
				e.restart("replacement process mid clean-out")
				return nil
			})
			return "Marathon replaces the controller while a clean-out runs (armed); the new process must resume"
		}
		e.at(from, "replacement", func() { e.restart("replacement process"); ep.hit = true })
		return "Marathon replaces the controller (the old one gone first)"
	}},
	{"dbserver_crash", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		pick := rng.Uint64()
		e.addHook(from, until, func(bool) {
			ac := e.world.ArangoDB(alpha)
			if ep.hit || len(ac.RunningCleanOuts()) > 0 {
				return
			}
			var dbs []arango.ServerInfo
			for _, s := range ac.Servers() {
				if s.Role == arango.DBServer && s.Status == arango.StatusGood && !s.CleanedOut {
					dbs = append(dbs, s)
				}
			}
			if len(dbs) > 0 {
				ep.hit = e.crash(dbs[pick%uint64(len(dbs))], "outside a clean-out")
			}
		})
		return "a DB server of alpha crashes while no clean-out runs"
	}},
	{"operator_cleanout", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		pick := rng.Uint64()
		var server string
		e.addHook(from, until, func(bool) {
			if server != "" {
				return
			}
			ac := e.world.ArangoDB(alpha)
			if len(ac.RunningCleanOuts()) > 0 {
				return
			}
			var dbs []arango.ServerInfo
			for _, s := range ac.Servers() {
				if s.Role == arango.DBServer && s.Status == arango.StatusGood && !s.CleanedOut {
					dbs = append(dbs, s)
				}
			}
			if len(dbs) == 0 {
				return
			}
			s := dbs[pick%uint64(len(dbs))]
			server = s.ID
			ep.hit = true
			e.operatorCleanOut(s)
		})
		e.at(until, "operator undoes the clean-out", func() { e.operatorUndo(server) })
		return "an operator cleans out a DB server of alpha, then takes it back"
	}},
	{"stale_marathon", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		until = minTime(until, from.Add(time.Duration(1+rng.IntN(3))*time.Minute))
		rule(e, ep, fault.Rule{Name: "stale_marathon", Service: "marathon", Method: "GET", Action: fault.Stale, From: from, Until: until})
		e.at(from, "stale view", func() { e.chk.loosenDeploy(until.Add(interval)) })
		return fmt.Sprintf("Marathon answers reads with its view from before +%s until +%s", from.Sub(epoch), until.Sub(epoch))
	}},
	{"clock_skew", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		d := time.Duration(1+rng.IntN(15)) * time.Minute
		if rng.IntN(2) == 0 {
			d = -d
		}
		e.inj.AddModel(fault.Model{Name: "clock_skew", From: from, Until: until, Start: func() {
			for _, n := range e.world.Clusters() {
				e.world.ArangoDB(n).SetClockSkew(d)
			}
			// Only a JWT carries time; basic auth has nothing to skew.
			ep.hit = e.sec.ArangoJWTSecret != ""
		}, Stop: func() {
			for _, n := range e.world.Clusters() {
				e.world.ArangoDB(n).SetClockSkew(0)
			}
		}})
		return fmt.Sprintf("ArangoDB's clock is %s off the controller's", d)
	}},
}

// dbOverride changes alpha's DB-server policy by a reload.
type dbOverride struct {
	Min    int
	Paused bool
}

// setOverride reloads the policy with alpha's DB servers changed (nil:
// as planned) and gives the checker the same bounds.
func (e *env) setOverride(o *dbOverride) {
	e.reloadOverride(o)
	e.applyBounds()
}

// applyBounds gives the checker the bounds of the policy loaded now. A
// min raised above the DB servers Marathon has (a kill decided before
// the reload landed) holds from that count: the controller scales up to
// the new min, it cannot have stayed there.
func (e *env) applyBounds() {
	if !e.boundsDirty {
		return
	}
	e.boundsDirty = false
	b := e.bounds()
	if o := e.override; o != nil && o.Min > 0 {
		st, _ := e.world.Marathon().AppStatus(sim.DBServerApp(alpha))
		for _, pc := range b.Clusters {
			if rp := pc.Roles[policy.DBServers]; pc.Name == alpha && rp != nil && rp.Min > st.Instances {
				rp.Min = st.Instances
			}
		}
	}
	e.chk.setPolicy(b)
}

// reloadOverride reloads the policy with the override; the checker's
// bounds follow at applyBounds.
func (e *env) reloadOverride(o *dbOverride) {
	e.override = o
	e.boundsDirty = true
	if err := e.writePolicy(e.policyNames(e.controller().Policy())...); err != nil {
		e.chk.Violate("", "write policy: %v", err)
		return
	}
	if err := e.reloadPolicy(); err != nil {
		e.chk.Violate("", "reload of a valid policy failed: %v", err)
		return
	}
	if o == nil {
		e.note("policy reloaded: alpha's DB servers as planned")
	} else {
		e.note("policy reloaded: alpha's DB servers min %d paused %v", o.Min, o.Paused)
	}
}

// bounds is the full policy with the override applied: what the checker
// holds the controller to.
func (e *env) bounds() *policy.Config {
	if e.override == nil {
		return e.full
	}
	out := &policy.Config{}
	for _, pc := range e.full.Clusters {
		if pc.Name != alpha || pc.Roles[policy.DBServers] == nil {
			out.Clusters = append(out.Clusters, pc)
			continue
		}
		c := *pc
		c.Roles = map[policy.Role]*policy.RolePolicy{}
		for r, rp := range pc.Roles {
			c.Roles[r] = rp
		}
		rp := *pc.Roles[policy.DBServers]
		rp.Paused = e.override.Paused
		if e.override.Min > 0 {
			rp.Min = e.override.Min
		}
		c.Roles[policy.DBServers] = &rp
		out.Clusters = append(out.Clusters, &c)
	}
	return out
}

// operatorCleanOut starts a clean-out of s as an operator does, through
// the coordinator, not the controller; the controller must report it and
// leave it alone.
func (e *env) operatorCleanOut(s arango.ServerInfo) {
	e.world.ArangoDB(alpha).CleanOutServer(s.ID)
	e.chk.Foreign(s.ID)
	e.opServer, e.opSince = s.ID, time.Time{}
	e.note("an operator started a clean-out of %s", s.ShortName)
}

// operatorUndo has the operator take the server back: out of
// cleanedServers once its clean-out has ended (at once if it has).
func (e *env) operatorUndo(server string) {
	if server != "" {
		e.opUndo = server
		e.runOperatorUndo()
	}
}

// runOperatorUndo does the pending take-back once the operator's
// clean-out is no longer running.
func (e *env) runOperatorUndo() {
	server := e.opUndo
	if server == "" {
		return
	}
	ac := e.world.ArangoDB(alpha)
	if slices.Contains(ac.RunningCleanOuts(), server) {
		return
	}
	if ac.Uncleaned(server) {
		e.note("the operator took %s back (cleanedServers)", server)
	}
	e.opUndo = ""
	if e.opServer == server {
		e.opServer = ""
	}
}

// opReportBound is how long, in intervals without an active fault, the
// controller may take to report an operator's finished clean-out in
// /status.
const opReportBound = 3 * interval

// checkOperator checks the controller reports the operator's cleaned-out
// server that still runs.
func (e *env) checkOperator() {
	if e.opServer == "" {
		return
	}
	var srv *arango.ServerInfo
	for _, s := range e.world.ArangoDB(alpha).Servers() {
		if s.ID == e.opServer {
			srv = &s
		}
	}
	if srv == nil || !srv.CleanedOut || srv.Status != arango.StatusGood {
		e.opSince = time.Time{}
		return
	}
	now := e.clk.Now()
	if e.opSince.IsZero() {
		e.opSince, e.opClean = now, 0
	}
	// The bound counts only intervals without an active fault: with
	// ArangoDB or Marathon failing the controller may not see it.
	if !e.inj.Active() {
		e.opClean++
	}
	_, saga, ok := e.role(alpha, policy.DBServers)
	// Taken as the victim of a scale-down the policy wants anyway: the
	// controller's own now.
	if !ok || slices.Contains(saga.ForeignCleaned, srv.ID) || saga.Server == srv.ID {
		e.opClean = 0
		return
	}
	if time.Duration(e.opClean)*interval > opReportBound {
		e.chk.Violate("op report "+srv.ID, "an operator's cleaned-out DB server %s (%s) is not reported in /status after %s, %d intervals without faults (saga %s %s: %s; foreign %v)",
			srv.ShortName, srv.ID, now.Sub(e.opSince), e.opClean, saga.Step, saga.Server, saga.Detail, saga.ForeignCleaned)
	}
}
