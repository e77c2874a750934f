package chaos

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/fault"
)

// faultClass installs one episode of a fault between from and until.
type faultClass struct {
	name    string
	install func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string
}

// episode is one fault of a run's plan and whether it hit its target:
// an HTTP fault hit a request, a model fault started, an armed fault
// fired while what it aims at (a running clean-out) was in flight.
type episode struct {
	class string
	rules []string // names of its HTTP rules: hit when one hit a request
	hit   bool
}

// Tally is how many episodes of a class a run planned and how many hit.
type Tally struct{ Planned, Hit int }

// Classes lists the fault classes of the random plan.
func Classes() []string {
	var out []string
	for _, c := range allClasses() {
		out = append(out, c.name)
	}
	return out
}

func allClasses() []faultClass {
	return append(append([]faultClass(nil), baseClasses...), newClasses...)
}

func rule(e *env, ep *episode, r fault.Rule) {
	r.Name = fmt.Sprintf("%s#%d", r.Name, len(e.episodes))
	ep.rules = append(ep.rules, r.Name)
	if err := e.inj.Add(r); err != nil {
		e.chk.Violate("", "fault rule %s: %v", r.Name, err)
	}
}

func model(e *env, ep *episode, name string, from, until time.Time, start, stop func()) {
	e.inj.AddModel(fault.Model{Name: name, From: from, Until: until, Start: func() {
		ep.hit = true
		start()
	}, Stop: stop})
}

var alphaApps = []string{sim.CoordinatorApp(alpha), sim.DBServerApp(alpha)}

var baseClasses = []faultClass{
	{"marathon_5xx", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "marathon_5xx", Service: "marathon", Action: fault.Unavailable,
			Status: []int{500, 502, 503}[rng.IntN(3)], Probability: 0.5, From: from, Until: until})
		return "Marathon answers 5xx to half the requests"
	}},
	{"marathon_slow", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "marathon_slow", Service: "marathon", Action: fault.Slow, Probability: 0.2, Limit: 6, From: from, Until: until})
		return "Marathon answers a fifth of the requests past the deadline"
	}},
	{"marathon_reset", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "marathon_reset", Service: "marathon", Action: fault.Reset, Probability: 0.3, From: from, Until: until})
		return "Marathon resets a third of the connections"
	}},
	{"conflict_storm", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "conflict_storm", Service: "marathon", Method: "PUT", Path: "/v2/apps/", Action: fault.Conflict, From: from, Until: until})
		rule(e, ep, fault.Rule{Name: "conflict_storm", Service: "marathon", Method: "POST", Path: "/v2/tasks/delete", Action: fault.Conflict, From: from, Until: until})
		return "Marathon answers 409 to every change"
	}},
	{"marathon_truncated", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "marathon_truncated", Service: "marathon", Method: "GET", Action: fault.Truncate, Probability: 0.4, From: from, Until: until})
		return "Marathon truncates 40% of its answers"
	}},
	{"garbled", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		svc := []string{"marathon", "mesos", "agent:*", "arangodb:alpha"}[rng.IntN(4)]
		rule(e, ep, fault.Rule{Name: "garbled", Service: svc, Method: "GET", Action: fault.Garble, Probability: 0.4, From: from, Until: until})
		return svc + " garbles 40% of its answers"
	}},
	{"lost_scale", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "lost_scale", Service: "marathon", Method: "PUT", Path: "/v2/apps/", Action: fault.LostResponse, Limit: 1, From: from, Until: until})
		rule(e, ep, fault.Rule{Name: "lost_kill", Service: "marathon", Method: "POST", Path: "/v2/tasks/delete", Action: fault.LostResponse, Limit: 1, From: from, Until: until})
		if rng.IntN(2) == 0 {
			e.o.RestartAfterLost = true
			return "the next scale and kill succeed but their answers are lost; the controller restarts right after"
		}
		return "the next scale and kill succeed but their answers are lost"
	}},
	{"leader_change", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		start, stop := fault.LeaderChange(e.world.Marathon(), "10.0.7.2:8080")
		model(e, ep, "leader_change", from, until, start, stop)
		if rng.IntN(2) == 0 {
			rule(e, ep, fault.Rule{Name: "leader_change", Service: "marathon", Action: fault.Redirect, Probability: 0.3, From: from, Until: until})
			return "Marathon leader changes; a third of the requests are redirected"
		}
		rule(e, ep, fault.Rule{Name: "leader_change", Service: "marathon", Action: fault.NotLeader, Probability: 0.5, From: from, Until: until})
		return "Marathon leader changes; half the requests get 503 no leader"
	}},
	{"mesos_master_failover", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "mesos_failover", Service: "mesos", Action: fault.Unavailable, Probability: 0.6, From: from, Until: until})
		rule(e, ep, fault.Rule{Name: "mesos_failover", Service: "mesos", Action: fault.Redirect, Probability: 0.5, From: from, Until: until})
		return "Mesos master fails over (503s and redirects)"
	}},
	{"mesos_agent_unreachable", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		svc := fmt.Sprintf("agent:%d", rng.IntN(8))
		rule(e, ep, fault.Rule{Name: "agent_unreachable", Service: svc, Action: fault.Reset, From: from, Until: until})
		return "Mesos " + svc + " unreachable"
	}},
	{"statistics_missing", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		app := alphaApps[rng.IntN(2)]
		var hidden string
		pick := rng.Uint64()
		model(e, ep, "statistics_missing", from, until, func() {
			ts := e.world.Marathon().Tasks(app)
			if len(ts) > 0 {
				hidden = ts[pick%uint64(len(ts))].ID
				e.world.Marathon().HideTaskStatistics(hidden, true)
				ep.hit = true
			}
		}, func() {
			if hidden != "" {
				e.world.Marathon().HideTaskStatistics(hidden, false)
			}
		})
		return "Mesos statistics miss a task of " + app
	}},
	{"arango_coordinator_down", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "coordinator_down", Service: "arangodb:alpha", Action: fault.Unavailable,
			Body: `{"code":503,"error":true,"errorMessage":"service unavailable","errorNum":503}`, From: from, Until: until})
		return "alpha's ArangoDB coordinator endpoint answers 503"
	}},
	{"arango_slow", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "arango_slow", Service: "arangodb:alpha", Action: fault.Slow, Probability: 0.15, Limit: 6, From: from, Until: until})
		return "alpha's ArangoDB answers some requests past the deadline"
	}},
	{"remove_server_412", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		rule(e, ep, fault.Rule{Name: "remove_412", Service: "arangodb:*", Method: "POST", Path: "/_admin/cluster/removeServer",
			Action: fault.Respond, Status: 412, Body: fault.ArangoPreconditionBody, From: from, Until: until})
		return "removeServer answers 412"
	}},
	{"deployment_stuck", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		app := alphaApps[rng.IntN(2)]
		start, stop := fault.DeploymentStuck(e.world.Marathon(), app)
		model(e, ep, "deployment_stuck", from, until, start, stop)
		return "deployments of " + app + " never finish"
	}},
	{"health_failing", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		app := alphaApps[rng.IntN(2)]
		start, stop := fault.HealthFailing(e.world.Marathon(), app)
		model(e, ep, "health_failing", from, until, start, stop)
		return "tasks of " + app + " fail their health checks"
	}},
	{"flapping", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		ac := e.world.ArangoDB(alpha)
		var bad string
		pick := rng.Uint64()
		model(e, ep, "flapping", from, until, func() {
			var dbs []string
			for _, s := range ac.Servers() {
				if s.Role == arango.DBServer && s.Status == arango.StatusGood {
					dbs = append(dbs, s.ID)
				}
			}
			if len(dbs) > 0 {
				bad = dbs[pick%uint64(len(dbs))]
				ac.SetReportedBad(bad, true)
				ep.hit = true
			}
		}, func() {
			if bad != "" {
				ac.SetReportedBad(bad, false)
			}
		})
		return "a DB server of alpha reported BAD"
	}},
	{"coordinator_crash", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		pick := rng.Uint64()
		e.at(from, "crash coordinator", func() {
			ts := e.world.Marathon().Tasks(sim.CoordinatorApp(alpha))
			if len(ts) == 0 {
				return
			}
			t := ts[pick%uint64(len(ts))]
			e.chk.Excuse(t.ID, "")
			if e.world.Marathon().FailTask(t.ID) == nil {
				ep.hit = true
				e.note("crashed coordinator task %s", t.ID)
			}
		})
		return "a coordinator of alpha crashes"
	}},
	{"restart", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		e.at(from, "restart", func() { e.restart("planned"); ep.hit = true })
		return "the controller is killed and restarted"
	}},
	{"invalid_reload", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		e.at(from, "invalid reload", func() { e.invalidReload(); ep.hit = true })
		return "an invalid policy is reloaded"
	}},
	{"remove_cluster", func(e *env, rng *rand.Rand, ep *episode, from, until time.Time) string {
		removed := false
		e.addHook(from, until, func(last bool) {
			if removed {
				return
			}
			_, saga, _ := e.role(alpha, policy.DBServers)
			if saga.Step != "idle" && saga.Step != "" || last {
				e.setClusters(beta)
				removed = true
				ep.hit = saga.Step != "idle" && saga.Step != ""
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

// episodesPerHour is the mean rate of fault episodes: a run's count
// scales with its length (a 6-hour run has ~72), drawn within ±30 %.
const episodesPerHour = 12

// plan draws the load changes and the fault episodes of 1–8 minutes.
func (e *env) plan(rng *rand.Rand, end time.Time) {
	// A hosted trace gives the load instead (env.step).
	for t := epoch; t.Before(end) && (e.o.Host == nil || e.o.Host.trace == nil); t = t.Add(time.Duration(3+rng.IntN(6)) * time.Minute) {
		lvl := loadLevels[rng.IntN(len(loadLevels))]
		e.at(t, "load", func() {
			if !e.steering {
				e.setLoad(alpha, lvl)
			}
		})
	}
	span := end.Sub(epoch)
	cs := allClasses()
	n := max(1, int(math.Round(span.Hours()*episodesPerHour*(0.7+0.6*rng.Float64()))))
	for range n {
		c := cs[rng.IntN(len(cs))]
		last := span - time.Minute
		if armedClasses[c.name] && span > 2*armLead {
			last = span - armLead
		}
		from := epoch.Add(time.Duration(rng.Int64N(int64(max(last, time.Minute)/time.Second))) * time.Second)
		until := from.Add(time.Duration(1+rng.IntN(8)) * time.Minute)
		if until.After(end) {
			until = end
		}
		ep := &episode{class: c.name}
		e.episodes = append(e.episodes, ep)
		what := c.install(e, rng, ep, from, until)
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

// tallies counts the episodes per class and their hits.
func (e *env) tallies() map[string]Tally {
	hits := map[string]bool{}
	for _, ev := range e.inj.Events() {
		hits[ev.Rule] = true
	}
	out := map[string]Tally{}
	for _, ep := range e.episodes {
		t := out[ep.class]
		t.Planned++
		hit := ep.hit
		for _, r := range ep.rules {
			hit = hit || hits[r]
		}
		if hit {
			t.Hit++
		}
		out[ep.class] = t
	}
	return out
}

// FormatTallies renders tallies as "class hit/planned", one per class.
func FormatTallies(t map[string]Tally) string {
	var names []string
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %s %d/%d\n", n, t[n].Hit, t[n].Planned)
	}
	return b.String()
}
