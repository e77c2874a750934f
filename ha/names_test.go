package ha_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/ha"
	"github.com/arangoscale/arangoscale/ha/zktest"
)

// TestAlertRuleMetricsExist: the alert rules' HA metrics are the ones a
// node exports, with the values of a connected leader owning its cluster.
func TestAlertRuleMetricsExist(t *testing.T) {
	data, err := os.ReadFile("../deploy/prometheus/metric_names.txt")
	if err != nil {
		t.Fatal(err)
	}
	zks := zktest.Start(t)
	reg := prometheus.NewRegistry()
	n, err := ha.Start(ha.Config{Servers: []string{zks.Addr()}, Root: "/names", SessionTimeout: sessionTimeout, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.SetClusters([]string{"prod"})
	waitAll(t, 20*time.Second, "leader owning prod", []*ha.Node{n}, func(s []ha.Snapshot) bool { return s[0].Leader && len(s[0].Owned) == 1 })
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]float64{}
	for _, mf := range mfs {
		have[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	want := map[string]float64{"arangoscale_leader": 1, "arangoscale_owned_clusters": 1, "arangoscale_zk_connected": 1}
	listed := 0
	for _, name := range strings.Fields(string(data)) {
		if v, ok := want[name]; ok {
			listed++
			if have[name] != v {
				t.Errorf("%s = %v, want %v (exported: %v)", name, have[name], v, have)
			}
		}
	}
	if listed != 2 { // the rules use leader and owned_clusters
		t.Errorf("metric_names.txt lists %d of the HA metrics, want 2", listed)
	}
	if _, ok := have["arangoscale_zk_connected"]; !ok {
		t.Error("arangoscale_zk_connected not exported")
	}
}
