package policy

import (
	"math"
	"time"
)

// MetricValue is one metric of one role as observed now.
type MetricValue struct {
	Values    []float64 // one per instance that has a value
	Missing   int       // instances without a value
	Reason    string    // why values are missing, when they are
	Aggregate bool      // Values[0] already is the role's total or utilisation (PromQL)
}

// Constraints are facts from outside the policy that limit a decision;
// the controller gathers them from Marathon, Mesos and ArangoDB.
type Constraints struct {
	ReplicationFloor     int  // DB servers: the highest replicationFactor of any collection
	CapacityMax          int  // highest count placeable now; 0 = no cap
	DeploymentInProgress bool // the app has a Marathon deployment running
	// Rebalancing: shards are moving onto new DB servers. It holds
	// scale-downs only: more capacity during a rebalance is welcome.
	Rebalancing bool
	Paused      bool
	Backoff     bool // the last action failed and backoff has not expired
	Unsafe      bool // the cluster is unsafe for a scale-down
	DryRun      bool
	ManualPin   int // a count set by an operator and still held; 0 = none
}

// Observation is what the controller saw of one role at Now.
type Observation struct {
	Now         time.Time
	Target      int // Marathon's instances: the count that moves
	Running     int
	Healthy     int
	Metrics     map[string]MetricValue // by Metric.Key()
	Constraints Constraints
}

// MetricResult is one metric's part of a recommendation.
type MetricResult struct {
	Key     string
	Value   float64 // mean (target), per instance (target_per_instance) or mean (threshold)
	Target  float64 // target, target_per_instance, or the bound that was crossed
	Desired int
	Missing bool
	Reason  string // within_tolerance, metrics, stabilizing, metrics_missing or why values are missing
}

// Recommendation is the engine's answer for one role.
type Recommendation struct {
	Current   int // the count the formulas used: healthy instances, else the target
	Desired   int
	Direction Direction // Desired compared with Observation.Target
	Reasons   Reasons   // everything that shaped the outcome
	Metrics   []MetricResult
	Blocked   Reasons // the subset of Reasons that held the role back
	Forecast  ForecastResult
	// Capacity is the SLO model's part (zero without an SLO).
	Capacity CapacityResult
}

// History is what the engine remembers of one role between calls. The
// caller keeps one per cluster × role and passes it to every Recommend; it
// is a plain value, so replays are deterministic. Not safe for concurrent use.
type History struct {
	LastScale     time.Time // the last scale of this role, in any direction
	LastDirection Direction

	window []sample   // raw recommendations within the longest stabilization window
	thr    []thrState // threshold counters, by metric index
	fc     forecastState
	capa   capHistory // the SLO model's samples (capacity.go)
}

type sample struct {
	at  time.Time
	rec int
}

type thrState struct {
	key      string
	up, down int
}

// RecordScale tells the history that the caller changed the role's count at
// at. Cooldowns run from here and threshold counters start again.
func (h *History) RecordScale(at time.Time, d Direction) {
	h.LastScale, h.LastDirection = at, d
	for i := range h.thr {
		h.thr[i].up, h.thr[i].down = 0, 0
	}
}

// SeedLastScale sets the last scale time after a restart (from Marathon's
// versionInfo.lastScalingAt) unless a later one is already known.
func (h *History) SeedLastScale(at time.Time) {
	if at.After(h.LastScale) {
		h.LastScale = at
	}
}

// CooldownUntil returns when the cooldown for direction d ends (zero time
// when no scale is known).
func (h *History) CooldownUntil(rp *RolePolicy, d Direction) time.Time {
	if h.LastScale.IsZero() {
		return time.Time{}
	}
	if d == Down {
		return h.LastScale.Add(rp.Cooldown.Down)
	}
	return h.LastScale.Add(rp.Cooldown.Up)
}

// record appends the raw recommendation and forgets samples that no window
// can see any more. The backing array is reused, so the steady path does
// not allocate.
func (h *History) record(now time.Time, rec int, keep time.Duration) {
	i := 0
	for i < len(h.window) && now.Sub(h.window[i].at) >= keep {
		i++
	}
	if i > 0 {
		h.window = h.window[:copy(h.window, h.window[i:])]
	}
	h.window = append(h.window, sample{at: now, rec: rec})
}

// eps absorbs float rounding so that, e.g., 4 × 0.65 / 0.65 stays 4 and a
// value exactly at the tolerance edge counts as within it.
const eps = 1e-9

func ceilInt(x float64) int {
	if x <= 0 {
		return 0
	}
	if x > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(math.Ceil(x - eps))
}

// stepSize is how far one action may move from base; 0 means no limit.
func stepSize(s Step, base int) int {
	switch {
	case s.Count > 0:
		return s.Count
	case s.Percent > 0:
		return max(ceilInt(float64(base)*s.Percent/100), 1)
	}
	return 0
}

func stats(mv *MetricValue) (mean, sum float64) {
	if mv.Aggregate {
		return mv.Values[0], mv.Values[0]
	}
	for _, v := range mv.Values {
		sum += v
	}
	return sum / float64(len(mv.Values)), sum
}

// knobs are the dead band, windows and steps a role's strategy runs with.
type knobs struct {
	tol      float64
	stab     UpDown
	cool     UpDown
	step     StepLimits
	hpaUp    bool // scale-up limit max(+100 %, +4), the HPA's default
	schedule bool
}

// hpaDownWindow is the Kubernetes HPA's default scale-down stabilization.
const hpaDownWindow = 5 * time.Minute

func knobsOf(rp *RolePolicy) knobs {
	switch rp.Strategy {
	case RoleStrategyHPA:
		return knobs{tol: 0.1, stab: UpDown{Down: hpaDownWindow}, hpaUp: true}
	case RoleStrategyThreshold:
		return knobs{}
	}
	return knobs{tol: rp.Tolerance, stab: rp.Stabilization, cool: rp.Cooldown, step: rp.Step, schedule: true}
}

// ApplyStrategy sets the tolerance, stabilization, cooldown and step
// limits of rp to those its strategy runs with (Load calls it), so that
// what the controller shows matches what the engine does.
func ApplyStrategy(rp *RolePolicy) {
	if rp.Strategy == "" || rp.Strategy == RoleStrategyPolicy {
		return
	}
	k := knobsOf(rp)
	rp.Tolerance, rp.Stabilization, rp.Cooldown, rp.Step = k.tol, k.stab, k.cool, k.step
	rp.Schedule, rp.SLO = nil, nil
	rp.Forecast = nil
}

// hpaRatio is the HPA replica calculator's usage ratio when not every
// instance is healthy yet (ready < n): for a scale-up the instances not
// ready count as idle, for a scale-down as at the target, so neither
// starting instances nor their absence from the mean moves the count the
// wrong way. ok is false when that correction turns the direction round
// or lands within the tolerance: the HPA then keeps the count.
func hpaRatio(ratio, mean, target float64, ready, n int, tol float64) (float64, bool) {
	if ready <= 0 || ready >= n || target <= 0 {
		return ratio, true
	}
	var r float64
	switch {
	case ratio > 1:
		r = mean * float64(ready) / float64(n) / target
	case ratio < 1:
		r = (mean*float64(ready) + target*float64(n-ready)) / float64(n) / target
	default:
		return ratio, true
	}
	if (ratio > 1) != (r > 1) || math.Abs(r-1) <= tol+eps {
		return 1, false
	}
	return r, true
}

// Recommend decides the desired count of one role. It is a pure function
// of its arguments: it reads no clock and does no I/O. It fills out (reusing
// out.Metrics' backing array) and updates h's stabilization window and
// threshold counters.
//
// The pipeline follows DESIGN "Decision rules": per-metric desired counts,
// the largest wins; stabilization window; step limits; cooldown; min/max;
// schedule floors; then the caller's constraints (manual pin, replication
// floor, capacity, unsafe cluster, deployment, pause, backoff, dry run).
func Recommend(rp *RolePolicy, obs *Observation, h *History, out *Recommendation) {
	now := obs.Now
	base := max(obs.Target, 0)
	current := obs.Healthy
	if current <= 0 {
		current = base
	}
	var reasons, blocked Reasons
	k := knobsOf(rp)

	// 0. Capacity terms (capacity.go): a ready term replaces the metrics
	// it models and competes with the others for the largest count.
	termNeed, termWhy, termOK := capacityTerms(rp, obs, h, out)
	var decider Reasons // the term's reason when it gave the largest count

	// 1. Each metric's desired count.
	if len(h.thr) != len(rp.Metrics) {
		h.thr = make([]thrState, len(rp.Metrics))
	}
	out.Metrics = out.Metrics[:0]
	combined := -1   // the largest desired of all metrics
	presentMax := -1 // the largest desired of the metrics that have values
	wantMax := -1    // the same before the partly-missing guard
	anyMissing, counting := false, false
	for i := range rp.Metrics {
		m := &rp.Metrics[i]
		st := &h.thr[i]
		covered := termOK && sloCovers(m)
		mr := MetricResult{Key: m.Key(), Target: m.Target}
		if st.key != mr.Key {
			*st = thrState{key: mr.Key}
		}
		mv, ok := obs.Metrics[mr.Key]
		switch {
		case !ok || len(mv.Values) == 0:
			mr.Missing, mr.Reason = true, mv.Reason
			if mr.Reason == "" {
				mr.Reason = "metrics_missing"
			}
			st.up, st.down = 0, 0
			mr.Desired = base
			if rp.OnMetricsMissing == MissingScaleUp {
				mr.Desired = base + 1
			}
			anyMissing = anyMissing || !covered
		case m.Strategy == StrategyThreshold:
			mean, _ := stats(&mv)
			mr.Value, mr.Desired, mr.Reason = mean, base, "within_tolerance"
			step := max(m.Step, 1)
			upTo, downTo := base+step, max(base-step, 0)
			if m.Multiplier > 1 {
				upTo = max(ceilInt(float64(base)*m.Multiplier), base+1)
				downTo = max(int(math.Floor(float64(base)/m.Multiplier+eps)), 0)
			}
			switch {
			case mean > m.Upper:
				mr.Target = m.Upper
				st.down = 0
				st.up = min(st.up+1, max(m.Periods, 1))
				if st.up >= m.Periods {
					mr.Desired, mr.Reason = upTo, "metrics"
				} else {
					mr.Reason, counting = "stabilizing", true
				}
			case mean < m.Lower:
				mr.Target = m.Lower
				st.up = 0
				st.down = min(st.down+1, max(m.Periods, 1))
				if st.down >= m.Periods {
					mr.Desired, mr.Reason = downTo, "metrics"
				} else {
					mr.Reason, counting = "stabilizing", true
				}
			default:
				mr.Target = m.Upper
				st.up, st.down = 0, 0
			}
		default:
			mean, sum := stats(&mv)
			var ratio float64
			var want int
			if m.TargetPerInstance > 0 {
				mr.Target = m.TargetPerInstance
				mr.Value = sum
				if current > 0 {
					mr.Value = sum / float64(current)
				}
				ratio = mr.Value / m.TargetPerInstance
				want = ceilInt(sum / m.TargetPerInstance)
			} else {
				mr.Value = mean
				if m.Target > 0 {
					ratio = mean / m.Target
				}
				want = ceilInt(float64(current) * ratio)
				if rp.Strategy == RoleStrategyHPA {
					r, act := hpaRatio(ratio, mean, m.Target, obs.Healthy, base, k.tol)
					if r != ratio {
						ratio, want = r, ceilInt(float64(base)*r)
					}
					if !act {
						ratio = 1
					}
				}
			}
			switch {
			case current > 0 && math.Abs(ratio-1) <= k.tol+eps:
				mr.Desired, mr.Reason = base, "within_tolerance"
			case ratio > 1:
				// Never against the signal: with instances still
				// starting, ceil(healthy × ratio) can be under base.
				mr.Desired, mr.Reason = max(want, base), "metrics"
			default:
				mr.Desired, mr.Reason = min(want, base), "metrics"
			}
		}
		if covered {
			// The SLO model sizes for this signal instead.
			mr.Reason = "slo"
			out.Metrics = append(out.Metrics, mr)
			continue
		}
		if !mr.Missing {
			wantMax = max(wantMax, mr.Desired)
		}
		// Instances without a value may be the busy ones: a partly
		// observed metric never asks for fewer.
		if !mr.Missing && mv.Missing > 0 && mr.Desired < base {
			mr.Desired, mr.Reason = base, "metrics_missing"
			anyMissing = true
		}
		if !mr.Missing {
			presentMax = max(presentMax, mr.Desired)
		}
		combined = max(combined, mr.Desired)
		out.Metrics = append(out.Metrics, mr)
	}
	if termOK {
		if termNeed >= combined {
			decider = termWhy
		}
		combined = max(combined, termNeed)
		presentMax = max(presentMax, termNeed)
		wantMax = max(wantMax, termNeed)
	}
	if combined < 0 {
		combined = base
	}
	if anyMissing {
		reasons |= ReasonMetricsMissing
		if wantMax < base && combined == base {
			blocked |= ReasonMetricsMissing // a scale-down the present metrics wanted
		}
	}
	if counting && combined == base {
		reasons |= ReasonStabilizing
		blocked |= ReasonStabilizing
	}

	// 1b. Capacity terms: each gives a desired count, the largest wins.
	forecastWon := false
	if need, use := forecastTerm(rp, obs, h, out.Metrics, current, k.tol, &out.Forecast); use && need > combined {
		combined, forecastWon = need, true
	}

	// 2. Stabilization: up acts on the lowest, down on the highest
	// recommendation of its window (half-open: a sample exactly a window
	// old has left it).
	h.record(now, combined, max(k.stab.Up, k.stab.Down))
	upRec, downRec := combined, combined
	for _, s := range h.window[:len(h.window)-1] {
		age := now.Sub(s.at)
		if age < k.stab.Up {
			upRec = min(upRec, s.rec)
		}
		if age < k.stab.Down {
			downRec = max(downRec, s.rec)
		}
	}
	rec := base
	if rec < upRec {
		rec = upRec
	}
	if rec > downRec {
		rec = downRec
	}
	if rec != combined {
		reasons |= ReasonStabilizing
		blocked |= ReasonStabilizing
	}
	stabilized := rec

	// 3. Step limits.
	if rec > base {
		s := stepSize(k.step.Up, base)
		if k.hpaUp {
			s = max(base, 4)
		}
		if s > 0 && rec > base+s {
			rec = base + s
		}
	} else if rec < base {
		if s := stepSize(k.step.Down, base); s > 0 && rec < base-s {
			rec = base - s
		}
		// DB servers leave one at a time, through a clean-out each.
		if rp.Role == DBServers && rec < base-1 {
			rec = base - 1
		}
	}

	// 4. Cooldown, from the last scale in any direction.
	if !h.LastScale.IsZero() {
		if (rec > base && now.Before(h.LastScale.Add(k.cool.Up))) ||
			(rec < base && now.Before(h.LastScale.Add(k.cool.Down))) {
			rec = base
			reasons |= ReasonCooldown
			blocked |= ReasonCooldown
		}
	}
	metricRec := rec

	// 5. min/max. at_max/at_min only when the bound is what binds.
	if rp.Max > 0 && stabilized > max(rp.Max, base) && (rec > rp.Max || base >= rp.Max) {
		reasons |= ReasonAtMax
		blocked |= ReasonAtMax
	}
	if stabilized < min(rp.Min, base) && (rec < rp.Min || base <= rp.Min) {
		reasons |= ReasonAtMin
		blocked |= ReasonAtMin
	}
	if rp.Max > 0 && rec > rp.Max {
		rec = rp.Max
	}
	if rec < rp.Min {
		rec = rp.Min
	}
	if (base > rp.Max && rp.Max > 0 && rec < base) || (base < rp.Min && rec > base) {
		reasons |= ReasonBounds
	}

	// 6. Schedule floors (never above max).
	if floor := ScheduleFloor(rp, now); k.schedule && floor > 0 {
		if rp.Max > 0 {
			floor = min(floor, rp.Max)
		}
		if rec < floor {
			if floor > base {
				reasons |= ReasonSchedule
			} else {
				reasons |= ReasonSchedule | ReasonAtMin
				blocked |= ReasonAtMin
			}
			rec = floor
		}
	}

	// 7. The caller's constraints.
	c := &obs.Constraints
	if c.ManualPin > 0 {
		rec = c.ManualPin
		if rp.Max > 0 {
			rec = min(rec, rp.Max)
		}
		rec = max(rec, rp.Min)
		reasons, blocked = ReasonManualOverride, 0
		if rec == base {
			blocked = ReasonManualOverride
		}
		metricRec = base
	}
	if c.ReplicationFloor > 0 && rec < c.ReplicationFloor {
		// Never below the floor, but never above max on our own either.
		limit := max(rp.Max, base)
		if rp.Max <= 0 {
			limit = c.ReplicationFloor
		}
		if f := min(c.ReplicationFloor, limit); rec < f {
			reasons |= ReasonReplicationFloor
			if f > base {
				reasons |= ReasonBounds
			} else {
				blocked |= ReasonReplicationFloor
			}
			rec = f
		}
	}
	if c.CapacityMax > 0 && rec > base && rec > c.CapacityMax {
		rec = max(c.CapacityMax, base)
		reasons |= ReasonCapacity
		blocked |= ReasonCapacity
	}
	if c.Rebalancing && rec < base {
		rec = base
		reasons |= ReasonDeploymentInProgress
		blocked |= ReasonDeploymentInProgress
	}
	if c.Unsafe && rec < base {
		rec = base
		reasons |= ReasonUnsafeCluster
		blocked |= ReasonUnsafeCluster
	}
	for _, hold := range [...]struct {
		on bool
		r  Reasons
	}{
		{c.DeploymentInProgress, ReasonDeploymentInProgress},
		{c.Paused || rp.Paused, ReasonPaused},
		{c.Backoff, ReasonBackoff},
	} {
		if hold.on {
			rec = base
			reasons |= hold.r
			blocked |= hold.r
		}
	}

	dir := None
	switch {
	case rec > base:
		dir = Up
		if metricRec > base && presentMax > base {
			reasons |= why(decider)
		}
		if metricRec > base && forecastWon {
			reasons |= ReasonForecast
		}
	case rec < base:
		dir = Down
		if metricRec < base {
			reasons |= why(decider)
		}
	}
	if forecastWon && dir != Up && presentMax < base && rec > presentMax {
		reasons |= ReasonForecast // it held a scale-down back
	}
	if dir == None && reasons&^(ReasonDryRun|ReasonMetrics|ReasonSLO|ReasonTrend|ReasonSchedule|ReasonBounds|ReasonForecast) == 0 {
		reasons |= ReasonWithinTolerance
	}
	if c.DryRun {
		reasons |= ReasonDryRun
	}
	out.Current = current
	out.Desired = rec
	out.Direction = dir
	out.Reasons = reasons
	out.Blocked = blocked
}

// why is the reason of a move: the capacity term's when it gave the
// largest count, else the metrics'.
func why(decider Reasons) Reasons {
	if decider != 0 {
		return decider
	}
	return ReasonMetrics
}
