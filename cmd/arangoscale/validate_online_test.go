package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

// TestValidateOnline: against the emulator with basic auth, a good policy
// passes; a wrong app id, an endpoint that does not answer and a wrong
// password are each named at their file:line:col.
func TestValidateOnline(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	p := sim.DefaultParams()
	p.Arango.Username, p.Arango.Password = "root", "right"
	spec := demoCluster("prod")
	spec.Load = sim.Constant(800)
	world, err := sim.NewWorld(clk, p, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Start(); err != nil {
		t.Fatal(err)
	}
	defer world.Close()
	var buf bytes.Buffer
	if err := demoPolicy.Execute(&buf, map[string]string{"Name": "prod", "ArangoURL": world.ArangoURL("prod")}); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	setup := func(password string) *controller.Setup {
		return &controller.Setup{MarathonURL: world.MarathonURL(), MesosURL: world.MesosURL(), Clock: clk, Interval: 15 * time.Second,
			ArangoUser: "root", ArangoPassword: password}
	}
	wait := func(ctx context.Context) error { world.Advance(15 * time.Second); return ctx.Err() }
	check := func(text, password string) ([]string, []string) {
		t.Helper()
		pol, err := policy.Load("p.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		return validateOnline(context.Background(), setup(password), "p.yaml", []byte(text), pol, wait)
	}
	world.Advance(time.Minute) // tasks healthy, metrics flowing
	if problems, ok := check(good, "right"); len(problems) > 0 || len(ok) != 1 || !strings.Contains(ok[0], "2 apps found, 1 of 1 endpoints answer with the credentials, 4 metrics have data") {
		t.Fatalf("good policy: problems %q, ok %q", problems, ok)
	}
	bad := strings.Replace(good, "/arangodb-prod/dbserver", "/arangodb-prod/dbservers", 1)
	bad = strings.Replace(bad, "endpoints: ["+world.ArangoURL("prod")+"]", "endpoints: ["+world.ArangoURL("prod")+", http://127.0.0.1:1]", 1)
	problems, _ := check(bad, "right")
	want := []string{
		"p.yaml:9:18: clusters[0].marathon.dbservers: app /arangodb-prod/dbservers:",
		"p.yaml:6:43:",
	}
	if len(problems) != 2 || !strings.HasPrefix(problems[0], want[0]) || !strings.HasPrefix(problems[1], want[1]) ||
		!strings.Contains(problems[1], "endpoints[1] http://127.0.0.1:1: does not answer") {
		t.Fatalf("problems:\n%s", strings.Join(problems, "\n"))
	}
	noProm := strings.Replace(good, "          - signal: disk_utilization\n            target: 0.80", "          - promql: 'sum(up)'\n            target: 0.80", 1)
	problems, _ = check(noProm, "right")
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "p.yaml:27:13: clusters[0].roles.dbservers.metrics[1] promql:sum(up): no Prometheus source configured") {
		t.Fatalf("metric without data: %q", problems)
	}
	problems, _ = check(good, "wrong")
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "p.yaml:6:") || !strings.Contains(problems[0], "credentials refused") {
		t.Fatalf("wrong password: %q", problems)
	}
}
