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

// kills counts the kill requests the controller sent to Marathon.
func (h *harness) kills() int { return h.proxy.count(http.MethodPost, "/v2/tasks/delete") }

// operatorCleanOut starts a cleanOutServer job the way an operator would,
// straight at the coordinator.
func (h *harness) operatorCleanOut(server string) {
	h.t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost,
		h.world.ArangoURL("prod")+"/_admin/cluster/cleanOutServer", strings.NewReader(`{"server":"`+server+`"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		h.t.Fatalf("cleanOutServer: %d", resp.StatusCode)
	}
}

// TestOperatorCleanOutAtMinKillsNothing: an operator's own cleanOutServer
// at min 3 does not take the DB servers to 2. The cleaned-out server is
// reported, never killed.
func TestOperatorCleanOutAtMinKillsNothing(t *testing.T) {
	h := newHarness(t, harnessOpts{}) // 3 DB servers, min 3
	h.setRPS(600)
	h.run(time.Minute)
	var victim string
	for _, s := range h.world.ArangoDB("prod").Servers() {
		if s.Role == arango.DBServer {
			victim = s.ID
		}
	}
	h.operatorCleanOut(victim)
	h.runUntil(10*time.Minute, "the operator's clean-out reported", func(sim.ClusterState) bool {
		return len(h.saga().ForeignCleaned) == 1
	})
	h.run(15 * time.Minute)
	if got := h.state().DBServers.Target; got != 3 {
		t.Fatalf("DB servers at %d after an operator's clean-out at min 3", got)
	}
	if n := h.kills(); n != 0 {
		t.Fatalf("%d kills", n)
	}
	if sg := h.saga(); len(sg.ForeignCleaned) != 1 || sg.ForeignCleaned[0] != victim {
		t.Fatalf("foreign cleaned %v, want [%s]", sg.ForeignCleaned, victim)
	}
	if got := h.metric("arangoscale_foreign_cleaned_servers", map[string]string{"cluster": "prod"}); got != 1 {
		t.Fatalf("arangoscale_foreign_cleaned_servers = %v", got)
	}
}

// cleanOutUnderWay runs a four-DB-server cluster at low load until the
// controller's own clean-out is running.
func cleanOutUnderWay(t *testing.T) *harness {
	h := newHarness(t, harnessOpts{spec: fourDBServers()})
	h.setRPS(600)
	h.runUntil(10*time.Minute, "a clean-out", func(sim.ClusterState) bool { return h.saga().Step == controller.StepCleaningOut })
	h.run(step) // still moving: the clean-out takes minutes
	if h.saga().Step != controller.StepCleaningOut {
		t.Fatalf("clean-out over too soon: %+v", h.saga())
	}
	return h
}

// TestMinRaisedDuringCleanOutKeepsTheServer: raising min to 4 while the
// controller cleans out one of four DB servers ends at 4, nothing killed.
func TestMinRaisedDuringCleanOutKeepsTheServer(t *testing.T) {
	h := cleanOutUnderWay(t)
	h.reload(harnessOpts{dbMin: 4})
	h.runUntil(5*time.Minute, "the scale-down aborted", func(sim.ClusterState) bool { return h.saga().Step == controller.StepIdle })
	h.run(15 * time.Minute)
	if got := h.state().DBServers.Target; got != 4 {
		t.Fatalf("DB servers at %d after min was raised to 4 during the clean-out", got)
	}
	if n := h.kills(); n != 0 {
		t.Fatalf("%d kills", n)
	}
	if sg := h.saga(); !strings.Contains(sg.Aborted, "min is 4") {
		t.Fatalf("saga %+v: no abort reason naming min", sg)
	}
	if got := h.metric("arangoscale_cleanout_jobs_total", map[string]string{"result": "aborted"}); got != 1 {
		t.Fatalf("aborted clean-outs %v", got)
	}
}

// TestPauseDuringCleanOutKillsNothing: pausing the role while its
// clean-out runs kills nothing and keeps the count.
func TestPauseDuringCleanOutKillsNothing(t *testing.T) {
	h := cleanOutUnderWay(t)
	h.reload(harnessOpts{dbPaused: true})
	h.run(20 * time.Minute)
	if got := h.state().DBServers.Target; got != 4 {
		t.Fatalf("DB servers at %d after a pause during the clean-out", got)
	}
	if n := h.kills(); n != 0 {
		t.Fatalf("%d kills while paused", n)
	}
	if sg := h.saga(); sg.Step != controller.StepIdle || !strings.Contains(sg.Aborted, "paused") {
		t.Fatalf("saga %+v, want idle and aborted because paused", sg)
	}
}

// TestKillIsVerifiedInMarathon: a 200 to the kill that Marathon did not act
// on (as it answers for a task id it does not know) is not taken for a
// kill: the saga sees the task still running and the count unchanged, and
// sends the kill again.
func TestKillIsVerifiedInMarathon(t *testing.T) {
	h := newHarness(t, harnessOpts{spec: fourDBServers()})
	h.setRPS(600)
	swallowed := 0
	h.proxy.set(func(r *http.Request) (int, string, bool) {
		if r.Method == http.MethodPost && r.URL.Path == "/v2/tasks/delete" && swallowed == 0 {
			swallowed++
			return http.StatusOK, `{"version":"2026-03-02T10:00:00.000Z","deploymentId":"5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"}`, true
		}
		return 0, "", false
	})
	h.runUntil(20*time.Minute, "the first kill", func(sim.ClusterState) bool { return h.kills() == 1 })
	if got := h.state().DBServers.Target; got != 4 {
		t.Fatalf("DB servers at %d after a kill Marathon ignored", got)
	}
	if got := h.actions("dbservers", "down", "success"); got != 0 {
		t.Fatalf("a kill Marathon ignored counted as a successful scale-down (%v)", got)
	}
	h.runUntil(5*time.Minute, "the scale-down done", func(s sim.ClusterState) bool {
		return s.DBServers.Target == 3 && h.saga().Step == controller.StepIdle
	})
	if n := h.kills(); n != 2 {
		t.Fatalf("%d kills, want the ignored one and one more", n)
	}
	if got := h.actions("dbservers", "down", "success"); got != 1 {
		t.Fatalf("successful DB-server scale-downs %v, want 1", got)
	}
}
