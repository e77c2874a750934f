package arangodb

import (
	"context"
	"math"

	driver "github.com/arangodb/go-driver/v2/arangodb"
)

// StartRebalance lets ArangoDB compute a rebalance plan that may move
// leaders and followers and change leadership, and start executing it at
// once (PUT /_admin/cluster/rebalance). It returns how many shard moves
// were started; 0 means the cluster is balanced already.
func (c *Client) StartRebalance(ctx context.Context) (moves int, err error) {
	version, yes := 1, true
	opts := &driver.RebalanceRequestBody{
		Version:       &version,
		MoveLeaders:   &yes,
		MoveFollowers: &yes,
		LeaderChanges: &yes,
	}
	var plan driver.RebalancePlan
	err = c.do(ctx, "PUT /_admin/cluster/rebalance", func(ctx context.Context) error {
		var err error
		plan, err = c.drv.ComputeAndExecuteClusterRebalance(ctx, opts)
		return err
	})
	if err != nil {
		return 0, err
	}
	return len(plan.Moves), nil
}

// RebalanceStatus reads GET /_admin/cluster/rebalance. pendingMoves counts
// shard moves still to do or running. imbalance is how far the DB server
// with the most or fewest shards is from the mean, relative to the mean
// (0 = perfectly balanced, 0.5 = some server holds 50 % more or less than
// average); ArangoDB's own imbalance figure is a weighted sum of squares
// whose scale depends on data size, which makes a poor threshold.
func (c *Client) RebalanceStatus(ctx context.Context) (pendingMoves int, imbalance float64, err error) {
	var r driver.RebalanceResponse
	err = c.do(ctx, "GET /_admin/cluster/rebalance", func(ctx context.Context) error {
		var err error
		r, err = c.drv.GetClusterRebalance(ctx)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	if r.PendingMoveShards != nil {
		pendingMoves += int(*r.PendingMoveShards)
	}
	if r.TodoMoveShards != nil {
		pendingMoves += int(*r.TodoMoveShards)
	}
	if r.Shards != nil {
		imbalance = relativeSpread(r.Shards.NumberShards)
	}
	return pendingMoves, imbalance, nil
}

// relativeSpread is max |n - mean| / mean over the counts.
func relativeSpread(counts []int) float64 {
	if len(counts) == 0 {
		return 0
	}
	sum := 0
	for _, n := range counts {
		sum += n
	}
	if sum == 0 {
		return 0
	}
	mean := float64(sum) / float64(len(counts))
	worst := 0.0
	for _, n := range counts {
		worst = math.Max(worst, math.Abs(float64(n)-mean))
	}
	return worst / mean
}
