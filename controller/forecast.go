package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/arangoscale/arangoscale/metrics"
	"github.com/arangoscale/arangoscale/policy"
)

// RangeQuerier reads a series over a time range (Prometheus query_range):
// the demand history of a role's forecast.
type RangeQuerier interface {
	QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]metrics.Point, error)
}

// How the forecast history is read from Prometheus: at start, then every
// hour; after a failure again a few minutes later. A fetch runs beside the
// reconciles and is taken in by the first reconcile after it finished.
const (
	forecastRefresh = time.Hour
	forecastRetry   = 5 * time.Minute
	forecastTimeout = time.Minute
	forecastStep    = time.Minute
)

// Sources of a role's forecast history (ForecastStatus.Source).
const (
	HistoryPrometheus = "prometheus"
	HistoryObserved   = "observed"
)

// ForecastStatus is the /status view of a role's forecast.
type ForecastStatus struct {
	Mode   string `json:"mode"`
	Season string `json:"season"`
	// Source is where the history comes from: prometheus (the role's
	// forecast promql: over its history) or observed (what this process
	// saw since it started).
	Source string `json:"source"`
	// Now is the demand (requests per second) observed now; Demand the
	// forecast, the highest over the lead; both null until known.
	Now    *float64 `json:"now"`
	Demand *float64 `json:"demand"`
	Lead   string   `json:"lead"`
	// Error is the forecast's recent error (WAPE, 0.1 = 10 %); null until
	// there is enough history.
	Error       *float64 `json:"error"`
	MaxError    float64  `json:"max_error"`
	PerInstance float64  `json:"per_instance,omitempty"`
	Desired     int      `json:"desired,omitempty"`
	// Used: the forecast's count took part in the decision. Reason says
	// why not: forecast_untrained, forecast_error_high, forecast_no_rate or
	// forecast_only.
	Used   bool   `json:"used"`
	Reason string `json:"reason,omitempty"`
	// HistoryLoadedAt is when the Prometheus history was last read;
	// HistoryError the last failure reading it.
	HistoryLoadedAt *time.Time `json:"history_loaded_at,omitempty"`
	HistoryError    string     `json:"history_error,omitempty"`
}

// forecastFetch is a worker's Prometheus history reading.
type forecastFetch struct {
	next     time.Time // when to read again
	busy     bool
	done     chan forecastAnswer
	loadedAt time.Time
	err      string
}

type forecastAnswer struct {
	expr   string
	points []metrics.Point
	err    error
}

// forecastSource is the history querier of the role's forecast, nil when
// the history is what the controller observes.
func (w *worker) forecastSource() RangeQuerier {
	fp := w.rp.Forecast
	if fp == nil || fp.PromQL == "" || w.cl.clients == nil {
		return nil
	}
	return w.cl.clients.History
}

// forecastHistory takes in a finished Prometheus history reading and
// starts the next when due. It never waits for Prometheus.
func (w *worker) forecastHistory(ctx context.Context, now time.Time) {
	src := w.forecastSource()
	f := &w.fc
	if f.busy {
		select {
		case a := <-f.done:
			f.busy = false
			w.takeHistory(now, a)
		default:
		}
	}
	if src == nil || f.busy || now.Before(f.next) {
		return
	}
	fp := w.rp.Forecast
	if f.done == nil {
		f.done = make(chan forecastAnswer, 1)
	}
	f.busy = true
	expr, start, done := fp.PromQL, now.Add(-policy.HistorySpan(fp)).Truncate(forecastStep), f.done
	// The reading outlives this reconcile's context, bounded on its own.
	fctx := context.WithoutCancel(ctx)
	cb, cluster, role := w.cl.ctl.cfg.OnForecastHistory, w.cl.name, w.role
	go func() {
		c, cancel := context.WithTimeout(fctx, forecastTimeout)
		defer cancel()
		pts, err := src.QueryRange(c, expr, start, now, forecastStep)
		done <- forecastAnswer{expr: expr, points: pts, err: err}
		if cb != nil {
			cb(cluster, role, len(pts), err)
		}
	}()
}

// takeHistory replaces the role's demand history by a Prometheus answer.
func (w *worker) takeHistory(now time.Time, a forecastAnswer) {
	f := &w.fc
	fp := w.rp.Forecast
	if fp == nil || fp.PromQL != a.expr {
		f.next = time.Time{} // the policy changed meanwhile: read the new query
		return
	}
	if a.err != nil {
		f.err = now.UTC().Format(time.RFC3339) + " " + a.err.Error()
		f.next = now.Add(forecastRetry)
		w.cl.sourceError("prometheus", fmt.Errorf("forecast history of %s: %w", w.role, a.err))
		return
	}
	d := w.hist.Demand()
	d.Resize(policy.HistorySpan(fp))
	d.Reset()
	for _, p := range a.points {
		d.Add(p.T, p.V)
	}
	f.loadedAt, f.err, f.next = now, "", now.Add(forecastRefresh)
	w.log.Info("forecast history read from Prometheus", "points", len(a.points), "history", policy.HistorySpan(fp).String())
}

// reportForecast publishes the forecast of the last decision.
func (w *worker) reportForecast() {
	m := w.cl.ctl.metrics
	cl, role := w.cl.name, string(w.role)
	fr := &w.rec.Forecast
	fp := w.rp.Forecast
	if fp == nil || !fr.Enabled {
		w.st.Forecast = nil
		w.forgetForecastMetrics()
		return
	}
	fs := &ForecastStatus{Mode: fp.Mode, Season: fp.Season, Source: HistoryObserved, Lead: fp.Lead.String(),
		MaxError: fp.MaxError, Used: fr.Used, Reason: fr.Reason, PerInstance: fr.PerInstance}
	if w.forecastSource() != nil {
		fs.Source = HistoryPrometheus
		if !w.fc.loadedAt.IsZero() {
			at := w.fc.loadedAt
			fs.HistoryLoadedAt = &at
		}
		fs.HistoryError = w.fc.err
	}
	if fr.NowOK {
		v := fr.Now
		fs.Now = &v
	}
	used := 0.0
	if fr.Used {
		used = 1
	}
	m.forecastUsed.WithLabelValues(cl, role).Set(used)
	if fr.Trained {
		d, e := fr.Demand, fr.Error
		fs.Demand, fs.Error = &d, &e
		m.forecastValue.WithLabelValues(cl, role, policy.ForecastSignal).Set(d)
		m.forecastError.WithLabelValues(cl, role, policy.ForecastSignal).Set(e)
		if fr.Desired > 0 {
			fs.Desired = fr.Desired
			m.forecastDesired.WithLabelValues(cl, role).Set(float64(fr.Desired))
		} else {
			m.forecastDesired.DeleteLabelValues(cl, role)
		}
	} else {
		m.forecastValue.DeleteLabelValues(cl, role, policy.ForecastSignal)
		m.forecastError.DeleteLabelValues(cl, role, policy.ForecastSignal)
		m.forecastDesired.DeleteLabelValues(cl, role)
	}
	w.st.Forecast = fs
}

func (w *worker) forgetForecastMetrics() {
	m := w.cl.ctl.metrics
	l := w.labels()
	m.forecastValue.DeletePartialMatch(l)
	m.forecastError.DeletePartialMatch(l)
	m.forecastDesired.DeletePartialMatch(l)
	m.forecastUsed.DeletePartialMatch(l)
}
