package chaos

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// Each check of the checker gets a planted bug the old check missed.

func violated(e *env, substr string) bool {
	for _, v := range e.chk.Violations() {
		if strings.Contains(v, substr) {
			return true
		}
	}
	return false
}

// send makes a request to an emulator as a planted process would: its
// own sender mark, the DC/OS token header for DC/OS services.
func (e *env) send(t *testing.T, method, url, body, auth string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(senderHeader, "planted")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := e.tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Two controllers acting on one cluster with nothing fencing them (what
// unreachableStrategy inactiveAfterSeconds allowed) is caught.
func TestSecondControllerWithoutFencingIsCaught(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 41, alphaLoad: 4500})
	if _, err := e.startBeside(nil); err != nil {
		t.Fatal(err)
	}
	e.run(5 * time.Minute)
	if !violated(e, "two controllers act on cluster") {
		t.Fatalf("two unfenced controllers not caught; changes %v, violations %v", e.chk.Mutations(), e.chk.Violations())
	}
}

// With a gate (the hook of the HA election) only one process acts at a
// time: handing the lease over when the first stops is no overlap, and
// the second resumes.
func TestGatedControllersNeverOverlap(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 42, alphaLoad: 4500})
	first := e.running()[0]
	holder := first.id
	first.gate = func() bool { return holder == first.id }
	var second *proc
	second, err := e.startBeside(func() bool { return holder == second.id })
	if err != nil {
		t.Fatal(err)
	}
	e.run(3 * time.Minute)
	e.setLoad(alpha, 400) // work for the second
	e.mu.Lock()
	first.stopped = true
	e.ctl, e.handler = second.ctl, second.handler
	e.mu.Unlock()
	e.chk.stopped(first.id)
	holder = second.id
	e.convergeAfterFaults(t)
	if m := e.chk.Mutations(); m[first.id] == 0 || m[second.id] == 0 {
		t.Fatalf("both should have acted in turn: %v", m)
	}
}

// Marathon replaces the controller mid clean-out (the old process gone
// first): the new one resumes with no second clean-out and one kill.
func TestReplacementMidCleanOutResumes(t *testing.T) {
	e := scaleDownEnv(t, 43)
	e.sagaAt(t, 10*time.Minute, "cleaning_out")
	e.restart("replacement mid clean-out")
	e.convergeAfterFaults(t)
	if n := e.chk.CleanOuts(alpha); n != 1 {
		t.Fatalf("%d clean-outs, want 1", n)
	}
	if n := len(e.scales(dbApp, true)); n != 1 {
		t.Fatalf("%d kills, want 1", n)
	}
	if m := e.chk.Mutations(); len(m) != 2 {
		t.Fatalf("changes per process %v, want both processes", m)
	}
}

// planted adds incidents to the world's.
type planted struct {
	*sim.World
	inc []arango.Incident
}

func (p *planted) Incidents() []arango.Incident { return append(p.World.Incidents(), p.inc...) }

// A crash excuses what goes down with it then, not the same server going
// down again later (the old excuse lasted the rest of the run).
func TestCrashExcuseExpires(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 44})
	src := &planted{World: e.world}
	e.chk.src = src
	var s arango.ServerInfo
	for _, x := range e.world.ArangoDB(alpha).Servers() {
		if x.Role == arango.DBServer {
			s = x
		}
	}
	e.chk.Excuse(s.TaskID, s.ID)
	src.inc = append(src.inc, arango.Incident{At: e.clk.Now(), Server: s.ID, ShortName: s.ShortName, TaskID: s.TaskID, Replicas: 3})
	e.chk.CheckStep()
	if v := e.chk.Violations(); len(v) > 0 {
		t.Fatalf("the crash itself flagged: %v", v)
	}
	e.run(10 * time.Minute)
	src.inc = append(src.inc, arango.Incident{At: e.clk.Now(), Server: s.ID, ShortName: s.ShortName, TaskID: s.TaskID, Replicas: 3})
	e.chk.CheckStep()
	if !violated(e, "went down holding 3 shard replicas") {
		t.Fatalf("an incident 10 minutes after the crash was excused: %v", e.chk.Violations())
	}
}

// The replication floor is read from the world: a collection with
// replicationFactor 4 makes a scale to 3 DB servers a violation (the old
// hard-coded floor was 2).
func TestReplicationFloorFromTheWorld(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 45, alphaDBServers: 4})
	e.step()
	if err := e.world.ArangoDB(alpha).AddCollection(arango.CollectionSpec{Name: "ledger", NumberOfShards: 1, ReplicationFactor: 4, WriteConcern: 2, SizeBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	e.send(t, http.MethodPut, e.world.MarathonURL()+"/v2/apps"+dbApp, `{"instances":3}`, "token="+e.sec.DCOSToken)
	if !violated(e, "below the replication floor 4") {
		t.Fatalf("a scale below the collections' replicationFactor passed: %v", e.chk.Violations())
	}
}

// Every credential a controller sends is a secret, the derived ArangoDB
// JWT included, and goes only where it belongs.
func TestSentCredentialsAreChecked(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 46}) // even: JWT
	e.step()
	var jwt string
	for _, c := range e.chk.captured() {
		if strings.HasPrefix(c, "bearer ") {
			jwt = strings.TrimPrefix(c, "bearer ")
		}
	}
	if jwt == "" {
		t.Fatalf("no ArangoDB JWT captured: %v", e.chk.captured())
	}
	if _, ok := e.sec.forms()[jwt]; ok {
		t.Fatal("the JWT was among the static secrets already")
	}
	e.chk.CheckSecrets(e.sec, "a planted log line", "request failed: authorization "+jwt)
	if !violated(e, "a credential the controller sent") {
		t.Fatalf("the derived JWT in a log line was not caught: %v", e.chk.Violations())
	}
	// The DC/OS token sent to ArangoDB: a credential in the wrong place.
	e.send(t, http.MethodGet, e.world.ArangoURL(alpha)+"/_api/version", "", "token="+e.sec.DCOSToken)
	if !violated(e, "a DC/OS credential (token=") {
		t.Fatalf("the DC/OS token sent to ArangoDB was not caught: %v", e.chk.Violations())
	}
}

// Convergence is judged by the world: a controller at rest by its own
// status at a wrong count (here one obeying a min of 5 the policy does
// not have) is not converged.
func TestConvergenceComparesTheWorld(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 47, alphaLoad: 400})
	e.override = &dbOverride{Min: 5}
	if err := e.writePolicy(alpha, beta); err != nil {
		t.Fatal(err)
	}
	if err := e.reloadPolicy(); err != nil {
		t.Fatal(err)
	}
	e.override = nil // the checker and the world still say min 3
	e.runUntil(t, 15*time.Minute, "5 DB servers at rest", func() bool {
		rs, saga, _ := e.role(alpha, policy.DBServers)
		return e.app(dbApp).Instances == 5 && e.app(dbApp).Healthy == 5 && rs.Target == 5 && rs.Desired == 5 && saga.Step == "idle"
	})
	e.run(2 * time.Minute)
	ok, why := e.converged()
	if ok || !strings.Contains(why, "the policy answers 3") {
		t.Fatalf("5 DB servers under light load taken as converged (%v: %s)", ok, why)
	}
}

// The plan's episode count scales with the run's length.
func TestPlanScalesWithDuration(t *testing.T) {
	count := func(d time.Duration) int {
		e := newTestEnv(t, Options{Seed: 48})
		e.end = epoch.Add(d)
		e.plan(rand.New(rand.NewPCG(48, 1)), e.end)
		return len(e.episodes)
	}
	short, long := count(30*time.Minute), count(3*time.Hour)
	if short < 4 || short > 8 || long < 25 || long > 47 {
		t.Fatalf("episodes: %d in 30 minutes, %d in 3 hours; want ~12 an hour", short, long)
	}
}

func classNamed(t *testing.T, name string) faultClass {
	t.Helper()
	for _, c := range allClasses() {
		if c.name == name {
			return c
		}
	}
	t.Fatalf("no class %s", name)
	return faultClass{}
}

// An armed clean-out fault fires while a clean-out runs, even when the run
// starts at the DB servers' min: the load is steered to bring one.
func TestArmedFaultsHitARunningCleanOut(t *testing.T) {
	for _, name := range []string{"crash_mid_cleanout", "cleanout_failed", "cleanout_stuck"} {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, Options{Seed: 49, alphaLoad: 800})
			e.end = epoch.Add(time.Hour)
			ep := &episode{class: name}
			classNamed(t, name).install(e, rand.New(rand.NewPCG(49, 2)), ep, e.clk.Now(), e.clk.Now().Add(time.Minute))
			var during bool
			e.runUntil(t, armWait, "the armed fault", func() bool {
				// Right after the step that fired it, the clean-out still
				// runs (failed or stuck only from the next world step).
				during = len(e.world.ArangoDB(alpha).RunningCleanOuts()) > 0
				return ep.hit
			})
			if !during && name != "crash_mid_cleanout" {
				t.Fatal("fired without a clean-out running")
			}
			if name == "crash_mid_cleanout" && e.crashed != 1 {
				t.Fatalf("crashed %d", e.crashed)
			}
			e.convergeAfterFaults(t)
		})
	}
}

// A reload while a clean-out runs (min raised to the current count, or
// the role paused) aborts the scale-down cleanly: no kill, the server
// stays.
func TestReloadMidCleanOutAborts(t *testing.T) {
	for _, want := range []string{"paused", "min is raised"} {
		t.Run(strings.Fields(want)[0], func(t *testing.T) {
			e := scaleDownEnv(t, 50)
			e.end = epoch.Add(time.Hour)
			ep := &episode{class: "reload_mid_cleanout"}
			// The class's first draw picks pause or min.
			s := uint64(1)
			for (rand.New(rand.NewPCG(s, 3)).IntN(2) == 0) != (want == "paused") {
				s++
			}
			if what := classNamed(t, ep.class).install(e, rand.New(rand.NewPCG(s, 3)), ep, e.clk.Now(), e.clk.Now()); !strings.Contains(what, want) {
				t.Fatalf("installed %q, want %q", what, want)
			}
			e.runUntil(t, 10*time.Minute, "the reload mid clean-out", func() bool { return e.override != nil })
			aborted := ""
			for e.override != nil {
				e.step()
				if n := len(e.scales(dbApp, true)); n != 0 && e.override != nil {
					t.Fatalf("a kill while the reloaded policy forbids it: %+v", e.scales(dbApp, true))
				}
				if got := e.app(dbApp).Instances; got != 4 {
					t.Fatalf("DB servers %d, want 4 kept", got)
				}
				if _, saga := e.status(t, policy.DBServers); saga.Aborted != "" {
					aborted = saga.Aborted
				}
			}
			if aborted == "" {
				t.Fatal("the scale-down was not reported aborted")
			}
			t.Logf("aborted: %s", aborted)
			e.convergeAfterFaults(t)
		})
	}
}

// ArangoDB's clock off by minutes does not stop a JWT controller (its
// tokens live an hour and are renewed 10 minutes early); nothing is
// changed blind when it is off by more than a token's life.
func TestClockSkew(t *testing.T) {
	e := newTestEnv(t, Options{Seed: 52, alphaLoad: 1500}) // even: JWT
	for _, n := range e.world.Clusters() {
		e.world.ArangoDB(n).SetClockSkew(9 * time.Minute)
	}
	before := e.metric(t, "arangoscale_source_errors_total", map[string]string{"cluster": alpha, "source": "arangodb"})
	e.run(5 * time.Minute)
	if got := e.metric(t, "arangoscale_source_errors_total", map[string]string{"cluster": alpha, "source": "arangodb"}); got != before {
		t.Fatalf("%v ArangoDB errors with the clock 9 minutes ahead", got-before)
	}
	for _, n := range e.world.Clusters() {
		e.world.ArangoDB(n).SetClockSkew(-15 * time.Minute)
	}
	e.run(2 * time.Minute)
	if got := e.metric(t, "arangoscale_source_errors_total", map[string]string{"cluster": alpha, "source": "arangodb"}); got != before {
		t.Fatalf("%v ArangoDB errors with the clock 15 minutes behind", got-before)
	}
	for _, n := range e.world.Clusters() {
		e.world.ArangoDB(n).SetClockSkew(2 * time.Hour)
	}
	sent := len(e.chk.Scales())
	e.run(3 * time.Minute)
	if got := e.metric(t, "arangoscale_source_errors_total", map[string]string{"cluster": alpha, "source": "arangodb"}); got == before {
		t.Fatal("tokens expired by ArangoDB's clock were accepted")
	}
	for _, s := range e.chk.Scales()[sent:] {
		if s.App == dbApp {
			t.Fatalf("DB servers changed while ArangoDB refused every token: %+v", s)
		}
	}
	for _, n := range e.world.Clusters() {
		e.world.ArangoDB(n).SetClockSkew(0)
	}
	e.convergeAfterFaults(t)
}

// Under a stale Marathon view the controller changes nothing unsafe and
// converges once the view is current.
func TestStaleMarathon(t *testing.T) {
	e := scaleDownEnv(t, 53)
	e.sagaAt(t, 10*time.Minute, "cleaning_out")
	e.end = epoch.Add(time.Hour)
	ep := &episode{class: "stale_marathon"}
	classNamed(t, ep.class).install(e, rand.New(rand.NewPCG(53, 4)), ep, e.clk.Now().Add(interval), e.clk.Now().Add(4*time.Minute))
	e.run(5 * time.Minute)
	hit := false
	for _, ev := range e.inj.Events() {
		hit = hit || strings.HasPrefix(ev.Rule, "stale_marathon")
	}
	if !hit {
		t.Fatal("no stale answer served")
	}
	e.convergeAfterFaults(t)
	if n := len(e.scales(dbApp, true)); n != 1 {
		t.Fatalf("%d kills, want 1", n)
	}
}
