package policy

import (
	"slices"
	"time"
)

// ForecastResult is the forecast's part of a recommendation.
type ForecastResult struct {
	Enabled bool    // the role has a forecast: block
	Used    bool    // its count took part in the decision (forecast_and_scale, trained, good enough)
	Now     float64 // demand observed now (requests per second), when NowOK
	NowOK   bool
	Demand  float64 // forecast demand: the highest over [now, now+lead]
	Trained bool
	Error   float64 // recent error (WAPE); meaningful when Trained
	// PerInstance is the demand one instance takes at the role's target,
	// as observed now: what turns Demand into Desired.
	PerInstance float64
	Desired     int    // instances Demand needs; 0 when unknown
	Reason      string // why it was not used ("" when used)
}

// perInstanceKeep is how many recent per-instance estimates the count
// uses the median of: one interval's is off when the cpu it is derived
// from lags a sudden change of the rate.
const perInstanceKeep = 16

// forecastState is what a History keeps for the forecast.
type forecastState struct {
	demand DemandHistory
	// The recent per-instance demand estimates, a ring.
	perInst [perInstanceKeep]float64
	n, next int
}

// perInstance is the median of the recent estimates (0 without one).
func (st *forecastState) perInstance() float64 {
	if st.n == 0 {
		return 0
	}
	var v [perInstanceKeep]float64
	copy(v[:], st.perInst[:st.n])
	s := v[:st.n]
	slices.Sort(s)
	return s[(st.n-1)/2]
}

func (st *forecastState) addPerInstance(x float64) {
	st.perInst[st.next] = x
	st.next = (st.next + 1) % perInstanceKeep
	st.n = min(st.n+1, perInstanceKeep)
}

// Demand returns the role's demand history, e.g. to fill it from
// Prometheus. Recommend feeds it what it observes when the role has a
// forecast.
func (h *History) Demand() *DemandHistory { return &h.fc.demand }

// HistorySpan is how much demand history a role with fp keeps: its
// history plus a day, so the last seasons are whole for the lead ahead
// and for the bins the error is measured on.
func HistorySpan(fp *ForecastPolicy) time.Duration { return fp.History + 24*time.Hour }

// demandNow is the role's requests per second in obs, if every instance
// reported one.
func demandNow(obs *Observation) (float64, bool) {
	mv, ok := obs.Metrics[ForecastSignal]
	if !ok || len(mv.Values) == 0 || mv.Missing > 0 {
		return 0, false
	}
	_, sum := stats(&mv)
	return sum, true
}

// reactiveLoad is the unrounded count the role's target metrics ask for
// now (the binding one): current × value / target, or sum / target per
// instance. 0 when no target metric has a value.
func reactiveLoad(rp *RolePolicy, results []MetricResult, current int) float64 {
	load := 0.0
	for i := range results {
		r := &results[i]
		if r.Missing || i >= len(rp.Metrics) || rp.Metrics[i].Strategy != StrategyTarget || r.Target <= 0 {
			continue
		}
		u := float64(current) * r.Value / r.Target
		if rp.Metrics[i].TargetPerInstance > 0 && current <= 0 {
			u = r.Value / r.Target // Value is the sum without instances
		}
		load = max(load, u)
	}
	return load
}

// InstanceDemand is the demand one instance takes at the role's target:
// the demand now over the count the binding metric asks for now. It is
// the one place a forecast demand becomes a count; 0 when unknown.
func InstanceDemand(demand, load float64) float64 {
	if demand <= 0 || load <= 0 {
		return 0
	}
	return demand / load
}

// forecastTerm is the forecast's capacity term of Recommend: it feeds the
// demand observed now to the history, forecasts the demand over the lead
// and converts it to a count. use says whether the engine takes that count
// (the largest term wins); out says what the forecast is and why not.
func forecastTerm(rp *RolePolicy, obs *Observation, h *History, results []MetricResult, current int, tol float64, out *ForecastResult) (need int, use bool) {
	*out = ForecastResult{}
	fp := rp.Forecast
	if fp == nil {
		return 0, false
	}
	out.Enabled = true
	st := &h.fc
	if span := HistorySpan(fp); len(st.demand.sums) != int(span/ForecastBin) {
		st.demand.Resize(span)
	}
	dNow, ok := demandNow(obs)
	if ok {
		out.Now, out.NowOK = dNow, true
		st.demand.Add(obs.Now, dNow)
		if pi := InstanceDemand(dNow, reactiveLoad(rp, results, current)); pi > 0 {
			st.addPerInstance(pi)
		}
	}
	out.PerInstance = st.perInstance()
	fc := ForecastDemand(fp, &st.demand, obs.Now)
	out.Demand, out.Trained, out.Error = fc.Value, fc.Trained, fc.Error
	if out.PerInstance > 0 {
		out.Desired = ceilInt(fc.Value / out.PerInstance)
	}
	switch {
	case !fc.Trained:
		out.Reason = ForecastReasonUntrained
	case fc.Error > fp.MaxError+eps:
		out.Reason = ForecastReasonErrorHigh
	case out.PerInstance <= 0:
		out.Reason = ForecastReasonNoRate
	case fp.Mode == ForecastOnly:
		out.Reason = ForecastReasonOnly
	default:
		out.Used = true
		// The metrics' dead band holds for the forecast too: demand within
		// the tolerance of what the instances in place serve at the
		// target asks for no more of them.
		if base := max(obs.Target, 0); current > 0 && out.Desired > base &&
			fc.Value <= out.PerInstance*float64(current)*(1+tol)+eps {
			return base, true
		}
		return out.Desired, true
	}
	return out.Desired, false
}
