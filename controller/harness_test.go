package controller_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

const step = 15 * time.Second

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// testPolicy is the policy of the end-to-end tests; short windows keep
// the runs short in virtual time.
var testPolicy = template.Must(template.New("p").Parse(`clusters:
  - name: {{.Name}}
    interval: 15s
    arangodb:
      endpoints: [{{.URL}}]
    marathon:
      coordinators: /arangodb-{{.Name}}/coordinator
      dbservers: /arangodb-{{.Name}}/dbserver
    roles:
      coordinators:
        min: 2
        max: 10
        metrics:
          - signal: requests_per_second
            target_per_instance: 650
        stabilization: {up: 0s, down: 2m}
        cooldown: {up: 1m, down: 3m}
        paused: {{.Paused}}
        manual_hold: 10m
{{- if .SLO}}
        slo:
          latency_p95: 500ms
          trend: {window: 5m}
{{- end}}
{{- if .Forecast}}
{{.Forecast}}{{end}}
      dbservers:
        min: {{.DBMin}}
        max: 6
        metrics:
          - signal: cpu_utilization
            target: 0.7
        stabilization: {up: 0s, down: 2m}
        cooldown: {up: 2m, down: 3m}
        step: {up: 1, down: 1}
        paused: {{.DBPaused}}
{{- if .DBSLO}}
        slo: {latency_p95: 250ms}
{{- end}}
`))

// faultProxy sits between the controller and the emulated Marathon: a real
// HTTP hop whose answers a test can replace.
type faultProxy struct {
	srv   *httptest.Server
	mu    sync.Mutex
	fault func(r *http.Request) (status int, body string, ok bool)
	seen  []string // "METHOD path" of every request
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	fp := &faultProxy{}
	fp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fp.mu.Lock()
		fp.seen = append(fp.seen, r.Method+" "+r.URL.Path)
		f := fp.fault
		fp.mu.Unlock()
		if f != nil {
			if status, body, ok := f(r); ok {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(body))
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(fp.srv.Close)
	return fp
}

func (fp *faultProxy) set(f func(r *http.Request) (int, string, bool)) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.fault = f
}

// count returns how many requests matched method and a path prefix.
func (fp *faultProxy) count(method, prefix string) int {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	n := 0
	for _, s := range fp.seen {
		m, p, _ := strings.Cut(s, " ")
		if m == method && strings.HasPrefix(p, prefix) {
			n++
		}
	}
	return n
}

type harness struct {
	t     *testing.T
	clk   *clock.Virtual
	world *sim.World
	proxy *faultProxy
	// arango is the proxy in front of the ArangoDB endpoint when
	// harnessOpts.arangoProxy asked for one.
	arango *faultProxy
	reg    *prometheus.Registry
	ctl    *controller.Controller
	rps    float64
	mu     sync.Mutex
}

type harnessOpts struct {
	dryRun   bool
	paused   bool
	dbPaused bool
	dbMin    int // default 3
	resolver controller.Resolver
	params   *sim.Params
	spec     *sim.ClusterSpec
	fence    controller.Fence
	// forecast is a forecast: block of the coordinators (8 spaces in);
	// promURL the controller's PROMETHEUS_URL; onHistory its
	// OnForecastHistory.
	forecast  string
	promURL   string
	onHistory func(cluster string, role policy.Role, points int, err error)
	slo       bool // the coordinators size for an SLO
	dbSLO     bool // the DB servers size for an SLO
	// arangoProxy puts a proxy that counts requests (harness.arango) in
	// front of the ArangoDB endpoint.
	arangoProxy bool
}

func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewVirtual(t0), rps: 800}
	spec := sim.ClusterSpec{
		Name: "prod", Coordinators: 2, DBServers: 3,
		Collections: []arango.CollectionSpec{
			{Database: "_system", Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 6 << 30},
			{Database: "_system", Name: "sessions", NumberOfShards: 3, ReplicationFactor: 1, WriteConcern: 1, SizeBytes: 1 << 30},
		},
	}
	if o.spec != nil {
		spec = *o.spec
	}
	spec.Load = func(time.Duration) float64 {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.rps
	}
	params := sim.DefaultParams()
	if o.params != nil {
		params = *o.params
	}
	w, err := sim.NewWorld(h.clk, params, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	h.world = w
	h.proxy = newFaultProxy(t, w.MarathonURL())
	if o.arangoProxy {
		h.arango = newFaultProxy(t, w.ArangoURL("prod"))
	}
	h.start(o)
	return h
}

// start builds a fresh controller, as a restarted process would.
func (h *harness) start(o harnessOpts) {
	h.t.Helper()
	h.reg = prometheus.NewRegistry()
	s := &controller.Setup{
		MarathonURL:   h.proxy.srv.URL,
		MesosURL:      h.world.MesosURL(),
		Clock:         h.clk,
		Registry:      h.reg,
		Interval:      step,
		DryRun:        o.dryRun,
		SourceTimeout: 2 * time.Second,
		Backoff:       controller.BackoffSettings{Initial: 15 * time.Second, Max: 2 * time.Minute, NoJitter: true},
		Resolver:      o.resolver,
		Fence:         o.fence,

		PrometheusURL:     o.promURL,
		OnForecastHistory: o.onHistory,
	}
	ctl, err := s.Build()
	if err != nil {
		h.t.Fatal(err)
	}
	if err := ctl.SetPolicy(h.policyFor(o)); err != nil {
		h.t.Fatal(err)
	}
	h.ctl = ctl
}

// policy renders the test policy for o.
func (h *harness) policyFor(o harnessOpts) *policy.Config {
	h.t.Helper()
	var buf bytes.Buffer
	dbMin := o.dbMin
	if dbMin == 0 {
		dbMin = 3
	}
	arangoURL := h.world.ArangoURL("prod")
	if h.arango != nil {
		arangoURL = h.arango.srv.URL
	}
	if err := testPolicy.Execute(&buf, map[string]any{"Name": "prod", "URL": arangoURL,
		"Paused": o.paused, "DBPaused": o.dbPaused, "DBMin": dbMin, "SLO": o.slo, "DBSLO": o.dbSLO, "Forecast": o.forecast}); err != nil {
		h.t.Fatal(err)
	}
	p, err := policy.Load("test.yaml", buf.Bytes())
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// reload gives the running controller the policy for o, as a hot reload.
func (h *harness) reload(o harnessOpts) {
	h.t.Helper()
	if err := h.ctl.SetPolicy(h.policyFor(o)); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) setRPS(v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rps = v
}

// run advances virtual time by d in reconcile intervals, reconciling after
// every step, and checks that no shard was ever lost.
func (h *harness) run(d time.Duration) {
	h.t.Helper()
	for end := h.clk.Now().Add(d); h.clk.Now().Before(end); {
		h.world.Advance(step)
		h.ctl.Step(context.Background(), true)
		if l := h.world.Losses(); len(l) > 0 {
			h.t.Fatalf("shards lost: %+v", l)
		}
	}
}

// runUntil runs until cond holds, failing after limit.
func (h *harness) runUntil(limit time.Duration, what string, cond func(sim.ClusterState) bool) time.Duration {
	h.t.Helper()
	start := h.clk.Now()
	for h.clk.Now().Sub(start) <= limit {
		if cond(h.state()) {
			return h.clk.Now().Sub(start)
		}
		h.run(step)
	}
	st := h.state()
	h.t.Fatalf("%s: not reached within %s; state %+v; status %+v", what, limit, st, h.ctl.Status())
	return 0
}

func (h *harness) role(r string) controller.RoleStatus {
	for _, c := range h.ctl.Status().Clusters {
		for _, rs := range c.Roles {
			if rs.Role == r {
				return rs
			}
		}
	}
	h.t.Fatalf("no status for role %s", r)
	return controller.RoleStatus{}
}

// metric returns the value of the series of name whose labels include
// want (0 when there is none).
func (h *harness) metric(name string, want map[string]string) float64 {
	h.t.Helper()
	v, err := controller.SumSeries(h.reg, name, want)
	if err != nil {
		h.t.Fatal(err)
	}
	return v
}

func (h *harness) actions(role, dir, result string) float64 {
	return h.metric("arangoscale_scale_actions_total", map[string]string{"role": role, "direction": dir, "result": result})
}

func httptestServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func controllerHTTPOptions() controller.HTTPOptions {
	return controller.HTTPOptions{AdminToken: "s3cret", Reload: func(context.Context) error { return nil }}
}

func itoa(n int) string { return strconv.Itoa(n) }

// state is the world's last stepped state with the roles' Marathon
// counters read live, so an action of the reconcile just run shows.
func (h *harness) state() sim.ClusterState {
	st := h.world.State("prod")
	live := func(app string) sim.RoleState {
		a, ok := h.world.Marathon().AppStatus(app)
		if !ok {
			h.t.Fatalf("no app %s", app)
		}
		return sim.RoleState{Target: a.Instances, Running: a.Running, Healthy: a.Healthy, Staged: a.Staged}
	}
	st.Coordinators = live(sim.CoordinatorApp("prod"))
	st.DBServers = live(sim.DBServerApp("prod"))
	return st
}
