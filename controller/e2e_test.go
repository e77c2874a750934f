package controller_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/sim"
)

// The end-to-end tests run the real controller over HTTP against the
// emulated DC/OS + ArangoDB world in virtual time.

func TestScaleUpThenSafelyDown(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.run(2 * time.Minute)
	st := h.state()
	if st.Coordinators.Target != 2 || st.DBServers.Target != 3 {
		t.Fatalf("at light load the cluster should stay at its minimum, got %+v", st)
	}

	h.setRPS(4000)
	// The request rate is a counter rate over the last interval: the first
	// reconcile after the rise already acts on it.
	h.run(step)
	if got := h.state().Coordinators.Target; got < 3 || got > 4 {
		t.Fatalf("coordinators must scale up within one interval by at most 100%%: target %d, want 3–4", got)
	}
	// DB servers follow once the coordinators pass the traffic on, one
	// server per action.
	prev := h.state().DBServers.Target
	h.runUntil(15*time.Minute, "coordinators at 7 and DB servers at 4", func(s sim.ClusterState) bool {
		if s.DBServers.Target > prev+1 {
			t.Fatalf("DB servers jumped from %d to %d", prev, s.DBServers.Target)
		}
		prev = s.DBServers.Target
		return s.Coordinators.Target == 7 && s.Coordinators.Healthy == 7 && s.DBServers.Healthy == 4
	})
	h.run(5 * time.Minute)
	if s := h.state(); s.Overloaded {
		t.Fatalf("still overloaded after scaling up: %+v", s)
	}

	h.setRPS(600)
	h.runUntil(60*time.Minute, "back to minimum", func(s sim.ClusterState) bool {
		return s.Coordinators.Target == 2 && s.DBServers.Target == 3 && s.DBServers.Running == 3
	})
	// Every removed DB server went through the saga: cleaned out, killed,
	// removed from ArangoDB's health list. None is left FAILED.
	h.run(2 * time.Minute)
	for _, srv := range h.world.ArangoDB("prod").Servers() {
		if srv.Role == "DBSERVER" && srv.Status != "GOOD" {
			t.Errorf("DB server %s left %s after scale-down", srv.ID, srv.Status)
		}
	}
	if got := h.metric("arangoscale_cleanout_jobs_total", map[string]string{"result": "finished"}); got < 1 {
		t.Errorf("cleanout_jobs_total{result=finished} = %v, want ≥ 1", got)
	}
	if got := h.actions("coordinators", "down", "success"); got < 1 {
		t.Errorf("no coordinator scale-down recorded")
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	h := newHarness(t, harnessOpts{dryRun: true})
	h.setRPS(5000)
	h.run(5 * time.Minute)
	st := h.state()
	if st.Coordinators.Target != 2 || st.DBServers.Target != 3 {
		t.Fatalf("dry run changed the cluster: %+v", st)
	}
	if n := h.proxy.count(http.MethodPut, "/v2/apps") + h.proxy.count(http.MethodPost, "/v2/tasks/delete"); n != 0 {
		t.Fatalf("dry run sent %d changing requests to Marathon", n)
	}
	if got := h.actions("coordinators", "up", "dry_run"); got < 1 {
		t.Fatalf("dry-run actions not reported: %v", got)
	}
	if rs := h.role("coordinators"); rs.Desired <= 2 || !contains(rs.Reasons, "dry_run") {
		t.Fatalf("status should show the desired count and dry_run: %+v", rs)
	}
}

func TestPausedRoleIsObservedOnly(t *testing.T) {
	h := newHarness(t, harnessOpts{paused: true})
	h.setRPS(5000)
	h.run(3 * time.Minute)
	if got := h.state().Coordinators.Target; got != 2 {
		t.Fatalf("paused coordinators scaled to %d", got)
	}
	if rs := h.role("coordinators"); !contains(rs.Blocked, "paused") {
		t.Fatalf("blocked reasons %v lack paused", rs.Blocked)
	}
	if got := h.metric("arangoscale_scale_blocked", map[string]string{"role": "coordinators", "reason": "paused"}); got != 1 {
		t.Fatalf("scale_blocked{reason=paused} = %v", got)
	}
}

func TestNoScaleWhileDeploymentRuns(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.run(time.Minute)
	// Someone else starts a deployment of the coordinator app.
	putInstances(t, h.world.MarathonURL(), "/arangodb-prod/coordinator", 3)
	h.setRPS(5000)
	h.run(step)
	if rs := h.role("coordinators"); !contains(rs.Blocked, "deployment_in_progress") {
		t.Fatalf("blocked %v lacks deployment_in_progress (status %+v)", rs.Blocked, rs)
	}
	if n := h.proxy.count(http.MethodPut, "/v2/apps/arangodb-prod/coordinator"); n != 0 {
		t.Fatalf("sent %d scale requests while a deployment ran", n)
	}
	h.runUntil(5*time.Minute, "scaled after the deployment", func(s sim.ClusterState) bool {
		return s.Coordinators.Target > 3
	})
}

func TestConflictBacksOffThenConverges(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.run(time.Minute)
	locked := `{"message":"App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43'.","deployments":[{"id":"5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43"}]}`
	h.proxy.set(func(r *http.Request) (int, string, bool) {
		return 409, locked, r.Method == http.MethodPut
	})
	h.setRPS(5000)
	h.run(step)
	puts := h.proxy.count(http.MethodPut, "/v2/apps/arangodb-prod/coordinator")
	if puts != 1 {
		t.Fatalf("first attempt: %d PUTs, want 1", puts)
	}
	if rs := h.role("coordinators"); rs.BackoffUntil == nil || rs.LastAction == nil || rs.LastAction.Result != "failed" {
		t.Fatalf("after a 409 the role must back off and report the failure: %+v", rs)
	}
	// Backoff 15 s, then 30 s, then 60 s: in 2 minutes at most 4 attempts.
	h.run(2 * time.Minute)
	if puts := h.proxy.count(http.MethodPut, "/v2/apps/arangodb-prod/coordinator"); puts < 2 || puts > 4 {
		t.Fatalf("%d PUTs in 2 minutes of 409s, want exponential backoff (2–4)", puts)
	}
	if got := h.actions("coordinators", "up", "failed"); got < 2 {
		t.Fatalf("failed actions %v", got)
	}
	h.proxy.set(nil)
	h.runUntil(3*time.Minute, "scaled after the conflict cleared", func(s sim.ClusterState) bool {
		return s.Coordinators.Target >= 4
	})
	if rs := h.role("coordinators"); rs.BackoffUntil != nil {
		t.Fatalf("backoff not reset after success: %+v", rs.BackoffUntil)
	}
}

func TestMarathonOutageKeepsLoopAlive(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.run(time.Minute)
	h.proxy.set(func(r *http.Request) (int, string, bool) {
		return 503, `{"message":"Marathon is not the leader"}`, strings.HasPrefix(r.URL.Path, "/v2/")
	})
	h.setRPS(5000)
	h.run(3 * time.Minute)
	if got := h.state().Coordinators.Target; got != 2 {
		t.Fatalf("changed the cluster during an outage: %d", got)
	}
	if got := h.metric("arangoscale_source_errors_total", map[string]string{"source": "marathon"}); got < 3 {
		t.Fatalf("marathon source errors %v, want several", got)
	}
	if rs := h.role("coordinators"); !contains(rs.Reasons, "backoff") {
		t.Fatalf("reasons %v lack backoff during the outage", rs.Reasons)
	}
	if !h.ctl.Alive() {
		t.Fatal("loop reported dead during an outage")
	}
	h.proxy.set(nil)
	h.runUntil(5*time.Minute, "converged after the outage", func(s sim.ClusterState) bool {
		return s.Coordinators.Target >= 7
	})
}

func TestScaleUpCappedByMesosCapacity(t *testing.T) {
	p := sim.DefaultParams()
	p.DCOS.Agents = 3
	p.DCOS.AgentCPUs = 8
	h := newHarness(t, harnessOpts{params: &p})
	// 2 coordinators × 2 cpus + 3 DB servers × 4 cpus = 16 of 24 cpus:
	// four more coordinators fit, no more.
	h.setRPS(6000)
	h.run(5 * time.Minute)
	st := h.state()
	if st.Coordinators.Target > 6 {
		t.Fatalf("scaled coordinators to %d beyond what Mesos can place", st.Coordinators.Target)
	}
	if rs := h.role("coordinators"); !contains(rs.Blocked, "capacity") {
		t.Fatalf("blocked %v lacks capacity (status %+v)", rs.Blocked, rs)
	}
}

func TestRestartInCooldownHonoursLastScalingAt(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.run(time.Minute)
	h.setRPS(2000)
	h.run(step)
	scaledAt := h.clk.Now()
	scaled := h.state().Coordinators.Target
	if scaled <= 2 {
		t.Fatalf("target %d, want a scale-up", scaled)
	}
	h.runUntil(2*time.Minute, "healthy", func(s sim.ClusterState) bool { return s.Coordinators.Healthy == scaled })
	h.setRPS(600)
	h.start(harnessOpts{}) // the controller restarts: no memory but Marathon's
	for h.clk.Now().Sub(scaledAt) < 3*time.Minute-step {
		h.run(step)
		if got := h.state().Coordinators.Target; got != scaled {
			t.Fatalf("scaled to %d %s after the last scale, inside the 3m cooldown", got, h.clk.Now().Sub(scaledAt))
		}
	}
	h.runUntil(5*time.Minute, "scale-down after the cooldown", func(s sim.ClusterState) bool {
		return s.Coordinators.Target < scaled
	})
}

func TestHTTPEndpoints(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	srv := httptestServer(t, h.ctl.Handler(controllerHTTPOptions()))
	if code, _ := get(t, srv+"/readyz"); code != 503 {
		t.Fatalf("/readyz before a reconcile: %d, want 503", code)
	}
	h.run(2 * step) // a rate needs two scrapes
	for _, p := range []string{"/healthz", "/readyz", "/metrics", "/status"} {
		if code, body := get(t, srv+p); code != 200 {
			t.Fatalf("%s: %d %s", p, code, body)
		}
	}
	_, body := get(t, srv+"/status")
	var st struct {
		Clusters []struct {
			Name  string
			Roles []map[string]any
			Saga  map[string]any
		}
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatalf("/status is not JSON: %v", err)
	}
	if len(st.Clusters) != 1 || len(st.Clusters[0].Roles) != 2 || st.Clusters[0].Saga["step"] != "idle" {
		t.Fatalf("/status: %s", body)
	}
	_, m := get(t, srv+"/metrics")
	for _, name := range []string{
		"arangoscale_build_info", "arangoscale_instances", "arangoscale_signal_value", "arangoscale_signal_target",
		"arangoscale_decisions_total", "arangoscale_scale_blocked", "arangoscale_saga_step",
		"arangoscale_reconcile_duration_seconds", "arangoscale_last_reconcile_timestamp_seconds", "arangoscale_dry_run",
	} {
		if !strings.Contains(m, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	resp, err := http.Post(srv+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/-/reload without the admin token: %d, want 401", resp.StatusCode)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// putInstances scales an app behind the controller's back, as a person
// with the Marathon UI would.
func putInstances(t *testing.T, marathonURL, app string, n int) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPut, marathonURL+"/v2/apps"+app,
		strings.NewReader(`{"instances":`+itoa(n)+`}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT %s: %d", app, resp.StatusCode)
	}
}

// Marathon's launch queue is read only while an app has instances left to
// launch or a deployment; in between its answer could hold nothing of
// ours.
func TestQueueReadOnlyWhileLaunching(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.run(3 * time.Minute)
	before := h.proxy.count(http.MethodGet, "/v2/queue")
	h.run(2 * time.Minute)
	if n := h.proxy.count(http.MethodGet, "/v2/queue") - before; n != 0 {
		t.Fatalf("%d queue reads in 2 minutes with every instance running", n)
	}
	putInstances(t, h.world.MarathonURL(), "/arangodb-prod/coordinator", 3)
	h.run(step)
	if n := h.proxy.count(http.MethodGet, "/v2/queue") - before; n != 1 {
		t.Fatalf("%d queue reads in the interval after a scale-up, want 1", n)
	}
}
