// Package metrics owns the signals arangoscale decides on: it scrapes
// ArangoDB's /_admin/metrics/v2 of every coordinator and DB server of a
// cluster, the Mesos master and agent statistics, and (optionally) a
// Prometheus server, and turns cumulative counters into per-instance rates
// across consecutive scrapes.
//
// A value that cannot be computed for an instance is reported as missing
// with a reason, never as zero: the first scrape of an instance gives no
// rate, a counter that went down (a process restart) makes that interval
// missing, and a garbled or truncated body makes that server's signals
// missing. Time for rates comes from an injected clock.Clock (ArangoDB) or
// from the statistics' own timestamps (Mesos), so everything runs in virtual
// time too.
package metrics
