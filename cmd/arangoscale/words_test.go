package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

// decisionLines are the "scale decision" log lines of one role.
func decisionLines(log, role string) []string {
	var out []string
	for l := range strings.Lines(log) {
		if strings.Contains(l, `msg="scale decision"`) && strings.Contains(l, "role="+role) {
			out = append(out, l)
		}
	}
	return out
}

// TestScaleDownWords: a coordinator scale-down that went through says why
// it moved apart from what held it back, and the removal of the instance
// just scaled away from ArangoDB's list says so rather than "stale".
func TestScaleDownWords(t *testing.T) {
	r := newScaleRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := manualScale(ctx, r.setup(), r.pol, scaleOptions{cluster: "prod", role: policy.Coordinators, to: 4, wait: true}, r.step, &out); err != nil {
		t.Fatalf("scale: %v\n%s", err, out.String())
	}
	if err := manualScale(ctx, r.setup(), r.pol, scaleOptions{cluster: "prod", role: policy.Coordinators, release: true}, r.step, &out); err != nil {
		t.Fatal(err)
	}
	r.run(ctx, 30*time.Minute)
	log := r.log.String()
	var downs []string
	for _, l := range decisionLines(log, "coordinators") {
		if strings.Contains(l, "direction=down") && strings.Contains(l, "result=success") {
			downs = append(downs, l)
		}
	}
	if len(downs) == 0 {
		t.Fatalf("no coordinator scale-down after the release:\n%s", log)
	}
	for _, l := range downs {
		if !strings.Contains(l, "why=[metrics]") || !strings.Contains(l, "held_back=[]") {
			t.Errorf("scale-down line mixes why and what held back: %s", l)
		}
	}
	if strings.Contains(log, "removed stale FAILED server") || !strings.Contains(log, "removed the server of the instance just scaled away") {
		t.Errorf("removal after our own scale-down not worded as such:\n%s", log)
	}
}

// TestDryRunLogsChangesOnly: the same would-be decision is logged once,
// not every interval.
func TestDryRunLogsChangesOnly(t *testing.T) {
	r := newScaleRig(t)
	r.world.SetLoad("prod", sim.Constant(6000))
	r.restart(dryRun)
	r.run(context.Background(), 10*time.Minute)
	lines := decisionLines(r.log.String(), "coordinators")
	if len(lines) == 0 || len(lines) > 3 {
		t.Fatalf("%d dry-run decision lines in 40 intervals, want the changes only:\n%s", len(lines), strings.Join(lines, ""))
	}
}

// TestBadPolicyAtStartIsRejected: a bad policy at start is reported as
// rejected with nothing to keep, and run exits 1.
func TestBadPolicyAtStartIsRejected(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(p, []byte("clusters: [{name: x}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ARANGOSCALE_POLICY_FILE", p)
	t.Setenv("ARANGOSCALE_LOG_FORMAT", "text")
	t.Setenv("ARANGOSCALE_ADMIN_OPEN", "true")
	var stderr bytes.Buffer
	if code := runController(context.Background(), &stderr, runHooks{}); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "keeping the previous policy") || !strings.Contains(s, "no previous policy to keep") {
		t.Fatalf("start with a bad policy:\n%s", s)
	}
}

// TestDryRunLeavesHoldStore: a dry-run controller applies and ends a hold
// in its own view but never deletes it, and says it ended once.
func TestDryRunLeavesHoldStore(t *testing.T) {
	r := newScaleRig(t)
	r.restart(dryRun)
	ctx := context.Background()
	var out bytes.Buffer
	if err := manualScale(ctx, r.setup(), r.pol, scaleOptions{cluster: "prod", role: policy.Coordinators, to: 5, hold: 5 * time.Minute}, r.step, &out); err != nil {
		t.Fatal(err)
	}
	r.run(ctx, 15*time.Minute)
	if n := strings.Count(r.log.String(), "manual hold expired"); n != 1 {
		t.Errorf("%d expiry lines, want 1:\n%s", n, r.log.String())
	}
	store, err := r.setup().HoldStore(r.pol.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.Hold(ctx, "coordinators"); !ok || err != nil {
		t.Errorf("dry run deleted the hold document: %v %v", ok, err)
	}
	if got := r.world.State("prod").Coordinators.Target; got != 2 {
		t.Errorf("dry run changed Marathon: %d coordinators", got)
	}
}

// dryRun makes a restarted rig controller decide and change nothing.
func dryRun(s *controller.Setup) { s.DryRun = true }
