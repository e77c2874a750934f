package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/policy"
)

// The DB-server scale-down saga (DESIGN.md "Acting"): clean out one server,
// kill exactly its task with scale=true once the clean-out job Finished, then
// remove it from the cluster once ArangoDB marks it FAILED. Where the saga
// stands is read from ArangoDB and Marathon on every reconcile, so a restart
// at any step continues it; the controller only remembers what it can lose
// (counters already reported, the start time of a rebalance).

// Saga steps, the values of arangoscale_saga_step{step}.
const (
	StepIdle        = "idle"
	StepCleaningOut = "cleaning_out"
	StepKilling     = "killing"
	StepRemoving    = "removing"
	StepRebalancing = "rebalancing"
)

var sagaSteps = []string{StepIdle, StepCleaningOut, StepKilling, StepRemoving, StepRebalancing}

// diskHeadroom is the highest mean disk utilisation the remaining DB
// servers may reach once a server's data moved onto them.
const diskHeadroom = 0.85

// rebalanceTimeout bounds how long a rebalance holds back DB-server scaling.
const rebalanceTimeout = 30 * time.Minute

// SagaStatus is the /status view of a cluster's scale-down saga.
type SagaStatus struct {
	Step    string    `json:"step"`
	Server  string    `json:"server,omitempty"`
	Job     string    `json:"job,omitempty"`
	Task    string    `json:"task,omitempty"`
	Since   time.Time `json:"since,omitempty"`
	Refused string    `json:"refused,omitempty"`
	// Unsafe says why removing a DB server would be unsafe right now.
	Unsafe string `json:"unsafe,omitempty"`
	Detail string `json:"detail,omitempty"`
}

type sagaState struct {
	status         SagaStatus
	seenJobs       map[string]bool // ended jobs already counted
	primed         bool            // jobs that ended before we started are not counted
	rebalanceSince time.Time
	lastRebalance  time.Time
	manual         map[policy.Role]manualPin
	written        map[policy.Role]map[int]int // counts we wrote to numberOfServers → reads of it since
	seen           map[policy.Role]int         // numberOfServers at the last reconcile
	unsafe         string                      // why a scale-down is unsafe now ("" = safe)
}

type manualPin struct {
	count int
	until time.Time
}

// arangoView is what one reconcile read from ArangoDB's admin API.
type arangoView struct {
	health    []arangodb.ServerHealth
	byID      map[string]arangodb.ServerHealth
	shards    arangodb.ShardStats
	shardsErr error
	// shardsCached: shards is the placement of an earlier reconcile
	// (health unchanged since); a clean-out re-reads it first.
	shardsCached bool
	jobs         []arangodb.Job
	jobsErr      error
	nos          arangodb.NumberOfServers
	nosErr       error
	pending      int
	rebalErr     error
}

// readArango reads the admin state beside the health the reconcile already
// read; cached, when not nil, is a shard placement that still holds.
func readArango(ctx context.Context, a ArangoDB, h []arangodb.ServerHealth, cached *arangodb.ShardStats) *arangoView {
	v := &arangoView{health: h, byID: map[string]arangodb.ServerHealth{}}
	for _, s := range h {
		v.byID[s.ID] = s
	}
	// The four reads are independent: side by side, a slow coordinator
	// costs one timeout, not four.
	var wg sync.WaitGroup
	if cached != nil {
		v.shards, v.shardsCached = *cached, true
	} else {
		wg.Go(func() { v.shards, v.shardsErr = a.ShardsFor(ctx, h) })
	}
	wg.Go(func() { v.jobs, v.jobsErr = a.CleanOutJobs(ctx) })
	wg.Go(func() { v.nos, v.nosErr = a.NumberOfServers(ctx) })
	wg.Go(func() { v.pending, _, v.rebalErr = a.RebalanceStatus(ctx) })
	wg.Wait()
	return v
}

func (v *arangoView) err() error {
	return errors.Join(v.shardsErr, v.jobsErr, v.nosErr)
}

// runningJob returns a clean-out job still in ToDo or Pending.
func (v *arangoView) runningJob() (arangodb.Job, bool) {
	for _, j := range v.jobs {
		if j.Status == "ToDo" || j.Status == "Pending" {
			return j, true
		}
	}
	return arangodb.Job{}, false
}

// cleaned reports whether a DB server was cleaned out: ArangoDB lists it in
// cleanedServers, or a clean-out job for it Finished.
func (v *arangoView) cleaned(id string) bool {
	for _, s := range v.nos.CleanedServers {
		if s == id {
			return true
		}
	}
	for _, j := range v.jobs {
		if j.Server == id && j.Status == "Finished" {
			return true
		}
	}
	return false
}

func (v *arangoView) shardsOn(id string) int {
	s := v.shards.PerServer[id]
	return s.Leaders + s.Followers
}

// hostPort of an ArangoDB endpoint such as tcp://10.0.0.1:8529.
func hostPort(endpoint string) (string, bool) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return "", false
	}
	return u.Host, true
}

// taskFor maps an ArangoDB server to the Marathon task that runs it: the
// server's endpoint is the task's host and first port.
func taskFor(app *marathon.App, s arangodb.ServerHealth) (marathon.Task, bool) {
	if app == nil {
		return marathon.Task{}, false
	}
	hp, ok := hostPort(s.Endpoint)
	if !ok {
		return marathon.Task{}, false
	}
	for _, t := range app.Tasks {
		if len(t.Ports) == 0 {
			continue
		}
		if net.JoinHostPort(t.Host, strconv.Itoa(t.Ports[0])) == hp {
			return t, true
		}
	}
	return marathon.Task{}, false
}

// advanceSaga moves the scale-down saga on from wherever it stands and
// keeps the rebalance after a scale-up going. It runs before the workers
// decide, so a finished clean-out is acted on in the same reconcile.
func (cl *cluster) advanceSaga(ctx context.Context, ob *observation) {
	v := ob.arango
	s := &cl.saga
	if s.seenJobs == nil {
		s.seenJobs = map[string]bool{}
	}
	prev := s.status.Step
	s.status.Detail = ""
	if v == nil {
		cl.setStep(ob.now, prev, s.status)
		return
	}
	cl.countJobs(ob, v)
	dbApp := ob.apps[policy.DBServers]
	w := cl.workers[policy.DBServers]

	if j, ok := v.runningJob(); ok {
		cl.setStep(ob.now, prev, SagaStatus{Step: StepCleaningOut, Server: j.Server, Job: j.ID,
			Detail: "clean-out job " + j.Status})
		return
	}
	// A cleaned-out DB server that still runs: kill exactly its task.
	for _, srv := range v.health {
		if srv.Role != "DBSERVER" || !v.cleaned(srv.ID) {
			continue
		}
		if v.shardsErr == nil && v.shardsOn(srv.ID) > 0 {
			continue // cleaned once, holds shards again (rebalanced onto): not a victim
		}
		t, hasTask := taskFor(dbApp, srv)
		if hasTask {
			if cl.ctl.cfg.DryRun || w == nil || dbApp == nil {
				cl.setStep(ob.now, prev, SagaStatus{Step: StepKilling, Server: srv.ID, Task: t.ID, Detail: "dry run: not killing"})
				return
			}
			if v.shardsErr != nil {
				cl.setStep(ob.now, prev, SagaStatus{Step: StepKilling, Server: srv.ID, Task: t.ID,
					Detail: "waiting: shard placement unreadable"})
				return
			}
			err := cl.ctl.cfg.Marathon.KillTasks(ctx, []string{t.ID}, true)
			if err != nil {
				cl.sourceError("marathon", fmt.Errorf("kill task %s: %w", t.ID, err))
				w.fail(ob.now, err)
				cl.setStep(ob.now, prev, SagaStatus{Step: StepKilling, Server: srv.ID, Task: t.ID, Detail: "kill failed: " + err.Error()})
				return
			}
			cl.log.Info("killed the task of a cleaned-out DB server", "server", srv.ID, "task", t.ID)
			w.recordDone(ob.now, dbApp.Instances, dbApp.Instances-1)
			cl.noteNumberOfServers(ctx, policy.DBServers, dbApp.Instances-1)
			cl.setStep(ob.now, prev, SagaStatus{Step: StepRemoving, Server: srv.ID, Task: t.ID, Detail: "task killed; waiting for FAILED"})
			return
		}
		if srv.Status != "FAILED" {
			cl.setStep(ob.now, prev, SagaStatus{Step: StepRemoving, Server: srv.ID, Detail: "waiting for ArangoDB to mark it FAILED"})
			return
		}
		if cl.ctl.cfg.DryRun {
			cl.setStep(ob.now, prev, SagaStatus{Step: StepRemoving, Server: srv.ID, Detail: "dry run: not removing"})
			return
		}
		if err := cl.clients.ArangoDB.RemoveServer(ctx, srv.ID); err != nil {
			cl.sourceError("arangodb", fmt.Errorf("remove server %s: %w", srv.ID, err))
			cl.setStep(ob.now, prev, SagaStatus{Step: StepRemoving, Server: srv.ID, Detail: "remove failed: " + err.Error()})
			return
		}
		cl.log.Info("removed cleaned-out DB server", "server", srv.ID)
		cl.ctl.metrics.removedServers.WithLabelValues(cl.name, "dbservers").Inc()
		cl.setStep(ob.now, prev, SagaStatus{Step: StepIdle})
		return
	}
	cl.rebalance(ctx, ob, v, prev)
}

// rebalance starts a shard rebalance when a GOOD DB server holds nothing
// while others hold shards (new servers join empty), and reports it.
func (cl *cluster) rebalance(ctx context.Context, ob *observation, v *arangoView, prev string) {
	s := &cl.saga
	if v.rebalErr == nil && v.pending > 0 {
		if s.rebalanceSince.IsZero() {
			s.rebalanceSince = ob.now
		}
		detail := fmt.Sprintf("%d shard moves pending", v.pending)
		if ob.now.Sub(s.rebalanceSince) > rebalanceTimeout {
			detail += "; timed out, scaling allowed again"
		}
		cl.setStep(ob.now, prev, SagaStatus{Step: StepRebalancing, Detail: detail})
		return
	}
	s.rebalanceSince = time.Time{}
	if v.shardsErr != nil || cl.ctl.cfg.DryRun || cl.clients.ArangoDB == nil {
		cl.setStep(ob.now, prev, SagaStatus{Step: StepIdle})
		return
	}
	total, empty := 0, 0
	for _, srv := range v.health {
		if srv.Role != "DBSERVER" || srv.Status != "GOOD" || v.cleaned(srv.ID) {
			continue
		}
		n := v.shardsOn(srv.ID)
		total += n
		if n == 0 {
			empty++
		}
	}
	if empty == 0 || total == 0 || ob.now.Sub(s.lastRebalance) < 10*time.Minute {
		cl.setStep(ob.now, prev, SagaStatus{Step: StepIdle})
		return
	}
	moves, err := cl.clients.ArangoDB.StartRebalance(ctx)
	s.lastRebalance = ob.now
	if err != nil {
		cl.sourceError("arangodb", fmt.Errorf("start rebalance: %w", err))
		cl.setStep(ob.now, prev, SagaStatus{Step: StepIdle})
		return
	}
	cl.log.Info("started shard rebalance onto new DB servers", "moves", moves, "empty_servers", empty)
	if moves > 0 {
		s.rebalanceSince = ob.now
		cl.setStep(ob.now, prev, SagaStatus{Step: StepRebalancing, Detail: fmt.Sprintf("%d shard moves started", moves)})
		return
	}
	cl.setStep(ob.now, prev, SagaStatus{Step: StepIdle})
}

// countJobs counts clean-out jobs that ended since the controller started.
func (cl *cluster) countJobs(ob *observation, v *arangoView) {
	s := &cl.saga
	if v.jobsErr != nil {
		return
	}
	for _, j := range v.jobs {
		if j.Status != "Finished" && j.Status != "Failed" || s.seenJobs[j.ID] {
			continue
		}
		s.seenJobs[j.ID] = true
		if !s.primed {
			continue
		}
		result := "finished"
		if j.Status == "Failed" {
			result = "failed"
			cl.log.Error("clean-out job failed; the server is kept", "server", j.Server, "job", j.ID, "reason", j.Reason)
			if w := cl.workers[policy.DBServers]; w != nil {
				w.fail(ob.now, fmt.Errorf("clean-out of %s failed: %s", j.Server, j.Reason))
			}
		}
		cl.ctl.metrics.cleanouts.WithLabelValues(cl.name, result).Inc()
	}
	s.primed = true
}

func (cl *cluster) setStep(now time.Time, prev string, st SagaStatus) {
	if st.Step == "" {
		st.Step = StepIdle
	}
	if st.Step == prev && !cl.saga.status.Since.IsZero() {
		st.Since = cl.saga.status.Since
	} else {
		st.Since = now
	}
	st.Refused = cl.saga.status.Refused
	st.Unsafe = cl.saga.status.Unsafe
	cl.saga.status = st
	for _, step := range sagaSteps {
		val := 0.0
		if step == st.Step {
			val = 1
		}
		cl.ctl.metrics.sagaStep.WithLabelValues(cl.name, step).Set(val)
	}
}

// sagaBusy reports whether the saga or a rebalance holds the DB-server role.
func (cl *cluster) sagaBusy(now time.Time) bool {
	switch cl.saga.status.Step {
	case StepCleaningOut, StepKilling, StepRemoving:
		return true
	case StepRebalancing:
		return now.Sub(cl.saga.rebalanceSince) <= rebalanceTimeout
	}
	return false
}

// constrain adds what ArangoDB knows to a role's constraints: the
// replication floor and whether a DB-server scale-down is safe now, a saga
// in flight, and a count a person set in ArangoDB's web UI.
func (cl *cluster) constrain(ctx context.Context, w *worker, ob *observation, app *marathon.App, c *policy.Constraints) {
	v := ob.arango
	cl.manual(ctx, w, ob, app, c)
	if w.role != policy.DBServers {
		return
	}
	if cl.sagaBusy(ob.now) {
		c.DeploymentInProgress = true
	}
	why := cl.unsafeReason(ob, app)
	cl.saga.unsafe = why
	cl.saga.status.Unsafe = why
	c.Unsafe = why != ""
	if v != nil && v.shardsErr == nil {
		c.ReplicationFloor = max(v.shards.MaxReplicationFactor, v.shards.MaxWriteConcern)
	}
}

// unsafeReason says why removing a DB server now would be unsafe ("" when
// it is safe).
func (cl *cluster) unsafeReason(ob *observation, app *marathon.App) string {
	v := ob.arango
	switch {
	case cl.clients.ArangoDB == nil:
		return "no ArangoDB connection configured"
	case v == nil:
		return "ArangoDB cluster health unreadable"
	case v.err() != nil:
		return "ArangoDB state unreadable: " + v.err().Error()
	}
	if _, ok := v.runningJob(); ok {
		return "a clean-out is already running"
	}
	for _, s := range v.health {
		if (s.Role == "DBSERVER" || s.Role == "COORDINATOR") && s.Status != "GOOD" {
			if s.Role == "DBSERVER" && v.cleaned(s.ID) {
				continue // the saga's own victim on its way out
			}
			return fmt.Sprintf("server %s is %s", s.ID, s.Status)
		}
	}
	if v.shards.OutOfSync > 0 {
		return fmt.Sprintf("%d shards out of sync", v.shards.OutOfSync)
	}
	if v.shards.NotReplicated > 0 {
		return fmt.Sprintf("%d shards not replicated", v.shards.NotReplicated)
	}
	// Disk: the remaining servers must hold the moved data with headroom.
	if ob.signals != nil {
		if s := ob.signals.Roles[string(policy.DBServers)]["disk_utilization"]; s != nil {
			if s.Missing > 0 || len(s.Values) < 2 {
				return "disk usage of some DB servers unknown"
			}
			sum := 0.0
			for _, u := range s.Values {
				sum += u
			}
			if after := sum / float64(len(s.Values)-1); after > diskHeadroom {
				return fmt.Sprintf("remaining DB servers would be %.0f%% full", after*100)
			}
		}
	}
	return ""
}

// startScaleDown begins removing one DB server: it picks the victim and
// starts its clean-out. The kill and the removal follow in later
// reconciles (advanceSaga).
func (cl *cluster) startScaleDown(ctx context.Context, w *worker, ob *observation, app *marathon.App, desired int) {
	v := ob.arango
	refuse := func(why string) {
		cl.saga.status.Refused = why
		w.st.Blocked = append(w.st.Blocked, "unsafe_cluster")
		cl.log.Info("DB-server scale-down refused", "reason", why, "target", app.Instances, "desired", desired)
	}
	if v.shardsCached {
		// Placement is re-read right before a clean-out.
		v.shards, v.shardsErr = cl.clients.ArangoDB.ShardsFor(ctx, v.health)
		v.shardsCached = false
		cl.saga.unsafe = cl.unsafeReason(ob, app)
	}
	if why := cl.saga.unsafe; why != "" {
		refuse(why)
		return
	}
	victim, ok := cl.pickVictim(v, app)
	if !ok {
		refuse("no DB server maps to a Marathon task")
		return
	}
	cl.saga.status.Refused = ""
	job, err := cl.clients.ArangoDB.CleanOutServer(ctx, victim.ID)
	if err != nil {
		cl.sourceError("arangodb", fmt.Errorf("clean out %s: %w", victim.ID, err))
		cl.ctl.metrics.actions.WithLabelValues(cl.name, string(w.role), "down", "failed").Inc()
		w.st.LastAction = &ActionStatus{At: ob.now, From: app.Instances, To: desired, Direction: "down", Result: "failed", Error: err.Error()}
		w.fail(ob.now, err)
		return
	}
	cl.ctl.metrics.cleanouts.WithLabelValues(cl.name, "started").Inc()
	cl.log.Info("cleaning out DB server before removing it", "server", victim.ID, "job", job,
		"shards", v.shardsOn(victim.ID), "target", app.Instances, "desired", desired)
	cl.setStep(ob.now, cl.saga.status.Step, SagaStatus{Step: StepCleaningOut, Server: victim.ID, Job: job, Detail: "clean-out job started"})
}

// pickVictim chooses the DB server to remove: one already cleaned out, else
// the one holding the fewest shards (leaders weigh double, since moving a
// leader interrupts writes). Only servers whose Marathon task is known can
// be chosen, so the kill that follows hits exactly that server.
func (cl *cluster) pickVictim(v *arangoView, app *marathon.App) (arangodb.ServerHealth, bool) {
	type cand struct {
		s      arangodb.ServerHealth
		weight int
	}
	var cs []cand
	for _, s := range v.health {
		if s.Role != "DBSERVER" || s.Status != "GOOD" {
			continue
		}
		if _, ok := taskFor(app, s); !ok {
			continue
		}
		if v.cleaned(s.ID) {
			return s, true
		}
		sh := v.shards.PerServer[s.ID]
		cs = append(cs, cand{s, 2*sh.Leaders + sh.Followers})
	}
	if len(cs) == 0 {
		return arangodb.ServerHealth{}, false
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].weight != cs[j].weight {
			return cs[i].weight < cs[j].weight
		}
		return cs[i].s.ID > cs[j].s.ID
	})
	return cs[0].s, true
}

// hygiene removes stale FAILED servers that Marathon already replaced:
// only when they hold no shards and no task runs them. A FAILED DB server
// that still holds shards is reported, never removed.
func (cl *cluster) hygiene(ctx context.Context, ob *observation) {
	v := ob.arango
	failedWithShards := 0
	for _, s := range v.health {
		if s.Status != "FAILED" || (s.Role != "DBSERVER" && s.Role != "COORDINATOR") {
			continue
		}
		r := policy.Coordinators
		if s.Role == "DBSERVER" {
			r = policy.DBServers
			if v.shardsErr != nil {
				continue
			}
			if v.shardsOn(s.ID) > 0 {
				failedWithShards++
				continue
			}
			if v.cleaned(s.ID) {
				continue // the saga removes its own victim
			}
		}
		app, ok := ob.apps[r]
		if !ok {
			continue // without the app we cannot tell whether a task still runs it
		}
		if _, running := taskFor(app, s); running {
			continue
		}
		if cl.ctl.cfg.DryRun {
			continue
		}
		if err := cl.clients.ArangoDB.RemoveServer(ctx, s.ID); err != nil {
			cl.sourceError("arangodb", fmt.Errorf("remove stale server %s: %w", s.ID, err))
			continue
		}
		cl.ctl.metrics.removedServers.WithLabelValues(cl.name, string(r)).Inc()
		cl.log.Info("removed stale FAILED server", "server", s.ID, "server_role", s.Role)
	}
	cl.ctl.metrics.failedWithShards.WithLabelValues(cl.name).Set(float64(failedWithShards))
}

// writtenReads is how many successful reads of numberOfServers a count
// we wrote is remembered for: a write that timed out may still land after
// the next read, and an outage may hide it for any length of time.
const writtenReads = 3

// wrote remembers a count written (or tried) to numberOfServers, so that
// reading it back is not taken for a person's change. Every such count is
// kept until it was read past writtenReads times, not only the last one.
func (s *sagaState) wrote(r policy.Role, n int) {
	if s.written == nil {
		s.written = map[policy.Role]map[int]int{}
	}
	if s.written[r] == nil {
		s.written[r] = map[int]int{}
	}
	s.written[r][n] = 0
}

// ours reports whether n is a count we wrote lately; with read set (this
// reconcile read numberOfServers) it also ages what we remember.
func (s *sagaState) ours(r policy.Role, n int, read bool) bool {
	_, ok := s.written[r][n]
	if read {
		for v, reads := range s.written[r] {
			if reads+1 >= writtenReads {
				delete(s.written[r], v)
			} else {
				s.written[r][v] = reads + 1
			}
		}
	}
	return ok
}

// noteNumberOfServers writes a count Marathon accepted to ArangoDB's
// numberOfServers (what its web UI shows and sets), so that a different
// count appearing there later is known to be a person's.
func (cl *cluster) noteNumberOfServers(ctx context.Context, r policy.Role, n int) {
	if cl.clients.ArangoDB == nil || cl.ctl.cfg.DryRun {
		return
	}
	cl.saga.wrote(r, n)
	var err error
	if r == policy.Coordinators {
		err = cl.clients.ArangoDB.SetNumberOfServers(ctx, &n, nil)
	} else {
		err = cl.clients.ArangoDB.SetNumberOfServers(ctx, nil, &n)
	}
	if err != nil {
		cl.sourceError("arangodb", fmt.Errorf("write numberOfServers: %w", err))
	}
}

// manual pins a role at a count a person set through ArangoDB's web UI
// (which writes numberOfServers) for the policy's manual_hold.
//
// A person's request is a change of numberOfServers to a count the
// controller did not write. Only a change counts: what stands there when a
// controller starts (or a cluster joins the policy) may be a stale count of
// ours — a write that failed, a crash between the Marathon scale and the
// write — so it is overwritten with Marathon's count instead of obeyed. A
// pin is kept in memory: a restart during manual_hold releases it.
func (cl *cluster) manual(ctx context.Context, w *worker, ob *observation, app *marathon.App, c *policy.Constraints) {
	s := &cl.saga
	if s.manual == nil {
		s.manual = map[policy.Role]manualPin{}
		s.seen = map[policy.Role]int{}
	}
	v := ob.arango
	n, set, read := 0, false, v != nil && v.nosErr == nil
	if read {
		n, set = v.nos.Coordinators, v.nos.CoordinatorsSet
		if w.role == policy.DBServers {
			n, set = v.nos.DBServers, v.nos.DBServersSet
		}
		if !set {
			n = 0
		}
	}
	prev, primed := s.seen[w.role]
	ours := s.ours(w.role, n, read)
	if read {
		s.seen[w.role] = n // 0: not set
	}
	if pin, ok := s.manual[w.role]; ok {
		if ob.now.Before(pin.until) {
			c.ManualPin = pin.count
			return
		}
		delete(s.manual, w.role)
		cl.log.Info("manual hold released", "role", string(w.role), "count", pin.count)
		// Put Marathon's count back so the old request is not seen again.
		cl.noteNumberOfServers(ctx, w.role, app.Instances)
		return
	}
	if !set || n <= 0 || n == app.Instances {
		return
	}
	if primed && n != prev && !ours {
		hold := w.rp.ManualHold
		if hold <= 0 {
			hold = time.Hour
		}
		s.manual[w.role] = manualPin{count: n, until: ob.now.Add(hold)}
		c.ManualPin = n
		cl.log.Info("manual count set in ArangoDB; holding it", "role", string(w.role), "count", n, "until", ob.now.Add(hold))
		return
	}
	// A stale count (ours, or from before we started): heal it, unless a
	// scale of ours is still on its way (the saga writes after the kill).
	if len(app.Deployments) == 0 && !(w.role == policy.DBServers && cl.sagaBusy(ob.now)) {
		cl.noteNumberOfServers(ctx, w.role, app.Instances)
	}
}

// Pin holds a role of a cluster at n until the given time, exactly as a
// count set in ArangoDB's web UI would: clamped to the policy's min and max,
// and a DB-server scale-down still goes through the clean-out saga.
// `arangoscale scale` uses it.
func (c *Controller) Pin(cluster string, r policy.Role, n int, until time.Time) error {
	c.mu.Lock()
	cl, ok := c.clusters[cluster]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("no cluster %q in the policy", cluster)
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if _, ok := cl.workers[r]; !ok {
		return fmt.Errorf("cluster %q has no %s policy", cluster, r)
	}
	if cl.saga.manual == nil {
		cl.saga.manual = map[policy.Role]manualPin{}
		cl.saga.seen = map[policy.Role]int{}
	}
	cl.saga.manual[r] = manualPin{count: n, until: until}
	return nil
}
