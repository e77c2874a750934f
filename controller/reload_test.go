package controller_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

func (h *harness) policy(mutate func(string) string) *policy.Config {
	h.t.Helper()
	var buf bytes.Buffer
	if err := testPolicy.Execute(&buf, map[string]any{"Name": "prod", "URL": h.world.ArangoURL("prod"), "Paused": false, "DBPaused": false, "DBMin": 3}); err != nil {
		h.t.Fatal(err)
	}
	p, err := policy.Load("test.yaml", []byte(mutate(buf.String())))
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// TestPolicySwapKeepsHistory: a reload that keeps the cluster keeps its
// cooldowns, so a scale-up right before the reload still holds back the
// next action.
func TestPolicySwapKeepsHistory(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.run(time.Minute)
	h.setRPS(5000) // wants far more coordinators than one step gives
	h.runUntil(time.Minute, "first scale-up", func(s sim.ClusterState) bool { return s.Coordinators.Target > 2 })
	first := h.state().Coordinators.Target
	// Raise max and lengthen the up cooldown to 5m: the history of the
	// scale just made must survive the swap.
	if err := h.ctl.SetPolicy(h.policy(func(s string) string {
		s = strings.Replace(s, "max: 10", "max: 12", 1)
		return strings.Replace(s, "cooldown: {up: 1m, down: 3m}", "cooldown: {up: 5m, down: 3m}", 1)
	})); err != nil {
		t.Fatal(err)
	}
	h.run(4 * time.Minute)
	if got := h.state().Coordinators.Target; got != first {
		t.Fatalf("scaled %d → %d inside the 5m cooldown kept across the reload", first, got)
	}
	if rs := h.role("coordinators"); !contains(rs.Blocked, "cooldown") {
		t.Fatalf("blocked %v lacks cooldown", rs.Blocked)
	}
	if rs := h.role("coordinators"); rs.Max != 12 {
		t.Fatalf("new max not in force: %d", rs.Max)
	}
}

// TestPolicyRemovesAndReaddsCluster: a cluster dropped from the policy is
// no longer touched and its metric series go; added back, it is managed
// again.
func TestPolicyRemovesAndReaddsCluster(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.run(time.Minute)
	if err := h.ctl.SetPolicy(&policy.Config{}); err != nil {
		t.Fatal(err)
	}
	before := h.proxy.count(http.MethodGet, "/v2/apps")
	h.setRPS(5000)
	h.run(2 * time.Minute)
	if n := h.proxy.count(http.MethodGet, "/v2/apps") - before; n != 0 {
		t.Fatalf("a removed cluster was still observed (%d app reads)", n)
	}
	if got := len(h.ctl.Status().Clusters); got != 0 {
		t.Fatalf("status lists %d clusters after removal", got)
	}
	if got := h.metric("arangoscale_instances", map[string]string{"cluster": "prod"}); got != 0 {
		t.Fatalf("series of the removed cluster remain: %v", got)
	}
	if err := h.ctl.SetPolicy(h.policy(func(s string) string { return s })); err != nil {
		t.Fatal(err)
	}
	h.runUntil(3*time.Minute, "managed again", func(s sim.ClusterState) bool { return s.Coordinators.Target > 2 })
}
