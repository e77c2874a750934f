package chaos

import (
	"context"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

func hostShop(t *testing.T, tr *sim.Trace) *Hosted {
	t.Helper()
	data, err := os.ReadFile("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h, err := Host(HostOptions{File: "testdata/shop.yaml", Data: data, Trace: tr, TraceName: "step"})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The hosted cluster's own min, max and schedule are what the checker
// holds the world and the controller's scales to.
func TestHostedInvariantsUseThePolicysValues(t *testing.T) {
	e := newTestEnv(t, Options{Host: hostShop(t, nil)})
	rp := e.full.Clusters[0].Roles[policy.Coordinators]
	if e.full.Clusters[0].Name != alpha || rp.Min != 3 || rp.Max != 6 || len(rp.Schedule) != 1 {
		t.Fatalf("hosted policy: %s %+v", e.full.Clusters[0].Name, rp)
	}
	if got := e.app(coordApp).Instances; got != 3 {
		t.Fatalf("the world starts with %d coordinators, want the policy's min 3", got)
	}
	e.run(time.Minute)
	// Someone else takes the coordinators below the policy's min of 3 (the
	// built-in policy's min is 2): a violation against the hosted min.
	if _, err := e.world.Marathon().Scale(coordApp, 2); err != nil {
		t.Fatal(err)
	}
	e.chk.CheckStep()
	if !hasViolation(e, "below min 3") {
		t.Fatalf("no violation against the hosted min 3: %v", e.chk.Violations())
	}

	// The schedule "15 10 * * 1" raises the floor to 5 from 10:15 to
	// 10:20 (the run starts Monday 10:00): a scale to 4 then is below it.
	e.runUntil(t, 20*time.Minute, "coordinators at the schedule floor", func() bool {
		return e.clk.Now().After(epoch.Add(15*time.Minute)) && e.app(coordApp).Instances >= 5
	})
	c := &http.Client{Transport: marathon.NewAuthTransport(senderTransport{base: e.tr, id: "test"}, marathon.StaticToken(e.sec.DCOSToken))}
	req, err := http.NewRequest(http.MethodPut, e.world.MarathonURL()+"/v2/apps"+coordApp, strings.NewReader(`{"instances":4}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !hasViolation(e, "below the schedule floor 5") {
		t.Fatalf("no violation against the hosted schedule floor 5: %v", e.chk.Violations())
	}
}

func hasViolation(e *env, s string) bool {
	for _, v := range e.chk.Violations() {
		if strings.Contains(v, s) {
			return true
		}
	}
	return false
}

// A hosted run with a trace, without faults and with the random plan,
// has no violations and converges.
func TestHostedRun(t *testing.T) {
	tr := sim.Trace{T: []time.Duration{0, 20 * time.Minute, 40 * time.Minute}, RPS: []float64{100, 400, 50}}
	h := hostShop(t, &tr)
	for _, faults := range []string{FaultsNone, FaultsRandom} {
		r, err := Run(context.Background(), Options{Seed: 3, Faults: faults, Host: h, Duration: 20 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Violations) > 0 || r.ConvergedAfter < 0 {
			t.Errorf("%s: %s\n  %s\n  %s", faults, r, strings.Join(r.Faults, "\n  "), strings.Join(r.Violations, "\n  "))
		}
	}
}

func TestHostErrors(t *testing.T) {
	shop, err := os.ReadFile("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) []byte { return []byte(strings.Replace(string(shop), old, new, 1)) }
	for _, c := range []struct {
		name, cluster string
		data          []byte
		want          string
	}{
		{"unknown cluster", "nope", shop, `--cluster "nope": no such cluster in p.yaml (it has shop)`},
		{"promql", "", edit("          - signal: requests_per_second\n            target_per_instance: 500",
			"          - promql: 'sum(rate(x[1m]))'\n            target_per_instance: 500"),
			"p.yaml:14:21: clusters[0].roles.coordinators.metrics[0].promql: the chaos world has no Prometheus"},
		{"too many instances", "", edit("max: 6", "max: 200"), "p.yaml:12:14: clusters[0].roles: max"},
		{"below the replication", "", edit("        min: 3\n        max: 6\n        metrics:\n          - signal: cpu", "        min: 1\n        max: 1\n        metrics:\n          - signal: cpu"),
			"p.yaml:26:14: clusters[0].roles.dbservers.max 1: the chaos world's collections need 2 DB servers"},
		{"no coordinators", "", []byte("clusters:\n  - name: c\n    arangodb: {endpoints: ['http://x:8529']}\n    marathon: {dbservers: /c/db}\n    roles:\n      dbservers: {min: 3, max: 5, metrics: [{signal: cpu_utilization, target: 0.7}]}\n"),
			`p.yaml:6:7: cluster "c" has no coordinators role`},
	} {
		_, err := Host(HostOptions{File: "p.yaml", Data: c.data, Cluster: c.cluster})
		if !errors.Is(err, ErrHost) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrHost mentioning %q", c.name, err, c.want)
		}
	}
}

func TestSettleBound(t *testing.T) {
	load := func(roles string) *policy.Cluster {
		t.Helper()
		cfg, err := policy.Load("p.yaml", []byte("clusters:\n  - name: c\n    arangodb: {endpoints: [http://x:8529]}\n    marathon: {coordinators: /c/co, dbservers: /c/db}\n    roles:\n"+roles))
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Clusters[0]
	}
	for _, c := range []struct {
		name, roles string
		want        int
	}{
		{"short windows keep the default", "      coordinators: {min: 2, max: 8, metrics: [{signal: cpu_utilization, target: 0.7}], cooldown: {up: 1m, down: 1m}, stabilization: {up: 0s, down: 1m}, step: {up: '100%', down: '50%'}}\n", DefaultSettle},
		// 6 removals of 10 min + 90 s saga each, 2 min backoff: 71 min
		// = 284 intervals, one of slack a step and two more.
		{"long cooldowns", "      dbservers: {min: 3, max: 9, metrics: [{signal: cpu_utilization, target: 0.7}], cooldown: {up: 5m, down: 10m}, step: {up: 1, down: 1}}\n", 284 + 6 + 2},
	} {
		if got := settleBound(load(c.roles)); got != c.want {
			t.Errorf("%s: %d intervals, want %d", c.name, got, c.want)
		}
	}
}
