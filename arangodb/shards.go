package arangodb

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"time"

	driver "github.com/arangodb/go-driver/v2/arangodb"
	"github.com/arangodb/go-driver/v2/connection"
)

// ShardStats is where the shards of all databases live and how safe the
// cluster is to shrink.
type ShardStats struct {
	// PerServer has an entry for every DB server in the health list (zero
	// counts for an empty one), counted from the Plan: what each server is
	// meant to hold.
	PerServer map[string]ServerShards
	// MaxReplicationFactor and MaxWriteConcern over all collections; a
	// satellite collection counts as 1 (see the package doc).
	MaxReplicationFactor, MaxWriteConcern int
	// OutOfSync counts shards whose Current servers differ from the Plan
	// (a follower still catching up, a leader not yet moved).
	OutOfSync int
	// NotReplicated counts shards of collections with replicationFactor ≥ 2
	// that hold fewer than 2 in-sync copies, or whose Plan has fewer
	// servers than the replication factor. Losing one server could lose
	// data or availability of these.
	NotReplicated int
	// TotalBytes is data bytes per server ID when known. The cluster admin
	// API does not report it per server, so it is nil; the metrics package
	// derives disk use from each server's /_admin/metrics/v2.
	TotalBytes map[string]int64
}

// ServerShards counts the shard replicas one DB server holds.
type ServerShards struct{ Leaders, Followers int }

// Total is Leaders + Followers.
func (s ServerShards) Total() int { return s.Leaders + s.Followers }

// shardPlacement is one side (Plan or Current) of a shard in
// /_admin/cluster/shardDistribution.
type shardPlacement struct {
	Leader    string   `json:"leader"`
	Followers []string `json:"followers"`
}

type collectionDistribution struct {
	Plan    map[string]shardPlacement `json:"Plan"`
	Current map[string]shardPlacement `json:"Current"`
}

// Shards gathers ShardStats over all databases: GET /_api/database, then
// per database its collections and their properties (replicationFactor,
// writeConcern) and GET /_db/{db}/_admin/cluster/shardDistribution. Each
// request gets the per-request timeout. Every property is read afresh.
func (c *Client) Shards(ctx context.Context) (ShardStats, error) {
	servers, err := c.Health(ctx)
	if err != nil {
		return ShardStats{}, err
	}
	return c.ShardsFor(ctx, servers, 0)
}

// collectionProps is what ShardsFor needs of a collection's properties,
// and when it read them.
type collectionProps struct {
	rf, wc int // replication factor (0: satellite) and write concern
	at     time.Time
}

// ShardsFor is Shards with the server list the caller read this interval
// (Health), so one reconcile asks for the health once. A collection's
// properties read less than propsMaxAge ago are reused (0: all read
// again): placement is read every interval while shards move, and the
// properties (a request per collection, system collections included) were
// most of its requests, yet change only when an operator changes a
// collection's replication factor or write concern.
func (c *Client) ShardsFor(ctx context.Context, servers []ServerHealth, propsMaxAge time.Duration) (ShardStats, error) {
	st := ShardStats{PerServer: map[string]ServerShards{}}
	// shardDistribution may name servers by short name (its "aliases").
	alias := map[string]string{}
	for _, s := range servers {
		alias[s.ID] = s.ID
		if s.ShortName != "" {
			alias[s.ShortName] = s.ID
		}
		if s.Role == RoleDBServer {
			st.PerServer[s.ID] = ServerShards{}
		}
	}
	resolve := func(name string) string {
		if id, ok := alias[name]; ok {
			return id
		}
		return name
	}

	var dbs []driver.Database
	if err := c.do(ctx, "GET /_api/database", func(ctx context.Context) error {
		var err error
		dbs, err = c.drv.Databases(ctx)
		return err
	}); err != nil {
		return ShardStats{}, err
	}
	sort.Slice(dbs, func(i, j int) bool { return dbs[i].Name() < dbs[j].Name() })

	now := c.clk.Now()
	seen := map[string]bool{}
	for _, db := range dbs {
		dbPath := "_db/" + url.PathEscape(db.Name())
		var cols []driver.Collection
		if err := c.do(ctx, "GET /"+dbPath+"/_api/collection", func(ctx context.Context) error {
			var err error
			cols, err = db.Collections(ctx)
			return err
		}); err != nil {
			return ShardStats{}, err
		}
		rf := make(map[string]int, len(cols)) // collection → replication factor, 0 = satellite
		for _, col := range cols {
			key := db.Name() + "/" + col.Name()
			seen[key] = true
			p, ok := c.knownProps(key, now, propsMaxAge)
			if !ok {
				var props driver.CollectionProperties
				if err := c.do(ctx, "GET /"+dbPath+"/_api/collection/"+col.Name()+"/properties", func(ctx context.Context) error {
					var err error
					props, err = col.Properties(ctx)
					return err
				}); err != nil {
					return ShardStats{}, err
				}
				p = collectionProps{rf: int(props.ReplicationFactor), wc: props.WriteConcern, at: now}
				if props.IsSatellite() {
					p.rf, p.wc = 0, 1
				}
				c.propsMu.Lock()
				c.props[key] = p
				c.propsMu.Unlock()
			}
			rf[col.Name()] = p.rf
			st.MaxReplicationFactor = max(st.MaxReplicationFactor, max(p.rf, 1))
			st.MaxWriteConcern = max(st.MaxWriteConcern, max(p.wc, 1))
		}

		var dist struct {
			Results map[string]collectionDistribution `json:"results"`
		}
		if err := c.call(ctx, http.MethodGet, connection.NewUrl(dbPath, "_admin", "cluster", "shardDistribution"), nil, &dist); err != nil {
			return ShardStats{}, err
		}
		for colName, cd := range dist.Results {
			r, known := rf[colName]
			if !known {
				r = 1 // created after we listed collections; next round knows
			}
			for shard, plan := range cd.Plan {
				planned := placementServers(plan, resolve)
				for i, id := range planned {
					s := st.PerServer[id]
					if i == 0 {
						s.Leaders++
					} else {
						s.Followers++
					}
					st.PerServer[id] = s
				}
				cur, ok := cd.Current[shard]
				var current []string
				if ok {
					current = placementServers(cur, resolve)
				}
				if !inSync(planned, current) {
					st.OutOfSync++
				}
				if r >= 2 && (copiesInPlan(planned, current) < 2 || len(planned) < r) {
					st.NotReplicated++
				}
			}
		}
	}
	// Dropped collections and databases are forgotten.
	c.propsMu.Lock()
	for k := range c.props {
		if !seen[k] {
			delete(c.props, k)
		}
	}
	c.propsMu.Unlock()
	return st, nil
}

// knownProps returns the properties of a collection read less than maxAge
// ago (and not in the future: a clock that went back reads them again).
func (c *Client) knownProps(key string, now time.Time, maxAge time.Duration) (collectionProps, bool) {
	if maxAge <= 0 {
		return collectionProps{}, false
	}
	c.propsMu.Lock()
	defer c.propsMu.Unlock()
	p, ok := c.props[key]
	if !ok || now.Before(p.at) || now.Sub(p.at) >= maxAge {
		return collectionProps{}, false
	}
	return p, true
}

// placementServers lists leader then followers, resolved to server IDs.
func placementServers(p shardPlacement, resolve func(string) string) []string {
	out := make([]string, 0, 1+len(p.Followers))
	if p.Leader != "" {
		out = append(out, resolve(p.Leader))
	}
	for _, f := range p.Followers {
		out = append(out, resolve(f))
	}
	return out
}

// inSync: same leader, and the same set of followers in any order (as
// ArangoDB's own shard distribution reporter decides it).
func inSync(planned, current []string) bool {
	if len(planned) == 0 || len(current) == 0 || planned[0] != current[0] || len(planned) != len(current) {
		return false
	}
	want := make(map[string]bool, len(planned))
	for _, s := range planned[1:] {
		want[s] = true
	}
	for _, s := range current[1:] {
		if !want[s] {
			return false
		}
	}
	return true
}

// copiesInPlan counts Current servers that are also planned: the in-sync
// copies of a shard.
func copiesInPlan(planned, current []string) int {
	n := 0
	for _, c := range current {
		for _, p := range planned {
			if c == p {
				n++
				break
			}
		}
	}
	return n
}
