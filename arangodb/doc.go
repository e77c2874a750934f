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
// authentication, endpoint rotation and TLS are shared. So are the health
// and rebalance reads of every interval: the driver's typed answers cost
// more to decode than the rest of their request, so they are decoded into
// the few fields used (go-json-experiment, see call).
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
//
// # Fields read from ArangoDB, and where they are defined
//
// Definitions are the OpenAPI blocks of docs-hugo
// site/content/arangodb/3.11/develop/http-api/*.md (cluster.md,
// collections.md, databases.md, monitoring/metrics.md) unless noted; the
// last column names the real sample (testdata/SOURCES.md) a test decodes.
//
//	endpoint                                   fields                                           sample
//	GET /_admin/cluster/health                 Health.<id>.Role, ShortName, Status, Endpoint,    kube-arangodb_doc_cluster_health_3.4.2_truncated.jsonc
//	                                           CanBeDeleted
//	GET /_admin/cluster/numberOfServers        numberOfCoordinators, numberOfDBServers (null =   none published
//	                                           not set), cleanedServers
//	POST /_admin/cluster/cleanOutServer        id                                                kube-arangodb_doc_cleanOutServer_202.json
//	GET /_admin/cluster/queryAgencyJob         status, type, server, jobId, timeCreated, reason: kube-arangodb_doc_queryAgencyJob_{pending,finished}.json
//	                                           top level since 3.7 (RestAdminClusterHandler.cpp (3.4 shape)
//	                                           handleQueryJobStatus), under "job" in 3.4
//	POST /_admin/cluster/removeServer          the status only; success has an empty body        none published
//	                                           (tryDeleteServer)
//	GET /_api/database (go-driver)             result[] (names)
//	GET /_db/{db}/_api/collection (go-driver)  result[].name
//	GET …/_api/collection/{name}/properties    replicationFactor (number or "satellite"),
//	                                           writeConcern
//	GET /_db/{db}/_admin/cluster/shardDistribution
//	                                           results.<collection>.Plan|Current.<shard>.leader,
//	                                           followers
//	GET /_admin/cluster/rebalance              result.pendingMoveShards, todoMoveShards,          docs-hugo_3.12_get_rebalance_truncated.jsonc
//	                                           shards.numberShards
//	PUT /_admin/cluster/rebalance              result.moves[].from, to, shard, isLeader,
//	                                           collection (a number as documented, or a string)
//	GET /_admin/metrics/v2?serverId=           the Prometheus text, handed to package metrics    datadog_metrics_v2_single.prom
//	GET|POST|PUT|DELETE /_api/document/        the hold documents (role, count, until, set_at,
//	  arangoscale_holds/{role} (go-driver)     by, why, source, _rev), documents.md
//	PUT /_api/document/arangoscale_holds       the same, both roles in one read; a missing one
//	  ?onlyget=true (go-driver ReadDocuments)  is an inline error (errorNum 1202)
//
// Error bodies: code, errorNum, errorMessage (docs-hugo general-request-handling.md).
package arangodb
