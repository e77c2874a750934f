package controller_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/metrics"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// countingTransport is a plain *http.Transport, as run builds it, whose
// dialler counts connections per host and the requests written on them
// per path.
type countingTransport struct {
	*http.Transport
	mu    sync.Mutex
	dials map[string]int
	paths map[string]int
}

func newCountingTransport() *countingTransport {
	ct := &countingTransport{dials: map[string]int{}, paths: map[string]int{}}
	var d net.Dialer
	ct.Transport = &http.Transport{
		MaxIdleConnsPerHost: metrics.DefaultParallel,
		IdleConnTimeout:     time.Minute,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			ct.mu.Lock()
			ct.dials[addr]++
			ct.mu.Unlock()
			c, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countingConn{Conn: c, ct: ct}, nil
		},
	}
	return ct
}

type countingConn struct {
	net.Conn
	ct *countingTransport
}

// Write sees each request line whole: net/http writes a request's header
// through one buffered flush.
func (c *countingConn) Write(b []byte) (int, error) {
	if f := strings.Fields(string(b[:min(len(b), 200)])); len(f) >= 2 {
		path, _, _ := strings.Cut(f[1], "?")
		c.ct.mu.Lock()
		c.ct.paths[path]++
		c.ct.mu.Unlock()
	}
	return c.Conn.Write(b)
}

// Every cluster's admin calls and metrics scrapes share the one ArangoDB
// transport of the Setup, and its connections are kept between intervals:
// a pool per cluster once held ~7 connections per cluster (350 with 50).
func TestArangoDBConnectionsShared(t *testing.T) {
	clk := clock.NewVirtual(t0)
	var specs []sim.ClusterSpec
	var yaml strings.Builder
	yaml.WriteString("clusters:\n")
	for i := range 3 {
		specs = append(specs, sim.ClusterSpec{
			Name: fmt.Sprintf("p%d", i), Coordinators: 3, DBServers: 4, Load: sim.Constant(800),
			Collections: []arango.CollectionSpec{{Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 1 << 30}},
		})
	}
	p := sim.DefaultParams()
	p.DCOS.Agents = 18
	w, err := sim.NewWorld(clk, p, specs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, s := range specs {
		fmt.Fprintf(&yaml, `  - name: %s
    arangodb: {endpoints: [%s]}
    marathon: {coordinators: /arangodb-%s/coordinator, dbservers: /arangodb-%s/dbserver}
    roles:
      coordinators: {min: 3, max: 3, metrics: [{signal: cpu_utilization, target: 0.7}]}
      dbservers: {min: 4, max: 4, metrics: [{signal: cpu_utilization, target: 0.7}]}
`, s.Name, w.ArangoURL(s.Name), s.Name, s.Name)
	}
	pol, err := policy.Load("pool.yaml", []byte(yaml.String()))
	if err != nil {
		t.Fatal(err)
	}
	ct := newCountingTransport()
	defer ct.CloseIdleConnections()
	s := &controller.Setup{MarathonURL: w.MarathonURL(), MesosURL: w.MesosURL(), Clock: clk,
		Plain:    &http.Client{Transport: ct.Transport},
		Registry: prometheus.NewRegistry(), Interval: step, SourceTimeout: 10 * time.Second}
	ctl, err := s.Build()
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.SetPolicy(pol); err != nil {
		t.Fatal(err)
	}
	for range 8 {
		w.Advance(step)
		ctl.Step(context.Background(), true)
	}
	ct.mu.Lock()
	defer ct.mu.Unlock()
	if ct.paths["/_admin/cluster/health"] == 0 || ct.paths["/_admin/metrics/v2"] == 0 {
		t.Fatalf("admin calls and scrapes did not both use the Setup's transport: %v", ct.paths)
	}
	for _, sp := range specs {
		addr := strings.TrimPrefix(w.ArangoURL(sp.Name), "http://")
		// A reconcile has at most about DefaultParallel requests in flight
		// per coordinator, so the kept connections are reused: far fewer
		// dials than one per interval. 8 scrapes at once dialled ~3 more
		// every interval.
		if n := ct.dials[addr]; n == 0 || n > 2*metrics.DefaultParallel {
			t.Errorf("cluster %s: %d connections dialled over 8 intervals, want 1…%d", sp.Name, n, 2*metrics.DefaultParallel)
		}
	}
}
