package arangodb

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
)

// StartRebalance lets ArangoDB compute a rebalance plan that may move
// leaders and followers and change leadership, and start executing it at
// once (PUT /_admin/cluster/rebalance). It returns how many shard moves
// were started; 0 means the cluster is balanced already.
//
// The answer is decoded here, not by go-driver: docs-hugo (3.11/3.12
// develop/http-api/cluster.md, "Compute and execute a set of move shard
// operations") types moves[].collection as a number, and go-driver v2.4.1
// decodes it into *string, which fails on the documented shape.
func (c *Client) StartRebalance(ctx context.Context) (moves int, err error) {
	const op = "PUT /_admin/cluster/rebalance"
	body := map[string]any{"version": 1, "moveLeaders": true, "moveFollowers": true, "leaderChanges": true}
	var r struct {
		Result *struct {
			Moves []rebalanceMove `json:"moves"`
		} `json:"result"`
	}
	if err := c.call(ctx, http.MethodPut, "_admin/cluster/rebalance", body, &r); err != nil {
		return 0, err
	}
	if r.Result == nil {
		return 0, badResponse(op, `no "result"`)
	}
	for i, m := range r.Result.Moves {
		if m.Shard == "" || m.From == "" || m.To == "" {
			return 0, badResponse(op, "moves[%d]: shard, from and to are required", i)
		}
	}
	return len(r.Result.Moves), nil
}

// rebalanceMove is one suggested move shard operation.
type rebalanceMove struct {
	From       string       `json:"from"`
	To         string       `json:"to"`
	Shard      string       `json:"shard"`
	Collection collectionID `json:"collection"`
	IsLeader   bool         `json:"isLeader"`
}

// collectionID is a collection id sent as a JSON number (as documented) or
// a string (as go-driver expects it).
type collectionID string

func (id *collectionID) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*id = collectionID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("collection: want a number or a string, got %s", b)
	}
	*id = collectionID(n.String())
	return nil
}

// RebalanceStatus reads GET /_admin/cluster/rebalance. pendingMoves counts
// shard moves still to do or running. imbalance is how far the DB server
// with the most or fewest shards is from the mean, relative to the mean
// (0 = perfectly balanced, 0.5 = some server holds 50 % more or less than
// average); ArangoDB's own imbalance figure is a weighted sum of squares
// whose scale depends on data size, which makes a poor threshold.
func (c *Client) RebalanceStatus(ctx context.Context) (pendingMoves int, imbalance float64, err error) {
	// Read every interval: decoded into the fields used here only (see
	// call), those of go-driver's RebalanceResponse under "result".
	var r struct {
		Result struct {
			PendingMoveShards *int64 `json:"pendingMoveShards"`
			TodoMoveShards    *int64 `json:"todoMoveShards"`
			Shards            *struct {
				NumberShards []int `json:"numberShards"`
			} `json:"shards"`
		} `json:"result"`
	}
	if err := c.call(ctx, http.MethodGet, "_admin/cluster/rebalance", nil, &r); err != nil {
		return 0, 0, err
	}
	if p := r.Result.PendingMoveShards; p != nil {
		pendingMoves += int(*p)
	}
	if t := r.Result.TodoMoveShards; t != nil {
		pendingMoves += int(*t)
	}
	if r.Result.Shards != nil {
		imbalance = relativeSpread(r.Result.Shards.NumberShards)
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
