package controller_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// fourDBServers is a cluster one DB server above its minimum, holding
// collections with replication factors 1, 2 and 3.
func fourDBServers() *sim.ClusterSpec {
	return &sim.ClusterSpec{
		Name: "prod", Coordinators: 2, DBServers: 4,
		Collections: []arango.CollectionSpec{
			{Database: "_system", Name: "sessions", NumberOfShards: 4, ReplicationFactor: 1, WriteConcern: 1, SizeBytes: 2 << 30},
			{Database: "_system", Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 6 << 30},
			{Database: "_system", Name: "users", NumberOfShards: 3, ReplicationFactor: 3, WriteConcern: 2, SizeBytes: 3 << 30},
		},
	}
}

func (h *harness) saga() controller.SagaStatus {
	return h.ctl.Status().Clusters[0].Saga
}

// TestSagaSurvivesRestartAtEveryStep restarts the controller before every
// reconcile while a DB server is scaled down: each new process finds where
// the saga stands in ArangoDB and Marathon and carries it on, and no shard
// (replication factor 1, 2 or 3) is lost. A process that finds a server
// cleaned out by a scale-down it did not choose kills it only once its own
// policy wants a scale-down (a full stabilization window after its
// start) and it re-decides at its next reconcile; there it runs without
// restarts.
func TestSagaSurvivesRestartAtEveryStep(t *testing.T) {
	h := newHarness(t, harnessOpts{spec: fourDBServers()})
	h.setRPS(600)
	// A new process waits a full stabilization window before it scales
	// down, so the saga is started by one that ran long enough…
	h.runUntil(10*time.Minute, "a clean-out", func(sim.ClusterState) bool { return h.saga().Step != controller.StepIdle })
	steps := map[string]bool{h.saga().Step: true}
	// … and from then on every reconcile in the saga is done by a new process.
	restarts := 0
	for i := 0; i < 120; i++ {
		sg := h.saga()
		waiting := (sg.Step == controller.StepIdle && len(sg.ForeignCleaned) > 0) ||
			(sg.Step == controller.StepKilling && sg.Task == "") // chosen, kill not yet decided
		if !waiting {
			h.start(harnessOpts{}) // empty memory, fresh registry
			restarts++
		}
		h.run(step)
		steps[h.saga().Step] = true
		st := h.state()
		if st.DBServers.Target < 3 {
			t.Fatalf("DB servers at %d, below min 3", st.DBServers.Target)
		}
		// A process that never saw the job ID starts no second clean-out:
		// the moving shards make the cluster unsafe to shrink.
		if running := h.world.ArangoDB("prod").RunningCleanOuts(); len(running) > 1 {
			t.Fatalf("%d clean-outs at once: %v", len(running), running)
		}
		if st.DBServers.Target == 3 && st.DBServers.Running == 3 && h.saga().Step == controller.StepIdle && noFailedDBServer(h) {
			break
		}
	}
	if restarts < 5 {
		t.Errorf("only %d restarts", restarts)
	}
	st := h.state()
	if st.DBServers.Target != 3 || st.DBServers.Running != 3 {
		t.Fatalf("scale-down did not finish across restarts: %+v, saga %+v", st, h.saga())
	}
	for _, s := range []string{controller.StepCleaningOut, controller.StepKilling} {
		if !steps[s] {
			t.Errorf("saga never seen at %s (seen %v)", s, steps)
		}
	}
	if !noFailedDBServer(h) {
		t.Errorf("a DB server was left FAILED: %+v", h.world.ArangoDB("prod").Servers())
	}
	if n := len(h.world.ArangoDB("prod").Servers()); n == 0 {
		t.Fatal("no servers")
	}
}

func noFailedDBServer(h *harness) bool {
	n := 0
	for _, s := range h.world.ArangoDB("prod").Servers() {
		if s.Role == arango.DBServer {
			if s.Status != arango.StatusGood {
				return false
			}
			n++
		}
	}
	return n == 3
}

// TestScaleDownRefusedWhileAServerIsDown: a coordinator that is not GOOD
// makes the cluster unsafe to shrink; the reason is reported and nothing is
// cleaned out.
func TestScaleDownRefusedWhileAServerIsDown(t *testing.T) {
	p := sim.DefaultParams()
	p.Arango.FailAfter = 3 * time.Minute // the failed coordinator stays BAD a while
	h := newHarness(t, harnessOpts{spec: fourDBServers(), params: &p})
	h.setRPS(600)
	h.run(165 * time.Second) // window and cooldown (3m from the apps' last scale) nearly over
	tasks := h.world.Marathon().Tasks(sim.CoordinatorApp("prod"))
	if err := h.world.Marathon().FailTask(tasks[0].ID); err != nil {
		t.Fatal(err)
	}
	failedAt := h.clk.Now()
	refused := false
	for range 8 {
		h.run(step)
		if !noServerDown(h) {
			if s := h.saga(); s.Step != controller.StepIdle && s.Since.After(failedAt) {
				t.Fatalf("a clean-out started while a server was down: %+v", s)
			}
			if rs := h.role("dbservers"); contains(rs.Blocked, "unsafe_cluster") && strings.Contains(h.saga().Unsafe, "server ") {
				refused = true
			}
		}
	}
	if !refused {
		t.Fatalf("scale-down never refused as unsafe while a coordinator was down (saga %+v)", h.saga())
	}
	// Once Marathon replaced it and the stale server is gone, the
	// scale-down goes ahead.
	h.runUntil(10*time.Minute, "scale-down after recovery", func(s sim.ClusterState) bool { return s.DBServers.Target == 3 })
}

func noServerDown(h *harness) bool {
	for _, s := range h.world.ArangoDB("prod").Servers() {
		if s.Status != arango.StatusGood {
			return false
		}
	}
	return true
}

// TestReplicationFloorHoldsDBServers: with a replicationFactor 3
// collection, three DB servers stay even when the policy's min is 1.
func TestReplicationFloorHoldsDBServers(t *testing.T) {
	spec := fourDBServers()
	spec.DBServers = 3
	h := newHarness(t, harnessOpts{spec: spec, dbMin: 1})
	h.setRPS(300)
	h.run(10 * time.Minute)
	if got := h.state().DBServers.Target; got != 3 {
		t.Fatalf("DB servers at %d under the replication floor 3", got)
	}
	if rs := h.role("dbservers"); !contains(rs.Blocked, "replication_floor") {
		t.Fatalf("blocked %v lacks replication_floor", rs.Blocked)
	}
}

// TestRebalanceAfterScaleUp: a new DB server joins empty; the controller
// starts a rebalance and holds the role until it is done.
func TestRebalanceAfterScaleUp(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.setRPS(4000)
	h.runUntil(20*time.Minute, "a fourth DB server", func(s sim.ClusterState) bool { return s.DBServers.Healthy >= 4 })
	h.runUntil(10*time.Minute, "shards on every DB server", func(sim.ClusterState) bool {
		counts := h.world.ArangoDB("prod").ShardCounts()
		lo, hi := 1<<30, 0
		for _, n := range counts {
			lo, hi = min(lo, n), max(hi, n)
		}
		return len(counts) >= 4 && lo > 0 && hi-lo <= 2
	})
	if got := h.metric("arangoscale_saga_step", map[string]string{"step": "rebalancing"}) +
		h.metric("arangoscale_saga_step", map[string]string{"step": "idle"}); got != 1 {
		t.Fatalf("saga step gauge inconsistent: %v", got)
	}
}

// TestScaleUpDuringRebalance: a rebalance onto a new DB server holds
// scale-downs only; when the load outgrows the last scale-up, another DB
// server is added while the shards are still moving.
func TestScaleUpDuringRebalance(t *testing.T) {
	p := sim.DefaultParams()
	p.Arango.CleanOutBytesPerSecond = 2 << 20 // gigabytes to move: the rebalance runs for an hour
	h := newHarness(t, harnessOpts{params: &p})
	h.setRPS(4000)
	h.runUntil(20*time.Minute, "a rebalance onto a new DB server", func(sim.ClusterState) bool {
		return h.saga().Step == controller.StepRebalancing
	})
	n := h.state().DBServers.Target
	h.setRPS(12000)
	h.runUntil(10*time.Minute, "a scale-up while rebalancing", func(s sim.ClusterState) bool {
		if h.saga().Step != controller.StepRebalancing {
			t.Fatalf("the rebalance ended before the test could see a scale-up during it (saga %+v)", h.saga())
		}
		return s.DBServers.Target > n
	})
	if h.world.ArangoDB("prod").Losses() != nil {
		t.Fatalf("shards lost: %v", h.world.ArangoDB("prod").Losses())
	}
}

// TestManualCountFromWebUI: a count written to numberOfServers by a
// person (ArangoDB's web UI) pins the role for manual_hold, then the policy
// decides again.
func TestManualCountFromWebUI(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.setRPS(600)
	h.run(time.Minute)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPut,
		h.world.ArangoURL("prod")+"/_admin/cluster/numberOfServers", strings.NewReader(`{"numberOfCoordinators":5}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT numberOfServers: %d", resp.StatusCode)
	}
	h.run(step)
	if got := h.state().Coordinators.Target; got != 5 {
		t.Fatalf("coordinators at %d, want the manual 5", got)
	}
	if rs := h.role("coordinators"); !contains(rs.Reasons, "manual_override") {
		t.Fatalf("reasons %v lack manual_override", rs.Reasons)
	}
	h.run(9 * time.Minute)
	if got := h.state().Coordinators.Target; got != 5 {
		t.Fatalf("manual count released early: %d", got)
	}
	h.runUntil(20*time.Minute, "policy decides again after the hold", func(s sim.ClusterState) bool {
		return s.Coordinators.Target == 2
	})
}

// TestRestartDuringLongCleanOutStartsNoSecond: a restart forgets the job
// ID of a clean-out that runs for hours. The new process, whose policy
// soon wants a scale-down again, sees the moving shards (Plan and Current
// differ), calls the cluster unsafe and starts no second clean-out.
func TestRestartDuringLongCleanOutStartsNoSecond(t *testing.T) {
	p := sim.DefaultParams()
	p.Arango.CleanOutBytesPerSecond = 1 << 20 // gigabytes to move: hours
	h := newHarness(t, harnessOpts{spec: fourDBServers(), params: &p})
	h.setRPS(300)
	h.runUntil(10*time.Minute, "a clean-out", func(sim.ClusterState) bool { return h.saga().Step == controller.StepCleaningOut })
	h.start(harnessOpts{}) // the job ID is gone with the old process
	h.run(15 * time.Minute)
	if running := h.world.ArangoDB("prod").RunningCleanOuts(); len(running) != 1 {
		t.Fatalf("clean-outs running: %v, want the first one only", running)
	}
	if sg := h.saga(); !strings.Contains(sg.Unsafe, "out of sync") {
		t.Fatalf("saga %+v: the running clean-out is not seen as unsafe", sg)
	}
	if got := h.state().DBServers.Target; got != 4 {
		t.Fatalf("DB servers at %d during the clean-out", got)
	}
}

// TestScaleDownRefusedWhenDiskWouldFill: with DB servers that read only
// cpu (from Mesos), their metrics are not scraped each interval; right
// before a clean-out their disk usage is read, and a scale-down that would
// fill the remaining servers past the headroom is refused.
func TestScaleDownRefusedWhenDiskWouldFill(t *testing.T) {
	p := sim.DefaultParams()
	// 23 GiB of shard data (replicas counted) on four 8 GiB servers: 72 %
	// full, 96 % on three.
	p.Arango.DiskBytesPerDBServer = 8 << 30
	h := newHarness(t, harnessOpts{spec: fourDBServers(), params: &p, arangoProxy: true})
	h.setRPS(600)
	h.run(time.Minute)
	before := h.arango.count(http.MethodGet, "/_admin/metrics/v2")
	h.run(time.Minute)
	// Only the two coordinators (requests_per_second) are scraped.
	if n := h.arango.count(http.MethodGet, "/_admin/metrics/v2") - before; n != 2*4 {
		t.Fatalf("%d metrics scrapes in 4 intervals, want 8 (the coordinators')", n)
	}
	h.runUntil(5*time.Minute, "a refused scale-down", func(sim.ClusterState) bool { return h.saga().Refused != "" })
	if r := h.saga().Refused; !strings.Contains(r, "remaining DB servers would be 96% full") {
		t.Fatalf("refused: %q", r)
	}
	if rs := h.role("dbservers"); !contains(rs.Blocked, "unsafe_cluster") {
		t.Fatalf("blocked %v", rs.Blocked)
	}
	h.run(10 * time.Minute)
	if s := h.saga(); s.Step != controller.StepIdle || h.state().DBServers.Target != 4 {
		t.Fatalf("saga %+v, %d DB servers", s, h.state().DBServers.Target)
	}
}
