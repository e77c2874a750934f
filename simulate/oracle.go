package simulate

import (
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// oracle is the analytic lower bound: at every step the fewest servers
// that keep each role's utilisation at or under its oracle line (the
// loosest target of the contenders, see oracleLine) for the load of that step, known in advance, each started the startup delay (staging +
// health check) before it is needed so it is healthy in time. It ignores
// the policy's min (coordinators ≥ 1, DB servers ≥ the replication floor)
// and the time a clean-out takes, so no contender can beat it at the same
// targets. As OracleTarget it runs at the policy's own targets (the hpa
// baseline's too) and keeps the policy's min.
func (s *setup) oracle(tc traceCase, name string) Result {
	dp := s.params.DCOS
	def := dcos.DefaultParams()
	if dp.StagingDelay == 0 {
		dp.StagingDelay = def.StagingDelay
	}
	if dp.HealthDelay == 0 {
		dp.HealthDelay = def.HealthDelay
	}
	ahead := int((dp.StagingDelay + dp.HealthDelay + s.interval - 1) / s.interval)
	floor := replicationFloor(collections())
	lineC, lineD, minC := s.line.coord, s.line.db, 1
	if name == OracleTarget {
		lineC, lineD = s.own.coord, s.own.db
		minC = max(s.pc.Roles[policy.Coordinators].Min, 1)
		floor = max(floor, s.pc.Roles[policy.DBServers].Min)
	}
	nc := make([]int, tc.steps)
	nd := make([]int, tc.steps)
	loads := make([]float64, tc.steps)
	for i := range tc.steps {
		l := tc.load(time.Duration(i+1) * s.interval)
		loads[i] = l
		nc[i] = max(need(l, s.params.CoordinatorRPS, lineC), minC)
		nd[i] = max(need(l, s.params.DBServerRPS, lineD), floor)
	}
	r := Result{Trace: tc.name, Contender: name, Start: tc.start, ScaleRPS: tc.scale, Duration: tc.duration, Step: s.interval,
		Samples: make([]Sample, 0, tc.steps)}
	var acts, warmed [2]actionCounter
	prev := [2]int{}
	for i := range tc.steps {
		c, d := windowMax(nc, i, ahead), windowMax(nd, i, ahead)
		cu := loads[i] / (float64(nc[i]) * s.params.CoordinatorRPS)
		du := loads[i] / (float64(nd[i]) * s.params.DBServerRPS)
		r.Samples = append(r.Samples, Sample{
			At: time.Duration(i+1) * s.interval, Offered: loads[i],
			Capacity:     min(float64(nc[i])*s.params.CoordinatorRPS, float64(nd[i])*s.params.DBServerRPS),
			Coordinators: c, DBServers: d, CoordUtil: cu, DBUtil: du,
		})
		if i > 0 {
			acts[0].observe(prev[0], c)
			acts[1].observe(prev[1], d)
		}
		prev = [2]int{c, d}
		if i+1 == tc.warm {
			warmed = acts
		}
	}
	r.CoordinatorActions, r.DBServerActions = acts[0].actions, acts[1].actions
	r.DirectionChanges = acts[0].changes + acts[1].changes
	tc.dropWarmup(&r, warmed)
	return r
}

// windowMax is the largest of v[i..i+ahead].
func windowMax(v []int, i, ahead int) int {
	m := v[i]
	for j := i + 1; j <= i+ahead && j < len(v); j++ {
		m = max(m, v[j])
	}
	return m
}

// finish derives the totals of a run from its samples.
func (s *setup) finish(r *Result) {
	h := r.Step.Hours()
	var episodes []time.Duration
	var cur time.Duration
	// A role's band: its target × (1 + tolerance); the policy's own slo
	// roles aim at their max_utilization, so they fall short only above it.
	bandC, bandD := s.targets.coordBand, s.targets.dbBand
	if r.Contender == Policy {
		bandC, bandD = max(bandC, s.own.coord), max(bandD, s.own.db)
	}
	for _, sm := range r.Samples {
		r.CoordinatorHours += float64(sm.Coordinators) * h
		r.DBServerHours += float64(sm.DBServers) * h
		if sm.Overloaded {
			r.OverloadMinutes += r.Step.Minutes()
		}
		// The oracle runs at its own, looser line by design: it has
		// capacity in time at every step, so it has no rise episodes.
		short := r.Contender != Oracle && r.Contender != OracleTarget && (sm.CoordUtil > bandC+1e-9 || sm.DBUtil > bandD+1e-9)
		switch {
		case short:
			cur += r.Step
		case cur > 0:
			episodes = append(episodes, cur)
			cur = 0
		}
	}
	if cur > 0 {
		episodes = append(episodes, cur)
	}
	var sum time.Duration
	for _, e := range episodes {
		sum += e
		r.RiseMax = max(r.RiseMax, e)
	}
	r.RiseEpisodes = len(episodes)
	if len(episodes) > 0 {
		r.RiseMean = sum / time.Duration(len(episodes))
	}
}
