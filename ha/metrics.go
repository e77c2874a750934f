package ha

import "github.com/prometheus/client_golang/prometheus"

type nodeMetrics struct {
	leader, owned, connected prometheus.Gauge
}

func newNodeMetrics(reg prometheus.Registerer) (nodeMetrics, error) {
	m := nodeMetrics{
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "arangoscale_leader", Help: "1 while this replica is the leader of the replicas (ZooKeeper session live).",
		}),
		owned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "arangoscale_owned_clusters", Help: "Clusters this replica owns and acts on.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "arangoscale_zk_connected", Help: "1 while this replica's ZooKeeper session is live.",
		}),
	}
	for _, c := range []prometheus.Collector{m.leader, m.owned, m.connected} {
		if err := reg.Register(c); err != nil {
			return nodeMetrics{}, err
		}
	}
	return m, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
