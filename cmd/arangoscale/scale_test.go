package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

// TestManualScaleDBServersSafely drives `arangoscale scale` against the
// emulated world in virtual time: up by one, then back down through the
// clean-out saga, with every step reported and no shard lost.
func TestManualScaleDBServersSafely(t *testing.T) {
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
	defer world.Close()
	var buf bytes.Buffer
	if err := demoPolicy.Execute(&buf, map[string]string{"Name": "prod", "ArangoURL": world.ArangoURL("prod")}); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load("p.yaml", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	wait := func(ctx context.Context) error {
		if l := world.Losses(); len(l) > 0 {
			t.Fatalf("shards lost: %+v", l)
		}
		world.Advance(15 * time.Second)
		return ctx.Err()
	}
	setup := func() *controller.Setup {
		return &controller.Setup{MarathonURL: world.MarathonURL(), MesosURL: world.MesosURL(), Clock: clk, Interval: 15 * time.Second}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var out bytes.Buffer
	if err := manualScale(ctx, setup(), pol, "prod", policy.DBServers, 4, wait, &out); err != nil {
		t.Fatalf("scale up: %v\n%s", err, out.String())
	}
	if got := world.State("prod").DBServers.Healthy; got != 4 {
		t.Fatalf("after scale to 4: %d healthy DB servers", got)
	}
	out.Reset()
	if err := manualScale(ctx, setup(), pol, "prod", policy.DBServers, 3, wait, &out); err != nil {
		t.Fatalf("scale down: %v\n%s", err, out.String())
	}
	for _, step := range []string{"saga cleaning_out", "done: prod dbservers at 3"} {
		if !strings.Contains(out.String(), step) {
			t.Errorf("report lacks %q:\n%s", step, out.String())
		}
	}
	for _, srv := range world.ArangoDB("prod").Servers() {
		if srv.Role == "DBSERVER" && srv.Status != "GOOD" {
			t.Errorf("DB server %s left %s", srv.ID, srv.Status)
		}
	}
	out.Reset()
	if err := manualScale(ctx, setup(), pol, "prod", policy.DBServers, 1, wait, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "outside 3..8: scaling to 3") {
		t.Errorf("a count under min must be clamped and said so:\n%s", out.String())
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
