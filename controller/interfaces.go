package controller

import (
	"context"
	"time"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/metrics"
	"github.com/arangoscale/arangoscale/policy"
)

// Marathon is what the controller needs from Marathon. One Marathon serves
// every cluster.
type Marathon interface {
	App(ctx context.Context, id string) (*marathon.App, error)
	Scale(ctx context.Context, id string, instances int, force bool) (deploymentID string, err error)
	KillTasks(ctx context.Context, taskIDs []string, scale bool) error
	Queue(ctx context.Context) ([]marathon.QueueItem, error)
}

// Observer produces a cluster's signals for one interval.
type Observer interface {
	Observe(ctx context.Context, req metrics.Request) *metrics.Observation
}

// ArangoDB is what the controller needs from one cluster's admin API.
type ArangoDB interface {
	Health(ctx context.Context) ([]arangodb.ServerHealth, error)
	NumberOfServers(ctx context.Context) (arangodb.NumberOfServers, error)
	SetNumberOfServers(ctx context.Context, coordinators, dbservers *int) error
	Shards(ctx context.Context) (arangodb.ShardStats, error)
	ShardsFor(ctx context.Context, health []arangodb.ServerHealth, propsMaxAge time.Duration) (arangodb.ShardStats, error)
	CleanOutServer(ctx context.Context, serverID string) (jobID string, err error)
	Job(ctx context.Context, jobID string) (arangodb.Job, error)
	RemoveServer(ctx context.Context, serverID string) error
	StartRebalance(ctx context.Context) (moves int, err error)
	RebalanceStatus(ctx context.Context) (pendingMoves int, imbalance float64, err error)
}

// ClusterClients are the per-cluster connections the controller uses.
// ArangoDB may be nil; then DB servers are never scaled down and no
// replication floor can be checked, so scale-down is refused as unsafe.
type ClusterClients struct {
	Observer Observer
	ArangoDB ArangoDB
	// Holds keeps manual holds; nil keeps them in memory only.
	Holds HoldStore
	// History reads forecast histories (Prometheus); nil: the forecasts
	// learn from what the controller observes.
	History RangeQuerier
}

// Connector builds the clients of one cluster from its policy. onError is
// to be called by the sources for every failed call, so it is counted in
// arangoscale_source_errors_total.
type Connector func(c *policy.Cluster, onError func(source string, err error)) (*ClusterClients, error)
