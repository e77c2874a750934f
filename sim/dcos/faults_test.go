package dcos

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

func TestFaultHooks(t *testing.T) {
	wrapped := map[string]bool{}
	p := Params{Agents: 2, Wrap: func(s string, h http.Handler) http.Handler { wrapped[s] = true; return h }}
	e := newEnv(t, p, dbserver)
	for _, s := range []string{ServiceMarathon, ServiceMesos, AgentService(0), AgentService(1)} {
		if !wrapped[s] {
			t.Errorf("listener %s not wrapped", s)
		}
	}

	// A stuck deployment keeps the app locked after it converged.
	e.c.SetDeploymentStuck(dbserver.ID, true)
	if _, err := e.c.Scale(dbserver.ID, 4); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	if st, _ := e.c.AppStatus(dbserver.ID); st.Healthy != 4 || len(st.Deployments) != 1 {
		t.Fatalf("stuck deployment: %+v", st)
	}
	e.c.SetDeploymentStuck(dbserver.ID, false)
	e.advance(time.Second)
	if st, _ := e.c.AppStatus(dbserver.ID); len(st.Deployments) != 0 {
		t.Fatalf("deployment not finished once released: %+v", st)
	}

	// Failing health checks: unhealthy at once, healthy HealthDelay after
	// the fault ends, and the world hears of it again.
	e.c.SetHealthFailing(dbserver.ID, true)
	if st, _ := e.c.AppStatus(dbserver.ID); st.Healthy != 0 || st.Running != 4 {
		t.Fatalf("health failing: %+v", st)
	}
	e.advance(time.Minute)
	if st, _ := e.c.AppStatus(dbserver.ID); st.Healthy != 0 {
		t.Fatalf("health failing after a minute: %+v", st)
	}
	before, _ := e.rec.counts()
	e.c.SetHealthFailing(dbserver.ID, false)
	e.advance(e.c.Params().HealthDelay - time.Second)
	if st, _ := e.c.AppStatus(dbserver.ID); st.Healthy != 0 {
		t.Fatalf("healthy before HealthDelay: %+v", st)
	}
	e.advance(time.Second)
	if st, _ := e.c.AppStatus(dbserver.ID); st.Healthy != 4 {
		t.Fatalf("not healthy after the fault: %+v", st)
	}
	if after, _ := e.rec.counts(); after != before+4 {
		t.Fatalf("healthy events %d → %d, want 4 more", before, after)
	}
	task := e.c.Tasks(dbserver.ID)[0]
	e.c.SetTaskHealthFailing(task.ID, true)
	if st, _ := e.c.AppStatus(dbserver.ID); st.Healthy != 3 {
		t.Fatalf("one task failing: %+v", st)
	}
	e.c.SetTaskHealthFailing(task.ID, false)

	// Statistics without a task.
	agent := -1
	for i, id := range e.c.Agents() {
		if id == task.AgentID {
			agent = i
		}
	}
	count := func() int {
		resp, err := http.Get(e.c.AgentURL(agent) + "/monitor/statistics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out []map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range out {
			if s["executor_id"] == task.ID {
				n++
			}
		}
		return n
	}
	if count() != 1 {
		t.Fatal("task not in its agent's statistics")
	}
	e.c.HideTaskStatistics(task.ID, true)
	if count() != 0 {
		t.Fatal("hidden task still in statistics")
	}

	// Leader change.
	e.c.SetLeader("10.0.0.9:8080")
	resp, err := http.Get(e.c.MarathonURL() + "/v2/leader")
	if err != nil {
		t.Fatal(err)
	}
	var l struct{ Leader string }
	_ = json.NewDecoder(resp.Body).Decode(&l)
	resp.Body.Close()
	if l.Leader != "10.0.0.9:8080" {
		t.Fatalf("leader %q", l.Leader)
	}
}
