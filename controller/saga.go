package controller

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/metrics"
	"github.com/arangoscale/arangoscale/policy"
)

// The DB-server scale-down saga (DESIGN.md "Acting"): clean out one server
// this controller chose, kill exactly its task with scale=true once the
// clean-out job Finished and the policy still allows one server fewer,
// check in Marathon that the kill took, then remove the server from the
// cluster once ArangoDB marks it FAILED.
//
// A coordinator cannot list agency jobs (it has no /_api/agency), so the
// controller remembers the one it started — victim, job ID — in memory and
// asks queryAgencyJob about that ID. Everything else is read again on
// every reconcile: cleanedServers, health, shard placement and Marathon's
// tasks. What a restart forgets is safe to forget: a clean-out still
// running shows as shards whose Plan and Current differ, which makes a
// second scale-down unsafe; a finished one shows in cleanedServers and is
// taken as the victim of the next scale-down the policy wants; a killed
// server without a task is removed once FAILED.

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

// killVerifyTimeout is how long a task whose count Marathon lowered may
// still show as running before the status says it is slow.
const killVerifyTimeout = 2 * time.Minute

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
	// Aborted says why the last scale-down was given up before its kill.
	Aborted string `json:"aborted,omitempty"`
	// ForeignCleaned are DB servers in ArangoDB's cleanedServers that no
	// scale-down of this controller chose (an operator's cleanOutServer,
	// an aborted or forgotten scale-down). They are never killed unless
	// the policy wants a scale-down anyway; then one of them goes first.
	ForeignCleaned []string `json:"foreign_cleaned,omitempty"`
}

type sagaState struct {
	status SagaStatus
	chosen *victim // the current scale-down of this controller; nil when none
	// abandoned is the clean-out job of a scale-down aborted while it ran:
	// a coordinator cannot cancel it, so no new clean-out starts until
	// it has ended (a second one would drain two servers at once).
	abandoned      *victim
	reported       map[string]bool // foreign cleaned-out servers already logged
	rebalanceSince time.Time
	lastRebalance  time.Time
	manual         map[policy.Role]manualPin
	written        map[policy.Role]map[int]int // counts we wrote to numberOfServers → reads of it since
	seen           map[policy.Role]int         // numberOfServers at the last reconcile
	unsafe         string                      // why a scale-down is unsafe now ("" = safe)
}

// victim is the DB server this controller chose for the scale-down in
// flight. It lives in memory only (see the comment at the top).
type victim struct {
	server  string
	job     string // our cleanOutServer job; "" when the server was already cleaned out
	counted bool   // the job's end is counted in arangoscale_cleanout_jobs_total
	task    string // the Marathon task the kill was sent for
	from    int    // Marathon instances when the kill was sent
	killed  time.Time
	killOK  bool // Marathon shows the task gone or killing and the count lowered
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
	job          arangodb.Job // the state of the controller's own clean-out job
	jobErr       error        // errors.Is(jobErr, arangodb.ErrNotFound): pruned or never known
	nos          arangodb.NumberOfServers
	nosErr       error
	pending      int
	rebalErr     error
}

// readArango reads the admin state beside the health the reconcile already
// read; cached, when not nil, is a shard placement that still holds; jobID
// is the clean-out job the controller started and has not seen end ("" for
// none).
func readArango(ctx context.Context, a ArangoDB, h []arangodb.ServerHealth, cached *arangodb.ShardStats, jobID string, sequential bool) *arangoView {
	v := &arangoView{health: h, byID: map[string]arangodb.ServerHealth{}}
	for _, s := range h {
		v.byID[s.ID] = s
	}
	// The reads are independent: side by side, a slow coordinator costs
	// one timeout, not four. The last runs in this goroutine while the
	// others run in theirs (one goroutine start and stack growth fewer).
	// Sequential runs them all here (Setup.Sequential).
	var wg sync.WaitGroup
	do := wg.Go
	if sequential {
		do = func(f func()) { f() }
	}
	if cached != nil {
		v.shards, v.shardsCached = *cached, true
	} else {
		do(func() { v.shards, v.shardsErr = a.ShardsFor(ctx, h, shardCacheMaxAge) })
	}
	if jobID != "" {
		do(func() { v.job, v.jobErr = a.Job(ctx, jobID) })
	}
	do(func() { v.nos, v.nosErr = a.NumberOfServers(ctx) })
	v.pending, _, v.rebalErr = a.RebalanceStatus(ctx)
	wg.Wait()
	return v
}

func (v *arangoView) err() error {
	jobErr := v.jobErr
	if errors.Is(jobErr, arangodb.ErrNotFound) {
		jobErr = nil // a pruned job: cleanedServers tells the rest
	}
	return errors.Join(v.shardsErr, jobErr, v.nosErr)
}

// cleaned reports whether ArangoDB lists a DB server in cleanedServers.
func (v *arangoView) cleaned(id string) bool {
	return v.nosErr == nil && slices.Contains(v.nos.CleanedServers, id)
}

func (v *arangoView) shardsOn(id string) int {
	s := v.shards.PerServer[id]
	return s.Leaders + s.Followers
}

// advanceSaga moves the scale-down saga on from wherever it stands and
// keeps the rebalance after a scale-up going. It runs before the workers
// decide, so a finished clean-out is acted on in the same reconcile.
func (cl *cluster) advanceSaga(ctx context.Context, ob *observation) {
	v := ob.arango
	s := &cl.saga
	prev := s.status.Step
	s.status.Detail = ""
	if v == nil {
		cl.setStep(ob.now, prev, s.status)
		return
	}
	cl.reportForeign(v)
	cl.followAbandoned(v)
	if s.chosen != nil && cl.advanceChosen(ctx, ob, s.chosen, prev) {
		return
	}
	// A cleaned-out DB server whose task is gone (killed by us before a
	// restart, or by anyone): remove it once ArangoDB marks it FAILED.
	for _, srv := range v.health {
		if srv.Role != arangodb.RoleDBServer || !v.cleaned(srv.ID) {
			continue
		}
		if v.shardsErr != nil || v.shardsOn(srv.ID) > 0 {
			continue // not known empty: never removed
		}
		if m := cl.taskFor(ctx, ob, ob.apps[policy.DBServers], srv); m.ok || m.ambiguous || ob.apps[policy.DBServers] == nil {
			continue // still runs: a victim only when the policy wants one (pickVictim)
		}
		cl.removeGone(ctx, ob, srv, prev)
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
	st.ForeignCleaned = cl.saga.status.ForeignCleaned
	if st.Aborted == "" {
		st.Aborted = cl.saga.status.Aborted
	}
	cl.saga.status = st
	cl.ctl.metrics.sagaStep.SetFlags(func(step string) bool { return step == st.Step }, cl.name)
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
		// A clean-out in flight holds the role; a rebalance after a
		// scale-up holds only scale-downs, so a rise that outgrows the
		// last scale-up gets more servers without waiting for it.
		if cl.saga.status.Step == StepRebalancing {
			c.Rebalancing = true
		} else {
			c.DeploymentInProgress = true
		}
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
	if c := cl.saga.chosen; c != nil {
		return "a scale-down is already in flight (" + c.server + ")"
	}
	if a := cl.saga.abandoned; a != nil {
		return "the clean-out of an aborted scale-down still runs (" + a.server + ", job " + a.job + ")"
	}
	for _, s := range v.health {
		if (s.Role == "DBSERVER" || s.Role == "COORDINATOR") && s.Status != "GOOD" {
			if s.Role == "DBSERVER" && v.cleaned(s.ID) && v.shardsOn(s.ID) == 0 {
				continue // cleaned out and empty: its loss costs nothing
			}
			return fmt.Sprintf("server %s is %s", s.ID, s.Status)
		}
	}
	if v.shards.OutOfSync > 0 {
		// Also how a clean-out or move shows that this process did not
		// start or has forgotten: its shards' Plan and Current differ.
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
	// Placement, with every collection's properties, is read afresh right
	// before a clean-out, and so is the disk usage when the interval had
	// none.
	cl.readDisk(ctx, ob)
	v.shards, v.shardsErr = cl.clients.ArangoDB.ShardsFor(ctx, v.health, 0)
	v.shardsCached = false
	cl.saga.unsafe = cl.unsafeReason(ob, app)
	if why := cl.saga.unsafe; why != "" {
		refuse(why)
		return
	}
	pick, why := cl.pickVictim(ctx, ob, app)
	if why != "" {
		refuse(why)
		return
	}
	cl.saga.status.Refused = ""
	cl.saga.status.Aborted = ""
	if v.cleaned(pick.ID) {
		// Cleaned out before (an operator, an aborted or forgotten
		// scale-down): nothing to move; the kill is re-decided next.
		cl.saga.chosen = &victim{server: pick.ID}
		cl.log.Info("taking an already cleaned-out DB server for the scale-down", "server", pick.ID,
			"target", app.Instances, "desired", desired)
		cl.setStep(ob.now, cl.saga.status.Step, SagaStatus{Step: StepKilling, Server: pick.ID, Detail: "already cleaned out"})
		return
	}
	job, err := cl.clients.ArangoDB.CleanOutServer(ctx, pick.ID)
	if err != nil {
		cl.sourceError("arangodb", fmt.Errorf("clean out %s: %w", pick.ID, err))
		cl.ctl.metrics.actions.WithLabelValues(cl.name, string(w.role), "down", "failed").Inc()
		w.st.LastAction = &ActionStatus{At: ob.now, From: app.Instances, To: desired, Direction: "down", Result: "failed", Error: err.Error()}
		w.fail(ob.now, err)
		return
	}
	cl.saga.chosen = &victim{server: pick.ID, job: job}
	cl.ctl.metrics.cleanouts.WithLabelValues(cl.name, "started").Inc()
	cl.log.Info("cleaning out DB server before removing it", "server", pick.ID, "job", job,
		"shards", v.shardsOn(pick.ID), "target", app.Instances, "desired", desired)
	cl.setStep(ob.now, cl.saga.status.Step, SagaStatus{Step: StepCleaningOut, Server: pick.ID, Job: job, Detail: "clean-out job started"})
}

// readDisk reads the DB servers' disk usage for the scale-down check when
// the interval's observation has none (a policy whose DB servers read only
// cpu and memory scrapes none of them: see observe). Until then an
// interval's unsafe reason knows nothing of the disk.
func (cl *cluster) readDisk(ctx context.Context, ob *observation) {
	if ob.signals == nil || ob.arango == nil || ob.signals.Roles[string(policy.DBServers)][metrics.SignalDisk] != nil {
		return
	}
	o := cl.clients.Observer.Observe(ctx, metrics.Request{
		Signals:      map[string][]string{string(policy.DBServers): {metrics.SignalDisk}},
		Health:       metricsServers(ob.arango.health),
		ArangoDBOnly: true,
	})
	if ob.signals.Roles == nil {
		ob.signals.Roles = map[string]metrics.RoleSignals{}
	}
	rs := ob.signals.Roles[string(policy.DBServers)]
	if rs == nil {
		rs = metrics.RoleSignals{}
		ob.signals.Roles[string(policy.DBServers)] = rs
	}
	rs[metrics.SignalDisk] = o.Roles[string(policy.DBServers)][metrics.SignalDisk]
}

// pickVictim chooses the DB server to remove: one already cleaned out and
// empty, else the one holding the fewest shards (leaders weigh double, since moving a
// leader interrupts writes). Only servers whose Marathon task is known can
// be chosen, so the kill that follows hits exactly that server.
func (cl *cluster) pickVictim(ctx context.Context, ob *observation, app *marathon.App) (arangodb.ServerHealth, string) {
	v := ob.arango
	type cand struct {
		s      arangodb.ServerHealth
		weight int
	}
	var cs []cand
	var unmapped []string
	for _, s := range v.health {
		if s.Role != "DBSERVER" || s.Status != "GOOD" {
			continue
		}
		if m := cl.taskFor(ctx, ob, app, s); !m.ok {
			unmapped = append(unmapped, s.ID+": "+m.why)
			continue
		}
		if v.cleaned(s.ID) {
			if v.shardsOn(s.ID) == 0 {
				return s, ""
			}
			// In cleanedServers yet holding shards (an operator's list, a
			// shard lost with it): not empty, and ArangoDB fails a
			// clean-out of a server in cleanedServers. Left to the
			// operator, reported as foreign (reportForeign).
			continue
		}
		sh := v.shards.PerServer[s.ID]
		cs = append(cs, cand{s, 2*sh.Leaders + sh.Followers})
	}
	if len(cs) == 0 {
		return arangodb.ServerHealth{}, "no DB server maps to exactly one Marathon task (" + strings.Join(unmapped, "; ") + ")"
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].weight != cs[j].weight {
			return cs[i].weight < cs[j].weight
		}
		return cs[i].s.ID > cs[j].s.ID
	})
	return cs[0].s, ""
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
		if m := cl.taskFor(ctx, ob, app, s); m.ok || m.ambiguous {
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
		cl.log.Info(cl.staleServerWords(r, ob.now), "server", s.ID, "server_role", s.Role)
	}
	cl.ctl.metrics.failedWithShards.WithLabelValues(cl.name).Set(float64(failedWithShards))
}

// followAbandoned forgets the aborted scale-down's clean-out job once
// ArangoDB says it ended (finished, failed or pruned).
func (cl *cluster) followAbandoned(v *arangoView) {
	a := cl.saga.abandoned
	if a == nil || cl.saga.chosen != nil {
		return
	}
	switch {
	case errors.Is(v.jobErr, arangodb.ErrNotFound):
	case v.jobErr != nil:
		return
	case v.job.Status != arangodb.JobFinished && v.job.Status != arangodb.JobFailed:
		return
	}
	cl.log.Info("the clean-out of an aborted scale-down ended", "server", a.server, "job", a.job, "status", v.job.Status)
	cl.saga.abandoned = nil
}
