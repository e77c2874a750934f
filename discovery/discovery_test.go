package discovery_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/discovery"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

const step = 15 * time.Second

const templates = `templates:
  web:
    interval: 15s
    roles:
      coordinators:
        min: 2
        max: %MAX%
        metrics: [{signal: requests_per_second, target_per_instance: 650}]
        stabilization: {up: 0s, down: 2m}
        cooldown: {up: 1m, down: 3m}
      dbservers:
        min: 3
        max: 6
        metrics: [{signal: cpu_utilization, target: 0.7}]
        step: {up: 1, down: 1}
`

type env struct {
	t     *testing.T
	clk   *clock.Virtual
	world *sim.World
	reg   *prometheus.Registry
	ctl   *controller.Controller
	disc  *discovery.Discoverer
	mu    sync.Mutex
	rps   map[string]float64
}

func loadPolicy(t *testing.T, max string) *policy.Config {
	t.Helper()
	p, err := policy.Load("policy.yaml", []byte(strings.ReplaceAll(templates, "%MAX%", max)))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newEnv(t *testing.T, names ...string) *env {
	e := &env{t: t, clk: clock.NewVirtual(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)), rps: map[string]float64{}}
	var specs []sim.ClusterSpec
	for _, n := range names {
		e.rps[n] = 800
		specs = append(specs, sim.ClusterSpec{
			Name: n, Coordinators: 2, DBServers: 3,
			Collections: []arango.CollectionSpec{{Database: "_system", Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 1 << 30}},
			Load: func(time.Duration) float64 {
				e.mu.Lock()
				defer e.mu.Unlock()
				return e.rps[n]
			},
		})
	}
	w, err := sim.NewWorld(e.clk, sim.DefaultParams(), specs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	e.world = w
	e.reg = prometheus.NewRegistry()
	s := &controller.Setup{
		MarathonURL: w.MarathonURL(), MesosURL: w.MesosURL(), Clock: e.clk, Registry: e.reg,
		Interval: step, SourceTimeout: 2 * time.Second,
		Backoff: controller.BackoffSettings{Initial: 15 * time.Second, Max: 2 * time.Minute, NoJitter: true},
	}
	ctl, err := s.Build()
	if err != nil {
		t.Fatal(err)
	}
	base := loadPolicy(t, "6")
	if err := ctl.SetPolicy(base); err != nil {
		t.Fatal(err)
	}
	e.ctl = ctl
	mc, err := marathon.New(marathon.Config{URL: w.MarathonURL(), Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.disc, err = discovery.New(discovery.Config{Marathon: mc, Target: ctl, Clock: e.clk, Interval: step}, base)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// label puts the discovery labels on a world cluster's apps.
func (e *env) label(name, template string) {
	e.t.Helper()
	m := e.world.Marathon()
	if err := m.SetLabels(sim.CoordinatorApp(name), map[string]string{
		discovery.LabelPolicy: template, discovery.LabelEndpoint: e.world.ArangoURL(name),
	}); err != nil {
		e.t.Fatal(err)
	}
	if err := m.SetLabels(sim.DBServerApp(name), map[string]string{discovery.LabelPolicy: template}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) sync() {
	e.t.Helper()
	if err := e.disc.Sync(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) run(d time.Duration) {
	for end := e.clk.Now().Add(d); e.clk.Now().Before(end); {
		e.world.Advance(step)
		e.sync()
		e.ctl.Step(context.Background(), true)
	}
}

func (e *env) metric(name string, labels map[string]string) float64 {
	e.t.Helper()
	v, err := controller.SumSeries(e.reg, name, labels)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// series counts the series of the registry that carry cluster=name.
func (e *env) series(name string) int {
	e.t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "cluster" && l.GetValue() == name {
					n++
				}
			}
		}
	}
	return n
}

func clusterNames(st controller.Status) []string {
	var out []string
	for _, c := range st.Clusters {
		out = append(out, c.Name)
	}
	return out
}

func TestTwoClustersAppearScaleAndDisappear(t *testing.T) {
	e := newEnv(t, "shop", "blog")
	e.sync()
	if got := clusterNames(e.ctl.Status()); len(got) != 0 {
		t.Fatalf("nothing is labelled yet, clusters %v", got)
	}
	e.label("shop", "web")
	e.label("blog", "web")
	e.sync()
	st := e.ctl.Status()
	if got := strings.Join(clusterNames(st), ","); got != "blog,shop" {
		t.Fatalf("clusters = %s, want blog,shop; discovery %+v", got, st.Discovery)
	}
	if st.Discovery == nil || len(st.Discovery.Clusters) != 2 || len(st.Discovery.Errors) != 0 ||
		st.Discovery.Clusters[1].Coordinators != sim.CoordinatorApp("shop") || st.Discovery.Clusters[1].Template != "web" {
		t.Fatalf("discovery status %+v", st.Discovery)
	}
	if got := e.metric("arangoscale_discovered_clusters", nil); got != 2 {
		t.Fatalf("arangoscale_discovered_clusters = %v", got)
	}

	// The controller scales the discovered clusters: shop's load rises.
	e.mu.Lock()
	e.rps["shop"] = 3000
	e.mu.Unlock()
	e.run(3 * time.Minute)
	if got := e.world.State("shop").Coordinators.Target; got < 4 {
		t.Fatalf("shop's coordinators were not scaled up: target %d", got)
	}
	if got := e.world.State("blog").Coordinators.Target; got != 2 {
		t.Fatalf("blog's coordinators moved without load: target %d", got)
	}
	if e.series("blog") == 0 {
		t.Fatal("blog has no series while scaled")
	}

	// A reload that changes the template applies to the discovered
	// clusters; they keep their history (no new actions by the reload).
	ups := e.metric("arangoscale_scale_actions_total", map[string]string{"cluster": "shop", "direction": "up"})
	if err := e.disc.SetBase(loadPolicy(t, "5")); err != nil {
		t.Fatal(err)
	}
	for _, cl := range e.ctl.Policy().Clusters {
		if cl.Roles[policy.Coordinators].Max != 5 {
			t.Fatalf("cluster %s: max %d after the reload, want 5", cl.Name, cl.Roles[policy.Coordinators].Max)
		}
	}
	if got := e.metric("arangoscale_scale_actions_total", map[string]string{"cluster": "shop", "direction": "up"}); got != ups {
		t.Fatalf("the reload changed shop's actions: %v → %v", ups, got)
	}

	// blog's apps disappear: it stops being scaled and its series go.
	for _, id := range []string{sim.CoordinatorApp("blog"), sim.DBServerApp("blog")} {
		if err := e.world.Marathon().RemoveApp(id); err != nil {
			t.Fatal(err)
		}
	}
	e.run(step)
	if got := strings.Join(clusterNames(e.ctl.Status()), ","); got != "shop" {
		t.Fatalf("clusters after blog's apps went: %s", got)
	}
	if n := e.series("blog"); n != 0 {
		t.Fatalf("blog still has %d series", n)
	}
	if got := e.metric("arangoscale_discovered_clusters", nil); got != 1 {
		t.Fatalf("arangoscale_discovered_clusters = %v", got)
	}
}

func TestUnknownTemplateAndIncompleteCluster(t *testing.T) {
	e := newEnv(t, "shop", "blog")
	e.label("shop", "web")
	e.label("blog", "analytics") // no such template
	e.sync()
	st := e.ctl.Status()
	if got := strings.Join(clusterNames(st), ","); got != "shop" {
		t.Fatalf("clusters = %s, want only shop", got)
	}
	if st.Discovery == nil || len(st.Discovery.Errors) != 1 || !strings.Contains(st.Discovery.Errors[0], `unknown template "analytics"`) ||
		!strings.Contains(st.Discovery.Errors[0], sim.CoordinatorApp("blog")) {
		t.Fatalf("discovery status %+v", st.Discovery)
	}
	if got := e.metric("arangoscale_discovery_errors", nil); got != 1 {
		t.Fatalf("arangoscale_discovery_errors = %v", got)
	}

	// blog's coordinators lose their labels: a dbservers-only cluster of a
	// template that scales both is incomplete.
	if err := e.world.Marathon().SetLabels(sim.CoordinatorApp("blog"), nil); err != nil {
		t.Fatal(err)
	}
	if err := e.world.Marathon().SetLabels(sim.DBServerApp("blog"), map[string]string{discovery.LabelPolicy: "web"}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	st = e.ctl.Status()
	if len(st.Discovery.Errors) != 1 || !strings.Contains(st.Discovery.Errors[0], "incomplete cluster") {
		t.Fatalf("discovery status %+v", st.Discovery)
	}
	if got := strings.Join(clusterNames(st), ","); got != "shop" {
		t.Fatalf("clusters = %s, want only shop", got)
	}

	// Fixed: both labelled with a known template.
	e.label("blog", "web")
	e.sync()
	if got := e.metric("arangoscale_discovery_errors", nil); got != 0 {
		t.Fatalf("arangoscale_discovery_errors = %v after the fix", got)
	}
	if got := strings.Join(clusterNames(e.ctl.Status()), ","); got != "blog,shop" {
		t.Fatalf("clusters = %s", got)
	}
}

// Without an endpoint label the coordinators' running tasks give the
// endpoints; a scale-up of the coordinators does not change them.
func TestEndpointsFromTasks(t *testing.T) {
	e := newEnv(t, "shop")
	m := e.world.Marathon()
	if err := m.SetLabels(sim.CoordinatorApp("shop"), map[string]string{discovery.LabelPolicy: "web"}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetLabels(sim.DBServerApp("shop"), map[string]string{discovery.LabelPolicy: "web"}); err != nil {
		t.Fatal(err)
	}
	e.sync()
	st := e.ctl.Status()
	if len(st.Discovery.Clusters) != 1 {
		t.Fatalf("discovery %+v", st.Discovery)
	}
	var want []string
	for _, task := range m.Tasks(sim.CoordinatorApp("shop")) {
		want = append(want, "http://"+task.Host+":"+itoa(task.Ports[0]))
	}
	got := st.Discovery.Clusters[0].Endpoints
	if len(got) != 2 || len(want) != 2 || !(got[0] == want[0] || got[0] == want[1]) {
		t.Fatalf("endpoints %v, want the tasks' %v", got, want)
	}
	if _, err := m.Scale(sim.CoordinatorApp("shop"), 3); err != nil {
		t.Fatal(err)
	}
	e.world.Advance(time.Minute)
	e.sync()
	if again := e.ctl.Status().Discovery.Clusters[0].Endpoints; strings.Join(again, ",") != strings.Join(got, ",") {
		t.Fatalf("endpoints changed with the scale-up: %v → %v", got, again)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
