// Package metrics owns the signals arangoscale decides on: it scrapes
// ArangoDB's /_admin/metrics/v2 of the coordinators and DB servers whose
// signals need ArangoDB (cpu and memory come from Mesos, ArangoDB's process
// statistics standing in where Mesos has none), the Mesos master and agent
// statistics, and (optionally) a Prometheus server, and turns cumulative
// counters into per-instance rates across consecutive scrapes.
//
// A value that cannot be computed for an instance is reported as missing
// with a reason, never as zero: the first scrape of an instance gives no
// rate, a counter that went down (a process restart) makes that interval
// missing, and a garbled or truncated body makes that server's signals
// missing. Time for rates comes from an injected clock.Clock (ArangoDB) or
// from the statistics' own timestamps (Mesos), so everything runs in virtual
// time too.
//
// # Fields read from real servers, and where they are defined
//
//	source                         field                                         defined by                                    sample tested on
//	ArangoDB GET /_admin/cluster/health
//	                               Health.<id>.Role, ShortName, Status, Endpoint  docs-hugo 3.11 http-api/cluster.md            kube-arangodb_doc_cluster_health_3.4.2_truncated.jsonc
//	ArangoDB GET /_admin/metrics/v2 (Prometheus text, one server via ?serverId=)
//	                               arangodb_http_request_statistics_total_requests_total (counter)
//	                               arangodb_client_connection_statistics_request_time (histogram: _bucket le, _count, _sum)
//	                               arangodb_scheduler_queue_length, arangodb_process_statistics_user_time,
//	                               arangodb_process_statistics_system_time, arangodb_process_statistics_resident_set_size,
//	                               arangodb_server_statistics_physical_memory, arangodb_server_statistics_cpu_cores,
//	                               rocksdb_free_disk_space, rocksdb_total_disk_space, arangodb_shards_number (gauges)
//	                                                                             docs-hugo site/data/3.12/allMetrics.yaml      datadog_metrics_v2_single.prom
//	                               label role (COORDINATOR, PRIMARY = DB server, SINGLE, AGENT)
//	                                                                             arangod ServerState::roleToString            datadog_metrics_v2_single.prom
//	Mesos master GET /metrics/snapshot
//	                               master/cpus_total, cpus_used, mem_total, mem_used, disk_total, disk_used, slaves_active
//	                                                                             Mesos docs/monitoring.md (master metrics)    none published (SOURCES.md)
//	Mesos master GET /master/slaves
//	                               slaves[].id, hostname, port, pid, active      Mesos docs/endpoints/master/slaves.md        the slaves of datadog_mesos_master_state.json
//	                                                                                                                           and mesos-dns_master_state_fake.json (/state)
//	Mesos agent GET /monitor/statistics
//	                               [].executor_id, source, statistics.cpus_limit, cpus_user_time_secs,
//	                               cpus_system_time_secs, mem_limit_bytes, mem_rss_bytes, timestamp
//	                                                                             Mesos docs/endpoints/slave/monitor/statistics.md
//	                                                                                                                           mesos_doc_agent_monitor_statistics.json,
//	                                                                                                                           mesos_doc_agent_monitor_statistics_network-port-mapping.json
//
// cpus_limit and mem_limit_bytes are the container's limits, which include
// the command executor's 0.1 cpus and 32 MB (Mesos src/slave/constants.hpp):
// a task using all of its 2 cpus reads as 2/2.1. Utilisation is taken
// against what the agent reports, as a real agent reports it.
package metrics
