package chaos

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/fault"
)

// Each fault class has a test showing the controller's exact behaviour
// under it: what it sends (or does not), what it reports, and that it
// reaches the policy's answer once the fault stops. Every test also runs
// every invariant after every step.

func TestFault_MarathonConflictStorm(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 1, alphaLoad: 4500})
	e.add(t, fault.Rule{Name: "409", Service: "marathon", Method: http.MethodPut, Path: "/v2/apps/", Action: fault.Conflict})
	// The request rate is a counter rate: the second reconcile acts.
	e.runUntil(t, time.Minute, "the first scale request", func() bool { return len(e.scales(coordApp, false)) > 0 })
	if n := len(e.scales(coordApp, false)); n != 1 {
		t.Fatalf("first interval: %d scale requests, want 1", n)
	}
	rs, _ := e.status(t, policy.Coordinators)
	if rs.LastAction == nil || rs.LastAction.Result != "failed" || !strings.Contains(rs.LastAction.Error, "409") || rs.BackoffUntil == nil {
		t.Fatalf("after a 409: last action %+v, backoff %v", rs.LastAction, rs.BackoffUntil)
	}
	// Backoff 15 s, 30 s, 60 s, 120 s: in 3 more minutes at most 4 more tries.
	e.run(3 * time.Minute)
	if n := len(e.scales(coordApp, false)); n < 3 || n > 5 {
		t.Fatalf("%d scale requests in 3 minutes of 409s, want exponential backoff (3–5)", n)
	}
	if got := e.app(coordApp).Instances; got != 2 {
		t.Fatalf("a refused scale changed the target to %d", got)
	}
	if rs, _ := e.status(t, policy.Coordinators); !contains(rs.Reasons, "backoff") {
		t.Fatalf("reasons %v lack backoff", rs.Reasons)
	}
	if got := e.metric(t, "arangoscale_scale_actions_total", map[string]string{"cluster": alpha, "role": "coordinators", "result": "failed"}); got < 3 {
		t.Fatalf("failed actions %v", got)
	}
	n := e.convergeAfterFaults(t)
	if rs, _ := e.status(t, policy.Coordinators); rs.BackoffUntil != nil || e.app(coordApp).Instances != 7 {
		t.Fatalf("after the storm: backoff %v, instances %d (want 7)", rs.BackoffUntil, e.app(coordApp).Instances)
	}
	t.Logf("converged %d intervals after the storm", n)
}

func TestFault_LostScaleResponse(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := "no_restart"
		if restart {
			name = "restart_right_after"
		}
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, Options{Seed: 2, alphaLoad: 4500, RestartAfterLost: restart})
			e.add(t, fault.Rule{Name: "lost", Service: "marathon", Method: http.MethodPut, Path: "/v2/apps" + coordApp,
				Action: fault.LostResponse, Limit: 1})
			e.runUntil(t, time.Minute, "the first scale request", func() bool { return len(e.scales(coordApp, false)) > 0 })
			// The PUT took effect; the controller only saw the reset.
			if got := e.app(coordApp).Instances; got != 4 {
				t.Fatalf("target %d after the lost scale, want 4 (doubled)", got)
			}
			if !restart {
				rs, _ := e.status(t, policy.Coordinators)
				if rs.LastAction == nil || rs.LastAction.Result != "failed" {
					t.Fatalf("the controller should see the scale as failed: %+v", rs.LastAction)
				}
			} else if e.restarts != 1 {
				t.Fatalf("restarts %d", e.restarts)
			}
			// While the deployment to 4 runs nothing more is sent.
			e.runUntil(t, 2*time.Minute, "deployment to 4 done", func() bool { return len(e.app(coordApp).Deployments) == 0 })
			for _, s := range e.scales(coordApp, false) {
				if s.Deploying {
					t.Fatalf("scale sent during the deployment: %+v", s)
				}
			}
			e.convergeAfterFaults(t)
			if got := e.app(coordApp).Instances; got != 7 {
				t.Fatalf("converged at %d, want 7", got)
			}
		})
	}
}

// scaleDownEnv is alpha with 4 DB servers under light load: the policy
// removes one through the clean-out saga.
func scaleDownEnv(t *testing.T, seed int64) *env {
	return newTestEnv(t, Options{Seed: seed, alphaDBServers: 4, alphaLoad: 400})
}

func TestFault_LostKillResponse(t *testing.T) {
	e := scaleDownEnv(t, 3)
	e.add(t, fault.Rule{Name: "lost kill", Service: "marathon", Method: http.MethodPost, Path: "/v2/tasks/delete",
		Action: fault.LostResponse, Limit: 1})
	e.runUntil(t, 10*time.Minute, "the kill", func() bool { return len(e.scales(dbApp, true)) > 0 })
	if got := e.app(dbApp).Instances; got != 3 {
		t.Fatalf("DB servers %d after the lost kill, want 3", got)
	}
	e.convergeAfterFaults(t)
	if n := len(e.scales(dbApp, true)); n != 1 {
		t.Fatalf("%d kills, want exactly 1 (the lost one is not repeated)", n)
	}
	if got := e.app(dbApp).Instances; got != 3 {
		t.Fatalf("DB servers %d, want 3", got)
	}
	for _, s := range e.world.ArangoDB(alpha).Servers() {
		if s.Role == arango.DBServer && s.Status != arango.StatusGood {
			t.Fatalf("DB server %s left %s", s.ShortName, s.Status)
		}
	}
}

func TestFault_CleanOutFailed(t *testing.T) {
	e := scaleDownEnv(t, 4)
	start, stop := fault.CleanOut(e.world.ArangoDB(alpha), arango.CleanOutFail)
	e.inj.AddModel(fault.Model{Name: "failed", From: e.clk.Now(), Start: start, Stop: stop})
	e.runUntil(t, 10*time.Minute, "a failed clean-out counted", func() bool {
		return e.metric(t, "arangoscale_cleanout_jobs_total", map[string]string{"cluster": alpha, "result": "failed"}) >= 1
	})
	rs, _ := e.status(t, policy.DBServers)
	if rs.BackoffUntil == nil || len(rs.Errors) == 0 || !strings.Contains(rs.Errors[len(rs.Errors)-1], "clean-out") {
		t.Fatalf("a failed clean-out must back off and say so: backoff %v errors %v", rs.BackoffUntil, rs.Errors)
	}
	e.run(5 * time.Minute)
	if n := len(e.scales(dbApp, true)); n != 0 {
		t.Fatalf("%d kills after failed clean-outs", n)
	}
	if got := e.app(dbApp).Instances; got != 4 {
		t.Fatalf("DB servers %d, want 4 kept", got)
	}
	e.convergeAfterFaults(t)
	if got := e.app(dbApp).Instances; got != 3 {
		t.Fatalf("DB servers %d after the fault, want 3", got)
	}
}

func TestFault_CleanOutStuck(t *testing.T) {
	e := scaleDownEnv(t, 5)
	start, stop := fault.CleanOut(e.world.ArangoDB(alpha), arango.CleanOutStuck)
	e.inj.AddModel(fault.Model{Name: "stuck", From: e.clk.Now(), Start: start, Stop: stop})
	e.sagaAt(t, 10*time.Minute, "cleaning_out")
	e.run(10 * time.Minute)
	_, saga := e.status(t, policy.DBServers)
	if saga.Step != "cleaning_out" || len(e.scales(dbApp, true)) != 0 || e.app(dbApp).Instances != 4 {
		t.Fatalf("stuck clean-out: saga %+v, kills %d, DB servers %d", saga, len(e.scales(dbApp, true)), e.app(dbApp).Instances)
	}
	if got := e.metric(t, "arangoscale_saga_step", map[string]string{"cluster": alpha, "step": "cleaning_out"}); got != 1 {
		t.Fatalf("saga_step{cleaning_out} = %v", got)
	}
	e.convergeAfterFaults(t)
	if got := e.app(dbApp).Instances; got != 3 {
		t.Fatalf("DB servers %d, want 3", got)
	}
}

func TestFault_RemoveServer412(t *testing.T) {
	e := scaleDownEnv(t, 6)
	e.add(t, fault.Rule{Name: "412", Service: "arangodb:" + alpha, Method: http.MethodPost, Path: "/_admin/cluster/removeServer",
		Action: fault.Respond, Status: 412, Body: fault.ArangoPreconditionBody})
	e.runUntil(t, 15*time.Minute, "a refused removeServer", func() bool {
		_, saga, _ := e.role(alpha, policy.DBServers)
		return strings.Contains(saga.Detail, "remove failed")
	})
	e.run(2 * time.Minute)
	if _, saga := e.status(t, policy.DBServers); saga.Step != "removing" {
		t.Fatalf("saga %+v, want removing", saga)
	}
	if got := e.app(dbApp).Instances; got != 3 {
		t.Fatalf("DB servers %d", got)
	}
	errs := e.metric(t, "arangoscale_source_errors_total", map[string]string{"cluster": alpha, "source": "arangodb"})
	if errs < 2 {
		t.Fatalf("source errors %v", errs)
	}
	e.convergeAfterFaults(t)
	for _, s := range e.world.ArangoDB(alpha).Servers() {
		if s.Status == arango.StatusFailed {
			t.Fatalf("FAILED server %s left after the fault", s.ShortName)
		}
	}
}

func TestFault_DBServerCrashMidCleanOut(t *testing.T) {
	e := scaleDownEnv(t, 7)
	e.crashArm = true
	e.runUntil(t, 10*time.Minute, "the crash", func() bool { return e.crashed == 1 })
	e.convergeAfterFaults(t)
	// The only shard that may go is an unreplicated one on the crashed
	// server itself (the checker excuses exactly those).
	for _, l := range e.world.Losses() {
		if _, ok := e.chk.excused[l.Server]; !ok {
			t.Fatalf("loss %+v not on the crashed server", l)
		}
	}
	if got := e.app(dbApp).Instances; got != 3 {
		t.Fatalf("DB servers %d, want 3", got)
	}
}

func TestFault_DeploymentNeverFinishes(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 8, alphaLoad: 4500})
	start, stop := fault.DeploymentStuck(e.world.Marathon(), coordApp)
	e.inj.AddModel(fault.Model{Name: "stuck", From: e.clk.Now(), Start: start, Stop: stop})
	e.run(10 * time.Minute)
	if n := len(e.scales(coordApp, false)); n != 1 || e.app(coordApp).Instances != 4 {
		t.Fatalf("%d scale requests, target %d: want one scale to 4, then waiting", n, e.app(coordApp).Instances)
	}
	if rs, _ := e.status(t, policy.Coordinators); !contains(rs.Blocked, "deployment_in_progress") {
		t.Fatalf("blocked %v lacks deployment_in_progress", rs.Blocked)
	}
	e.convergeAfterFaults(t)
	if got := e.app(coordApp).Instances; got != 7 {
		t.Fatalf("coordinators %d, want 7", got)
	}
}

func TestFault_TaskFailingHealthChecks(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 9, alphaLoad: 4500})
	e.step() // scale to 4 starts
	start, stop := fault.HealthFailing(e.world.Marathon(), coordApp)
	e.inj.AddModel(fault.Model{Name: "unhealthy", From: e.clk.Now(), Start: start, Stop: stop})
	e.run(5 * time.Minute)
	if st := e.app(coordApp); st.Healthy != 0 || len(st.Deployments) == 0 || len(e.scales(coordApp, false)) != 1 {
		t.Fatalf("with failing health checks: %+v, %d scales", st, len(e.scales(coordApp, false)))
	}
	e.convergeAfterFaults(t)
}

func TestFault_MarathonUnavailable(t *testing.T) {
	for _, a := range []fault.Action{fault.Unavailable, fault.Reset, fault.Slow, fault.Truncate, fault.Garble, fault.NotLeader, fault.Redirect} {
		t.Run(a.String(), func(t *testing.T) {
			e := newTestEnv(t, Options{Seed: 10, alphaLoad: 4500})
			// Alpha's apps only: beta goes on, and a slow answer costs
			// real time (SourceTimeout) each.
			e.add(t, fault.Rule{Name: a.String(), Service: "marathon", Method: http.MethodGet, Path: "/v2/apps/arangodb-" + alpha, Action: a,
				Until: e.clk.Now().Add(time.Minute)})
			if a == fault.NotLeader || a == fault.Redirect {
				start, stop := fault.LeaderChange(e.world.Marathon(), "10.0.7.2:8080")
				e.inj.AddModel(fault.Model{Name: "leader", From: e.clk.Now(), Until: e.clk.Now().Add(time.Minute), Start: start, Stop: stop})
			}
			e.run(time.Minute)
			if got := e.app(coordApp).Instances; got != 2 {
				t.Fatalf("changed the cluster blind: %d", got)
			}
			if got := e.metric(t, "arangoscale_source_errors_total", map[string]string{"cluster": alpha, "source": "marathon"}); got < 4 {
				t.Fatalf("marathon source errors %v", got)
			}
			if rs, _ := e.status(t, policy.Coordinators); !contains(rs.Reasons, "backoff") || len(rs.Errors) == 0 {
				t.Fatalf("status %+v lacks backoff and the error", rs)
			}
			if code, _ := e.get("/healthz"); code != 200 {
				t.Fatalf("/healthz %d during the outage", code)
			}
			e.convergeAfterFaults(t)
		})
	}
}

func TestFault_MesosFaults(t *testing.T) {
	cases := map[string]fault.Rule{
		// A non-leading master redirects to the leader; the client follows.
		"master_failover":   {Service: "mesos", Action: fault.Redirect, Probability: 0.5},
		"master_down":       {Service: "mesos", Action: fault.Unavailable},
		"agent_unreachable": {Service: "agent:*", Action: fault.Reset},
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, Options{Seed: 11, alphaLoad: 3000})
			r.Name = name
			e.add(t, r)
			e.run(10 * time.Minute)
			// Coordinators follow the request rate from ArangoDB; DB
			// servers fall back to ArangoDB's process CPU time.
			if got := e.app(coordApp).Instances; got != 5 {
				t.Fatalf("coordinators %d with Mesos faulty, want 5", got)
			}
			if got := e.metric(t, "arangoscale_source_errors_total", map[string]string{"cluster": alpha, "source": "mesos"}); got < 1 && name != "master_failover" {
				t.Fatalf("mesos source errors %v", got)
			}
			e.convergeAfterFaults(t)
		})
	}
}

func TestFault_StatisticsMissingTask(t *testing.T) {
	e := scaleDownEnv(t, 12)
	tasks := e.world.Marathon().Tasks(dbApp)
	e.world.Marathon().HideTaskStatistics(tasks[0].ID, true)
	e.run(5 * time.Minute)
	e.world.Marathon().HideTaskStatistics(tasks[0].ID, false)
	e.convergeAfterFaults(t)
}

func TestFault_ArangoCoordinatorDown(t *testing.T) {
	e := scaleDownEnv(t, 13)
	e.add(t, fault.Rule{Name: "down", Service: "arangodb:" + alpha, Action: fault.Unavailable,
		Body: `{"code":503,"error":true,"errorMessage":"service unavailable","errorNum":503}`})
	before := sumBeta(t, e)
	e.run(5 * time.Minute)
	if got := len(e.world.ArangoDB(alpha).RunningCleanOuts()) + len(e.scales(dbApp, true)); got != 0 {
		t.Fatal("a DB server was removed while ArangoDB was unreadable")
	}
	if got := e.app(dbApp).Instances; got != 4 {
		t.Fatalf("DB servers %d", got)
	}
	if _, saga := e.status(t, policy.DBServers); saga.Unsafe == "" {
		t.Fatalf("saga should say why scale-down is unsafe: %+v", saga)
	}
	if after := sumBeta(t, e); after <= before {
		t.Fatal("the other cluster stopped reconciling")
	}
	e.convergeAfterFaults(t)
}

func sumBeta(t *testing.T, e *env) float64 {
	return e.metric(t, "arangoscale_decisions_total", map[string]string{"cluster": beta})
}

func TestFault_HealthFlapping(t *testing.T) {
	e := scaleDownEnv(t, 14)
	ac := e.world.ArangoDB(alpha)
	var victim string
	for _, s := range ac.Servers() {
		if s.Role == arango.DBServer {
			victim = s.ID
		}
	}
	// BAD from the start: no scale-down begins, and the saga says why.
	ac.SetReportedBad(victim, true)
	e.run(4 * time.Minute)
	if n := len(e.scales(dbApp, true)) + len(ac.RunningCleanOuts()); n != 0 || e.app(dbApp).Instances != 4 {
		t.Fatalf("scale-down began while a DB server was BAD")
	}
	if _, saga := e.status(t, policy.DBServers); !strings.Contains(saga.Unsafe, "BAD") {
		t.Fatalf("saga %+v should say a server is BAD", saga)
	}
	// Then it flaps every 30 s while the saga runs.
	for i := 0; i < 16; i++ {
		ac.SetReportedBad(victim, i%2 == 1)
		e.run(30 * time.Second)
	}
	ac.SetReportedBad(victim, false)
	e.convergeAfterFaults(t)
}

func TestFault_ControllerRestartAtEverySagaStep(t *testing.T) {
	e := scaleDownEnv(t, 15)
	seen := map[string]bool{}
	e.runUntil(t, 15*time.Minute, "saga done", func() bool {
		_, saga, _ := e.role(alpha, policy.DBServers)
		if !seen[saga.Step] {
			seen[saga.Step] = true
			e.restart("saga at " + saga.Step)
		}
		return seen["removing"] && saga.Step == "idle"
	})
	if n := len(e.scales(dbApp, true)); n != 1 {
		t.Fatalf("%d kills, want 1", n)
	}
	e.convergeAfterFaults(t)
	if e.restarts < 3 {
		t.Fatalf("restarts %d", e.restarts)
	}
}

func TestFault_InvalidReload(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 16})
	e.run(time.Minute)
	before := e.controller().Policy()
	e.invalidReload()
	if e.controller().Policy() != before {
		t.Fatal("policy changed")
	}
	// The same through POST /-/reload: 401 without the token, 400 with.
	if err := e.writeRaw("clusters: []\n"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 401}, {"wrong", 401}, {e.sec.AdminToken, 400}} {
		req, _ := http.NewRequest(http.MethodPost, e.httpSrv.URL+"/-/reload", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := e.probe.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("reload with token %q: %d, want %d", tc.token, resp.StatusCode, tc.want)
		}
	}
	if e.controller().Policy() != before {
		t.Fatal("policy changed by a rejected HTTP reload")
	}
	e.step() // the loop publishes the reload status
	if got := e.metric(t, "arangoscale_config_last_reload_successful", nil); got != 0 {
		t.Fatalf("last_reload_successful %v after a rejected reload", got)
	}
	if err := e.writePolicy(alpha, beta); err != nil {
		t.Fatal(err)
	}
	if err := e.reloadPolicy(); err != nil {
		t.Fatal(err)
	}
	e.convergeAfterFaults(t)
}

func TestFault_ReloadRemovesClusterMidSaga(t *testing.T) {
	e := scaleDownEnv(t, 17)
	e.sagaAt(t, 10*time.Minute, "cleaning_out")
	e.setClusters(beta)
	sent := len(e.chk.Scales())
	e.run(5 * time.Minute)
	for _, s := range e.chk.Scales()[sent:] {
		if strings.Contains(s.App, alpha) {
			t.Fatalf("scaled a removed cluster: %+v", s)
		}
	}
	if got := e.metric(t, "arangoscale_instances", map[string]string{"cluster": alpha}); got != 0 {
		t.Fatalf("series of the removed cluster left: %v", got)
	}
	e.setClusters(alpha, beta)
	n := e.settleFixed()
	if rs, _ := e.status(t, policy.DBServers); n < 0 && contains(rs.Reasons, "manual_override") {
		// The saga did finish (3 DB servers), but see
		// TestControllerBug_RefusedScaleBecomesManualPinAfterRestart.
		t.Fatalf("controller bug: the re-added cluster takes the count it wrote to numberOfServers before its removal "+
			"for an operator's change and pins DB servers at %d for manual_hold (DB servers now %d); %v",
			rs.Desired, e.app(dbApp).Instances, e.chk.Violations())
	}
	e.convergeAfterFaults(t)
	if got := e.app(dbApp).Instances; got != 3 {
		t.Fatalf("DB servers %d, want 3: the saga must finish", got)
	}
}

func TestSecretsCheckFindsPlantedSecret(t *testing.T) {
	for _, seed := range []int64{1, 2} { // basic auth and JWT
		e := newTestEnv(t, Options{Seed: seed})
		for _, s := range []string{e.sec.ArangoPassword, e.sec.ArangoJWTSecret, e.sec.DCOSToken, e.sec.AdminToken} {
			if s == "" {
				continue
			}
			before := len(e.chk.Violations())
			e.chk.CheckSecrets(e.sec, "a test", "error: "+s)
			if len(e.chk.Violations()) != before+1 {
				t.Fatalf("secret %q not found", s)
			}
		}
	}
}

func TestFault_CoordinatorCrash(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 18, alphaLoad: 1500})
	e.run(2 * time.Minute)
	task := e.world.Marathon().Tasks(coordApp)[0]
	e.chk.Excuse(task.ID, "")
	if err := e.world.Marathon().FailTask(task.ID); err != nil {
		t.Fatal(err)
	}
	before := len(e.scales(coordApp, false))
	e.run(2 * time.Minute)
	// Marathon replaces the task; the controller does not scale for it,
	// and removes the FAILED coordinator from ArangoDB once it is gone.
	if n := len(e.scales(coordApp, false)); n != before {
		t.Fatalf("%d scale requests for a crash Marathon replaces", n-before)
	}
	e.convergeAfterFaults(t)
	for _, s := range e.world.ArangoDB(alpha).Servers() {
		if s.Role == arango.Coordinator && s.Status != arango.StatusGood {
			t.Fatalf("coordinator %s left %s", s.ShortName, s.Status)
		}
	}
}
