// Package arangodb owns arangoscale's only way into an ArangoDB cluster's
// admin API: health, the numberOfServers target, cleanOutServer and the
// state of the job it creates, removeServer, shard placement and
// replication floors, rebalancing and per-server metrics.
//
// Every call goes through the official go-driver/v2 connection. Driver
// methods are used where they exist and return what the controller needs;
// endpoints the driver lacks, or whose driver types drop information the
// controller needs (numberOfServers' "not set", job status, shard
// distribution, Prometheus text), are raw calls on the same connection, so
// authentication, endpoint rotation and TLS are shared.
//
// # No agency reads
//
// The client talks to coordinators only, and a coordinator has no
// /_api/agency: arangod registers that handler only where the agency
// feature runs, on agents (arangod/GeneralServer/GeneralServerFeature.cpp,
// defineHandlers); a coordinator answers 404. So clean-out jobs are not
// listed. What a coordinator does tell, and what the controller builds its
// scale-down on:
//
//   - Job: GET /_admin/cluster/queryAgencyJob?id= for the job ID that
//     CleanOutServer returned (the caller remembers it);
//   - NumberOfServers: cleanedServers, where a finished clean-out puts its
//     server (and where it stays until removed);
//   - Health: whether every server is GOOD;
//   - Shards: a running clean-out or move shows as shards whose Plan and
//     Current differ (the supervision's moveShard adds the target to the
//     Plan first), counted in ShardStats.OutOfSync.
//
// Reading the agency from the agents instead (their Marathon app, a
// superuser JWT), as ArangoDB's Kubernetes operator does, would list every
// job, but needs the agents' endpoints and the JWT secret, reaches servers
// clients otherwise never talk to, and adds nothing a scale-down needs:
// a job whose ID is lost (a restart) is either still running, which the
// shard placement shows and which makes a second scale-down unsafe, or
// ended, which cleanedServers (finished) or the server still holding its
// shards (failed) shows.
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
