package controller_test

import (
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// TestVictimServingAgainEndsRemoval: after the kill of a cleaned-out DB
// server, Marathon starts a task on the port the victim freed (here an
// operator's scale back up); the emulated ArangoDB takes it for the victim
// (same endpoint), which so turns GOOD again and never FAILED. The saga
// gives up the removal instead of holding the DB-server role for good, and
// more load scales DB servers up again. (Found by the chaos run of seed
// 760: a crashed DB server relaunched on the victim's port.)
func TestVictimServingAgainEndsRemoval(t *testing.T) {
	p := sim.DefaultParams()
	p.Arango.FailAfter = 10 * time.Minute // the victim stays BAD, not FAILED, meanwhile
	spec := &sim.ClusterSpec{Name: "prod", Coordinators: 2, DBServers: 4, Collections: []arango.CollectionSpec{
		{Database: "_system", Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 6 << 30},
	}}
	h := newHarness(t, harnessOpts{spec: spec, params: &p})
	h.setRPS(600)
	h.runUntil(15*time.Minute, "the victim's kill", func(sim.ClusterState) bool { return h.saga().Step == controller.StepRemoving })
	victim := h.saga().Server
	ac := h.world.ArangoDB("prod")
	if _, err := h.world.Marathon().Scale(sim.DBServerApp("prod"), 4); err != nil {
		t.Fatal(err)
	}
	h.runUntil(2*time.Minute, "the victim GOOD again", func(sim.ClusterState) bool {
		for _, s := range ac.Servers() {
			if s.ID == victim {
				return s.Status == arango.StatusGood
			}
		}
		return false
	})
	h.runUntil(time.Minute, "the removal given up", func(sim.ClusterState) bool { return h.saga().Step != controller.StepRemoving })
	if sg := h.saga(); sg.Step != controller.StepIdle || !strings.Contains(sg.Aborted, "serves again") {
		t.Fatalf("saga %+v", sg)
	}
	h.setRPS(6000)
	h.runUntil(15*time.Minute, "a DB-server scale-up", func(s sim.ClusterState) bool { return s.DBServers.Target > 4 })
}
