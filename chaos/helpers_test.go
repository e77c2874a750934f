package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/dcos"
	"github.com/arangoscale/arangoscale/sim/fault"
)

var (
	coordApp = sim.CoordinatorApp(alpha)
	dbApp    = sim.DBServerApp(alpha)
)

// newTestEnv builds a world without random faults; the test adds its own.
func newTestEnv(t *testing.T, o Options) *env {
	t.Helper()
	o.Faults = FaultsNone
	if err := o.defaults(); err != nil {
		t.Fatal(err)
	}
	e, err := newEnv(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

func (e *env) run(d time.Duration) {
	for end := e.clk.Now().Add(d); e.clk.Now().Before(end) && !e.aborted; {
		e.step()
	}
}

// runUntil steps until cond holds; it fails the test after limit.
func (e *env) runUntil(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := e.clk.Now()
	for e.clk.Now().Sub(start) <= limit {
		if cond() {
			return e.clk.Now().Sub(start)
		}
		e.step()
	}
	t.Fatalf("%s: not within %s; coordinators %+v, DB servers %+v, violations %v, notes %v",
		what, limit, e.app(coordApp), e.app(dbApp), e.chk.Violations(), e.notes)
	return 0
}

func (e *env) app(id string) dcos.AppStatus {
	st, _ := e.world.Marathon().AppStatus(id)
	return st
}

func (e *env) status(t *testing.T, r policy.Role) (controller.RoleStatus, controller.SagaStatus) {
	t.Helper()
	rs, saga, ok := e.role(alpha, r)
	if !ok {
		t.Fatalf("no status of alpha %s", r)
	}
	return rs, saga
}

// scales returns the scaling requests sent for app (kills with scale=true
// when kill is set).
func (e *env) scales(app string, kill bool) []Scale {
	var out []Scale
	for _, s := range e.chk.Scales() {
		if s.App == app && s.Kill == kill {
			out = append(out, s)
		}
	}
	return out
}

// metric sums the current controller's series of name whose labels
// include want.
func (e *env) metric(t *testing.T, name string, want map[string]string) float64 {
	t.Helper()
	return sumMetric(t, e.controller().Registry(), name, want)
}

func sumMetric(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	v, err := controller.SumSeries(reg, name, want)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// stopFaults ends every fault and checks the controller reaches the
// policy's answer within the bound, with no violation on the way.
func (e *env) convergeAfterFaults(t *testing.T) int {
	t.Helper()
	e.inj.StopAll()
	e.crashArm = false
	n := e.settleFixed()
	e.checkExposed("at the end")
	e.chk.CheckSecrets(e.sec, "the logs", e.logs.String())
	if v := e.chk.Violations(); len(v) > 0 {
		t.Fatalf("violations:\n%s\nnotes: %v", strings.Join(v, "\n"), e.notes)
	}
	if n < 0 {
		t.Fatal("not converged")
	}
	return n
}

// settleFixed is settle without a new load draw.
func (e *env) settleFixed() int {
	o := e.o
	e.o.Faults = FaultsNone
	defer func() { e.o = o }()
	return e.settle(nil)
}

func (e *env) add(t *testing.T, r fault.Rule) {
	t.Helper()
	if r.From.IsZero() {
		r.From = e.clk.Now()
	}
	if err := e.inj.Add(r); err != nil {
		t.Fatal(err)
	}
}

// sagaAt runs until alpha's saga is at step.
func (e *env) sagaAt(t *testing.T, limit time.Duration, step string) {
	t.Helper()
	e.runUntil(t, limit, "saga at "+step, func() bool {
		_, saga, _ := e.role(alpha, policy.DBServers)
		return saga.Step == step
	})
}
