package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

// scaleRig is an emulated world with a running controller, stepped in
// virtual time, that `arangoscale scale` talks to like an operator would.
type scaleRig struct {
	t     *testing.T
	clk   *clock.Virtual
	world *sim.World
	pol   *policy.Config
	ctl   *controller.Controller
	log   *syncWriter
	saga  map[string]bool // saga steps seen
}

func newScaleRig(t *testing.T) *scaleRig {
	t.Helper()
	clk := clock.NewVirtual(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
	spec := demoCluster("prod")
	spec.Load = sim.Constant(800)
	world, err := sim.NewWorld(clk, sim.DefaultParams(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(world.Close)
	var buf bytes.Buffer
	if err := demoPolicy.Execute(&buf, map[string]string{"Name": "prod", "ArangoURL": world.ArangoURL("prod")}); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load("p.yaml", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	r := &scaleRig{t: t, clk: clk, world: world, pol: pol, log: &syncWriter{w: &bytes.Buffer{}}, saga: map[string]bool{}}
	r.restart()
	return r
}

func (r *scaleRig) setup() *controller.Setup {
	return &controller.Setup{MarathonURL: r.world.MarathonURL(), MesosURL: r.world.MesosURL(), Clock: r.clk, Interval: 15 * time.Second,
		Logger: slog.New(slog.NewTextHandler(r.log, nil))}
}

// restart replaces the controller by a fresh one, as a new process would
// be; edit changes its setup first.
func (r *scaleRig) restart(edit ...func(*controller.Setup)) {
	r.t.Helper()
	s := r.setup()
	for _, f := range edit {
		f(s)
	}
	ctl, err := s.Build()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := ctl.SetPolicy(r.pol); err != nil {
		r.t.Fatal(err)
	}
	r.ctl = ctl
}

// step advances 15 s and lets the controller reconcile.
func (r *scaleRig) step(ctx context.Context) error {
	if l := r.world.Losses(); len(l) > 0 {
		r.t.Fatalf("shards lost: %+v", l)
	}
	r.world.Advance(15 * time.Second)
	r.ctl.Step(ctx, true)
	for _, c := range r.ctl.Status().Clusters {
		r.saga[c.Saga.Step] = true
	}
	return ctx.Err()
}

func (r *scaleRig) run(ctx context.Context, d time.Duration) {
	for end := r.clk.Now().Add(d); r.clk.Now().Before(end); {
		_ = r.step(ctx)
	}
}

func (r *scaleRig) holds() []controller.HoldStatus {
	for _, c := range r.ctl.Status().Clusters {
		if c.Name == "prod" {
			return c.Holds
		}
	}
	return nil
}

// TestScaleHoldRespectedAcrossRestart: a hold set with `scale` is kept by
// the running controller against its metrics (which want 2 coordinators),
// survives a controller restart, is shown in /status and as a metric, and
// `scale --release` ends it with a log line.
func TestScaleHoldRespectedAcrossRestart(t *testing.T) {
	r := newScaleRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	o := scaleOptions{cluster: "prod", role: policy.Coordinators, to: 5, hold: 2 * time.Hour, why: "load test", by: "ops@test", wait: true}
	if err := manualScale(ctx, r.setup(), r.pol, o, r.step, &out); err != nil {
		t.Fatalf("scale: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "done: prod coordinators at 5") {
		t.Fatalf("report:\n%s", out.String())
	}
	r.run(ctx, 10*time.Minute)
	r.restart()
	r.run(ctx, 20*time.Minute)
	if got := r.world.State("prod").Coordinators.Target; got != 5 {
		t.Fatalf("30 min into a 2 h hold at 5, with a restart: %d coordinators\n%s", got, r.log.String())
	}
	h := r.holds()
	if len(h) != 1 || h[0].Role != "coordinators" || h[0].Count != 5 || h[0].By != "ops@test" || h[0].Why != "load test" || !h[0].Stored ||
		!h[0].Until.Equal(time.Date(2026, 5, 4, 11, 0, 0, 0, time.UTC)) {
		t.Fatalf("/status holds after restart: %+v", h)
	}
	if got, err := controller.SumSeries(r.ctl.Registry(), "arangoscale_manual_hold_until_timestamp_seconds", map[string]string{"role": "coordinators"}); err != nil || got != float64(h[0].Until.Unix()) {
		t.Fatalf("hold expiry metric %v, want %v", got, h[0].Until.Unix())
	}
	rec := httptest.NewRecorder()
	r.ctl.Handler(controller.HTTPOptions{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/status", nil))
	if body := rec.Body.String(); !strings.Contains(body, `"holds": [`) || !strings.Contains(body, `"until": "2026-05-04T11:00:00Z"`) || !strings.Contains(body, `"source": "cli"`) {
		t.Errorf("/status lacks the hold:\n%s", body)
	}
	out.Reset()
	if err := manualScale(ctx, r.setup(), r.pol, scaleOptions{cluster: "prod", role: policy.Coordinators, release: true}, r.step, &out); err != nil {
		t.Fatal(err)
	}
	r.run(ctx, 15*time.Minute)
	if !strings.Contains(r.log.String(), "manual hold released before its end") {
		t.Errorf("no log line for the release:\n%s", r.log.String())
	}
	if h := r.holds(); len(h) != 0 {
		t.Errorf("holds after release: %+v", h)
	}
	if got := r.world.State("prod").Coordinators.Target; got == 5 {
		t.Errorf("15 min after the release the policy still did not act: %d coordinators", got)
	}
}

// TestScaleTouchesOnlyItsRole: `scale` itself changes nothing in Marathon
// (no second reconcile loop beside a controller) and stores a hold only
// for the role it was asked for.
func TestScaleTouchesOnlyItsRole(t *testing.T) {
	r := newScaleRig(t)
	ctx := context.Background()
	before := r.world.State("prod")
	var out bytes.Buffer
	o := scaleOptions{cluster: "prod", role: policy.DBServers, to: 4, wait: true}
	deadline := 0
	wait := func(ctx context.Context) error {
		r.world.Advance(15 * time.Second) // no controller runs
		if deadline++; deadline > 8 {
			return context.DeadlineExceeded
		}
		return nil
	}
	if err := manualScale(ctx, r.setup(), r.pol, o, wait, &out); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("without a controller the count is never reached: %v\n%s", err, out.String())
	}
	after := r.world.State("prod")
	if after.Coordinators.Target != before.Coordinators.Target || after.DBServers.Target != before.DBServers.Target {
		t.Fatalf("scale changed Marathon itself: before %+v after %+v", before, after)
	}
	store, err := r.setup().HoldStore(r.pol.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := store.Hold(ctx, "coordinators"); ok || err != nil {
		t.Fatalf("a coordinator hold appeared: %v %v", ok, err)
	}
	if h, ok, err := store.Hold(ctx, "dbservers"); !ok || err != nil || h.Count != 4 {
		t.Fatalf("dbservers hold: %+v %v %v", h, ok, err)
	}
}

// TestScaleDBServersThroughSaga: a DB-server hold is reached up, and down
// through the controller's clean-out saga, with no shard lost.
func TestScaleDBServersThroughSaga(t *testing.T) {
	r := newScaleRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := manualScale(ctx, r.setup(), r.pol, scaleOptions{cluster: "prod", role: policy.DBServers, to: 4, wait: true}, r.step, &out); err != nil {
		t.Fatalf("scale up: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := manualScale(ctx, r.setup(), r.pol, scaleOptions{cluster: "prod", role: policy.DBServers, to: 3, wait: true}, r.step, &out); err != nil {
		t.Fatalf("scale down: %v\n%s", err, out.String())
	}
	if !r.saga[controller.StepCleaningOut] {
		t.Errorf("the scale-down did not go through the clean-out saga: steps %v", r.saga)
	}
	// Marathon reaches 3 at the kill; the saga then waits for ArangoDB to
	// mark the server FAILED and removes it. Give it a bounded number of
	// reconciles to get there.
	for i := 0; i < 20 && r.ctl.Status().Clusters[0].Saga.Step != controller.StepIdle; i++ {
		_ = r.step(ctx)
	}
	for _, srv := range r.world.ArangoDB("prod").Servers() {
		if srv.Role == "DBSERVER" && srv.Status != "GOOD" {
			t.Errorf("DB server %s left %s", srv.ID, srv.Status)
		}
	}
	out.Reset()
	if err := manualScale(ctx, r.setup(), r.pol, scaleOptions{cluster: "prod", role: policy.DBServers, to: 1}, r.step, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "outside 3..8: scaling to 3") {
		t.Errorf("a count under min must be clamped and said so:\n%s", out.String())
	}
}

// TestWebUIHoldSurvivesRestart: a count set in ArangoDB's web UI (a PUT of
// numberOfServers) is held, stored, and still held by the next controller.
func TestWebUIHoldSurvivesRestart(t *testing.T) {
	r := newScaleRig(t)
	ctx := context.Background()
	r.run(ctx, time.Minute)
	req, _ := http.NewRequest(http.MethodPut, r.world.ArangoURL("prod")+"/_admin/cluster/numberOfServers", strings.NewReader(`{"numberOfCoordinators":6}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r.run(ctx, 2*time.Minute)
	if h := r.holds(); len(h) != 1 || h[0].Source != controller.HoldFromWebUI || !h[0].Stored || h[0].Count != 6 {
		t.Fatalf("holds after the web-UI change: %+v\n%s", h, r.log.String())
	}
	r.restart()
	r.run(ctx, 30*time.Minute)
	if got := r.world.State("prod").Coordinators.Target; got != 6 {
		t.Fatalf("after a restart the web-UI count 6 was not kept: %d\n%s", got, r.log.String())
	}
	if h := r.holds(); len(h) != 1 || h[0].Count != 6 {
		t.Fatalf("holds after restart: %+v", h)
	}
}

// syncWriter serialises writes from the controller's goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprint(s.w)
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestScaleHoldExpires: at its end a hold is deleted from the store, the
// log says so, its series go, and the policy decides again.
func TestScaleHoldExpires(t *testing.T) {
	r := newScaleRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	o := scaleOptions{cluster: "prod", role: policy.Coordinators, to: 5, hold: 10 * time.Minute, wait: true}
	if err := manualScale(ctx, r.setup(), r.pol, o, r.step, &out); err != nil {
		t.Fatalf("scale: %v\n%s", err, out.String())
	}
	r.run(ctx, 30*time.Minute)
	if !strings.Contains(r.log.String(), "manual hold expired; the policy decides again") {
		t.Errorf("no log line for the expiry:\n%s", r.log.String())
	}
	if h := r.holds(); len(h) != 0 {
		t.Errorf("holds after the expiry: %+v", h)
	}
	store, err := r.setup().HoldStore(r.pol.Clusters[0])
	if err != nil {
		t.Fatal(err)
	}
	if h, ok, err := store.Hold(ctx, "coordinators"); ok || err != nil {
		t.Errorf("hold document left after the expiry: %+v %v", h, err)
	}
	if n, err := controller.SumSeries(r.ctl.Registry(), "arangoscale_manual_hold_until_timestamp_seconds", nil); err != nil || n != 0 {
		t.Errorf("hold series after the expiry: %v %v", n, err)
	}
	if got := r.world.State("prod").Coordinators.Target; got == 5 {
		t.Errorf("20 min after the expiry still at the held count")
	}
}
