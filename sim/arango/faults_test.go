package arango

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestCleanOutFaultsAndIncidents(t *testing.T) {
	e := newEnv(t, Params{CleanOutBytesPerSecond: 1 << 20}, 1, 4, nil)
	if err := e.c.AddCollection(CollectionSpec{Name: "c", NumberOfShards: 8, ReplicationFactor: 2, SizeBytes: 80 << 20}); err != nil {
		t.Fatal(err)
	}
	// Stuck: the job stays where it is.
	e.c.SetCleanOutFault(CleanOutStuck)
	id := e.c.CleanOutServer(e.dbs[0])
	e.advance(time.Minute)
	if r := e.c.RunningCleanOuts(); len(r) != 1 || r[0] != e.dbs[0] {
		t.Fatalf("running clean-outs %v", r)
	}
	if js := e.job(t, id); js.Status != JobToDo {
		t.Fatalf("stuck job: %+v", js)
	}
	// Failed: it fails with a reason and nothing is cleaned.
	e.c.SetCleanOutFault(CleanOutFail)
	e.advance(time.Second)
	js := e.job(t, id)
	if js.Status != JobFailed || js.Job["reason"] == "" {
		t.Fatalf("failed job: %+v", js)
	}
	if isCleanedOut(t, e, e.dbs[0]) {
		t.Fatal("a failed clean-out marked the server cleaned")
	}
	if r := e.c.RunningCleanOuts(); len(r) != 0 {
		t.Fatalf("running clean-outs after the failure %v", r)
	}
	e.c.SetCleanOutFault(CleanOutNormal)

	// A server going down with replicas is an incident (not a loss: rf 2).
	held := e.c.ShardCounts()[e.dbs[0]]
	e.c.ServerDown("dbs.0")
	inc := e.c.Incidents()
	if len(inc) != 1 || inc[0].Server != e.dbs[0] || inc[0].Replicas != held || inc[0].CleanOut != JobFailed {
		t.Fatalf("incidents %+v (held %d)", inc, held)
	}
	if len(e.c.Losses()) != 0 {
		t.Fatalf("losses %+v", e.c.Losses())
	}
	e.advance(time.Minute)

	// A cleaned-out server going down is no incident.
	id = e.c.CleanOutServer(e.dbs[1])
	if js := e.waitJob(t, id, time.Hour); js.Status != JobFinished {
		t.Fatalf("clean-out: %+v", js)
	}
	e.c.ServerDown("dbs.1")
	if n := len(e.c.Incidents()); n != 1 {
		t.Fatalf("incidents after a clean kill: %+v", e.c.Incidents())
	}
}

func TestReportedBad(t *testing.T) {
	e := newEnv(t, Params{}, 1, 3, nil)
	status := func() string {
		var out struct {
			Health map[string]struct{ Status string }
		}
		resp, err := http.Get(e.srv.URL + "/_admin/cluster/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out.Health[e.dbs[2]].Status
	}
	e.c.SetReportedBad(e.dbs[2], true)
	if s := status(); s != StatusBad {
		t.Fatalf("status %s, want BAD", s)
	}
	e.c.SetReportedBad(e.dbs[2], false)
	if s := status(); s != StatusGood {
		t.Fatalf("status %s, want GOOD", s)
	}
}
