package chaos

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim/fault"
)

// Regression: a scale the controller attempted but Marathon refused used
// to leave its count in ArangoDB's numberOfServers (written before the
// Marathon call); a restarted controller took that count for an
// operator's change made in the web UI and pinned the role there for
// manual_hold (1 h), against the policy: it scaled coordinators up to 4
// under light load and kept them there. The test skips, naming the bug,
// if that comes back.
func TestControllerBug_RefusedScaleBecomesManualPinAfterRestart(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 21, alphaLoad: 4500})
	e.add(t, fault.Rule{Name: "409", Service: "marathon", Method: http.MethodPut, Path: "/v2/apps" + coordApp, Action: fault.Conflict})
	e.runUntil(t, time.Minute, "a refused scale", func() bool { return len(e.scales(coordApp, false)) > 0 })
	e.inj.ClearRules()
	e.setLoad(alpha, 400) // the policy's answer is now 2, where alpha is
	e.restart("after a refused scale")
	n := e.settleFixed()
	rs, _ := e.status(t, policy.Coordinators)
	if n < 0 && contains(rs.Reasons, "manual_override") {
		t.Fatalf("controller bug: a count the controller wrote to ArangoDB numberOfServers before a scale Marathon refused "+
			"is taken, after a restart, for an operator's manual change: coordinators pinned at %d (target %d) under %v rps "+
			"for manual_hold; violations %s", rs.Desired, e.app(coordApp).Instances, e.loadOf(alpha), strings.Join(e.chk.Violations(), "; "))
	}
	if n < 0 {
		t.Fatalf("not converged: %v", e.chk.Violations())
	}
}

// Regression, the same stale count from a failed write: the schedule floor
// raised coordinators to 4 while ArangoDB was unreachable, so writing 4 to
// numberOfServers failed and 3 stayed there. When ArangoDB answered again
// the controller took 3 for an operator's change, pinned the role at 3 and
// scaled below the schedule floor 4, holding it for manual_hold.
func TestControllerBug_FailedCountWriteBecomesManualPin(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 132, alphaLoad: 1500})
	e.add(t, fault.Rule{Name: "down", Service: "arangodb:" + alpha, Action: fault.Unavailable,
		From: epoch.Add(5 * time.Minute), Until: epoch.Add(15 * time.Minute)})
	e.run(20 * time.Minute) // the floor of 4 holds from 10:10 to 10:20
	rs, _ := e.status(t, policy.Coordinators)
	if v := e.chk.Violations(); len(v) > 0 && contains(rs.Reasons, "manual_override") {
		t.Fatalf("controller bug: after a failed numberOfServers write the stale count is taken for an operator's pin: "+
			"coordinators %d (pinned %d) inside the schedule floor 4; violations %s", e.app(coordApp).Instances, rs.Desired, strings.Join(v, "; "))
	}
	e.convergeAfterFaults(t)
}

// Regression: ArangoDB becomes unreachable right after the controller
// scaled coordinators 2 → 3 and wrote 3 to numberOfServers, so it never
// read its own 3 back; during the outage the schedule floor raises
// coordinators to 4 and writing 4 fails. When ArangoDB answered again, 3
// differed from the last count read (unset) and from the last count
// written (4, although that write failed), so it was taken for an
// operator's change: the role was pinned at 3 and scaled below the
// schedule floor 4 for manual_hold.
func TestControllerBug_OwnCountUnreadBeforeOutageBecomesManualPin(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 31, alphaLoad: 1500})
	e.runUntil(t, 2*time.Minute, "the scale to 3", func() bool { return len(e.scales(coordApp, false)) > 0 })
	e.add(t, fault.Rule{Name: "down", Service: "arangodb:" + alpha, Action: fault.Unavailable,
		Until: epoch.Add(12*time.Minute + 20*time.Second)})
	e.run(epoch.Add(20 * time.Minute).Sub(e.clk.Now())) // the floor of 4 holds from 10:10 to 10:20
	rs, _ := e.status(t, policy.Coordinators)
	if v := e.chk.Violations(); len(v) > 0 && len(e.pins) > 0 {
		t.Fatalf("controller bug: its own numberOfServers count, written just before ArangoDB became unreachable and never "+
			"read back, is taken for an operator's pin once ArangoDB answers (the failed write of the schedule floor's 4 "+
			"is remembered as written): %s; coordinators %d, pinned %d; violations %s",
			strings.Join(e.pins, "; "), e.app(coordApp).Instances, rs.Desired, strings.Join(v, "; "))
	}
	e.convergeAfterFaults(t)
}
