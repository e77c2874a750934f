package marathon

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gm "github.com/gambol99/go-marathon"
)

// Marathon ≥ 1.8 task ids: the app id is not what precedes the first '.'.
const (
	newTaskID1 = "arangodb-prod_dbserver.instance-5d1a0ba2-8e7c-11e9-b9fa-0242ac110002._app.1"
	newTaskID2 = "arangodb-prod_dbserver.instance-7c99814d-8e7c-11e9-b9fa-0242ac110002._app.1"
)

func newTestClient(t *testing.T, h http.Handler) (*Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{URL: srv.URL, HTTPClient: srv.Client(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "marathon.mesos:8080", "ftp://x", "http://", "http://a:8080,b:8080", "http://u:p@x", "http://x?y=1"} {
		if _, err := New(Config{URL: u}); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%q): err = %v, want ErrInvalid", u, err)
		}
	}
	if _, err := New(Config{URL: "https://dcos.example.com/service/marathon/"}); err != nil {
		t.Errorf("DC/OS URL refused: %v", err)
	}
}

// v1.3.6 app with tasks, deployments and versionInfo, with the task ids
// replaced by Marathon ≥ 1.8 ids.
func appWithNewTaskIDs(t *testing.T) []byte { return appWithNewTaskIDsTB(t) }

func appWithNewTaskIDsTB(t testing.TB) []byte {
	s := string(fixture(t, "v1.3.6_doc_get_app_with_tasks_deployments.jsonc"))
	s = strings.ReplaceAll(s, "toggle.802df2ae-3ad4-11e4-a400-56847afe9799", newTaskID1)
	s = strings.ReplaceAll(s, "toggle.7c99814d-3ad4-11e4-a400-56847afe9799", newTaskID2)
	return []byte(s)
}

func TestAppWithTasksAndVersionInfo(t *testing.T) {
	body := appWithNewTaskIDs(t)
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/v2/apps/arangodb-prod/dbserver" {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
		if got := r.URL.Query()["embed"]; !reflect.DeepEqual(got, []string{"app.tasks", "app.counts", "app.deployments"}) {
			t.Errorf("embed = %v", got)
		}
		w.Write(body)
	}))
	app, err := c.App(context.Background(), "/arangodb-prod/dbserver")
	if err != nil {
		t.Fatal(err)
	}
	if app.ID != "/toggle" || app.Instances != 2 || app.TasksRunning != 2 || app.TasksHealthy != 2 || app.CPUs != 0.2 || app.Mem != 32 {
		t.Errorf("app = %+v", app)
	}
	if want := time.Date(2014, 9, 12, 23, 28, 21, 737e6, time.UTC); !app.LastScalingAt.Equal(want) {
		t.Errorf("LastScalingAt = %v, want %v", app.LastScalingAt, want)
	}
	if !reflect.DeepEqual(app.Deployments, []string{"44c4ed48-ee53-4e0f-82dc-4df8b2a69057"}) {
		t.Errorf("Deployments = %v", app.Deployments)
	}
	if len(app.Tasks) != 2 {
		t.Fatalf("tasks = %d", len(app.Tasks))
	}
	t0 := app.Tasks[0]
	if t0.ID != newTaskID1 || t0.AppID != "/toggle" || t0.Host != "10.141.141.10" || !reflect.DeepEqual(t0.Ports, []int{31045}) {
		t.Errorf("task 0 = %+v", t0)
	}
	// No "state" in this old payload: derived from startedAt.
	if t0.State != "TASK_RUNNING" || !t0.Healthy {
		t.Errorf("task 0 state %q healthy %v", t0.State, t0.Healthy)
	}
	if want := time.Date(2014, 9, 13, 0, 24, 46, 959e6, time.UTC); !t0.StartedAt.Equal(want) {
		t.Errorf("StartedAt = %v", t0.StartedAt)
	}
	if app.Tasks[1].ID != newTaskID2 {
		t.Errorf("task 1 id %q", app.Tasks[1].ID)
	}
}

// go-marathon's Application cannot decode a v1.10 app whose env holds a
// secret reference; ours only decodes what it needs.
func TestAppV110WithEnvSecret(t *testing.T) {
	def := fixture(t, "v1.10_raml_example_app.json")
	body := []byte(`{"app":` + string(def) + `}`)
	var theirs struct {
		App *gm.Application `json:"app"`
	}
	if err := json.Unmarshal(body, &theirs); err == nil {
		t.Log("go-marathon decodes the v1.10 app now; the own decoding is still fine")
	}
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	app, err := c.App(context.Background(), "/foo")
	if err != nil {
		t.Fatal(err)
	}
	if app.ID != "/foo" || app.Instances != 2 || app.Labels["owner"] != "zeus" || app.Mem != 16 || len(app.Tasks) != 0 || !app.LastScalingAt.IsZero() {
		t.Errorf("app = %+v", app)
	}
}

func TestAppMarathon15TasksWithState(t *testing.T) {
	var list struct {
		Apps []json.RawMessage `json:"apps"`
	}
	if err := json.Unmarshal(fixture(t, "marathon-lb_marathon15_apps.json"), &list); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"app":` + string(list.Apps[0]) + `}`)
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	app, err := c.App(context.Background(), "pywebserver")
	if err != nil {
		t.Fatal(err)
	}
	if len(app.Tasks) != 1 {
		t.Fatalf("tasks: %+v", app.Tasks)
	}
	tk := app.Tasks[0]
	// No health checks: running is healthy.
	if tk.State != "TASK_RUNNING" || !tk.Healthy || tk.AgentID != "db7b40e2-791c-445f-b373-183e2a648a86-S1" {
		t.Errorf("task = %+v", tk)
	}
	if app.Labels["HAPROXY_GROUP"] != "external" || app.Deployments != nil {
		t.Errorf("app = %+v", app)
	}
}

func TestTaskHealth(t *testing.T) {
	cases := []struct {
		name      string
		task      string
		hasChecks bool
		want      bool
	}{
		{"running no checks", `{"id":"a.1","state":"TASK_RUNNING"}`, false, true},
		{"running checks pending", `{"id":"a.1","state":"TASK_RUNNING"}`, true, false},
		{"running all alive", `{"id":"a.1","state":"TASK_RUNNING","healthCheckResults":[{"alive":true},{"alive":true}]}`, true, true},
		{"running one dead", `{"id":"a.1","state":"TASK_RUNNING","healthCheckResults":[{"alive":true},{"alive":false}]}`, true, false},
		{"running null result", `{"id":"a.1","state":"TASK_RUNNING","healthCheckResults":[null]}`, true, false},
		{"staging", `{"id":"a.1","state":"TASK_STAGING"}`, false, false},
	}
	for _, tc := range cases {
		var w wireTask
		if err := json.Unmarshal([]byte(tc.task), &w); err != nil {
			t.Fatal(err)
		}
		got, err := decodeTask(w, tc.hasChecks)
		if err != nil || got.Healthy != tc.want {
			t.Errorf("%s: healthy %v err %v, want %v", tc.name, got.Healthy, err, tc.want)
		}
	}
}

func TestAppBadInput(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/apps/trunc":
			w.Write([]byte(`{"app": {"id": "/x", "tasks": [`))
		case "/v2/apps/badtime":
			w.Write([]byte(`{"app": {"id": "/x", "versionInfo": {"lastScalingAt": "yesterday"}}}`))
		case "/v2/apps/type":
			w.Write([]byte(`{"app": {"id": "/x", "instances": "three"}}`))
		}
	}))
	for id, want := range map[string]string{"trunc": "invalid JSON", "badtime": "lastScalingAt", "type": `"app.instances"`} {
		_, err := c.App(context.Background(), id)
		if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want ErrBadResponse naming %s", id, err, want)
		}
	}
	for _, id := range []string{"", "/", "/a//b", "/A", "/a/../b", "/a?x=1", "/a b"} {
		if _, err := c.App(context.Background(), id); !errors.Is(err, ErrInvalid) {
			t.Errorf("App(%q): err = %v, want ErrInvalid", id, err)
		}
	}
}

func TestScale(t *testing.T) {
	result := fixture(t, "v1.10_raml_example_deployments_result.json")
	for _, force := range []bool{false, true} {
		var gotForce string
		var gotInstances *int
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPut || r.URL.Path != "/v2/apps/arangodb-prod/coordinator" {
				t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
			}
			gotForce = r.URL.Query().Get("force")
			var body struct {
				Instances *int `json:"instances"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Error(err)
			}
			gotInstances = body.Instances
			w.Write(result)
		}))
		dep, err := c.Scale(context.Background(), "/arangodb-prod/coordinator", 5, force)
		if err != nil {
			t.Fatal(err)
		}
		if dep != "5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43" {
			t.Errorf("deployment id %q", dep)
		}
		if gotInstances == nil || *gotInstances != 5 {
			t.Errorf("instances sent: %v", gotInstances)
		}
		if want := map[bool]string{false: "", true: "true"}[force]; gotForce != want {
			t.Errorf("force=%v: query force=%q", force, gotForce)
		}
	}
	c, _ := newTestClient(t, http.NotFoundHandler())
	if _, err := c.Scale(context.Background(), "/a", -1, false); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative: %v", err)
	}
}

func TestScaleLocked(t *testing.T) {
	for _, name := range []string{"v1.3.6_doc_put_app_409_locked.json", "apps_raml_409_short.json"} {
		body := fixture(t, name)
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusConflict)
			w.Write(body)
		}))
		_, err := c.Scale(context.Background(), "/arangodb-prod/dbserver", 4, false)
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("%s: err = %v, want ErrLocked", name, err)
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusConflict || !strings.HasPrefix(ae.Message, "App is locked") {
			t.Errorf("%s: APIError = %+v", name, ae)
		}
		if name == "v1.3.6_doc_put_app_409_locked.json" && !reflect.DeepEqual(ae.Deployments, []string{"5cd987cd-85ae-4e70-8df7-f1438367d9cb"}) {
			t.Errorf("deployments = %v", ae.Deployments)
		}
		if errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
			t.Errorf("%s: matches too much: %v", name, err)
		}
	}
}

func TestNotFound(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"message":"App '/nope' does not exist"}`))
	}))
	_, err := c.App(context.Background(), "/nope")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("App: %v", err)
	}
	if _, err := c.Scale(context.Background(), "/nope", 1, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("Scale: %v", err)
	}
	if err := c.KillTasks(context.Background(), []string{newTaskID1}, true); !errors.Is(err, ErrNotFound) {
		t.Errorf("KillTasks: %v", err)
	}
}

// One 5xx makes go-marathon mark its host down until a /ping succeeds
// (rechecked every 5 s). Here a run of 5xx answers is ErrUnavailable with
// the real status, and the first call after Marathon recovers succeeds.
func TestUnavailableThenRecovery(t *testing.T) {
	var failing atomic.Bool
	var pings atomic.Int32
	failing.Store(true)
	deps := fixture(t, "v1.10_raml_example_deployments.json")
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ping" {
			pings.Add(1)
		}
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("<html><body>503 Service Temporarily Unavailable</body></html>"))
			return
		}
		switch r.URL.Path {
		case "/v2/deployments":
			w.Write(deps)
		case "/v2/apps/a":
			w.Write([]byte(`{"deploymentId":"d1","version":"v"}`))
		case "/ping":
			w.Write([]byte("pong"))
		}
	}))
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		_, err := c.Deployments(ctx)
		var ae *APIError
		if !errors.Is(err, ErrUnavailable) || !errors.As(err, &ae) || ae.Status != http.StatusServiceUnavailable {
			t.Fatalf("call %d: err = %v, want ErrUnavailable with status 503", i, err)
		}
		if errors.Is(err, gm.ErrMarathonDown) {
			t.Errorf("go-marathon's ErrMarathonDown leaked: %v", err)
		}
		if _, err := c.Scale(ctx, "/a", 2, false); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("scale %d: %v", i, err)
		}
	}
	failing.Store(false)
	if _, err := c.Deployments(ctx); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	if dep, err := c.Scale(ctx, "/a", 2, false); err != nil || dep != "d1" {
		t.Fatalf("scale after recovery: %q %v", dep, err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	// go-marathon's background rechecks were answered locally; only our
	// own Ping reached the server.
	if n := pings.Load(); n != 1 {
		t.Errorf("server saw %d /ping, want 1", n)
	}
}

func TestTransportErrorIsUnavailable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, err := New(Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"deployments": func() error { _, err := c.Deployments(context.Background()); return err },
		"app":         func() error { _, err := c.App(context.Background(), "/a"); return err },
		"ping":        func() error { return c.Ping(context.Background()) },
	} {
		if err := call(); !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s: err = %v, want ErrUnavailable", name, err)
		}
	}
}

func TestDeadlineOnSlowServer(t *testing.T) {
	release := make(chan struct{})
	c, srv := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer close(release) // before srv.Close (cleanups run after defers)
	calls := map[string]func(context.Context, *Client) error{
		"scale":       func(ctx context.Context, c *Client) error { _, err := c.Scale(ctx, "/a", 3, false); return err },
		"app":         func(ctx context.Context, c *Client) error { _, err := c.App(ctx, "/a"); return err },
		"kill":        func(ctx context.Context, c *Client) error { return c.KillTasks(ctx, []string{"a.1"}, true) },
		"deployments": func(ctx context.Context, c *Client) error { _, err := c.Deployments(ctx); return err },
		"queue":       func(ctx context.Context, c *Client) error { _, err := c.Queue(ctx); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		err := call(ctx, c)
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want DeadlineExceeded", name, err)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: returned after %v", name, d)
		}
	}
	// The per-call timeout applies without a caller deadline, as a
	// transient failure.
	short, err := New(Config{URL: srv.URL, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := calls["scale"](context.Background(), short); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("per-call timeout: %v", err)
	}
	// A cancelled caller gets context.Canceled, nothing is sent.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := calls["scale"](ctx, c); !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestKillTasksBulkWithScale(t *testing.T) {
	var gotIDs []string
	var gotScale string
	var hits atomic.Int32
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Method != http.MethodPost || r.URL.Path != "/v2/tasks/delete" {
			t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		}
		gotScale = r.URL.Query().Get("scale")
		var body struct {
			IDs []string `json:"ids"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		gotIDs = body.IDs
		w.Write([]byte(`{"deploymentId":"5ed4c0c5-9ff8-4a6f-a0cd-f57f59a34b43","version":"2015-09-29T15:59:51.164Z"}`))
	}))
	if err := c.KillTasks(context.Background(), []string{newTaskID1}, true); err != nil {
		t.Fatal(err)
	}
	if gotScale != "true" || !reflect.DeepEqual(gotIDs, []string{newTaskID1}) {
		t.Errorf("scale=%q ids=%v", gotScale, gotIDs)
	}
	if err := c.KillTasks(context.Background(), []string{newTaskID1, newTaskID2}, false); err != nil {
		t.Fatal(err)
	}
	if gotScale != "" || !reflect.DeepEqual(gotIDs, []string{newTaskID1, newTaskID2}) {
		t.Errorf("scale=%q ids=%v", gotScale, gotIDs)
	}
	if err := c.KillTasks(context.Background(), nil, true); err != nil || hits.Load() != 2 {
		t.Errorf("empty kill: err %v, hits %d", err, hits.Load())
	}
	if err := c.KillTasks(context.Background(), []string{""}, true); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty id: %v", err)
	}
}

func TestDeployments(t *testing.T) {
	for name, want := range map[string]Deployment{
		"v1.10_raml_example_deployments.json": {ID: "97c136bf-5a28-4821-9d94-480d9fbb01c8", AffectedApps: []string{"/foo"}, CurrentStep: 1, TotalSteps: 1, Version: "2015-09-30T09:09:17.614Z"},
	} {
		body := fixture(t, name)
		c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
		got, err := c.Deployments(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("%s: %+v", name, got)
		}
	}
	body := fixture(t, "v1.3.6_doc_get_deployments.json")
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	got, err := c.Deployments(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].ID == "" || len(got[0].AffectedApps) == 0 {
		t.Errorf("old shape: %+v", got)
	}
}

func TestQueueReasons(t *testing.T) {
	body := fixture(t, "v1.10_raml_example_queue.json")
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/queue" {
			t.Errorf("path %s", r.URL.Path)
		}
		w.Write(body)
	}))
	q, err := c.Queue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2016, 2, 28, 16, 41, 41, 90e6, time.UTC)
	want := []QueueItem{
		{AppID: "/tools/datadog-agent", Count: 1, Overdue: true, Since: since},
		{AppID: "/foo", Count: 2, Overdue: true, Since: since, Reasons: []string{"InsufficientCpus", "InsufficientMemory", "InsufficientDisk"}},
	}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("queue = %+v\nwant    %+v", q, want)
	}

	old := fixture(t, "v1.3.6_doc_get_queue.json")
	c2, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(old) }))
	q, err = c2.Queue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q, []QueueItem{{AppID: "/my/app", Count: 100}}) {
		t.Errorf("old queue = %+v", q)
	}
}

func TestQueueLastUnusedOffersFallback(t *testing.T) {
	items, err := decodeQueue([]byte(`{"queue":[{"pod":{"id":"/p"},"count":1,
		"lastUnusedOffers":[{"reason":["InsufficientMemory"]},{"reason":["InsufficientMemory","UnfulfilledConstraint"]}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].AppID != "/p" || !reflect.DeepEqual(items[0].Reasons, []string{"InsufficientMemory", "UnfulfilledConstraint"}) {
		t.Errorf("items = %+v", items)
	}
	for _, bad := range []string{`{"queue":[{"count":1}]}`, `{"queue":[{"app":{"id":"/a"},"since":"x"}]}`, `{"queue":{}}`, `{} {}`, `{}]`} {
		if _, err := decodeQueue([]byte(bad)); err == nil {
			t.Errorf("decodeQueue(%s): no error", bad)
		}
	}
}

func TestPing(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ping" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("pong\n"))
	}))
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// A DC/OS URL has a path prefix; every call keeps it.
func TestURLPathPrefix(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		switch {
		case strings.HasSuffix(r.URL.Path, "/v2/queue"):
			w.Write([]byte(`{"queue":[]}`))
		case strings.HasSuffix(r.URL.Path, "/v2/deployments"):
			w.Write([]byte(`[]`))
		}
	}))
	defer srv.Close()
	c, err := New(Config{URL: srv.URL + "/service/marathon/"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Queue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Deployments(context.Background()); err != nil {
		t.Fatal(err)
	}
	if want := []string{"/service/marathon/v2/queue", "/service/marathon/v2/deployments"}; !reflect.DeepEqual(paths, want) {
		t.Errorf("paths = %v", paths)
	}
}

// go-marathon starts a /ping recheck goroutine for every mark-down. It
// must end with the call, not poll every 5 s forever.
func TestNoRecheckGoroutineOutlivesCall(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	for i := 0; i < 5; i++ {
		if _, err := c.Deployments(context.Background()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		if !strings.Contains(stacks, "healthCheckNode") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("recheck goroutines still running:\n%s", stacks)
		}
		runtime.Gosched()
	}
}

func BenchmarkDecodeApp100Tasks(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"app":{"id":"/arangodb-prod/dbserver","instances":100,"cpus":4,"mem":16384,"disk":1024,"healthChecks":[{}],` +
		`"versionInfo":{"lastScalingAt":"2026-01-01T00:00:00.000Z"},"tasks":[`)
	for i := 0; i < 100; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"id":"` + newTaskID1 + `","appId":"/arangodb-prod/dbserver","host":"10.0.0.1","ports":[31000],"state":"TASK_RUNNING",` +
			`"startedAt":"2026-01-01T00:00:00.000Z","slaveId":"s1","healthCheckResults":[{"alive":true}]}`)
	}
	sb.WriteString(`]}}`)
	body := []byte(sb.String())
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := decodeApp(body); err != nil {
			b.Fatal(err)
		}
	}
}

func TestOtherAnswers(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v2/deployments":
			w.Write([]byte(`<html>not json</html>`))
		case "/v2/apps/a":
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"message":"Object is not valid","details":[{"path":"/instances","errors":["got 5000, expected 1000 or less"]}]}`))
		case "/v2/queue":
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"message":"Not Authorized to perform view on /"}`))
		}
	}))
	ctx := context.Background()
	if _, err := c.Deployments(ctx); !errors.Is(err, ErrBadResponse) {
		t.Errorf("bad JSON: %v", err)
	}
	_, err := c.Scale(ctx, "/a", 5000, false)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || ae.Message != "Object is not valid" {
		t.Errorf("422: %v", err)
	}
	for _, s := range []error{ErrLocked, ErrNotFound, ErrUnavailable, ErrUnauthorized} {
		if errors.Is(err, s) {
			t.Errorf("422 matches %v", s)
		}
	}
	if _, err := c.Queue(ctx); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("403: %v", err)
	}
}
