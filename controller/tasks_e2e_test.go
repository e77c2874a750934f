package controller_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/sim"
)

// TestScaleDownWithServersAdvertisingNames: the DB servers advertise DNS
// names (as --cluster.my-address may on DC/OS) while Marathon shows the
// agents' IP; the saga resolves the names and kills exactly the task of
// the server it cleaned out.
func TestScaleDownWithServersAdvertisingNames(t *testing.T) {
	p := sim.DefaultParams()
	p.AdvertiseHost = func(host string, port int) string { return fmt.Sprintf("arangodb-%d.agents.example", port) }
	resolve := func(_ context.Context, host string) ([]string, error) {
		if strings.HasSuffix(host, ".agents.example") {
			return []string{"127.0.0.1"}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	spec := fourDBServers()
	h := newHarness(t, harnessOpts{spec: spec, params: &p, resolver: resolve})
	h.setRPS(600)
	h.runUntil(20*time.Minute, "the scale-down done", func(s sim.ClusterState) bool {
		return s.DBServers.Target == 3 && s.DBServers.Running == 3 && noFailedDBServer(h)
	})
	if n := h.kills(); n != 1 {
		t.Fatalf("%d kills, want 1", n)
	}
	for _, s := range h.world.ArangoDB("prod").Servers() {
		if !strings.Contains(s.Endpoint, ".agents.example:") {
			t.Fatalf("server %s advertises %s, not a name", s.ID, s.Endpoint)
		}
	}
}
