package controller_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// arangoLog records "METHOD path" of every request the emulated ArangoDB
// of cluster prod receives.
type arangoLog struct {
	mu   sync.Mutex
	seen []string
}

func (l *arangoLog) wrap(p *sim.Params) {
	p.Wrap = func(service string, h http.Handler) http.Handler {
		if service != sim.ArangoService("prod") {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			l.mu.Lock()
			l.seen = append(l.seen, r.Method+" "+r.URL.Path)
			l.mu.Unlock()
			h.ServeHTTP(w, r)
		})
	}
}

func (l *arangoLog) requests() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

func countRequests(seen []string, method, suffix string) int {
	n := 0
	for _, s := range seen {
		if m, p, _ := strings.Cut(s, " "); m == method && strings.HasSuffix(p, suffix) {
			n++
		}
	}
	return n
}

// One reconcile reads ArangoDB's health once (the metric scrapes and the
// shard read get it handed), and a steady cluster's shard placement is
// read again only when the DB servers' health changes.
func TestHealthReadOncePerReconcile(t *testing.T) {
	var log arangoLog
	p := sim.DefaultParams()
	log.wrap(&p)
	// Only replicated shards: a DB server fails below without a loss.
	spec := &sim.ClusterSpec{Name: "prod", Coordinators: 2, DBServers: 3, Collections: []arango.CollectionSpec{
		{Database: "_system", Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 6 << 30},
	}}
	h := newHarness(t, harnessOpts{params: &p, spec: spec})
	h.setRPS(600) // steady: min coordinators, DB servers at their floor
	const reconciles = 16
	h.run(reconciles * step)
	seen := log.requests()
	if n := countRequests(seen, "GET", "/_admin/cluster/health"); n != reconciles {
		t.Errorf("health read %d times in %d reconciles, want once each", n, reconciles)
	}
	if n := countRequests(seen, "GET", "/_admin/cluster/shardDistribution"); n != 1 {
		t.Errorf("shard placement read %d times in %d steady reconciles, want once", n, reconciles)
	}
	// A coordinator failing changes the health but moves no shard: the
	// placement stands.
	tasks := h.world.Marathon().Tasks(sim.CoordinatorApp("prod"))
	if err := h.world.Marathon().FailTask(tasks[0].ID); err != nil {
		t.Fatal(err)
	}
	h.run(2 * step)
	if n := countRequests(log.requests(), "GET", "/_admin/cluster/shardDistribution"); n != 1 {
		t.Errorf("shard placement read %d times after a coordinator failed, want once", n)
	}
	// A DB server failing: the placement is read again.
	tasks = h.world.Marathon().Tasks(sim.DBServerApp("prod"))
	if err := h.world.Marathon().FailTask(tasks[0].ID); err != nil {
		t.Fatal(err)
	}
	h.run(2 * step)
	if n := countRequests(log.requests(), "GET", "/_admin/cluster/shardDistribution"); n < 2 {
		t.Errorf("shard placement not re-read after a DB server's health changed (%d reads)", n)
	}
}

// Right before a clean-out starts, the shard placement is read afresh,
// even when the health did not change since it was last read.
func TestShardsReReadBeforeCleanOut(t *testing.T) {
	var log arangoLog
	p := sim.DefaultParams()
	log.wrap(&p)
	h := newHarness(t, harnessOpts{spec: fourDBServers(), params: &p})
	h.setRPS(600)
	h.runUntil(15*time.Minute, "clean-out started", func(sim.ClusterState) bool {
		return countRequests(log.requests(), "POST", "/_admin/cluster/cleanOutServer") > 0
	})
	seen := log.requests()
	lastHealth, lastShards, post := -1, -1, -1
	for i, s := range seen {
		switch {
		case s == "GET /_admin/cluster/health":
			lastHealth = i
		case strings.HasSuffix(s, "/_admin/cluster/shardDistribution"):
			lastShards = i
		case s == "POST /_admin/cluster/cleanOutServer" && post < 0:
			post = i
		}
		if post >= 0 {
			break
		}
	}
	if lastShards < lastHealth || lastShards > post {
		t.Fatalf("no shard read between the reconcile's health read (#%d) and the clean-out (#%d); last shard read #%d",
			lastHealth, post, lastShards)
	}
}
