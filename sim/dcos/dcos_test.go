package dcos

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	marathon "github.com/gambol99/go-marathon"
	"github.com/golang-jwt/jwt/v5"

	"github.com/arangoscale/arangoscale/clock"
)

var t0 = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

type recorder struct {
	mu      sync.Mutex
	healthy []string
	gone    []string
}

func (r *recorder) hooks() Hooks {
	return Hooks{
		OnTaskHealthy: func(_ string, t Task) { r.mu.Lock(); r.healthy = append(r.healthy, t.ID); r.mu.Unlock() },
		OnTaskGone:    func(_, id string) { r.mu.Lock(); r.gone = append(r.gone, id); r.mu.Unlock() },
	}
}

func (r *recorder) counts() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.healthy), len(r.gone)
}

type env struct {
	c   *Cluster
	clk *clock.Virtual
	m   marathon.Marathon
	rec *recorder
}

func newEnv(t *testing.T, p Params, apps ...AppSpec) *env {
	t.Helper()
	clk := clock.NewVirtual(t0)
	c, err := New(clk, p)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	c.SetHooks(rec.hooks())
	for _, a := range apps {
		if err := c.AddApp(a); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := marathon.NewDefaultConfig()
	cfg.URL = c.MarathonURL()
	cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	cfg.DCOSToken = p.Token
	m, err := marathon.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{c: c, clk: clk, m: m, rec: rec}
}

func (e *env) advance(d time.Duration) { e.c.Step(e.clk.Advance(d)) }

var dbserver = AppSpec{ID: "/arangodb-prod/dbserver", Instances: 3, CPUs: 4, MemMB: 16384, DiskMB: 1024}

func apiErrCode(t *testing.T, err error) int {
	t.Helper()
	var ae *marathon.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want *marathon.APIError, got %T %v", err, err)
	}
	return ae.ErrCode
}

var taskIDRe = regexp.MustCompile(`^arangodb-prod_dbserver\.instance-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\._app\.(\d+)$`)

func TestScaleUpStagesRunsBecomesHealthy(t *testing.T) {
	e := newEnv(t, Params{}, dbserver)
	if ok, err := e.m.Ping(); !ok || err != nil {
		t.Fatalf("ping: %v %v", ok, err)
	}
	app, err := e.m.Application("/arangodb-prod/dbserver")
	if err != nil {
		t.Fatal(err)
	}
	if *app.Instances != 3 || app.TasksHealthy != 3 || app.TasksRunning != 3 || len(app.Tasks) != 3 || len(app.Deployments) != 0 {
		t.Fatalf("initial app: instances %d healthy %d running %d tasks %d deployments %v", *app.Instances, app.TasksHealthy, app.TasksRunning, len(app.Tasks), app.Deployments)
	}
	hostPorts := map[string]bool{}
	for _, tk := range app.Tasks {
		if !taskIDRe.MatchString(tk.ID) {
			t.Errorf("task id %q is not in the Marathon 1.8+ format", tk.ID)
		}
		if tk.Host != "127.0.0.1" || len(tk.Ports) != 1 || tk.SlaveID == "" || tk.State != StateRunning || !tk.HasHealthCheckResults() || !tk.HealthCheckResults[0].Alive {
			t.Errorf("task %+v", tk)
		}
		hp := fmt.Sprintf("%s:%d", tk.Host, tk.Ports[0])
		if hostPorts[hp] {
			t.Errorf("duplicate host:port %v", tk.Ports)
		}
		hostPorts[hp] = true
	}
	if h, _ := e.rec.counts(); h != 3 {
		t.Fatalf("healthy hooks %d, want 3", h)
	}

	e.clk.Advance(time.Minute)
	dep, err := e.m.ScaleApplicationInstances("/arangodb-prod/dbserver", 5, false)
	if err != nil {
		t.Fatal(err)
	}
	if dep.DeploymentID == "" || dep.Version != "2026-06-01T12:01:00.000Z" {
		t.Fatalf("deployment result %+v", dep)
	}
	// Locked while the deployment runs.
	_, err = e.m.ScaleApplicationInstances("/arangodb-prod/dbserver", 6, false)
	if code := apiErrCode(t, err); code != marathon.ErrCodeAppLocked {
		t.Fatalf("err code %d, want ErrCodeAppLocked: %v", code, err)
	}
	if !strings.Contains(err.Error(), dep.DeploymentID) {
		t.Errorf("409 should name the deployment: %v", err)
	}
	deps, err := e.m.Deployments()
	if err != nil || len(deps) != 1 || deps[0].ID != dep.DeploymentID || deps[0].AffectedApps[0] != "/arangodb-prod/dbserver" {
		t.Fatalf("deployments %+v %v", deps, err)
	}

	e.advance(0)
	app, _ = e.m.Application("/arangodb-prod/dbserver")
	if app.TasksStaged != 2 || app.TasksRunning != 3 || app.TasksHealthy != 3 || app.VersionInfo.LastScalingAt != "2026-06-01T12:01:00.000Z" {
		t.Fatalf("after launch: staged %d running %d healthy %d %+v", app.TasksStaged, app.TasksRunning, app.TasksHealthy, app.VersionInfo)
	}
	e.advance(10 * time.Second)
	app, _ = e.m.Application("/arangodb-prod/dbserver")
	if app.TasksStaged != 0 || app.TasksRunning != 5 || app.TasksHealthy != 3 || len(app.Deployments) != 1 {
		t.Fatalf("after staging: staged %d running %d healthy %d deps %v", app.TasksStaged, app.TasksRunning, app.TasksHealthy, app.Deployments)
	}
	e.advance(19 * time.Second)
	if h, _ := e.rec.counts(); h != 3 {
		t.Fatalf("healthy too early: %d", h)
	}
	e.advance(time.Second)
	app, _ = e.m.Application("/arangodb-prod/dbserver")
	if app.TasksHealthy != 5 || len(app.Deployments) != 0 {
		t.Fatalf("after health: healthy %d deps %v", app.TasksHealthy, app.Deployments)
	}
	if h, _ := e.rec.counts(); h != 5 {
		t.Fatalf("healthy hooks %d, want 5", h)
	}
	for _, tk := range app.Tasks[3:] {
		if tk.StagedAt != "2026-06-01T12:01:00.000Z" || tk.StartedAt != "2026-06-01T12:01:10.000Z" {
			t.Errorf("task times %s %s", tk.StagedAt, tk.StartedAt)
		}
	}
	// Step is idempotent when time does not move.
	e.advance(0)
	if h, _ := e.rec.counts(); h != 5 {
		t.Fatalf("repeat Step fired hooks")
	}
}

func TestForceReplacesDeploymentAndPutScaleDownKillsNewest(t *testing.T) {
	e := newEnv(t, Params{}, dbserver)
	first, err := e.m.ScaleApplicationInstances(dbserver.ID, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	e.advance(time.Second) // two new tasks staging
	second, err := e.m.ScaleApplicationInstances(dbserver.ID, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	if second.DeploymentID == first.DeploymentID {
		t.Fatal("force must start a new deployment")
	}
	app, _ := e.m.Application(dbserver.ID)
	if len(app.Tasks) != 2 || app.TasksStaged != 0 || len(app.Deployments) != 1 || app.Deployments[0]["id"] != second.DeploymentID {
		t.Fatalf("tasks %d staged %d deployments %v", len(app.Tasks), app.TasksStaged, app.Deployments)
	}
	// The two staging tasks and the newest running one went.
	if _, g := e.rec.counts(); g != 3 {
		t.Fatalf("gone hooks %d, want 3", g)
	}
	e.advance(time.Second)
	if deps, _ := e.m.Deployments(); len(deps) != 0 {
		t.Fatalf("deployment should be finished: %+v", deps)
	}
}

func TestKillTasksWithScaleKillsExactlyThose(t *testing.T) {
	e := newEnv(t, Params{}, dbserver)
	tasks, err := e.m.Tasks(dbserver.ID)
	if err != nil || len(tasks.Tasks) != 3 {
		t.Fatalf("tasks %v %v", tasks, err)
	}
	victim := tasks.Tasks[0].ID // the oldest: PUT would never pick it
	if err := e.m.KillTasks([]string{victim}, &marathon.KillTaskOpts{Scale: true}); err != nil {
		t.Fatal(err)
	}
	app, _ := e.m.Application(dbserver.ID)
	if *app.Instances != 2 || len(app.Tasks) != 2 {
		t.Fatalf("instances %d tasks %d", *app.Instances, len(app.Tasks))
	}
	for _, tk := range app.Tasks {
		if tk.ID == victim {
			t.Fatal("victim still there")
		}
	}
	if e.rec.gone[0] != victim {
		t.Fatalf("gone %v", e.rec.gone)
	}
	// The kill-and-scale deployment locks the app until the next Step.
	err = e.m.KillTasks([]string{app.Tasks[0].ID}, &marathon.KillTaskOpts{Scale: true})
	if code := apiErrCode(t, err); code != marathon.ErrCodeAppLocked {
		t.Fatalf("code %d: %v", code, err)
	}
	e.advance(time.Second)
	// DELETE /v2/apps/{id}/tasks/{taskId}?scale=true.
	if _, err := e.m.KillTask(app.Tasks[0].ID, &marathon.KillTaskOpts{Scale: true}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.c.AppStatus(dbserver.ID); st.Instances != 1 || st.Running != 1 {
		t.Fatalf("status %+v", st)
	}
	// Unknown task ids are ignored with a 200 and change nothing, as in
	// Marathon's TasksResource.killTasks; a task named twice, or an id of
	// a task already killed, lowers the count once.
	e.advance(time.Second)
	if err := e.m.KillTasks([]string{"nope.instance-x._app.1"}, &marathon.KillTaskOpts{Scale: true}); err != nil {
		t.Fatalf("unknown id: %v", err)
	}
	if st, _ := e.c.AppStatus(dbserver.ID); st.Instances != 1 || st.Running != 1 {
		t.Fatalf("an unknown id changed the app: %+v", st)
	}
	if err := e.c.AddApp(AppSpec{ID: "/other", Instances: 2, CPUs: 0.1, MemMB: 64}); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	others := e.c.Tasks("/other")
	if len(others) != 2 {
		t.Fatalf("other tasks %+v", others)
	}
	if err := e.m.KillTasks([]string{others[0].ID, others[0].ID, victim, "nope.instance-y._app.1"}, &marathon.KillTaskOpts{Scale: true}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.c.AppStatus("/other"); st.Instances != 1 {
		t.Fatalf("other app %+v, want 1 instance", st)
	}
	if st, _ := e.c.AppStatus(dbserver.ID); st.Instances != 1 {
		t.Fatalf("the id of a task already killed lowered the count again: %+v", st)
	}
	// Without scale Marathon replaces the killed task.
	e.advance(time.Second)
	before := e.c.Tasks(dbserver.ID)[0].ID
	if _, err := e.m.KillTask(before, nil); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Second)
	after := e.c.Tasks(dbserver.ID)
	if len(after) != 1 || after[0].ID == before || after[0].State != StateStaging {
		t.Fatalf("replacement %+v", after)
	}
}

func TestFullClusterQueues(t *testing.T) {
	e := newEnv(t, Params{Agents: 2, AgentCPUs: 8, AgentMemMB: 65536}, AppSpec{ID: "/arangodb-prod/dbserver", Instances: 2, CPUs: 4, MemMB: 4096})
	if _, err := e.m.ScaleApplicationInstances(dbserver.ID, 5, false); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Second)
	st, _ := e.c.AppStatus(dbserver.ID)
	if st.Staged+st.Running != 4 || st.Queued != 1 {
		t.Fatalf("status %+v", st)
	}
	q, err := e.m.Queue()
	if err != nil || len(q.Items) != 1 || q.Items[0].Count != 1 || q.Items[0].Application.ID != dbserver.ID {
		t.Fatalf("queue %+v %v", q, err)
	}
	// The raw body carries the reject reasons.
	body := get(t, e.c.MarathonURL()+"/v2/queue", "")
	var raw struct {
		Queue []struct {
			ProcessedOffersSummary struct {
				RejectSummaryLastOffers []struct {
					Reason    string
					Declined  int
					Processed int
				}
			}
		}
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range raw.Queue[0].ProcessedOffersSummary.RejectSummaryLastOffers {
		if r.Reason == "InsufficientCpus" && r.Declined == 2 && r.Processed == 2 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no InsufficientCpus reject: %s", body)
	}
	// The deployment cannot finish; freeing room lets the queued one launch.
	if deps, _ := e.m.Deployments(); len(deps) != 1 {
		t.Fatalf("deployments %v", deps)
	}
	if _, err := e.m.ScaleApplicationInstances(dbserver.ID, 4, true); err != nil {
		t.Fatal(err)
	}
	if q, _ := e.m.Queue(); len(q.Items) != 0 {
		t.Fatalf("queue after scale down %+v", q)
	}
	e.advance(time.Minute)
	if deps, _ := e.m.Deployments(); len(deps) != 0 {
		t.Fatalf("deployments %v", deps)
	}
	cpus, _ := e.c.FreeResources()
	if cpus != 0 {
		t.Fatalf("free cpus %v", cpus)
	}
}

func TestFailTaskIsReplacedWithNextIncarnation(t *testing.T) {
	e := newEnv(t, Params{RestartDelay: 30 * time.Second}, dbserver)
	old := e.c.Tasks(dbserver.ID)[1]
	if err := e.c.FailTask(old.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.c.FailTask(old.ID); !errors.Is(err, ErrUnknownTask) {
		t.Fatalf("second fail: %v", err)
	}
	if _, g := e.rec.counts(); g != 1 {
		t.Fatal("no gone hook")
	}
	e.advance(29 * time.Second)
	if len(e.c.Tasks(dbserver.ID)) != 2 {
		t.Fatal("replaced before RestartDelay")
	}
	app, _ := e.m.Application(dbserver.ID)
	if app.LastTaskFailure == nil || app.LastTaskFailure.TaskID != old.ID || app.LastTaskFailure.State != "TASK_FAILED" {
		t.Fatalf("lastTaskFailure %+v", app.LastTaskFailure)
	}
	e.advance(time.Second)
	ts := e.c.Tasks(dbserver.ID)
	nt := ts[len(ts)-1]
	if len(ts) != 3 || nt.State != StateStaging {
		t.Fatalf("tasks %+v", ts)
	}
	wantID := strings.TrimSuffix(old.ID, "1") + "2"
	if nt.ID != wantID {
		t.Fatalf("replacement id %s, want %s", nt.ID, wantID)
	}
	e.advance(30 * time.Second)
	if h, _ := e.rec.counts(); h != 4 {
		t.Fatalf("healthy hooks %d", h)
	}
}

func TestDeleteDeploymentRollsBack(t *testing.T) {
	e := newEnv(t, Params{}, dbserver)
	dep, _ := e.m.ScaleApplicationInstances(dbserver.ID, 5, false)
	e.advance(time.Second)
	rb, err := e.m.DeleteDeployment(dep.DeploymentID, false)
	if err != nil || rb.DeploymentID == "" {
		t.Fatalf("rollback %v %v", rb, err)
	}
	// The rollback restores 3 instances: the two staging tasks go.
	if st, _ := e.c.AppStatus(dbserver.ID); st.Instances != 3 || st.Staged != 0 || len(st.Deployments) != 1 || st.Deployments[0] != rb.DeploymentID {
		t.Fatalf("status %+v", st)
	}
	if _, err := e.m.DeleteDeployment("nope", false); apiErrCode(t, err) != marathon.ErrCodeNotFound {
		t.Fatalf("unknown deployment: %v", err)
	}
}

func get(t *testing.T, url, token string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "token="+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

func TestMesosEndpoints(t *testing.T) {
	e := newEnv(t, Params{}, dbserver, AppSpec{ID: "/arangodb-prod/coordinator", Instances: 2, CPUs: 2, MemMB: 4096})
	var m map[string]float64
	if err := json.Unmarshal(get(t, e.c.MesosURL()+"/metrics/snapshot", ""), &m); err != nil {
		t.Fatal(err)
	}
	if m["master/cpus_total"] != 48 || m["master/cpus_used"] != 16 || m["master/mem_used"] != 3*16384+2*4096 ||
		m["master/slaves_active"] != 6 || m["master/elected"] != 1 || m["master/cpus_percent"] != 16.0/48 {
		t.Fatalf("metrics %v", m)
	}
	var slaves struct {
		Slaves []struct {
			ID, Hostname, PID string
			Port              int
			Active            bool
			Resources         resources
			UsedResources     resources `json:"used_resources"`
		}
		RecoveredSlaves []any `json:"recovered_slaves"`
	}
	if err := json.Unmarshal(get(t, e.c.MesosURL()+"/master/slaves", ""), &slaves); err != nil {
		t.Fatal(err)
	}
	if len(slaves.Slaves) != 6 || slaves.RecoveredSlaves == nil || !slaves.Slaves[0].Active || slaves.Slaves[0].Resources.CPUs != 8 ||
		slaves.Slaves[1].Resources.Ports != "[32000-32999]" || !strings.HasPrefix(slaves.Slaves[0].PID, "slave(1)@127.0.0.1:") {
		t.Fatalf("slaves %+v", slaves)
	}

	task := e.c.Tasks(dbserver.ID)[0]
	e.c.SetTaskUsage(task.ID, 0.5, 8<<30)
	e.advance(10 * time.Second)
	var agentIdx int
	for i, id := range e.c.Agents() {
		if id == task.AgentID {
			agentIdx = i
		}
	}
	var stats []executorStats
	if err := json.Unmarshal(get(t, e.c.AgentURL(agentIdx)+"/monitor/statistics", ""), &stats); err != nil {
		t.Fatal(err)
	}
	var st *statistics
	for i := range stats {
		if stats[i].ExecutorID == task.ID {
			st = &stats[i].Statistics
		}
	}
	// 0.5 × 4 cpus × 10 s = 20 cpu seconds, 80 % user; the limits carry
	// the command executor's 0.1 cpus and 32 MB.
	if st == nil || !near(st.CPUsUserTimeSecs, 16) || !near(st.CPUsSystemTimeSecs, 4) || !near(st.CPUsLimit, 4.1) ||
		st.MemRSSBytes != 8<<30 || st.MemLimitBytes != (16384+32)<<20 || st.Timestamp != float64(t0.Add(10*time.Second).Unix()) {
		t.Fatalf("stats %+v", stats)
	}
	// The admin-router path on the master answers the same.
	via := get(t, e.c.MesosURL()+"/slave/"+task.AgentID+"/monitor/statistics", "")
	direct := get(t, e.c.AgentURL(agentIdx)+"/monitor/statistics", "")
	if !bytes.Equal(via, direct) {
		t.Fatalf("admin router path differs:\n%s\n%s", via, direct)
	}
	get(t, e.c.MesosURL()+"/master/state", "")
}

func near(a, b float64) bool { return a-b < 1e-6 && b-a < 1e-6 }

func TestAuth(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := Params{Token: "secret-acs", ServiceAccounts: map[string]*rsa.PublicKey{"arangoscale": &key.PublicKey}}
	e := newEnv(t, p, dbserver)
	// go-marathon with a DC/OS token (it prefixes /marathon).
	if _, err := e.m.Application(dbserver.ID); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.c.MarathonURL() + "/v2/apps")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), "ERR_INVALID_TOKEN") {
		t.Fatalf("no token: %d %s", resp.StatusCode, b)
	}
	if resp, _ := http.Get(e.c.MesosURL() + "/metrics/snapshot"); resp.StatusCode != 401 {
		t.Fatalf("mesos without token: %d", resp.StatusCode)
	}
	get(t, e.c.MesosURL()+"/metrics/snapshot", "secret-acs")
	get(t, e.c.MarathonURL()+"/ping", "")

	login := func(uid string, signer *rsa.PrivateKey, exp time.Time) (int, string) {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"uid": uid, "exp": exp.Unix()}).SignedString(signer)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"uid": uid, "token": tok})
		resp, err := http.Post(e.c.MarathonURL()+"/acs/api/v1/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := login("arangoscale", key, t0.Add(time.Hour)); code != 200 || !strings.Contains(body, `"token":"secret-acs"`) {
		t.Fatalf("login: %d %s", code, body)
	}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	if code, body := login("arangoscale", other, t0.Add(time.Hour)); code != 401 || !strings.Contains(body, "ERR_INVALID_CREDENTIALS") {
		t.Fatalf("wrong key: %d %s", code, body)
	}
	if code, _ := login("arangoscale", key, t0.Add(-time.Hour)); code != 401 {
		t.Fatalf("expired (virtual time) token accepted")
	}
	if code, _ := login("someone", key, t0.Add(time.Hour)); code != 401 {
		t.Fatalf("unknown uid accepted")
	}
}

func do(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, req)
	return rr
}

func TestBadRequests(t *testing.T) {
	c, err := New(clock.NewVirtual(t0), Params{})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddApp(dbserver); err != nil {
		t.Fatal(err)
	}
	h := c.MarathonHandler()
	cases := []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"PUT", "/v2/apps/arangodb-prod/dbserver", `{"instances":`, 400, `"message":"Invalid JSON"`},
		{"PUT", "/v2/apps/arangodb-prod/dbserver", `{"instances":"five"}`, 422, `"path":"/instances"`},
		{"PUT", "/v2/apps/arangodb-prod/dbserver", `{"instances":-1}`, 422, `Object is not valid`},
		{"GET", "/v2/apps/nope", ``, 404, `{"message":"App '/nope' does not exist"}`},
		{"GET", "/v2/apps/nope/tasks", ``, 404, `App '/nope' does not exist`},
		{"DELETE", "/v2/apps/arangodb-prod/dbserver", ``, 405, `Method Not Allowed`},
		{"POST", "/v2/tasks/delete?scale=true", `[1,2`, 400, `Invalid JSON`},
		{"GET", "/v2/nothing", ``, 404, `Not Found`},
		{"PUT", "/v2/apps/Bad_Id", `{"instances":1}`, 422, `/id`},
		{"GET", "/v2/apps/", ``, 200, `"apps":[`},
	}
	for _, tc := range cases {
		rr := do(h, tc.method, tc.path, tc.body)
		if rr.Code != tc.code || !strings.Contains(rr.Body.String(), tc.want) {
			t.Errorf("%s %s %s: %d %s; want %d containing %s", tc.method, tc.path, tc.body, rr.Code, rr.Body, tc.code, tc.want)
		}
	}
	// 409 body is Marathon's, byte for byte in shape.
	do(h, "PUT", "/v2/apps/arangodb-prod/dbserver", `{"instances":4}`)
	rr := do(h, "PUT", "/v2/apps/arangodb-prod/dbserver", `{"instances":5}`)
	var body struct {
		Message     string
		Deployments []struct{ ID string }
	}
	if err := json.Unmarshal(rr.Body.Bytes(), &body); err != nil || rr.Code != 409 || len(body.Deployments) != 1 ||
		body.Message != "App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/"+body.Deployments[0].ID+"'." {
		t.Fatalf("409: %d %s", rr.Code, rr.Body)
	}
	// PUT on a new app creates it (201).
	if rr := do(h, "PUT", "/v2/apps/other/app", `{"instances":2,"cpus":0.5}`); rr.Code != 201 {
		t.Fatalf("create: %d %s", rr.Code, rr.Body)
	}
	if st, ok := c.AppStatus("/other/app"); !ok || st.Instances != 2 {
		t.Fatalf("created app %+v", st)
	}
}

func FuzzMarathonHandler(f *testing.F) {
	for _, s := range []struct{ m, p, b string }{
		{"GET", "/v2/apps?embed=apps.tasks", ""},
		{"PUT", "/v2/apps/arangodb-prod/dbserver?force=true", `{"instances":4}`},
		{"POST", "/v2/tasks/delete?scale=true", `{"ids":["x"]}`},
		{"DELETE", "/v2/apps/arangodb-prod/dbserver/tasks/x?scale=true", ""},
		{"DELETE", "/v2/deployments/x", ""},
		{"GET", "/v2/queue", ""},
		{"POST", "/acs/api/v1/auth/login", `{"uid":"a","token":"b.c.d"}`},
		{"PUT", "/v2/apps/a", `{"labels":null,"instances":1e9}`},
	} {
		f.Add(s.m, s.p, s.b)
	}
	f.Fuzz(func(t *testing.T, method, path, body string) {
		c, err := New(clock.NewVirtual(t0), Params{Agents: 2})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddApp(AppSpec{ID: "/arangodb-prod/dbserver", Instances: 2, CPUs: 1, MemMB: 1024}); err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(method, "http://x"+path, strings.NewReader(body))
		if err != nil || !strings.HasPrefix(path, "/") {
			return
		}
		rr := httptest.NewRecorder()
		c.MarathonHandler().ServeHTTP(rr, req)
		if rr.Code < 200 || rr.Code > 599 {
			t.Fatalf("status %d", rr.Code)
		}
		c.Step(t0.Add(time.Minute))
	})
}

// A config change resets versionInfo.lastScalingAt too, as
// VersionInfo.forNewConfig does; a pure scale moves only lastScalingAt.
func TestConfigChangeMovesLastScalingAt(t *testing.T) {
	e := newEnv(t, Params{}, dbserver)
	e.advance(time.Minute)
	versionInfo := func() (string, string) {
		var v struct {
			App struct {
				VersionInfo struct{ LastScalingAt, LastConfigChangeAt string }
			}
		}
		if err := json.Unmarshal(get(t, e.c.MarathonURL()+"/v2/apps"+dbserver.ID, ""), &v); err != nil {
			t.Fatal(err)
		}
		return v.App.VersionInfo.LastScalingAt, v.App.VersionInfo.LastConfigChangeAt
	}
	if code, b := call(t, "PUT", e.c.MarathonURL()+"/v2/apps"+dbserver.ID+"?force=true", `{"cpus":6}`); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	now := marathonTime(e.clk.Now())
	if s, c := versionInfo(); s != now || c != now {
		t.Fatalf("after a config change: lastScalingAt %s lastConfigChangeAt %s, want both %s", s, c, now)
	}
	e.advance(time.Minute)
	if code, b := call(t, "PUT", e.c.MarathonURL()+"/v2/apps"+dbserver.ID+"?force=true", `{"instances":4}`); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	if s, c := versionInfo(); s != marathonTime(e.clk.Now()) || c != now {
		t.Fatalf("after a scale: lastScalingAt %s lastConfigChangeAt %s", s, c)
	}
}

// Embed values resolve as Marathon's AppInfoEmbedResolver does: tasks
// brings deployments, failures means tasks + lastTaskFailure + deployments,
// the prefix is optional and unknown values are ignored.
func TestAppListEmbedResolution(t *testing.T) {
	e := newEnv(t, Params{}, dbserver)
	e.advance(time.Minute)
	if err := e.c.FailTask(e.c.Tasks(dbserver.ID)[0].ID); err != nil {
		t.Fatal(err)
	}
	keysFor := func(q string) map[string]bool {
		var v struct{ Apps []map[string]any }
		if err := json.Unmarshal(get(t, e.c.MarathonURL()+"/v2/apps?"+q, ""), &v); err != nil || len(v.Apps) != 1 {
			t.Fatalf("%s: %v %v", q, v, err)
		}
		out := map[string]bool{}
		for k := range v.Apps[0] {
			out[k] = true
		}
		return out
	}
	for q, want := range map[string][]string{
		"embed=apps.tasks":              {"tasks", "deployments"},
		"embed=tasks":                   {"tasks", "deployments"},
		"embed=apps.failures":           {"tasks", "deployments", "lastTaskFailure"},
		"embed=apps.lastTaskFailure":    {"lastTaskFailure"},
		"embed=apps.nonsense&embed=x.y": {},
	} {
		k := keysFor(q)
		for _, w := range want {
			if !k[w] {
				t.Errorf("%s: no %s in %v", q, w, k)
			}
		}
		if len(want) == 0 && (k["tasks"] || k["lastTaskFailure"]) {
			t.Errorf("%s: unknown embed values embedded something: %v", q, k)
		}
	}
}

// Strict: a body under /v2/apps that is not application/json is 415, as
// from Marathon's @Consumes(APPLICATION_JSON) AppsResource; go-marathon,
// which declares its JSON, still scales. Lenient (default) lets it pass.
// cpus below app.raml's minimum 0.001 is 422 either way.
func TestStrictMarathonRejectsNonJSONBodies(t *testing.T) {
	for _, strict := range []bool{false, true} {
		e := newEnv(t, Params{Strict: strict}, dbserver)
		req, _ := http.NewRequest(http.MethodPut, e.c.MarathonURL()+"/v2/apps"+dbserver.ID+"?force=true", strings.NewReader(`{"instances":4}`))
		req.Header.Set("Content-Type", "text/plain")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body errBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		want := map[bool]int{false: 200, true: 415}[strict]
		if resp.StatusCode != want || (strict && body.Message != "HTTP 415 Unsupported Media Type") {
			t.Errorf("strict %v: text/plain PUT answered %d %+v, want %d", strict, resp.StatusCode, body, want)
		}
		if _, err := e.m.ScaleApplicationInstances(dbserver.ID, 5, true); err != nil {
			t.Errorf("strict %v: go-marathon scale: %v", strict, err)
		}
		if code, b := call(t, "PUT", e.c.MarathonURL()+"/v2/apps"+dbserver.ID+"?force=true", `{"cpus":0}`); code != 422 {
			t.Errorf("strict %v: cpus 0 answered %d %s, want 422", strict, code, b)
		}
		if code, b := call(t, "GET", e.c.MarathonURL()+"/v2/apps"+dbserver.ID, ""); code != 200 {
			t.Errorf("strict %v: GET answered %d %s", strict, code, b)
		}
	}
}
