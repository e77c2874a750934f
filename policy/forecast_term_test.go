package policy

import (
	"math"
	"testing"
	"time"
)

// forecastRole is a coordinator role on cpu and requests per second with
// a daily forecast; the stabilization and cooldowns are off so each
// decision shows the forecast's effect alone.
func forecastRole(mode string, maxErr float64) *RolePolicy {
	rp := defaultRolePolicy(Coordinators)
	rp.Min, rp.Max = 2, 20
	rp.Stabilization, rp.Cooldown = UpDown{}, UpDown{}
	rp.Step = StepLimits{}
	rp.Metrics = []Metric{
		{Strategy: StrategyTarget, Signal: "cpu_utilization", Target: 0.65},
		{Strategy: StrategyTarget, Signal: "requests_per_second", TargetPerInstance: 100},
	}
	rp.Forecast = &ForecastPolicy{Mode: mode, Season: SeasonDaily, History: 7 * 24 * time.Hour, Lead: 30 * time.Minute, MaxError: maxErr}
	return rp
}

// observeRole is an observation with n healthy instances serving rps in
// total at cpu per instance.
func observeRole(now time.Time, n int, rps, cpu float64) *Observation {
	vals := func(v float64) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	return &Observation{Now: now, Target: n, Running: n, Healthy: n, Metrics: map[string]MetricValue{
		"cpu_utilization":     {Values: vals(cpu)},
		"requests_per_second": {Values: vals(rps / float64(n))},
	}}
}

func TestRecommendForecastTerm(t *testing.T) {
	// The history: four days of diurnal load (100 → 1,000 rps at 14:00).
	// Now it is 07:00 on day 5 and the load is about to rise.
	now := fcStart.Add(4*24*time.Hour + 7*time.Hour)
	feed := func(h *History, rp *RolePolicy, load func(time.Time) float64) {
		h.Demand().Resize(HistorySpan(rp.Forecast))
		for ts := fcStart; ts.Before(now); ts = ts.Add(time.Minute) {
			h.Demand().Add(ts, load(ts))
		}
	}
	rpsNow := diurnal(now)
	// 4 instances at 0.65 cpu serve the rps of now: the metrics are on target.
	tests := []struct {
		name       string
		rp         *RolePolicy
		load       func(time.Time) float64
		noHistory  bool
		wantMore   bool // desired above what the metrics alone give
		wantReason string
		wantUsed   bool
	}{
		{name: "trained forecast raises capacity before the rise", rp: forecastRole(ForecastAndScale, 0.25), load: diurnal,
			wantMore: true, wantUsed: true},
		{name: "forecast_only publishes, never acts", rp: forecastRole(ForecastOnly, 0.25), load: diurnal,
			wantReason: ForecastReasonOnly},
		{name: "no history: today's behaviour", rp: forecastRole(ForecastAndScale, 0.25), noHistory: true,
			wantReason: ForecastReasonUntrained},
		{name: "a poor forecast is ignored", rp: forecastRole(ForecastAndScale, 0.25),
			load: func(ts time.Time) float64 {
				// Alternate days swap day and night: no season to see.
				if ts.Sub(fcStart)/(24*time.Hour)%2 == 1 {
					return diurnal(ts.Add(12 * time.Hour))
				}
				return diurnal(ts)
			},
			wantReason: ForecastReasonErrorHigh},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h History
			if !tt.noHistory {
				feed(&h, tt.rp, tt.load)
			}
			obs := observeRole(now, 4, rpsNow, 0.65)
			var rec Recommendation
			Recommend(tt.rp, obs, &h, &rec)

			// The same decision without a forecast: what the metrics give.
			plain := *tt.rp
			plain.Forecast = nil
			var ph History
			var prec Recommendation
			Recommend(&plain, observeRole(now, 4, rpsNow, 0.65), &ph, &prec)

			f := rec.Forecast
			if !f.Enabled || f.Used != tt.wantUsed || f.Reason != tt.wantReason {
				t.Fatalf("forecast = %+v, want used %v reason %q", f, tt.wantUsed, tt.wantReason)
			}
			if tt.wantMore {
				// cpu binds: 4 instances at 0.65 serve rpsNow, so one takes rpsNow/4.
				if math.Abs(f.PerInstance-rpsNow/4) > 1e-9 {
					t.Fatalf("per instance %g, want %g", f.PerInstance, rpsNow/4)
				}
				want := int(math.Ceil(f.Demand / f.PerInstance))
				if rec.Desired <= prec.Desired || rec.Desired != want || !rec.Reasons.Has(ReasonForecast) {
					t.Fatalf("desired %d (%s), metrics alone %d; want %d for %.0f rps forecast",
						rec.Desired, rec.Reasons, prec.Desired, want, f.Demand)
				}
				if f.Demand < rpsNow*1.2 {
					t.Fatalf("forecast %.0f rps does not see the rise from %.0f", f.Demand, rpsNow)
				}
				return
			}
			if rec.Desired != prec.Desired || rec.Reasons != prec.Reasons {
				t.Fatalf("desired %d (%s), want today's %d (%s)", rec.Desired, rec.Reasons, prec.Desired, prec.Reasons)
			}
		})
	}
}

func TestInstanceDemand(t *testing.T) {
	tests := []struct {
		demand, load, want float64
	}{
		{demand: 400, load: 4, want: 100},
		{demand: 400, load: 0, want: 0},
		{demand: 0, load: 3, want: 0},
		{demand: -1, load: 3, want: 0},
	}
	for _, tt := range tests {
		if got := InstanceDemand(tt.demand, tt.load); got != tt.want {
			t.Errorf("InstanceDemand(%g, %g) = %g, want %g", tt.demand, tt.load, got, tt.want)
		}
	}
	// The binding metric decides: cpu at 0.65 on 4 instances asks for 4,
	// rps 392 at 100 per instance for 3.92.
	rp := forecastRole(ForecastAndScale, 0.25)
	res := []MetricResult{{Key: "cpu_utilization", Value: 0.65, Target: 0.65}, {Key: "requests_per_second", Value: 98, Target: 100}}
	if got := reactiveLoad(rp, res, 4); math.Abs(got-4) > 1e-9 {
		t.Fatalf("reactiveLoad = %g, want 4", got)
	}
}

func TestForecastTermDeadBand(t *testing.T) {
	// 4 instances at the cpu target serve 400 rps now: 100 each. A
	// forecast within the tolerance (10 %) above that keeps 4; beyond it,
	// the forecast's count.
	now := fcStart.Add(4*24*time.Hour + 7*time.Hour)
	for _, c := range []struct {
		forecast float64
		want     int
	}{
		{forecast: 430, want: 4},
		{forecast: 460, want: 5},
		{forecast: 720, want: 8},
	} {
		rp := forecastRole(ForecastAndScale, 0.25)
		var h History
		h.Demand().Resize(HistorySpan(rp.Forecast))
		for ts := fcStart; ts.Before(now); ts = ts.Add(time.Minute) {
			h.Demand().Add(ts, c.forecast)
		}
		var rec Recommendation
		Recommend(rp, observeRole(now, 4, 400, 0.65), &h, &rec)
		if !rec.Forecast.Used || rec.Desired != c.want {
			t.Errorf("forecast %.0f rps: desired %d (%s, %+v), want %d", c.forecast, rec.Desired, rec.Reasons, rec.Forecast, c.want)
		}
	}
}

func TestPerInstanceMedian(t *testing.T) {
	// One interval where the cpu lags a drop of the rate gives a low
	// estimate; the median of the recent ones ignores it.
	var st forecastState
	if st.perInstance() != 0 {
		t.Fatal("an estimate without observations")
	}
	for _, x := range []float64{100, 102, 98, 30, 101} {
		st.addPerInstance(x)
	}
	if got := st.perInstance(); got != 100 {
		t.Fatalf("perInstance = %g, want the median 100", got)
	}
	for i := 0; i < 2*perInstanceKeep; i++ {
		st.addPerInstance(50)
	}
	if got := st.perInstance(); got != 50 || st.n != perInstanceKeep {
		t.Fatalf("perInstance = %g over %d, want 50 over the last %d", got, st.n, perInstanceKeep)
	}
}
