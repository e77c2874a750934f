package controller

import (
	"fmt"
	"slices"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/policy"
)

// reportForeign reports the DB servers in cleanedServers that no
// scale-down of this controller chose: in /status, once in the log, and in
// arangoscale_foreign_cleaned_servers. They are never acted on here.
func (cl *cluster) reportForeign(v *arangoView) {
	s := &cl.saga
	if v.nosErr != nil {
		return
	}
	if s.reported == nil {
		s.reported = map[string]bool{}
	}
	var foreign []string
	for _, srv := range v.health {
		if srv.Role != arangodb.RoleDBServer || !v.cleaned(srv.ID) {
			continue
		}
		if c := s.chosen; c != nil && c.server == srv.ID {
			continue
		}
		foreign = append(foreign, srv.ID)
		if !s.reported[srv.ID] {
			s.reported[srv.ID] = true
			cl.log.Warn("DB server is cleaned out but no scale-down of this controller chose it; not killing it",
				"server", srv.ID, "server_status", srv.Status, "shards", v.shardsOn(srv.ID))
		}
	}
	for id := range s.reported {
		if !slices.Contains(foreign, id) {
			delete(s.reported, id)
		}
	}
	s.status.ForeignCleaned = foreign
	cl.ctl.metrics.foreignCleaned.WithLabelValues(cl.name).Set(float64(len(foreign)))
}

// killVerdict re-decides a DB-server scale-down with the policy in force
// now: "" when one server fewer is still allowed, else why not. The
// metrics decided when the clean-out started; what may have changed since
// is the policy itself (a reload), a pause, min, a schedule floor, the
// replication floor, a manual hold, or load that now asks for more.
func (cl *cluster) killVerdict(ob *observation, w *worker, app *marathon.App) string {
	switch {
	case w == nil || w.rp == nil:
		return "the policy has no DB-server role any more"
	case app == nil:
		return "the DB-server app is unreadable"
	}
	rp := w.rp
	n := app.Instances - 1
	if rp.Paused || app.Labels[PausedLabel] == "true" {
		return "the DB-server role is paused"
	}
	if n < rp.Min {
		return fmt.Sprintf("min is %d; %d DB servers would be below it", rp.Min, n)
	}
	if f := policy.ScheduleFloor(rp, ob.now); f > n && (rp.Max <= 0 || n < rp.Max) {
		return fmt.Sprintf("a schedule floor of %d is active", f)
	}
	if v := ob.arango; v != nil && v.shardsErr == nil {
		if f := max(v.shards.MaxReplicationFactor, v.shards.MaxWriteConcern); f > n {
			return fmt.Sprintf("the replication floor is %d", f)
		}
	}
	if pin, ok := cl.saga.manual[policy.DBServers]; ok && ob.now.Before(pin.until) && pin.count > n {
		return fmt.Sprintf("a manual hold at %d", pin.count)
	}
	for _, m := range w.rec.Metrics {
		if !m.Missing && m.Desired > w.obs.Target && w.obs.Target == app.Instances {
			return fmt.Sprintf("%s now asks for %d DB servers", m.Key, m.Desired)
		}
	}
	return ""
}
