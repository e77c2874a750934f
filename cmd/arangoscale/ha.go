package main

import (
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/config"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/ha"
	"github.com/arangoscale/arangoscale/policy"
)

// startHA joins the replicas on ZooKeeper when ARANGOSCALE_ZK is set and
// makes the node the controller's fence. Without it (nil, nil): one
// instance, acting on every cluster.
func startHA(cfg *config.Config, secrets config.Secrets, w *controller.Setup) (*ha.Node, error) {
	if cfg.ZK == "" {
		return nil, nil
	}
	target, err := config.ParseZK(cfg.ZK)
	if err != nil {
		return nil, err
	}
	if w.Registry == nil {
		w.Registry = prometheus.NewRegistry()
	}
	id, _ := os.Hostname()
	if task := os.Getenv("MESOS_TASK_ID"); task != "" {
		id = task
	}
	node, err := ha.Start(ha.Config{
		Servers: target.Servers, Root: target.Root, Auth: secrets.ZKAuth,
		SessionTimeout: cfg.ZKSessionTimeout, ID: id, Logger: w.Logger, Registry: w.Registry,
	})
	if err != nil {
		return nil, err
	}
	w.Fence = node
	return node, nil
}

// haTarget hands every policy the controller takes (the file's clusters
// and the discovered ones) to the replicas' node, so they share out
// exactly the clusters the controller runs.
type haTarget struct {
	*controller.Controller
	node *ha.Node
}

func (t haTarget) SetPolicy(p *policy.Config) error {
	if err := t.Controller.SetPolicy(p); err != nil {
		return err
	}
	if t.node != nil {
		t.node.SetClusters(clusterNames(p))
	}
	return nil
}

// clusterNames are the names of the policy's clusters, what the replicas
// share out.
func clusterNames(p *policy.Config) []string {
	out := make([]string, 0, len(p.Clusters))
	for _, c := range p.Clusters {
		out = append(out, c.Name)
	}
	return out
}
