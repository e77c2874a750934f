package ha_test

import (
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
)

// TestOwnerKilledMidCleanOut: the owner dies (cut off, never stepped
// again, its session left to expire) while a DB server is cleaned out;
// the standby finishes the scale-down from ArangoDB's and Marathon's
// state: exactly one clean-out, one kill, one removeServer.
func TestOwnerKilledMidCleanOut(t *testing.T) {
	h := newWorld(t, 4)
	h.start("a")
	h.start("b")
	first := h.owner(20 * time.Second)
	h.setRPS(600)
	h.runUntil(15*time.Minute, "a clean-out", func() bool { return h.saga(first).Step == controller.StepCleaningOut })
	h.kill(first)
	second := h.owner(20 * time.Second)
	if second == first {
		t.Fatal("the killed replica still owns the cluster")
	}
	h.runUntil(30*time.Minute, "scale-down finished by the standby", func() bool {
		return h.dbTarget() == 3 && h.saga(second).Step == controller.StepIdle && h.log.count("/removeServer") > 0
	})
	h.run(2 * time.Minute)
	t.Logf("first owner %s, then %s; changes:%s", first.name, second.name, describe(h.log.all()))
	for suffix, want := range map[string]int{"/cleanOutServer": 1, "/v2/tasks/delete": 1, "/removeServer": 1} {
		if got := h.log.count(suffix); got != want {
			t.Errorf("%s sent %d times, want %d:%s", suffix, got, want, describe(h.log.all()))
		}
	}
	for _, q := range h.log.all() {
		if q.replica == first.name && !strings.HasSuffix(q.path, "/cleanOutServer") && !strings.HasPrefix(q.path, "/v2/apps") &&
			!strings.Contains(q.path, "numberOfServers") {
			t.Errorf("the killed owner sent %s %s", q.method, q.path)
		}
	}
	for _, q := range h.log.all() {
		switch {
		case strings.HasSuffix(q.path, "/cleanOutServer") && q.replica != first.name,
			(strings.HasSuffix(q.path, "/v2/tasks/delete") || strings.HasSuffix(q.path, "/removeServer")) && q.replica != second.name:
			t.Errorf("#%d %s %s by %s: want the clean-out by the first owner, kill and removal by the standby", q.seq, q.method, q.path, q.replica)
		}
	}
}

// TestCutOffOwnerStopsBeforeStandbyStarts: the owner loses ZooKeeper but
// keeps running; it sends no change from the moment of the cut, and the
// standby's first change comes after the old owner's last.
func TestCutOffOwnerStopsBeforeStandbyStarts(t *testing.T) {
	h := newWorld(t, 3)
	h.start("a")
	h.start("b")
	first := h.owner(20 * time.Second)
	h.setRPS(2000)
	h.runUntil(5*time.Minute, "the owner scaled up", func() bool { return h.coordTarget() > 2 })
	if h.byReplica()[first.name] == 0 {
		t.Fatalf("the owner sent nothing: %s", describe(h.log.all()))
	}
	cutAt := h.log.seq.Load()
	first.proxy.Cut()
	// The gate closes on the disconnect, before the session can expire.
	waitAll(t, 10*time.Second, "the owner sees the disconnect", nodesOf(first), func(s []snapshot) bool { return !s[0].Connected })
	h.setRPS(6000)
	h.run(2 * step) // both keep reconciling: the old owner is cut off, the standby not yet owner
	if n := len(h.log.all()); int64(n) != cutAt {
		t.Fatalf("changes sent while nobody owned the cluster:%s", describe(h.log.all()[cutAt:]))
	}
	if st := first.ctl.Status().Clusters[0].Standby; !strings.Contains(st, "ZooKeeper session not live") {
		t.Fatalf("cut-off owner's status: standby %q", st)
	}
	if ok, why := first.ctl.Readiness(); ok || !strings.Contains(why, "coordination") {
		t.Fatalf("cut-off owner ready=%v: %s", ok, why)
	}
	second := h.owner(20 * time.Second)
	if second == first {
		t.Fatal("the cut-off replica owns the cluster")
	}
	h.runUntil(10*time.Minute, "the new owner scales", func() bool { return h.byReplica()[second.name] > 0 })
	var lastOld, firstNew int64 = 0, -1
	for _, q := range h.log.all() {
		switch q.replica {
		case first.name:
			lastOld = q.seq
		case second.name:
			if firstNew < 0 {
				firstNew = q.seq
			}
		}
	}
	if lastOld > cutAt || firstNew < lastOld {
		t.Fatalf("old owner's last change #%d (cut at #%d), new owner's first #%d:%s", lastOld, cutAt, firstNew, describe(h.log.all()))
	}
}

// TestZooKeeperDownForEveryone: nobody acts while ZooKeeper is gone, both
// say why in /readyz; after it is back one replica acts again.
func TestZooKeeperDownForEveryone(t *testing.T) {
	reconnectRace(t)
	h := newWorld(t, 3)
	a, b := h.start("a"), h.start("b")
	h.owner(20 * time.Second)
	h.run(2 * step)
	before := len(h.log.all())
	h.zk.Stop()
	waitAll(t, 10*time.Second, "both disconnected", nodesOf(a, b), func(s []snapshot) bool {
		return !s[0].Connected && !s[1].Connected
	})
	h.setRPS(5000)
	h.run(5 * time.Minute)
	if got := h.log.all()[before:]; len(got) > 0 {
		t.Fatalf("changes sent without ZooKeeper:%s", describe(got))
	}
	for _, r := range []*replica{a, b} {
		if ok, why := r.ctl.Readiness(); ok || !strings.Contains(why, "ZooKeeper session not live") {
			t.Fatalf("replica %s ready=%v without ZooKeeper: %s", r.name, ok, why)
		}
	}
	h.zk.Restart()
	h.owner(30 * time.Second)
	h.runUntil(5*time.Minute, "scaled up after recovery", func() bool { return h.coordTarget() > 2 })
}

// TestRollingRestartOfThreeReplicas: each of three replicas is replaced
// in turn under changing load; the cluster is owned again after every
// step of the roll and no two replicas change it in one interval (run
// checks that).
func TestRollingRestartOfThreeReplicas(t *testing.T) {
	h := newWorld(t, 3)
	rs := []*replica{h.start("a"), h.start("b"), h.start("c")}
	h.owner(20 * time.Second)
	loads := []float64{3000, 900, 5000}
	for i, old := range rs {
		h.setRPS(loads[i])
		h.run(3 * step)
		started := time.Now()
		h.stop(old)
		h.start(old.name + "2")
		h.owner(20 * time.Second) // the 20 s goal of a takeover
		t.Logf("replaced %s: owned again after %s", old.name, time.Since(started).Round(time.Millisecond))
		h.run(3 * step)
	}
	if h.coordTarget() <= 2 {
		t.Fatalf("nothing scaled during the roll:%s", describe(h.log.all()))
	}
	// The owner's numberOfServers writes are not a person's web-UI
	// request to the standbys.
	for _, r := range h.live() {
		if hs := r.ctl.Status().Clusters[0].Holds; len(hs) > 0 {
			t.Errorf("replica %s shows holds nobody set: %+v", r.name, hs)
		}
	}
}
