package controller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/metrics"
	"github.com/arangoscale/arangoscale/policy"
)

// PausedLabel on a Marathon app pauses its role like `paused: true`.
const PausedLabel = "arangoscale.paused"

// worker decides and acts for one role of one cluster. It only runs under
// its cluster's mutex.
type worker struct {
	cl    *cluster
	role  policy.Role
	log   *slog.Logger
	rp    *policy.RolePolicy
	appID string

	hist      policy.History
	seeded    bool
	lastScale time.Time
	lastDir   policy.Direction
	// lastDryRun is the dry-run decision logged last ("" after a reconcile
	// that wanted no change), so it is logged when it changes.
	lastDryRun string

	bo           *backoff.ExponentialBackOff
	backoffUntil time.Time
	failures     int

	obs policy.Observation
	rec policy.Recommendation
	st  RoleStatus
	fc  forecastFetch // the forecast's Prometheus history (forecast.go)
}

// RoleStatus is the /status entry of one role.
type RoleStatus struct {
	Role      string         `json:"role"`
	App       string         `json:"app"`
	Strategy  string         `json:"strategy,omitempty"` // hpa or threshold when the role runs one of them
	Current   int            `json:"current"`
	Healthy   int            `json:"healthy"`
	Target    int            `json:"target"`
	Desired   int            `json:"desired"`
	Min       int            `json:"min"`
	Max       int            `json:"max"`
	Direction string         `json:"direction"`
	Reasons   []string       `json:"reasons"`
	Blocked   []string       `json:"blocked,omitempty"`
	Signals   []SignalStatus `json:"signals"`
	// Capacity is the SLO model of a role with an slo: (absent without).
	Capacity      *CapacityStatus `json:"capacity,omitempty"`
	DecidedAt     time.Time       `json:"decided_at"`
	LastAction    *ActionStatus   `json:"last_action,omitempty"`
	CooldownUntil *time.Time      `json:"cooldown_until,omitempty"`
	BackoffUntil  *time.Time      `json:"backoff_until,omitempty"`
	Errors        []string        `json:"errors,omitempty"`
	Paused        bool            `json:"paused"`
	// Forecast is the role's forecast; absent without a forecast: block.
	Forecast *ForecastStatus `json:"forecast,omitempty"`
	// Observed: the role's Marathon app was read at least once since the
	// role joined the policy; until then the counts mean nothing (null in
	// /status, no arangoscale_instances series).
	Observed bool `json:"observed"`
}

// SignalStatus is one policy metric against its target.
type SignalStatus struct {
	Signal  string  `json:"signal"`
	Value   float64 `json:"value"`
	Target  float64 `json:"target"`
	Desired int     `json:"desired"`
	Missing bool    `json:"missing,omitempty"`
	Reason  string  `json:"reason,omitempty"`
}

// ActionStatus describes the last change the worker made or tried.
type ActionStatus struct {
	At        time.Time `json:"at"`
	From      int       `json:"from"`
	To        int       `json:"to"`
	Direction string    `json:"direction"`
	Result    string    `json:"result"`
	Error     string    `json:"error,omitempty"`
}

func newWorker(cl *cluster, r policy.Role) *worker {
	w := &worker{cl: cl, role: r, log: cl.log.With("role", string(r))}
	s := cl.ctl.cfg.Backoff
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = 5 * time.Second
	if s.Initial > 0 {
		b.InitialInterval = s.Initial
	}
	b.MaxInterval = 5 * time.Minute
	if s.Max > 0 {
		b.MaxInterval = s.Max
	}
	b.RandomizationFactor = 0.2
	if s.Jitter > 0 {
		b.RandomizationFactor = s.Jitter
	}
	if s.NoJitter {
		b.RandomizationFactor = 0
	}
	b.Multiplier = 2
	b.MaxElapsedTime = 0 // the loop never gives up
	b.Clock = cl.ctl.cfg.Clock
	b.Reset()
	w.bo = b
	w.st = RoleStatus{Role: string(r), Direction: "none"}
	for _, d := range []string{"up", "down"} {
		for _, res := range []string{"success", "failed", "dry_run"} {
			cl.ctl.metrics.actions.WithLabelValues(cl.name, string(r), d, res)
		}
	}
	return w
}

func (w *worker) setPolicy(rp *policy.RolePolicy, appID string) {
	if old, nw := w.rp, rp; old != nil && (old.Forecast == nil) != (nw.Forecast == nil) ||
		old != nil && old.Forecast != nil && nw.Forecast != nil && *old.Forecast != *nw.Forecast {
		w.fc.next = time.Time{} // a changed forecast reads its history again
	}
	w.rp = rp
	w.appID = appID
	w.st.App = appID
	w.st.Min, w.st.Max = rp.Min, rp.Max
	w.st.Strategy = rp.Strategy
	if rp.Strategy == policy.RoleStrategyPolicy {
		w.st.Strategy = ""
	}
}

func (w *worker) labels() prometheus.Labels {
	return prometheus.Labels{"cluster": w.cl.name, "role": string(w.role)}
}

func (w *worker) forgetMetrics() {
	m := w.cl.ctl.metrics
	l := w.labels()
	m.instances.DeletePartialMatch(l)
	m.signalValue.DeletePartialMatch(l)
	m.signalTarget.DeletePartialMatch(l)
	m.blocked.DeletePartialMatch(l)
	m.decisions.DeletePartialMatch(l)
	m.actions.DeletePartialMatch(l)
	m.lastReconcile.DeletePartialMatch(l)
	w.forgetForecastMetrics()
	m.slo.forget(l)
}

// fail records a failed call and backs off exponentially.
func (w *worker) fail(now time.Time, err error) {
	if errors.Is(err, ErrStandby) {
		return // not a failure: another replica acts
	}
	w.failures++
	d := w.bo.NextBackOff()
	w.backoffUntil = now.Add(d)
	w.st.Errors = appendBounded(w.st.Errors, now.UTC().Format(time.RFC3339)+" "+err.Error(), 5)
	w.log.Warn("backing off", "error", err, "backoff", d.String(), "failures", w.failures)
}

func (w *worker) succeed() {
	if w.failures > 0 {
		w.log.Info("recovered", "failures", w.failures)
	}
	w.failures = 0
	w.bo.Reset()
	w.backoffUntil = time.Time{}
}

func appendBounded(s []string, v string, n int) []string {
	s = append(s, v)
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// reconcile decides for the role from the cluster's observation and acts.
func (w *worker) reconcile(ctx context.Context, ob *observation) {
	ctl := w.cl.ctl
	now := ob.now
	app := ob.apps[w.role]
	if app == nil {
		err := ob.appErrs[w.role]
		if err == nil {
			err = errors.New("app not observed")
		}
		if now.After(w.backoffUntil) || w.backoffUntil.IsZero() {
			w.fail(now, err)
		}
		w.st.DecidedAt = now
		w.st.Direction = "none"
		w.st.Reasons = []string{"backoff"}
		w.setBlocked(policy.Reasons(0), "backoff")
		ctl.metrics.decisions.WithLabelValues(w.cl.name, string(w.role), "none", "backoff").Inc()
		w.publishTimes(now)
		return
	}
	if !w.seeded {
		// Cooldown survives a restart: the last scale Marathon remembers.
		if !app.LastScalingAt.IsZero() {
			w.hist.SeedLastScale(app.LastScalingAt)
			w.lastScale = app.LastScalingAt
		}
		w.seeded = true
	}

	w.forecastHistory(ctx, now)
	w.buildObservation(ctx, ob, app)
	policy.Recommend(w.rp, &w.obs, &w.hist, &w.rec)
	rec := &w.rec
	w.report(now, app)
	defer w.publishTimes(now) // the action below may start a backoff

	if rec.Direction == policy.None || rec.Desired == app.Instances {
		w.lastDryRun = ""
		return
	}
	if w.cl.standby != "" {
		return // observed and reported; the owner acts
	}
	dir := rec.Direction.String()
	if ctl.cfg.DryRun {
		ctl.metrics.actions.WithLabelValues(w.cl.name, string(w.role), dir, "dry_run").Inc()
		w.st.LastAction = &ActionStatus{At: now, From: app.Instances, To: rec.Desired, Direction: dir, Result: "dry_run"}
		// The same would-be decision every interval is noise: say it once.
		if key := fmt.Sprintf("%d>%d %s %s", app.Instances, rec.Desired, dir, rec.Reasons); key != w.lastDryRun {
			w.lastDryRun = key
			w.logDecision(app.Instances, rec, "dry_run")
		}
		return
	}
	if w.role == policy.DBServers && rec.Direction == policy.Down {
		w.cl.startScaleDown(ctx, w, ob, app, rec.Desired)
		return
	}
	w.scale(ctx, now, app, rec.Desired, rec.Direction)
}

// scale sets the Marathon instance count and records the outcome.
func (w *worker) scale(ctx context.Context, now time.Time, app *marathon.App, to int, d policy.Direction) {
	ctl := w.cl.ctl
	dir := d.String()
	_, err := w.cl.marathon.Scale(ctx, w.appID, to, false)
	act := &ActionStatus{At: now, From: app.Instances, To: to, Direction: dir, Result: "success"}
	if errors.Is(err, ErrStandby) {
		// Ownership went away since the reconcile began: nothing was sent.
		w.log.Info("not scaling: standby", "to", to, "error", err)
		return
	}
	if err != nil {
		act.Result, act.Error = "failed", err.Error()
		w.st.LastAction = act
		ctl.metrics.actions.WithLabelValues(w.cl.name, string(w.role), dir, "failed").Inc()
		if errors.Is(err, marathon.ErrLocked) {
			w.log.Info("app locked by a deployment; will retry", "to", to)
		}
		w.fail(now, err)
		return
	}
	w.succeed()
	w.hist.RecordScale(now, d)
	w.lastScale, w.lastDir = now, d
	w.st.LastAction = act
	// Only a count Marathon accepted goes to ArangoDB's numberOfServers.
	w.cl.noteNumberOfServers(ctx, w.role, to)
	ctl.metrics.actions.WithLabelValues(w.cl.name, string(w.role), dir, "success").Inc()
	w.logDecision(app.Instances, &w.rec, "success")
}

// recordDone marks a scale-down completed by the saga, for cooldowns.
func (w *worker) recordDone(now time.Time, from, to int) {
	w.succeed()
	w.hist.RecordScale(now, policy.Down)
	w.lastScale, w.lastDir = now, policy.Down
	w.st.LastAction = &ActionStatus{At: now, From: from, To: to, Direction: "down", Result: "success"}
	w.cl.ctl.metrics.actions.WithLabelValues(w.cl.name, string(w.role), "down", "success").Inc()
}

func (w *worker) logDecision(from int, rec *policy.Recommendation, result string) {
	w.log.Info("scale decision", append(w.decisionAttrs(from, rec), "result", result)...)
}

// decisionAttrs are the fields of a decision's log line: from, to,
// direction, reasons and every signal against its target.
func (w *worker) decisionAttrs(from int, rec *policy.Recommendation) []any {
	// Why it moved (or wanted to) apart from what held it back: a
	// scale-down that went through is not "stabilizing".
	why := (rec.Reasons &^ rec.Blocked).Strings()
	if why == nil {
		why = []string{}
	}
	held := rec.Blocked.Strings()
	if held == nil {
		held = []string{}
	}
	attrs := []any{
		"from", from, "to", rec.Desired, "direction", rec.Direction.String(),
		"why", why, "held_back", held,
	}
	sig := make([]any, 0, len(rec.Metrics))
	for _, m := range rec.Metrics {
		if m.Missing {
			sig = append(sig, slog.String(m.Key, "missing: "+m.Reason))
			continue
		}
		sig = append(sig, slog.Float64(m.Key, round3(m.Value)))
	}
	return append(attrs, slog.Group("signals", sig...))
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// buildObservation fills w.obs for the policy engine, reusing its maps.
func (w *worker) buildObservation(ctx context.Context, ob *observation, app *marathon.App) {
	o := &w.obs
	o.Now = ob.now
	o.Target = app.Instances
	o.Running = app.TasksRunning
	o.Healthy = app.TasksHealthy
	if o.Metrics == nil {
		o.Metrics = map[string]policy.MetricValue{}
	}
	clear(o.Metrics)
	var rs metrics.RoleSignals
	if ob.signals != nil {
		rs = ob.signals.Roles[string(w.role)]
	}
	for _, m := range w.rp.Metrics {
		key := m.Key()
		s := rs[key]
		if s == nil {
			o.Metrics[key] = policy.MetricValue{Missing: app.TasksRunning, Reason: "no data from the source"}
			continue
		}
		o.Metrics[key] = policy.MetricValue{Values: s.Values, Missing: s.Missing, Reason: s.Reason, Aggregate: s.Aggregate}
	}
	for _, key := range policy.SLOSignals(w.rp) {
		if s := rs[key]; s != nil {
			if _, listed := o.Metrics[key]; !listed {
				o.Metrics[key] = policy.MetricValue{Values: s.Values, Missing: s.Missing, Reason: s.Reason, Aggregate: s.Aggregate}
			}
		}
	}
	if s := rs[policy.ForecastSignal]; w.rp.Forecast != nil && s != nil {
		// The forecast follows the role's request rate, a metric or not.
		if _, listed := o.Metrics[policy.ForecastSignal]; !listed {
			o.Metrics[policy.ForecastSignal] = policy.MetricValue{Values: s.Values, Missing: s.Missing, Reason: s.Reason, Aggregate: s.Aggregate}
		}
	}

	c := policy.Constraints{DryRun: w.cl.ctl.cfg.DryRun}
	c.DeploymentInProgress = len(app.Deployments) > 0
	c.Paused = w.rp.Paused || app.Labels[PausedLabel] == "true"
	c.Backoff = ob.now.Before(w.backoffUntil)
	if ob.signals != nil && ob.signals.CapacityOK && app.CPUs > 0 && app.Mem > 0 {
		cpus, mem, _ := ob.signals.Capacity.Free()
		placeable := int(math.Floor(math.Min(cpus/app.CPUs, mem/app.Mem)))
		waiting := 0
		if ob.queueOK {
			waiting = ob.queue[app.ID]
		}
		extra := max(placeable-waiting, 0)
		c.CapacityMax = max(app.Instances+extra, 1)
	}
	w.cl.constrain(ctx, w, ob, app, &c)
	o.Constraints = c
}

// report publishes the decision to /status and the metrics.
func (w *worker) report(now time.Time, app *marathon.App) {
	m := w.cl.ctl.metrics
	rec := &w.rec
	cl, role := w.cl.name, string(w.role)
	m.instances.Set([]float64{float64(app.TasksRunning), float64(app.Instances), float64(rec.Desired),
		float64(w.rp.Min), float64(w.rp.Max)}, cl, role) // instanceStates
	dir := rec.Direction.String()
	m.decisions.WithLabelValues(cl, role, dir, rec.Reasons.Primary()).Inc()
	w.setBlocked(rec.Blocked, "")

	st := &w.st
	st.Current, st.Healthy, st.Target, st.Desired = app.TasksRunning, app.TasksHealthy, app.Instances, rec.Desired
	st.Observed = true
	st.Min, st.Max = w.rp.Min, w.rp.Max
	st.Direction = dir
	st.Reasons = rec.Reasons.Strings()
	st.Blocked = rec.Blocked.Strings()
	st.DecidedAt = now
	st.Paused = w.obs.Constraints.Paused
	st.Capacity = capacityStatus(rec)
	m.slo.publish(cl, role, &rec.Capacity)
	st.Signals = st.Signals[:0]
	for i, mr := range rec.Metrics {
		st.Signals = append(st.Signals, SignalStatus{
			Signal: mr.Key, Value: mr.Value, Target: mr.Target, Desired: mr.Desired,
			Missing: mr.Missing, Reason: mr.Reason,
		})
		if i < len(w.rp.Metrics) {
			if mr.Missing {
				m.signalValue.DeleteLabelValues(cl, role, mr.Key)
			} else {
				m.signalValue.WithLabelValues(cl, role, mr.Key).Set(mr.Value)
			}
			m.signalTarget.WithLabelValues(cl, role, mr.Key).Set(mr.Target)
		}
	}
	w.reportForecast()
	// Every decision is one structured line at debug level; the ones that
	// act are logged at info by logDecision.
	if w.log.Enabled(context.Background(), slog.LevelDebug) {
		w.log.Debug("decision", w.decisionAttrs(app.Instances, rec)...)
	}
	w.publishTimes(now)
}

func (w *worker) publishTimes(now time.Time) {
	st := &w.st
	st.CooldownUntil, st.BackoffUntil = nil, nil
	if !w.lastScale.IsZero() && w.rp != nil {
		until := w.lastScale.Add(max(w.rp.Cooldown.Up, w.rp.Cooldown.Down))
		if until.After(now) {
			st.CooldownUntil = &until
		}
	}
	if w.backoffUntil.After(now) {
		b := w.backoffUntil
		st.BackoffUntil = &b
	}
}

// setBlocked sets arangoscale_scale_blocked for every reason of the fixed
// set: 1 for those in blocked (and extra), 0 for the rest.
func (w *worker) setBlocked(blocked policy.Reasons, extra string) {
	m := w.cl.ctl.metrics
	on := map[string]bool{}
	for _, r := range blocked.Strings() {
		on[r] = true
	}
	if extra != "" {
		on[extra] = true
	}
	m.blocked.SetFlags(func(r string) bool { return on[r] }, w.cl.name, string(w.role))
}
