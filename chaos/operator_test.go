package chaos

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/fault"
)

// dbServer returns alpha's DB server with the id.
func (e *env) dbServer(id string) (arango.ServerInfo, bool) {
	for _, s := range e.world.ArangoDB(alpha).Servers() {
		if s.ID == id {
			return s, true
		}
	}
	return arango.ServerInfo{}, false
}

// operatorPut sends an operator's request to alpha's coordinator with
// the cluster's credentials, not through any controller.
func (e *env) operatorPut(t *testing.T, path, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, e.world.ArangoURL(alpha)+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if e.sec.ArangoJWTSecret != "" {
		j, err := arangodb.NewSuperuserJWT(e.sec.ArangoJWTSecret, "operator", e.clk)
		if err != nil {
			t.Fatal(err)
		}
		h, err := j.Header()
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", h)
	} else {
		req.SetBasicAuth(e.sec.ArangoUser, e.sec.ArangoPassword)
	}
	resp, err := (&http.Client{Transport: e.tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT %s: %d", path, resp.StatusCode)
	}
}

// A DB server an operator put in cleanedServers while it still holds
// shards (PUT /_admin/cluster/numberOfServers takes any list) is reported
// and never taken. With 4 DB servers under light load the policy wants 3;
// the controller used to take such a server as "already cleaned out,
// nothing to move", abort at once ("holds shards again") and take it
// again every interval, with the server in neither the saga nor
// foreign_cleaned of /status.
func TestOperatorCleanedServerHoldingShards(t *testing.T) {
	for _, seed := range []int64{25, 26} { // basic auth and JWT
		e := scaleDownEnv(t, seed)
		// The least loaded: the one a scale-down would pick anyway.
		var victim arango.ServerInfo
		for _, s := range e.world.ArangoDB(alpha).Servers() {
			if s.Role == arango.DBServer && (victim.ID == "" || s.Shards < victim.Shards) {
				victim = s
			}
		}
		e.operatorPut(t, "/_admin/cluster/numberOfServers", `{"cleanedServers":["`+victim.ID+`"]}`)
		for range 20 {
			e.step()
			_, saga := e.status(t, policy.DBServers)
			if saga.Server == victim.ID || !slices.Contains(saga.ForeignCleaned, victim.ID) {
				t.Fatalf("seed %d: %s is in cleanedServers with %d shards: saga %+v; it must be reported as foreign and not taken",
					seed, victim.ShortName, victim.Shards, saga)
			}
		}
		if s, ok := e.dbServer(victim.ID); !ok || s.Status != arango.StatusGood {
			t.Fatalf("seed %d: the operator's server is gone or %s", seed, s.Status)
		}
		if v := e.chk.Violations(); len(v) > 0 {
			t.Fatalf("seed %d: violations: %v", seed, v)
		}
	}
}

// Regression: a Marathon read failing while a clean-out ran aborted the
// scale-down ("the DB-server app is unreadable") with its job still
// running, and the next reconcile sent a second clean-out of the same
// server.
func TestCleanOutSurvivesAnUnreadableApp(t *testing.T) {
	e := scaleDownEnv(t, 27)
	start, stop := fault.CleanOut(e.world.ArangoDB(alpha), arango.CleanOutStuck)
	e.inj.AddModel(fault.Model{Name: "stuck", From: e.clk.Now(), Start: start, Stop: stop})
	e.sagaAt(t, 10*time.Minute, "cleaning_out")
	e.add(t, fault.Rule{Name: "app down", Service: "marathon", Method: http.MethodGet, Path: "/v2/apps" + dbApp,
		Action: fault.Unavailable, Until: e.clk.Now().Add(time.Minute)})
	e.run(2 * time.Minute)
	if _, saga := e.status(t, policy.DBServers); saga.Step != "cleaning_out" || saga.Aborted != "" {
		t.Fatalf("saga %+v: a failed read is no verdict, the clean-out goes on", saga)
	}
	e.convergeAfterFaults(t)
	if n := e.chk.CleanOuts(alpha); n != 1 {
		t.Fatalf("%d clean-outs, want 1", n)
	}
}

// A scale-down aborted mid clean-out (min raised) leaves its job running
// in ArangoDB; when min is lowered again no second clean-out starts
// until that job has ended.
func TestNoSecondCleanOutWhileAnAbortedOneRuns(t *testing.T) {
	e := scaleDownEnv(t, 28)
	start, stop := fault.CleanOut(e.world.ArangoDB(alpha), arango.CleanOutStuck)
	e.inj.AddModel(fault.Model{Name: "stuck", From: e.clk.Now(), Start: start, Stop: stop})
	e.sagaAt(t, 10*time.Minute, "cleaning_out")
	e.setOverride(&dbOverride{Min: 4})
	e.run(time.Minute)
	if _, saga := e.status(t, policy.DBServers); saga.Aborted == "" {
		t.Fatalf("saga %+v: want aborted", saga)
	}
	e.setOverride(nil)
	e.run(5 * time.Minute)
	if n := e.chk.CleanOuts(alpha); n != 1 {
		t.Fatalf("%d clean-outs while the aborted one still runs, want 1; violations %v", n, e.chk.Violations())
	}
	if _, saga := e.status(t, policy.DBServers); !strings.Contains(saga.Unsafe, "aborted scale-down still runs") {
		t.Fatalf("saga %+v should say why no scale-down starts", saga)
	}
	e.convergeAfterFaults(t)
}
