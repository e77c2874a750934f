package ha_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/ha"
	"github.com/arangoscale/arangoscale/ha/zktest"
)

// sessionTimeout is short so a lost replica expires quickly in real time.
const sessionTimeout = 3 * time.Second

func startNode(t *testing.T, addr, id string, clusters []string) *ha.Node {
	t.Helper()
	n, err := ha.Start(ha.Config{
		Servers: []string{addr}, Root: "/arangoscale/test", SessionTimeout: sessionTimeout,
		ID: id, Resync: 200 * time.Millisecond, Registry: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	n.SetClusters(clusters)
	return n
}

// waitAll waits, on the nodes' change notifications, until cond holds for
// their snapshots; ZooKeeper runs in real time, so the limit is generous.
func waitAll(t *testing.T, limit time.Duration, what string, nodes []*ha.Node, cond func([]ha.Snapshot) bool) {
	t.Helper()
	deadline := time.After(limit)
	for {
		chans := make([]<-chan struct{}, len(nodes))
		snaps := make([]ha.Snapshot, len(nodes))
		for i, n := range nodes {
			chans[i] = n.Changed()
			snaps[i] = n.Snapshot()
		}
		if cond(snaps) {
			return
		}
		any := make(chan struct{}, len(chans))
		stop := make(chan struct{})
		for _, c := range chans {
			go func() {
				select {
				case <-c:
					any <- struct{}{}
				case <-stop:
				}
			}()
		}
		select {
		case <-any:
			close(stop)
		case <-deadline:
			close(stop)
			t.Fatalf("%s: not reached within %s: %+v", what, limit, snaps)
		}
	}
}

// ownedOnce: every cluster is owned by exactly one of the snapshots.
func ownedOnce(clusters []string, snaps []ha.Snapshot) bool {
	count := map[string]int{}
	for _, s := range snaps {
		for _, c := range s.Owned {
			count[c]++
		}
	}
	for _, c := range clusters {
		if count[c] != 1 {
			return false
		}
	}
	return len(count) == len(clusters)
}

func TestTwoHundredClustersOnThreeReplicas(t *testing.T) {
	zks := zktest.Start(t)
	var clusters []string
	for i := range 200 {
		clusters = append(clusters, fmt.Sprintf("cluster-%03d", i))
	}
	nodes := []*ha.Node{
		startNode(t, zks.Addr(), "a", clusters),
		startNode(t, zks.Addr(), "b", clusters),
		startNode(t, zks.Addr(), "c", clusters),
	}
	defer nodes[0].Close()
	defer nodes[1].Close()
	waitAll(t, 30*time.Second, "every cluster owned exactly once, by the replica it hashes to", nodes, func(s []ha.Snapshot) bool {
		return ownedOnce(clusters, s) && settled(clusters, s)
	})
	leaders := 0
	for _, s := range snapshots(nodes) {
		if s.Leader {
			leaders++
		}
		if len(s.Owned) < 40 {
			t.Errorf("member %s owns only %d of 200", s.Member, len(s.Owned))
		}
	}
	if leaders != 1 {
		t.Fatalf("%d leaders", leaders)
	}
	// Every fence agrees with the ownership.
	for _, n := range nodes {
		s := n.Snapshot()
		for _, c := range clusters {
			err := n.MayAct(c)
			if mine := slices.Contains(s.Owned, c); mine != (err == nil) {
				t.Fatalf("member %s cluster %s: owned %v but MayAct = %v", s.Member, c, mine, err)
			}
		}
	}

	// One replica leaves: its clusters are owned again, each exactly once.
	// The controller's interval is 15s: two intervals is the limit.
	left := nodes[2].Snapshot().Owned
	start := time.Now()
	nodes[2].Close()
	waitAll(t, 30*time.Second, "clusters re-owned after a leave", nodes[:2], func(s []ha.Snapshot) bool {
		return ownedOnce(clusters, s)
	})
	t.Logf("%d clusters of the leaver re-owned after %s", len(left), time.Since(start).Round(time.Millisecond))
	if err := nodes[2].MayAct(left[0]); !isStandby(err) {
		t.Fatalf("a closed node may still act: %v", err)
	}
}

// settled: every node sees all of them and owns exactly what hashes to it.
func settled(clusters []string, s []ha.Snapshot) bool {
	for _, x := range s {
		if len(x.Members) != len(s) {
			return false
		}
		n := 0
		for _, c := range clusters {
			if ha.Owner(c, x.Members) == x.Member {
				n++
			}
		}
		if n != len(x.Owned) {
			return false
		}
	}
	return true
}

func snapshots(nodes []*ha.Node) []ha.Snapshot {
	out := make([]ha.Snapshot, len(nodes))
	for i, n := range nodes {
		out[i] = n.Snapshot()
	}
	return out
}

func isStandby(err error) bool {
	return err != nil && errorsIs(err, controller.ErrStandby)
}

// TestCutOffReplicaStopsBeforeSuccessorStarts: the replica behind a cut
// proxy refuses every change at once, and the other one takes its clusters
// only after the session expired.
func TestCutOffReplicaStopsBeforeSuccessorStarts(t *testing.T) {
	zks := zktest.Start(t)
	proxy := zktest.NewProxy(t, zks.Addr())
	var clusters []string
	for i := range 12 {
		clusters = append(clusters, fmt.Sprintf("c%02d", i))
	}
	a := startNode(t, proxy.Addr(), "a", clusters)
	defer a.Close()
	waitAll(t, 20*time.Second, "a owns everything", []*ha.Node{a}, func(s []ha.Snapshot) bool {
		return len(s[0].Owned) == len(clusters)
	})
	b := startNode(t, zks.Addr(), "b", clusters)
	defer b.Close()
	nodes := []*ha.Node{a, b}
	waitAll(t, 20*time.Second, "shared", nodes, func(s []ha.Snapshot) bool {
		return ownedOnce(clusters, s) && len(s[1].Owned) > 0 && len(s[0].Owned) > 0
	})
	leave, err := a.Enter(a.Snapshot().Owned[0])
	if err != nil {
		t.Fatal(err)
	}
	leave()

	cut := time.Now()
	proxy.Cut()
	waitAll(t, 10*time.Second, "a's gate closed", []*ha.Node{a}, func(s []ha.Snapshot) bool { return !s[0].Connected })
	for _, c := range clusters {
		if err := a.MayAct(c); !isStandby(err) {
			t.Fatalf("cut-off replica may act on %s: %v", c, err)
		}
	}
	if a.Healthy() == nil {
		t.Fatal("cut-off replica reports healthy")
	}
	closed := time.Since(cut)
	waitAll(t, 20*time.Second, "b owns everything", []*ha.Node{b}, func(s []ha.Snapshot) bool {
		return len(s[0].Owned) == len(clusters)
	})
	t.Logf("session %s: a's gate closed %s after the cut, b owned a's clusters after %s",
		sessionTimeout, closed.Round(time.Millisecond), time.Since(cut).Round(time.Millisecond))
	proxy.Heal()
	waitAll(t, 20*time.Second, "a back, clusters shared again", nodes, func(s []ha.Snapshot) bool {
		return s[0].Connected && ownedOnce(clusters, s) && len(s[0].Owned) > 0
	})
}

// TestSilentPartitionClosesGateBeforeExpiry: behind a black hole the
// client hears nothing; it gives the connection up after two thirds of
// the session timeout and closes its gate, while the server expires the
// session only after the whole timeout: the standby never takes a cluster
// over while the cut-off replica still lets changes to it through.
func TestSilentPartitionClosesGateBeforeExpiry(t *testing.T) {
	zks := zktest.Start(t)
	proxy := zktest.NewProxy(t, zks.Addr())
	var clusters []string
	for i := range 12 {
		clusters = append(clusters, fmt.Sprintf("c%02d", i))
	}
	a := startNode(t, proxy.Addr(), "a", clusters)
	defer a.Close()
	b := startNode(t, zks.Addr(), "b", clusters)
	defer b.Close()
	nodes := []*ha.Node{a, b}
	waitAll(t, 20*time.Second, "shared", nodes, func(s []ha.Snapshot) bool {
		return ownedOnce(clusters, s) && len(s[0].Owned) > 0 && len(s[1].Owned) > 0
	})
	mine := a.Snapshot().Owned
	proxy.Blackhole()
	waitAll(t, 20*time.Second, "b owns everything", nodes, func(s []ha.Snapshot) bool {
		for _, c := range mine {
			if slices.Contains(s[1].Owned, c) && a.MayAct(c) == nil {
				t.Fatalf("b owns %s while a may still act on it: %+v", c, s[0])
			}
		}
		return len(s[1].Owned) == len(clusters)
	})
}
