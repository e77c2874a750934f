package chaos

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// settledReasons are the only reasons a settled role may report.
var settledReasons = []string{"within_tolerance", "at_min", "at_max", "replication_floor"}

// converged reports whether every role of every cluster is at the
// policy's answer and at rest, or says why not. The answer and the rest
// are read from the world (Marathon's apps, ArangoDB's servers, jobs and
// collections, the offered load); the controller's /status must agree
// with it, never stand in for it.
func (e *env) converged() (bool, string) {
	dc := e.world.Marathon()
	now := e.clk.Now()
	for _, pc := range e.full.Clusters {
		for _, r := range policy.Roles() {
			rp, ok := pc.Roles[r]
			if !ok {
				continue
			}
			app := pc.AppID(r)
			rs, saga, ok := e.role(pc.Name, r)
			if !ok {
				return false, pc.Name + " not in /status"
			}
			st, _ := dc.AppStatus(app)
			// A shard the run lost with a crashed server (an excused loss)
			// stays out of sync for good: ArangoDB has no replica to
			// resync it from, and the controller rightly keeps the
			// cluster unsafe to shrink until an operator acts.
			// The same for a DB server the run crashed that ArangoDB keeps
			// FAILED with its replicas: the emulator has no supervision
			// moving them (FailedFollower/FailedLeader jobs), so it never
			// empties, and a FAILED server holding shards makes the
			// cluster unsafe to shrink.
			lost := r == policy.DBServers && (e.world.State(pc.Name).LostShards > 0 || e.crashedFailed(pc.Name))
			switch {
			case saga.Step != "idle":
				return false, fmt.Sprintf("%s saga %s (%s)", pc.Name, saga.Step, saga.Detail)
			case len(st.Deployments) > 0 || st.Queued > 0 || st.Running != st.Instances || st.Healthy != st.Instances:
				return false, fmt.Sprintf("%s: %d of %d running, %d healthy, %d queued, deployments %v",
					app, st.Running, st.Instances, st.Healthy, st.Queued, st.Deployments)
			case rs.Target != st.Instances || (!lost && (rs.Desired != rs.Target || rs.Direction != "none")):
				return false, fmt.Sprintf("%s: target %d, status target %d desired %d direction %s reasons %v",
					app, st.Instances, rs.Target, rs.Desired, rs.Direction, rs.Reasons)
			case rs.BackoffUntil != nil:
				return false, fmt.Sprintf("%s: backing off until %s", app, rs.BackoffUntil.Format(time.TimeOnly))
			}
			for _, b := range rs.Blocked {
				if !slices.Contains(settledReasons, b) && (!lost || b != "unsafe_cluster") {
					return false, fmt.Sprintf("%s: blocked by %s (reasons %v, unsafe %q)", app, b, rs.Reasons, saga.Unsafe)
				}
			}
			if r == policy.Coordinators {
				if ok, why := e.coordinatorsAtRest(pc.Name, rp, st.Instances, now); !ok {
					return false, app + ": " + why
				}
			}
			if r == policy.DBServers {
				if ok, why := e.dbServersAtRest(pc.Name, rp, st.Instances, now, lost); !ok {
					return false, why
				}
			}
		}
	}
	return true, ""
}

// coordinatorsAtRest checks the coordinators' count against the policy's
// answer for the offered load (requests_per_second) or their CPU
// (cpu_utilization), or, for a role whose answer the world cannot
// compute (see answerMetric), only against [max(min, schedule floor), max].
func (e *env) coordinatorsAtRest(cluster string, rp *policy.RolePolicy, n int, now time.Time) (bool, string) {
	m, ok := answerMetric(rp)
	lo := max(rp.Min, policy.ScheduleFloor(rp, now))
	switch {
	case !ok:
		if n < lo || n > rp.Max {
			return false, fmt.Sprintf("%d coordinators outside [%d, %d]", n, lo, rp.Max)
		}
		return true, ""
	case m.Signal == "requests_per_second":
		if ok, want := coordinatorAnswer(rp, e.loadOf(cluster), n, now); !ok {
			return false, fmt.Sprintf("%d coordinators for %.0f rps, the policy answers %d", n, e.loadOf(cluster), want)
		}
		return true, ""
	}
	idle := e.world.Params().IdleCPU
	cpu := idle + (1-idle)*min(e.world.State(cluster).CoordinatorUtil, 1)
	want := min(max(int(math.Ceil(float64(n)*cpu/m.Target-1e-9)), lo), rp.Max)
	if want == n || math.Abs(cpu/m.Target-1) <= rp.Tolerance+1e-9 {
		return true, ""
	}
	return false, fmt.Sprintf("%d coordinators at %.0f%% CPU, the policy answers %d", n, cpu*100, want)
}

// coordinatorAnswer computes the policy's answer for coordinators from
// the offered request rate: ceil(rps/target_per_instance) within
// [max(min, schedule floor), max], or any count within tolerance of it.
func coordinatorAnswer(rp *policy.RolePolicy, rps float64, n int, now time.Time) (bool, int) {
	per := rp.Metrics[0].TargetPerInstance
	lo := max(rp.Min, policy.ScheduleFloor(rp, now))
	want := min(max(int(math.Ceil(rps/per-1e-9)), lo), rp.Max)
	if n == want {
		return true, want
	}
	ratio := rps / (float64(n) * per)
	inBand := math.Abs(ratio-1) <= rp.Tolerance+1e-9
	return inBand && n >= lo && n <= rp.Max, want
}

// dbServersAtRest checks a cluster's DB servers in the world: ArangoDB
// has exactly as many GOOD, not cleaned-out DB servers as Marathon has
// instances, none BAD or FAILED left, no clean-out running; the count is
// within [max(min, schedule floor, replication floor), max]; and the
// servers' CPU (what the emulator charges them for the offered load) is
// within tolerance of the target or the count is at the policy's answer
// for it.
func (e *env) dbServersAtRest(cluster string, rp *policy.RolePolicy, n int, now time.Time, lost bool) (bool, string) {
	ac := e.world.ArangoDB(cluster)
	// A cleaned-out server no scale-down of this process chose (an
	// operator's, or one of a scale-down forgotten when the cluster left
	// the policy) is never acted on unless the policy wants a scale-down
	// anyway; it may stay, but only reported.
	_, saga, _ := e.role(cluster, policy.DBServers)
	foreign := saga.ForeignCleaned
	if run := ac.RunningCleanOuts(); len(run) > 0 {
		return false, fmt.Sprintf("%s: clean-out of %s running in ArangoDB", cluster, run[0])
	}
	good := 0
	for _, s := range ac.Servers() {
		if s.Role != arango.DBServer {
			continue
		}
		switch {
		case s.Status != arango.StatusGood && e.chk.crashed(s.ID):
			// A server the run crashed, replaced by Marathon: ArangoDB
			// keeps it FAILED with its replicas until supervision or an
			// operator moves them; the controller rightly leaves a FAILED
			// server holding shards alone (hygiene).
			continue
		case s.Status != arango.StatusGood:
			return false, fmt.Sprintf("%s: DB server %s is %s in ArangoDB", cluster, s.ShortName, s.Status)
		case s.CleanedOut && !slices.Contains(foreign, s.ID):
			return false, fmt.Sprintf("%s: DB server %s is cleaned out in ArangoDB, still runs and is not reported", cluster, s.ShortName)
		}
		good++
	}
	if good != n {
		return false, fmt.Sprintf("%s: Marathon has %d DB servers, ArangoDB %d GOOD ones", cluster, n, good)
	}
	lo := max(rp.Min, policy.ScheduleFloor(rp, now), ac.ReplicationFloor())
	if n < lo || n > rp.Max {
		return false, fmt.Sprintf("%s: %d DB servers outside [%d, %d]", cluster, n, lo, rp.Max)
	}
	m, ok := answerMetric(rp)
	if lost || !ok || m.Signal != "cpu_utilization" {
		return true, ""
	}
	target := m.Target
	idle := e.world.Params().IdleCPU
	cpu := idle + (1-idle)*min(e.world.State(cluster).DBServerUtil, 1)
	want := min(max(int(math.Ceil(float64(n)*cpu/target-1e-9)), lo), rp.Max)
	if want == n || math.Abs(cpu/target-1) <= rp.Tolerance+1e-9 {
		return true, ""
	}
	return false, fmt.Sprintf("%s: %d DB servers at %.0f%% CPU, the policy answers %d", cluster, n, cpu*100, want)
}

// crashedFailed reports whether a DB server the run crashed is still in
// ArangoDB, not GOOD.
func (e *env) crashedFailed(cluster string) bool {
	for _, s := range e.world.ArangoDB(cluster).Servers() {
		if s.Role == arango.DBServer && s.Status != arango.StatusGood && e.chk.crashed(s.ID) {
			return true
		}
	}
	return false
}
