package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/policy"
)

// The steps of a scale-down this controller chose: follow its clean-out
// job, re-decide and send the kill, check it in Marathon, remove the
// server.

// advanceChosen carries on the controller's own scale-down. It returns
// false when there is none any more, so the caller goes on as if idle.
func (cl *cluster) advanceChosen(ctx context.Context, ob *observation, c *victim, prev string) bool {
	v := ob.arango
	s := &cl.saga
	dbApp := ob.apps[policy.DBServers]
	w := cl.workers[policy.DBServers]
	st := SagaStatus{Server: c.server, Job: c.job, Task: c.task}
	srv, inHealth := v.byID[c.server]
	if !inHealth {
		if c.killOK {
			cl.log.Info("removed cleaned-out DB server", "server", c.server)
		} else {
			cl.abort(ob, c, "the server left ArangoDB's health list before its kill")
		}
		s.chosen = nil
		return false
	}
	if c.killed.IsZero() {
		if c.job != "" {
			done := cl.jobDone(ob, c, &st)
			if s.chosen == nil { // the job failed or vanished
				return false
			}
			if !done {
				if dbApp == nil {
					// Unreadable is not a verdict: the job runs on; the
					// kill is re-decided once Marathon answers.
					st.Step, st.Detail = StepCleaningOut, "waiting: the DB-server app is unreadable"
					cl.setStep(ob.now, prev, st)
					return true
				}
				if why := cl.killVerdict(ob, w, dbApp); why != "" {
					cl.abort(ob, c, why)
					s.chosen = nil
					s.abandoned = &victim{server: c.server, job: c.job}
					return false
				}
				st.Step = StepCleaningOut
				cl.setStep(ob.now, prev, st)
				return true
			}
		}
		return cl.kill(ctx, ob, c, srv, prev)
	}
	if !c.killOK {
		return cl.verifyKill(ctx, ob, c, prev)
	}
	m := cl.taskFor(ctx, ob, dbApp, srv)
	if m.ambiguous || (m.ok && m.task.ID == c.task) {
		st.Step, st.Detail = StepKilling, "task still shutting down"
		cl.setStep(ob.now, prev, st)
		return true
	}
	if m.ok && srv.Status == arangodb.StatusGood {
		// Another task serves the server's endpoint and ArangoDB has it
		// GOOD again: it will not turn FAILED, so waiting to remove it
		// would hold the DB-server role for good. The count was lowered;
		// the server, still cleaned out and empty, is the first victim
		// of the next scale-down (pickVictim).
		why := fmt.Sprintf("server serves again, from task %s", m.task.ID)
		cl.log.Warn("cleaned-out DB server is GOOD again after its kill; not removed", "server", c.server, "killed_task", c.task, "task", m.task.ID)
		cl.saga.status.Aborted = why
		cl.setStep(ob.now, prev, SagaStatus{Step: StepIdle, Detail: "removal given up: " + why})
		s.chosen = nil
		return false
	}
	if cl.removeGone(ctx, ob, srv, prev) {
		s.chosen = nil
	}
	return true
}

// jobDone reports whether our clean-out job ended with the server cleaned
// out. A failed or vanished job ends the scale-down (s.chosen = nil); a
// running or unreadable one fills st and returns false.
func (cl *cluster) jobDone(ob *observation, c *victim, st *SagaStatus) bool {
	v := ob.arango
	s := &cl.saga
	switch {
	case errors.Is(v.jobErr, arangodb.ErrNotFound):
		// Pruned after it ended: cleanedServers says how.
		if v.cleaned(c.server) {
			cl.countJob(c, "finished")
			return true
		}
		cl.log.Error("clean-out job is gone and the server is not cleaned out; the server is kept", "server", c.server, "job", c.job)
		cl.countJob(c, "failed")
		s.status.Aborted = "clean-out job " + c.job + " vanished without cleaning out " + c.server
		s.chosen = nil
		return false
	case v.jobErr != nil:
		st.Detail = "clean-out job state unreadable: " + v.jobErr.Error()
		return false
	}
	switch v.job.Status {
	case arangodb.JobFinished:
		cl.countJob(c, "finished")
		return true
	case arangodb.JobFailed:
		cl.countJob(c, "failed")
		cl.log.Error("clean-out job failed; the server is kept", "server", c.server, "job", c.job, "reason", v.job.Reason)
		if w := cl.workers[policy.DBServers]; w != nil {
			w.fail(ob.now, fmt.Errorf("clean-out of %s failed: %s", c.server, v.job.Reason))
		}
		s.chosen = nil
		return false
	}
	st.Detail = "clean-out job " + v.job.Status
	return false
}

func (cl *cluster) countJob(c *victim, result string) {
	if !c.counted {
		c.counted = true
		cl.ctl.metrics.cleanouts.WithLabelValues(cl.name, result).Inc()
	}
}

// abort gives up the controller's scale-down before its kill: nothing is
// killed and the server stays. Its clean-out job, if still running, cannot
// be cancelled from a coordinator; the server then ends in cleanedServers
// and is reported as a foreign cleaned-out server.
func (cl *cluster) abort(ob *observation, c *victim, why string) {
	cl.log.Warn("DB-server scale-down aborted; the server stays", "server", c.server, "job", c.job, "reason", why)
	cl.ctl.metrics.cleanouts.WithLabelValues(cl.name, "aborted").Inc()
	cl.saga.status.Aborted = why
	cl.setStep(ob.now, cl.saga.status.Step, SagaStatus{Step: StepIdle, Detail: "scale-down aborted: " + why})
}

// kill re-decides and kills the task of the cleaned-out victim.
func (cl *cluster) kill(ctx context.Context, ob *observation, c *victim, srv arangodb.ServerHealth, prev string) bool {
	v := ob.arango
	s := &cl.saga
	dbApp := ob.apps[policy.DBServers]
	w := cl.workers[policy.DBServers]
	st := SagaStatus{Step: StepKilling, Server: c.server, Job: c.job}
	if v.shardsErr != nil {
		st.Detail = "waiting: shard placement unreadable"
		cl.setStep(ob.now, prev, st)
		return true
	}
	if n := v.shardsOn(c.server); n > 0 {
		cl.abort(ob, c, fmt.Sprintf("server holds %d shards again", n))
		s.chosen = nil
		return false
	}
	if dbApp == nil {
		st.Detail = "waiting: the DB-server app is unreadable"
		cl.setStep(ob.now, prev, st)
		return true
	}
	if why := cl.killVerdict(ob, w, dbApp); why != "" {
		cl.abort(ob, c, why)
		s.chosen = nil
		return false
	}
	m := cl.taskFor(ctx, ob, dbApp, srv)
	if !m.ok {
		cl.abort(ob, c, "its Marathon task is not known for sure: "+m.why)
		s.chosen = nil
		return false
	}
	t := m.task
	st.Task = t.ID
	if cl.ctl.cfg.DryRun {
		st.Detail = "dry run: not killing"
		cl.setStep(ob.now, prev, st)
		return true
	}
	cl.sendKill(ctx, ob, c, t.ID, dbApp.Instances)
	st.Detail = "kill sent; checking Marathon's tasks next"
	cl.setStep(ob.now, prev, st)
	return true
}

// sendKill asks Marathon to kill the task and lower the count. An error
// may hide a kill that happened (a lost answer): the next reconcile looks
// at Marathon's tasks either way.
func (cl *cluster) sendKill(ctx context.Context, ob *observation, c *victim, task string, from int) {
	c.task, c.from, c.killed = task, from, ob.now
	if err := cl.marathon.KillTasks(ctx, []string{task}, true); err != nil {
		cl.sourceError("marathon", fmt.Errorf("kill task %s: %w", task, err))
		if w := cl.workers[policy.DBServers]; w != nil {
			w.fail(ob.now, err)
		}
		return
	}
	cl.log.Info("asked Marathon to kill the task of a cleaned-out DB server", "server", c.server, "task", task)
}

// verifyKill checks in Marathon's app that the kill took: the task is gone
// or being killed, and the count is one lower. A 200 alone proves
// nothing: Marathon ignores ids it does not know.
func (cl *cluster) verifyKill(ctx context.Context, ob *observation, c *victim, prev string) bool {
	dbApp := ob.apps[policy.DBServers]
	st := SagaStatus{Step: StepKilling, Server: c.server, Job: c.job, Task: c.task}
	if dbApp == nil {
		st.Detail = "waiting: Marathon app unreadable"
		cl.setStep(ob.now, prev, st)
		return true
	}
	var task *marathon.Task
	for i := range dbApp.Tasks {
		if dbApp.Tasks[i].ID == c.task {
			task = &dbApp.Tasks[i]
		}
	}
	going := task == nil || task.State == "TASK_KILLING" || task.State == "TASK_KILLED"
	lowered := dbApp.Instances <= c.from-1
	switch {
	case going && lowered:
		c.killOK = true
		cl.log.Info("killed the task of a cleaned-out DB server", "server", c.server, "task", c.task)
		if w := cl.workers[policy.DBServers]; w != nil {
			w.recordDone(ob.now, c.from, c.from-1)
		}
		cl.noteNumberOfServers(ctx, policy.DBServers, c.from-1)
		st.Step, st.Detail = StepRemoving, "task killed; waiting for FAILED"
		cl.setStep(ob.now, prev, st)
		return true
	case going:
		// Gone without the count lowered: Marathon will start a
		// replacement, so this scale-down did not happen.
		err := fmt.Errorf("task %s of %s is gone but Marathon kept %d instances", c.task, c.server, dbApp.Instances)
		cl.log.Error("DB-server kill did not lower the count", "server", c.server, "task", c.task, "instances", dbApp.Instances)
		if w := cl.workers[policy.DBServers]; w != nil {
			w.fail(ob.now, err)
		}
		cl.saga.status.Aborted = err.Error()
		cl.saga.chosen = nil
		return false
	case lowered:
		// Marathon's deployment stops the task; sending the kill again
		// would lower the count once more.
		st.Detail = "count lowered; waiting for the task to stop"
		if ob.now.Sub(c.killed) > killVerifyTimeout {
			st.Detail += " (for " + ob.now.Sub(c.killed).Round(time.Second).String() + ")"
		}
	default:
		// Not taken (or its answer was lost before Marathon acted).
		// Sending it again is safe: Marathon lowers the count only for
		// tasks active and not already being killed.
		if why := cl.killVerdict(ob, cl.workers[policy.DBServers], dbApp); why != "" {
			cl.abort(ob, c, why)
			cl.saga.chosen = nil
			return false
		}
		cl.log.Warn("Marathon did not kill the task; sending the kill again", "server", c.server, "task", c.task)
		cl.sendKill(ctx, ob, c, c.task, dbApp.Instances)
		st.Detail = "kill not taken; sent again"
	}
	cl.setStep(ob.now, prev, st)
	return true
}

// removeGone removes a cleaned-out DB server whose task is gone once
// ArangoDB marks it FAILED. It returns true once the server is removed.
func (cl *cluster) removeGone(ctx context.Context, ob *observation, srv arangodb.ServerHealth, prev string) bool {
	st := SagaStatus{Step: StepRemoving, Server: srv.ID}
	if c := cl.saga.chosen; c != nil && c.server == srv.ID {
		st.Job, st.Task = c.job, c.task
	}
	switch {
	case srv.Status != arangodb.StatusFailed:
		st.Detail = "waiting for ArangoDB to mark it FAILED"
	case cl.ctl.cfg.DryRun:
		st.Detail = "dry run: not removing"
	default:
		if err := cl.clients.ArangoDB.RemoveServer(ctx, srv.ID); err != nil {
			cl.sourceError("arangodb", fmt.Errorf("remove server %s: %w", srv.ID, err))
			st.Detail = "remove failed: " + err.Error()
			break
		}
		cl.log.Info("removed cleaned-out DB server", "server", srv.ID)
		cl.ctl.metrics.removedServers.WithLabelValues(cl.name, "dbservers").Inc()
		cl.setStep(ob.now, prev, SagaStatus{Step: StepIdle})
		return true
	}
	cl.setStep(ob.now, prev, st)
	return false
}
