package ha_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"strconv"
	"testing"
	"time"
)

// TestChaosTwoReplicasWithZooKeeperFaults runs two replicas under changing
// load while ZooKeeper faults hit them — a short disconnect, a session
// expiry, the owner killed and replaced, ZooKeeper itself down and back —
// and checks after every interval that each change came from the holder
// of the cluster's lock (never two replicas acting on one cluster) and
// that no shard was lost; at the end the cluster converges.
// ARANGOSCALE_HA_CHAOS_SEED picks another run.
func TestChaosTwoReplicasWithZooKeeperFaults(t *testing.T) {
	reconnectRace(t)
	seed := uint64(1)
	if s := os.Getenv("ARANGOSCALE_HA_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("ARANGOSCALE_HA_CHAOS_SEED: %v", err)
		}
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	h := newWorld(t, 4)
	h.start("r0")
	h.start("r1")
	next := 2
	h.owner(20 * time.Second)
	loads := []float64{300, 900, 3000, 6000}
	faults := map[string]int{}
	for round := range 12 {
		h.setRPS(loads[rng.IntN(len(loads))])
		live := h.live()
		switch f := rng.IntN(4); f {
		case 0:
			faults["disconnect"]++
			r := live[rng.IntN(len(live))]
			r.proxy.Cut()
			h.run(2 * step)
			r.proxy.Heal()
		case 1:
			faults["session expiry"]++
			r := live[rng.IntN(len(live))]
			member := r.node.Snapshot().Member
			r.proxy.Cut()
			h.run(step)
			h.waitGone(path.Join("/arangoscale/members", member), 20*time.Second)
			h.run(step)
			r.proxy.Heal()
		case 2:
			faults["owner killed"]++
			h.kill(h.owner(20 * time.Second))
			h.start(fmt.Sprintf("r%d", next))
			next++
		case 3:
			faults["zookeeper down"]++
			h.zk.Stop()
			h.run(2 * step)
			h.zk.Restart()
		}
		h.owner(30 * time.Second)
		h.run(4 * step)
		t.Logf("round %d: %d changes so far", round, len(h.log.all()))
	}
	h.setRPS(900)
	h.runUntil(60*time.Minute, "converged after the faults", func() bool {
		st := h.w.State("prod")
		return !st.Overloaded && h.saga(h.owner(20*time.Second)).Step == "idle" && st.DBServers.Running == h.dbTarget()
	})
	t.Logf("seed %d, faults %v, %d changes", seed, faults, len(h.log.all()))
}

func (h *world) live() []*replica {
	var out []*replica
	for _, r := range h.replicas {
		if !r.dead {
			out = append(out, r)
		}
	}
	return out
}

// waitGone waits until ZooKeeper deleted p (an expired session's
// ephemeral node), on a watch of the test's own connection.
func (h *world) waitGone(p string, limit time.Duration) {
	h.t.Helper()
	deadline := time.After(limit)
	for {
		ok, _, ev, err := h.obs.get().ExistsW(p)
		if err == nil && !ok {
			return
		}
		if err != nil {
			h.t.Fatalf("watch %s: %v", p, err)
		}
		select {
		case <-ev:
		case <-deadline:
			h.t.Fatalf("%s still there after %s", p, limit)
		}
	}
}
