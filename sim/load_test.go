package sim

import (
	"math"
	"testing"
	"time"
)

func TestModel(t *testing.T) {
	p, err := Params{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	// 2 coordinators at 50 %, 3 DB servers at 1000/4500.
	r := model(p, 1000, 2, 3)
	if !near(r.coord.util, 0.5) || !near(r.db.util, 1000.0/4500) || r.overloaded || r.served != 1000 {
		t.Fatalf("%+v", r)
	}
	if !near(r.coord.latency, 0.010) || !near(r.coord.rpsPerServer, 500) || !near(r.coord.cpu, 0.02+0.98*0.5) {
		t.Fatalf("coordinator %+v", r.coord)
	}
	// Little's law: waiting requests = rate × (latency − service time).
	if !near(r.coord.queue, 500*(0.010-0.005)) {
		t.Fatalf("queue %v", r.coord.queue)
	}
	if want := math.Log(20) * (0.010 + 0.005/(1-1000.0/4500)); !near(r.p95, want) {
		t.Fatalf("p95 %v, want %v", r.p95, want)
	}
	// Saturation: latency capped, cpu pegged, overloaded.
	r = model(p, 2500, 2, 3)
	if !r.overloaded || r.coord.latency != 10 || r.coord.cpu != 1 || r.served != 2000 || r.p95 != 10 || r.coord.rpsPerServer != 1000 {
		t.Fatalf("saturated %+v", r)
	}
	// No coordinators: all dropped.
	r = model(p, 100, 0, 3)
	if !r.overloaded || r.served != 0 || r.p95 != 10 {
		t.Fatalf("no coordinators %+v", r)
	}
	// No load, no coordinators: nothing to drop.
	if r = model(p, 0, 0, 0); r.overloaded {
		t.Fatalf("idle %+v", r)
	}
	// No DB servers: overloaded as soon as there is load.
	if r = model(p, 10, 2, 0); !r.overloaded {
		t.Fatalf("no DB servers %+v", r)
	}
}

func TestSteps(t *testing.T) {
	f := Steps(100, LoadStep{At: time.Minute, RPS: 500}, LoadStep{At: time.Hour, RPS: 50})
	if f(0) != 100 || f(time.Minute) != 500 || f(2*time.Hour) != 50 || Constant(7)(time.Hour) != 7 {
		t.Fatal("steps")
	}
}
