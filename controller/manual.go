package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/policy"
)

type manualPin struct {
	count int
	until time.Time
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
