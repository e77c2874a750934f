package fault

import (
	"time"

	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// Model is a fault of the emulated model, switched on by Start when its
// window begins and off by Stop when it ends (Stop may be nil: a one-shot
// event such as a crash).
type Model struct {
	Name        string
	From, Until time.Time // zero Until: never stopped (until StopAll)
	Start, Stop func()
}

type modelState struct {
	Model
	started, stopped bool
}

// ModelEvent records a model fault starting or stopping.
type ModelEvent struct {
	At    time.Time
	Name  string
	Start bool
}

// AddModel schedules a model fault; Tick switches it.
func (in *Injector) AddModel(m Model) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.models = append(in.models, &modelState{Model: m})
}

// Tick starts the model faults whose window has begun and stops those
// whose window has ended, at the clock's now. Call it after every advance
// of the clock; the switching runs outside the injector's lock.
func (in *Injector) Tick() []ModelEvent {
	now := in.clk.Now()
	in.mu.Lock()
	var run []func()
	var evs []ModelEvent
	for _, m := range in.models {
		if !m.started && !now.Before(m.From) {
			m.started = true
			if m.Start != nil {
				run = append(run, m.Start)
			}
			evs = append(evs, ModelEvent{At: now, Name: m.Name, Start: true})
		}
		if m.started && !m.stopped && !m.Until.IsZero() && !now.Before(m.Until) {
			m.stopped = true
			if m.Stop != nil {
				run = append(run, m.Stop)
			}
			evs = append(evs, ModelEvent{At: now, Name: m.Name})
		}
	}
	in.mu.Unlock()
	for _, f := range run {
		f()
	}
	return evs
}

// Active reports whether any HTTP rule's or model fault's window contains
// now (or a model fault started and was not stopped).
func (in *Injector) Active() bool {
	now := in.clk.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.rules {
		if !now.Before(r.From) && (r.Until.IsZero() || now.Before(r.Until)) {
			return true
		}
	}
	for _, m := range in.models {
		if m.started && !m.stopped && m.Stop != nil {
			return true
		}
	}
	return false
}

// StopAll drops every HTTP rule and stops every started model fault now;
// model faults not yet started never will.
func (in *Injector) StopAll() {
	in.mu.Lock()
	in.rules = nil
	var run []func()
	for _, m := range in.models {
		if m.started && !m.stopped && m.Stop != nil {
			run = append(run, m.Stop)
		}
		m.started, m.stopped = true, true
	}
	in.mu.Unlock()
	for _, f := range run {
		f()
	}
}

// Model faults of the emulated DC/OS and ArangoDB.

// DeploymentStuck: deployments of the app never finish.
func DeploymentStuck(dc *dcos.Cluster, app string) (start, stop func()) {
	return func() { dc.SetDeploymentStuck(app, true) }, func() { dc.SetDeploymentStuck(app, false) }
}

// HealthFailing: the app's tasks fail their health checks.
func HealthFailing(dc *dcos.Cluster, app string) (start, stop func()) {
	return func() { dc.SetHealthFailing(app, true) }, func() { dc.SetHealthFailing(app, false) }
}

// StatisticsMissing: a task is missing from its agent's statistics.
func StatisticsMissing(dc *dcos.Cluster, taskID string) (start, stop func()) {
	return func() { dc.HideTaskStatistics(taskID, true) }, func() { dc.HideTaskStatistics(taskID, false) }
}

// LeaderChange: /v2/leader names another Marathon.
func LeaderChange(dc *dcos.Cluster, hostPort string) (start, stop func()) {
	return func() { dc.SetLeader(hostPort) }, func() { dc.SetLeader("") }
}

// CleanOut: clean-out jobs fail or get stuck.
func CleanOut(ac *arango.Cluster, f arango.CleanOutFault) (start, stop func()) {
	return func() { ac.SetCleanOutFault(f) }, func() { ac.SetCleanOutFault(arango.CleanOutNormal) }
}

// Flapping: health reports a server BAD.
func Flapping(ac *arango.Cluster, serverID string) (start, stop func()) {
	return func() { ac.SetReportedBad(serverID, true) }, func() { ac.SetReportedBad(serverID, false) }
}
