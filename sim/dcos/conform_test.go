package dcos

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// Marathon conformance: every body the emulated Marathon answers on the
// endpoints the controller or a user calls, checked against Marathon's own
// RAML (testdata/raml/v2/*.raml names the response type of each endpoint
// and status; the line comments below cite it).

// marathonDeviations are the places where real Marathon writes what its
// RAML does not declare; each names the upstream evidence.
var marathonDeviations = map[string]string{
	// MarathonExceptionMapper.scala writes each validation failure as
	// {"path": …, "errors": […]}; error.raml's ErrorDetail has no path.
	"error.raml#ErrorDetail.path": "MarathonExceptionMapper",
	// AppLockedException → 409 {"message", "deployments":[{id}]}
	// (MarathonExceptionMapper; traits.raml's 409 example).
	"error.raml#Error.deployments": "MarathonExceptionMapper, traits.raml 409 example",
	// Marathon 1.5 writes lastFailure/lastFailureCause as null before the
	// first failure (marathon-lb tests/zdd_app_blue_marathon1.5.json).
	"healthCheck.raml#Health.lastFailure":      "marathon-lb zdd_app_blue_marathon1.5.json",
	"healthCheck.raml#Health.lastFailureCause": "marathon-lb zdd_app_blue_marathon1.5.json",
}

func marathonSchema(t *testing.T) *ramlSchema {
	s := loadRAML(t, "testdata/raml/v2/types")
	s.marathonTime = true
	s.deviations = marathonDeviations
	return s
}

// call does one real HTTP round trip.
func call(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type conformCase struct {
	method, path, body string
	status             int
	lib, typ           string // "" = no body expected
	wrap               string // the body is {wrap: typ}
}

func (s *ramlSchema) conform(t *testing.T, base string, c conformCase) {
	t.Helper()
	code, b := call(t, c.method, base+c.path, c.body)
	what := c.method + " " + c.path
	if code != c.status {
		t.Errorf("%s: status %d, want %d: %s", what, code, c.status, b)
		return
	}
	if c.typ == "" {
		if len(b) != 0 {
			t.Errorf("%s: body %q, want none", what, b)
		}
		return
	}
	v := decodeNumbers(t, b)
	if c.wrap != "" {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 || m[c.wrap] == nil {
			t.Errorf("%s: want {%q: …}, got %s", what, c.wrap, b)
			return
		}
		v = m[c.wrap]
	}
	for _, e := range s.check(c.lib, c.typ, v) {
		t.Errorf("%s (%s %s): %s", what, c.lib, c.typ, e)
	}
	// Some timestamps are plain strings in the RAML (Task.stagedAt,
	// startedAt, version); Marathon writes them all as Timestamp.toString.
	if c.typ == "MarathonInfo" {
		return // its version is Marathon's release, not a timestamp
	}
	walkTimes(v, "$", func(path, ts string) {
		if !marathonTimeRE.MatchString(ts) {
			t.Errorf("%s: %s = %q is not Marathon's timestamp format", what, path, ts)
		}
	})
}

// walkTimes calls f for every string value under a key that holds a
// Marathon timestamp.
func walkTimes(v any, path string, f func(path, ts string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			if str, ok := vv.(string); ok && (strings.HasSuffix(k, "At") || k == "version" || k == "timestamp" || k == "since" ||
				k == "firstSuccess" || k == "lastSuccess" || k == "lastFailure") {
				f(path+"."+k, str)
				continue
			}
			walkTimes(vv, path+"."+k, f)
		}
	case []any:
		for i, vv := range x {
			walkTimes(vv, fmt.Sprintf("%s[%d]", path, i), f)
		}
	}
}

func TestMarathonConformsToRAML(t *testing.T) {
	s := marathonSchema(t)
	// Two small agents: the app outgrows them, so the queue and a running
	// deployment have something to show.
	e := newEnv(t, Params{Agents: 2, AgentCPUs: 8, AgentMemMB: 65536, Strict: true},
		AppSpec{ID: "/arangodb-prod/dbserver", Instances: 2, CPUs: 4, MemMB: 4096, Ports: 1})
	id := "/arangodb-prod/dbserver"
	e.advance(time.Minute)
	if err := e.c.FailTask(e.c.Tasks(id)[0].ID); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Minute)
	if _, err := e.c.Scale(id, 5); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Second)
	base := e.c.MarathonURL()

	cases := []conformCase{
		{method: "GET", path: "/v2/info", status: 200, lib: "info.raml", typ: "MarathonInfo"}, // info.raml 200
		{method: "GET", path: "/v2/leader", status: 200, lib: "info.raml", typ: "LeaderInfo"}, // leader.raml 200
		{method: "GET", path: "/v2/apps", status: 200, lib: "app.raml", typ: "AppList"},       // apps.raml get 200 (app_list example)
		{method: "GET", path: "/v2/apps/nope", status: 404, lib: "error.raml", typ: "Error"},  // apps.raml /{app_id} get 404
		{method: "GET", path: "/v2/tasks", status: 200, lib: "task.raml", typ: "TaskList"},    // tasks.raml get 200
		{method: "GET", path: "/v2/tasks?status=running", status: 200, lib: "task.raml", typ: "TaskList"},
		{method: "GET", path: "/v2/apps" + id + "/tasks", status: 200, lib: "task.raml", typ: "TaskList"}, // apps.raml /tasks get 200
		{method: "GET", path: "/v2/apps/nope/tasks", status: 404, lib: "error.raml", typ: "Error"},
		{method: "GET", path: "/v2/deployments", status: 200, lib: "deploymentEventsInfo.raml", typ: "DeploymentStepInfo[]"}, // deployments.raml get 200
		{method: "GET", path: "/v2/queue", status: 200, lib: "queue.raml", typ: "Queue"},                                     // queue.raml get 200
		// A locked app: 409 (apps.raml /{app_id} put 409 is error.Error).
		{method: "PUT", path: "/v2/apps" + id, body: `{"instances":6}`, status: 409, lib: "error.raml", typ: "Error"},
		{method: "PUT", path: "/v2/apps" + id, body: `{"instances":-1}`, status: 422, lib: "error.raml", typ: "Error"},
		{method: "PUT", path: "/v2/apps" + id, body: `{"instances":`, status: 400, lib: "error.raml", typ: "Error"},
		{method: "POST", path: "/v2/apps" + id, status: 405, lib: "error.raml", typ: "Error"},
		{method: "GET", path: "/v2/nothing", status: 404, lib: "error.raml", typ: "Error"},
		{method: "DELETE", path: "/v2/deployments/nope", status: 404, lib: "error.raml", typ: "Error"}, // deployments.raml delete 404
	}
	for _, v := range []string{"", "tasks", "counts", "count", "deployments", "lastTaskFailure", "failures", "taskStats", "readiness"} {
		q := ""
		if v != "" {
			q = "?embed=app." + v
		}
		// apps.raml /{app_id} get 200: the body is {"app": AppInfo}
		// (the RAML names no type; AppsResource.show wraps AppInfo).
		cases = append(cases, conformCase{method: "GET", path: "/v2/apps" + id + q, status: 200, lib: "app.raml", typ: "AppInfo", wrap: "app"})
		if v != "" {
			q = "?embed=apps." + v
		}
		cases = append(cases, conformCase{method: "GET", path: "/v2/apps" + q, status: 200, lib: "app.raml", typ: "AppList"})
	}
	for _, c := range cases {
		s.conform(t, base, c)
	}

	// Changes, each on the state the one before left.
	s.conform(t, base, conformCase{method: "PUT", path: "/v2/apps" + id + "?force=true", body: `{"instances":3}`,
		status: 200, lib: "deploymentResult.raml", typ: "DeploymentResult"}) // apps.raml put 200
	s.conform(t, base, conformCase{method: "PUT", path: "/v2/apps/new-app", body: `{"instances":0}`,
		status: 201, lib: "deploymentResult.raml", typ: "DeploymentResult"}) // apps.raml put 201
	e.advance(time.Minute)
	tasks := e.c.Tasks(id)
	s.conform(t, base, conformCase{method: "DELETE", path: "/v2/apps" + id + "/tasks/" + tasks[0].ID,
		status: 200, lib: "task.raml", typ: "TaskSingle"}) // apps.raml /tasks/{task_id} delete 200
	e.advance(time.Minute)
	tasks = e.c.Tasks(id)
	s.conform(t, base, conformCase{method: "DELETE", path: "/v2/apps" + id + "/tasks/" + tasks[0].ID + "?scale=true",
		status: 200, lib: "deploymentResult.raml", typ: "DeploymentResult"})
	e.advance(time.Minute)
	tasks = e.c.Tasks(id)
	s.conform(t, base, conformCase{method: "POST", path: "/v2/tasks/delete", body: `{"ids":["` + tasks[0].ID + `"]}`,
		status: 200, lib: "task.raml", typ: "TaskList"}) // tasks.raml delete post 200
	e.advance(time.Minute)
	tasks = e.c.Tasks(id)
	s.conform(t, base, conformCase{method: "POST", path: "/v2/tasks/delete?scale=true", body: `{"ids":["` + tasks[0].ID + `"]}`,
		status: 200, lib: "deploymentResult.raml", typ: "DeploymentResult"})
	s.conform(t, base, conformCase{method: "DELETE", path: "/v2/apps" + id + "/tasks", status: 200, lib: "task.raml", typ: "TaskList"})
	dep, err := e.c.Scale(id, 9)
	if err != nil {
		t.Fatal(err)
	}
	s.conform(t, base, conformCase{method: "DELETE", path: "/v2/deployments/" + dep,
		status: 200, lib: "deploymentResult.raml", typ: "DeploymentResult"}) // deployments.raml delete 200
	if dep, err = e.c.Scale(id, 10); err != nil {
		t.Fatal(err)
	}
	s.conform(t, base, conformCase{method: "DELETE", path: "/v2/deployments/" + dep + "?force=true", status: 202}) // 202: no body

	// general/ping.raml: 200 "pong".
	if code, b := call(t, "GET", base+"/ping", ""); code != 200 || strings.TrimSpace(string(b)) != "pong" {
		t.Errorf("GET /ping: %d %q", code, b)
	}
}

// Mesos: the agent objects of GET /master/slaves carry the keys the
// master's writer emits (apache/mesos src/master/http.cpp,
// json(JSON::ObjectWriter*, const Summary<Slave>&), 1.x: SlaveInfo's id,
// hostname, port, attributes, then pid, registered_time,
// reregistered_time when re-registered, resources, used_resources,
// offered_resources, reserved_resources, unreserved_resources, active,
// version, capabilities), and the real captures of a master's /state
// (testdata: DataDog, mesos-dns) hold nothing outside that set.
func TestMesosAgentListMatchesMasterWriter(t *testing.T) {
	writer := map[string]bool{}
	for _, k := range []string{"id", "hostname", "port", "attributes", "pid", "registered_time", "reregistered_time",
		"resources", "used_resources", "offered_resources", "reserved_resources", "unreserved_resources",
		"active", "version", "capabilities"} {
		writer[k] = true
	}
	for _, f := range []string{"datadog_mesos_master_state.json", "mesos-dns_master_state_fake.json"} {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ Slaves []map[string]any }
		if err := json.Unmarshal(b, &st); err != nil || len(st.Slaves) == 0 {
			t.Fatalf("%s: %v", f, err)
		}
		for _, a := range st.Slaves {
			for k := range a {
				if !writer[k] {
					t.Errorf("%s: real agent key %q not in the writer's list: the list is wrong", f, k)
				}
			}
		}
	}
	e := newEnv(t, Params{Agents: 2}, dbserver)
	code, b := call(t, "GET", e.c.MesosURL()+"/master/slaves", "")
	var out struct {
		Slaves          []map[string]any `json:"slaves"`
		RecoveredSlaves []any            `json:"recovered_slaves"`
	}
	if err := json.Unmarshal(b, &out); err != nil || code != 200 || len(out.Slaves) != 2 || out.RecoveredSlaves == nil {
		t.Fatalf("%d %s %v", code, b, err)
	}
	for _, a := range out.Slaves {
		for k := range a {
			if !writer[k] {
				t.Errorf("/master/slaves: key %q the Mesos master does not write", k)
			}
		}
		for _, k := range []string{"id", "hostname", "port", "pid", "resources", "active"} {
			if _, ok := a[k]; !ok {
				t.Errorf("/master/slaves: no %q", k)
			}
		}
	}
}

// The agent's /metrics/snapshot: every slave/* key the emulator writes is
// one a real agent wrote (the slave/* keys of DataDog's agent capture).
func TestMesosAgentMetricsKeysAreReal(t *testing.T) {
	b, err := os.ReadFile("testdata/datadog_mesos_slave_stats.json")
	if err != nil {
		t.Fatal(err)
	}
	var real map[string]any
	if err := json.Unmarshal(b, &real); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, Params{Agents: 1}, dbserver)
	code, body := call(t, "GET", e.c.AgentURL(0)+"/metrics/snapshot", "")
	var ours map[string]float64
	if err := json.Unmarshal(body, &ours); err != nil || code != 200 || len(ours) == 0 {
		t.Fatalf("%d %s %v", code, body, err)
	}
	for k := range ours {
		if _, ok := real[k]; !ok {
			t.Errorf("agent /metrics/snapshot: %q is not in the real capture", k)
		}
	}
}
