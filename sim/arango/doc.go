// Package arango emulates one ArangoDB 3.11+ cluster as seen through its
// coordinators: the HTTP admin API arangoscale uses (health, numberOfServers,
// cleanOutServer and agency jobs, removeServer, rebalance, shard
// distribution, metrics v2, authentication) backed by a small model of
// servers, collections, shards and supervision jobs that runs in virtual
// time.
//
// The world (package sim) drives a Cluster: ServerUp/ServerDown when
// Marathon tasks come and go, SetLoad every step, and Step(now) to advance.
// All state sits behind one mutex; the HTTP handler and the Go API may be
// used concurrently.
//
// Handler serves, with or without a /_db/<name> prefix: /_api/version,
// /_api/cluster/endpoints, /_admin/cluster/{health, numberOfServers,
// cleanOutServer, queryAgencyJob, removeServer, shardDistribution,
// rebalance, rebalance/execute}, /_api/collection, /_api/collection/<name>
// (also /properties and /shards), /_admin/metrics[/v2][?serverId=] and,
// for collections created through the API, /_api/document/<collection>[/<key>]
// (create, read, replace, remove, and read many with ?onlyget=true).
// Like a real coordinator it has no /_api/agency (404). Bodies, codes and
// error bodies follow arangod 3.11/3.12; deviations are noted on each
// handler. A running move shows in shardDistribution as a Plan follower
// not yet in Current, as the supervision's moveShard plans it.
//
// # Safety model
//
// Every shard has a Plan list of servers: the first is the leader, the rest
// are followers, one per replicationFactor copy, never two on one server.
// Each replica is either in sync or not. The invariants are:
//
//   - A replica on a server that is not GOOD is never in sync.
//   - A shard with zero in-sync replicas is LOST. The loss is recorded once
//     (Losses) and is permanent: when its servers come back nothing is
//     restored and the replicas stay out of sync.
//   - When a leader stops being in sync and an in-sync follower exists on a
//     GOOD server, that follower is promoted at once (supervision's
//     failoverLeader, without its grace period).
//   - On Step, every replica on a GOOD server of a shard that is not lost
//     becomes in sync again (followers catch up instantly).
//   - Moves (cleanOutServer and rebalance moveShard jobs) copy a shard to a
//     server that does not hold it yet, then drop the old replica; the copy
//     takes the shard's bytes / CleanOutBytesPerSecond of virtual time. All
//     running moves share that bandwidth, oldest job first. A leader being
//     cleaned out is handed to an in-sync follower first when there is one.
//   - A cleanOutServer job fails (status Failed, nothing moved afterwards)
//     when some shard on the server has no GOOD, not cleaned-out server left
//     that does not already hold it. A move whose target dies or meanwhile
//     got the shard by another job is retargeted (moveShard jobs fail).
//   - Servers in Target/CleanedServers (numberOfServers cleanedServers)
//     never receive replicas: not from AddCollection, clean-outs or
//     rebalance. A rebalance leader change swaps leader and an in-sync
//     follower instantly.
//   - At most about 500 Finished/Failed jobs are kept; older ones are gone
//     from queryAgencyJob, as after supervision pruning.
//   - A server whose task is gone is BAD at once and FAILED after FailAfter.
//     removeServer succeeds only for a FAILED server that holds no replica.
//
// Server IDs, job IDs and the cluster ID are derived deterministically from
// the cluster name and counters, so virtual-time runs are reproducible.
package arango
