package sim_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// A world in virtual time: one cluster replaying the demo day 60× faster
// at 3× its rate, scaled up through the emulated Marathon.
func Example() {
	tr, err := sim.ReadTrace(bytes.NewReader(sim.DemoTrace))
	if err != nil {
		panic(err)
	}
	clk := clock.NewVirtual(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	w, err := sim.NewWorld(clk, sim.Params{}, sim.ClusterSpec{
		Name: "prod", Coordinators: 2, DBServers: 3, Agents: 3,
		Collections: []arango.CollectionSpec{{Name: "orders", NumberOfShards: 6, ReplicationFactor: 2}},
		Load:        tr.Func(60, 1),
	})
	if err != nil {
		panic(err)
	}
	if err := w.Start(); err != nil { // Marathon, Mesos and ArangoDB on 127.0.0.1
		panic(err)
	}
	defer w.Close()

	fmt.Println(w.State("prod"))
	if _, err := w.Marathon().Scale(sim.CoordinatorApp("prod"), 4); err != nil {
		panic(err)
	}
	w.Advance(18*time.Minute + 30*time.Second) // trace hour 18.5: the match-time surge
	fmt.Println(w.State("prod"))
	agency, _ := w.Marathon().AppStatus(sim.AgencyApp("prod"))
	fmt.Println("agency instances:", agency.Healthy)
	// Output:
	// prod@2026-06-01T00:00:00Z offered=656 served=656 coord=2/2/2 util=0.33 db=3/3/3 util=0.15 p95=0.040s
	// prod@2026-06-01T00:18:30Z offered=2886 served=2886 coord=4/4/4 util=0.72 db=3/3/3 util=0.64 p95=0.096s
	// agency instances: 3
}
