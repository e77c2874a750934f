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

// Where a hold came from (HoldStatus.Source, the hold document's source).
const (
	HoldFromCLI   = "cli"    // arangoscale scale
	HoldFromWebUI = "web_ui" // numberOfServers changed in ArangoDB's web UI
	HoldFromAPI   = "api"    // Controller.Pin, in this process only
)

// HoldStore keeps manual holds where every controller process of a
// cluster sees them; *arangodb.Client is one (a document per role).
type HoldStore interface {
	Hold(ctx context.Context, role string) (arangodb.Hold, bool, error)
	// Holds reads those of several roles at once; a role without a hold
	// is missing from the map.
	Holds(ctx context.Context, roles ...string) (map[string]arangodb.Hold, error)
	PutHold(ctx context.Context, h arangodb.Hold) (arangodb.Hold, error)
	DeleteHold(ctx context.Context, role, rev string) error
}

// HoldStatus is the /status view of one manual hold.
type HoldStatus struct {
	Role   string    `json:"role"`
	Count  int       `json:"count"`
	Until  time.Time `json:"until"`
	SetAt  time.Time `json:"set_at,omitzero"`
	By     string    `json:"by,omitempty"`
	Why    string    `json:"why,omitempty"`
	Source string    `json:"source"`
	// Stored is false for a hold this process keeps in memory only (the
	// store could not be written): a restart drops it.
	Stored bool `json:"stored"`
}

type manualPin struct {
	count           int
	until, setAt    time.Time
	by, why, source string
	rev             string // _rev of the stored hold; "" = in memory only
}

func pinOf(h arangodb.Hold) manualPin {
	return manualPin{count: h.Count, until: h.Until, setAt: h.SetAt, by: h.By, why: h.Why, source: h.Source, rev: h.Rev}
}

func (p manualPin) hold(cluster string, r policy.Role) arangodb.Hold {
	return arangodb.Hold{Cluster: cluster, Role: string(r), Count: p.count, Until: p.until, SetAt: p.setAt, By: p.by, Why: p.why, Source: p.source, Rev: p.rev}
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

// manual pins a role at a count a person asked for, for as long as they
// asked: through `arangoscale scale` (a hold document in the cluster's
// _system database) or through ArangoDB's web UI (which writes
// numberOfServers; the controller then stores the hold the same way, for
// the policy's manual_hold). The stored hold is read on every reconcile, so
// every controller process sees it, a restart keeps it, and
// `scale --release` (which deletes it) ends it at the next reconcile.
//
// A person's web-UI request is a change of numberOfServers to a count the
// controller did not write. Only a change counts: what stands there when a
// controller starts (or a cluster joins the policy) may be a stale count of
// ours — a write that failed, a crash between the Marathon scale and the
// write — so it is overwritten with Marathon's count instead of obeyed.
// Without a hold store (no ArangoDB client) a pin lives in memory only.
func (cl *cluster) manual(ctx context.Context, w *worker, ob *observation, app *marathon.App, c *policy.Constraints) {
	s := &cl.saga
	if s.manual == nil {
		s.manual = map[policy.Role]manualPin{}
		s.seen = map[policy.Role]int{}
	}
	store := cl.clients.Holds
	if store != nil && !cl.readHold(ctx, w.role, ob) {
		// Released early: put Marathon's count back so the old request
		// is not seen again.
		if cl.standby == "" {
			cl.noteNumberOfServers(ctx, w.role, app.Instances)
		}
		return
	}
	if cl.standby != "" {
		// The owner turns web-UI counts into holds and heals
		// numberOfServers (its own writes would look like a person's
		// here); a standby shows the stored holds only.
		if pin, ok := s.manual[w.role]; ok && ob.now.Before(pin.until) {
			c.ManualPin = pin.count
		}
		return
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
		if pin.rev != "" && !cl.ctl.cfg.DryRun { // dry-run changes nothing, not even the store
			// Only the revision we read: a new hold written meanwhile stays.
			if err := store.DeleteHold(ctx, string(w.role), pin.rev); err != nil && !errors.Is(err, arangodb.ErrHoldChanged) {
				cl.sourceError("arangodb", fmt.Errorf("end manual hold: %w", err))
				return // not applied; ended once the store answers
			}
		}
		cl.endHold(w.role, pin, "expired")
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
		pin := manualPin{count: n, until: ob.now.Add(hold), setAt: ob.now, by: "ArangoDB web UI", why: "numberOfServers changed", source: HoldFromWebUI}
		if store != nil && !cl.ctl.cfg.DryRun {
			h, err := store.PutHold(ctx, pin.hold(cl.name, w.role))
			if err != nil {
				// Held in memory all the same; a restart would lose it.
				cl.sourceError("arangodb", fmt.Errorf("store manual hold: %w", err))
			} else {
				pin.rev = h.Rev
			}
		}
		s.manual[w.role] = pin
		cl.holdMetric(w.role, &pin)
		c.ManualPin = n
		cl.log.Info("manual count set in ArangoDB's web UI; holding it", "role", string(w.role), "count", n, "until", pin.until)
		return
	}
	// A stale count (ours, or from before we started): heal it, unless a
	// scale of ours is still on its way (the saga writes after the kill).
	if len(app.Deployments) == 0 && !(w.role == policy.DBServers && cl.sagaBusy(ob.now)) {
		cl.noteNumberOfServers(ctx, w.role, app.Instances)
	}
}

// readHold brings the stored hold of a role into s.manual. It reports
// false when a stored hold we held was deleted (released early). A failed
// read keeps what was known. The first call of a reconcile reads the holds
// of all its roles in one request (ob.holds).
func (cl *cluster) readHold(ctx context.Context, r policy.Role, ob *observation) bool {
	s := &cl.saga
	now := ob.now
	if !ob.holdsRead {
		ob.holdsRead = true
		names := make([]string, 0, len(cl.workers))
		for _, role := range roles {
			if _, ok := cl.workers[role]; ok {
				names = append(names, string(role))
			}
		}
		ob.holds, ob.holdsErr = cl.clients.Holds.Holds(ctx, names...)
		if ob.holdsErr != nil {
			cl.sourceError("arangodb", fmt.Errorf("read manual holds: %w", ob.holdsErr))
		}
	}
	if ob.holdsErr != nil {
		return true
	}
	h, ok := ob.holds[string(r)]
	old, had := s.manual[r]
	if !ok {
		if had && old.rev != "" {
			cl.endHold(r, old, "released")
			return false
		}
		return true
	}
	pin := pinOf(h)
	if !now.Before(pin.until) && cl.ctl.cfg.DryRun && !had {
		// Ended (and said so), but a dry run does not delete it.
		return true
	}
	if (!had || old.rev != pin.rev) && now.Before(pin.until) {
		cl.log.Info("manual hold in force", "role", string(r), "count", pin.count, "until", pin.until,
			"by", pin.by, "why", pin.why, "source", pin.source)
	}
	s.manual[r] = pin
	cl.holdMetric(r, &pin)
	return true
}

// endHold forgets a hold and says so; how is "expired" or "released".
func (cl *cluster) endHold(r policy.Role, pin manualPin, how string) {
	delete(cl.saga.manual, r)
	cl.holdMetric(r, nil)
	msg := "manual hold expired; the policy decides again"
	if how == "released" {
		msg = "manual hold released before its end; the policy decides again"
	}
	cl.log.Info(msg, "role", string(r), "count", pin.count, "until", pin.until, "by", pin.by, "source", pin.source)
}

// holdMetric sets (pin != nil) or removes the role's hold series.
func (cl *cluster) holdMetric(r policy.Role, pin *manualPin) {
	if pin == nil {
		cl.ctl.metrics.holdUntil.DeleteLabelValues(cl.name, string(r))
		cl.ctl.metrics.holdCount.DeleteLabelValues(cl.name, string(r))
		return
	}
	cl.ctl.metrics.holdUntil.WithLabelValues(cl.name, string(r)).Set(float64(pin.until.UnixNano()) / 1e9)
	cl.ctl.metrics.holdCount.WithLabelValues(cl.name, string(r)).Set(float64(pin.count))
}

// holds is the /status view of the cluster's holds; the caller holds cl.mu.
func (cl *cluster) holds() []HoldStatus {
	out := []HoldStatus{}
	for _, r := range roles {
		if p, ok := cl.saga.manual[r]; ok {
			out = append(out, HoldStatus{Role: string(r), Count: p.count, Until: p.until, SetAt: p.setAt, By: p.by, Why: p.why, Source: p.source, Stored: p.rev != ""})
		}
	}
	return out
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
	pin := manualPin{count: n, until: until, setAt: c.cfg.Clock.Now(), source: HoldFromAPI}
	cl.saga.manual[r] = pin
	cl.holdMetric(r, &pin)
	return nil
}
