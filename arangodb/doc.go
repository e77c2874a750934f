// Package arangodb owns arangoscale's only way into an ArangoDB cluster's
// admin API: health, the numberOfServers target, cleanOutServer and the
// agency jobs it creates, removeServer, shard placement and replication
// floors, rebalancing and per-server metrics.
//
// Every call goes through the official go-driver/v2 connection. Driver
// methods are used where they exist and return what the controller needs;
// endpoints the driver lacks, or whose driver types drop information the
// controller needs (numberOfServers' "not set", agency reads, job status,
// shard distribution, Prometheus text), are raw calls on the same
// connection, so authentication, endpoint rotation and TLS are shared.
//
// Errors are classified for the caller: errors.Is(err, ErrPrecondition),
// ErrNotFound, ErrUnauthorized, ErrUnavailable or ErrBadResponse; errors.As
// with *APIError gives the HTTP code, errorNum and errorMessage ArangoDB
// returned. Credentials never appear in errors.
//
// Satellite collections: their replicationFactor "satellite" means a copy on
// every DB server. They count as 1 toward ShardStats.MaxReplicationFactor
// and MaxWriteConcern, because a satellite survives on any single server
// and so never raises the scale-down floor above 1; their shards are still
// counted per server and checked for sync like any other shard.
package arangodb
