package arango

import (
	"strconv"
)

// Metric names, types and HELP texts follow the upstream catalogue
// (fixtures docs-hugo_3.12_allMetrics.yaml) and the layout of a real
// /_admin/metrics/v2 body (fixtures datadog_metrics_v2_single.prom). Every
// sample carries role and shortname labels as 3.8+ cluster servers emit.

type metricText struct{ name, typ, help string }

var (
	mRequests     = metricText{"arangodb_http_request_statistics_total_requests_total", "counter", "Total number of HTTP requests."}
	mRequestTime  = metricText{"arangodb_client_connection_statistics_request_time", "histogram", "Request time needed to answer a request."}
	mQueue        = metricText{"arangodb_scheduler_queue_length", "gauge", "Server's internal queue length."}
	mLowPrioQueue = metricText{"arangodb_scheduler_low_prio_queue_length", "gauge", "Current queue length of the low priority queue in the scheduler."}
	mUserTime     = metricText{"arangodb_process_statistics_user_time", "gauge", "Process user time."}
	mSystemTime   = metricText{"arangodb_process_statistics_system_time", "gauge", "Process system time."}
	mRSS          = metricText{"arangodb_process_statistics_resident_set_size", "gauge", "Resident set size."}
	mPhysMem      = metricText{"arangodb_server_statistics_physical_memory", "gauge", "Physical memory in bytes."}
	mCores        = metricText{"arangodb_server_statistics_cpu_cores", "gauge", "Number of CPU cores visible to the arangod process."}
	mFreeDisk     = metricText{"rocksdb_free_disk_space", "gauge", "Free disk space in bytes on volume used by RocksDB."}
	mTotalDisk    = metricText{"rocksdb_total_disk_space", "gauge", "Used disk space in bytes on volume used by RocksDB."}
	mShards       = metricText{"arangodb_shards_number", "gauge", "Number of shards on this machine."}
	mLeaders      = metricText{"arangodb_shards_leader_number", "gauge", "Number of leader shards on this machine."}
	mOutOfSync    = metricText{"arangodb_shards_out_of_sync", "gauge", "Number of leader shards not fully replicated."}
	mNotRepl      = metricText{"arangodb_shards_not_replicated", "gauge", "Number of shards not replicated at all."}
)

// requestTimeLE are the le label values as arangod prints them.
var requestTimeLE = [...]string{"0.01", "0.05", "0.1", "0.2", "0.5", "1.0", "5.0", "15.0", "30.0", "+Inf"}

type promWriter struct {
	b      []byte
	labels string // `role="…",shortname="…"`
}

func (p *promWriter) header(m metricText) {
	p.b = append(p.b, "# HELP "...)
	p.b = append(p.b, m.name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, m.help...)
	p.b = append(p.b, "\n# TYPE "...)
	p.b = append(p.b, m.name...)
	p.b = append(p.b, ' ')
	p.b = append(p.b, m.typ...)
	p.b = append(p.b, '\n')
}

func (p *promWriter) sample(name, suffix, extra string, v float64) {
	p.b = append(p.b, name...)
	p.b = append(p.b, suffix...)
	p.b = append(p.b, '{')
	p.b = append(p.b, p.labels...)
	if extra != "" {
		p.b = append(p.b, ',')
		p.b = append(p.b, extra...)
	}
	p.b = append(p.b, "} "...)
	p.b = strconv.AppendFloat(p.b, v, 'g', -1, 64)
	p.b = append(p.b, '\n')
}

func (p *promWriter) gauge(m metricText, v float64) {
	p.header(m)
	p.sample(m.name, "", "", v)
}

// metricsRole is the role label value: arangod prints
// ServerState::roleToString (arangod/Cluster/ServerState.cpp), which names
// a DB server "PRIMARY", not "DBSERVER".
func metricsRole(r Role) string {
	if r == DBServer {
		return "PRIMARY"
	}
	return string(r)
}

// renderMetricsLocked appends the Prometheus text of server s to buf.
func (c *Cluster) renderMetricsLocked(s *server, buf []byte) []byte {
	p := promWriter{b: buf[:0], labels: `role="` + metricsRole(s.role) + `",shortname="` + s.shortName + `"`}
	p.header(mRequests)
	p.sample(mRequests.name, "", "", float64(int64(s.requests)))

	p.header(mRequestTime)
	var cum float64
	for i, n := range s.buckets {
		cum += n
		p.sample(mRequestTime.name, "_bucket", `le="`+requestTimeLE[i]+`"`, float64(int64(cum)))
	}
	p.sample(mRequestTime.name, "_count", "", float64(int64(cum)))
	p.sample(mRequestTime.name, "_sum", "", s.latencySum)

	p.gauge(mQueue, float64(int64(s.load.QueueLength)))
	p.gauge(mLowPrioQueue, float64(int64(s.load.QueueLength)))
	p.gauge(mUserTime, s.userTime)
	p.gauge(mSystemTime, s.sysTime)
	p.gauge(mRSS, float64(s.load.MemRSSBytes))
	p.gauge(mPhysMem, float64(c.p.PhysicalMemoryBytes))
	p.gauge(mCores, c.p.CPUs)

	if s.role == DBServer {
		var shards, leaders, outOfSync, notRepl int
		var used int64
		for _, col := range c.colls {
			b := col.shardBytes()
			for _, sh := range col.shards {
				pos := indexOf(sh.servers, s.id)
				if pos < 0 {
					continue
				}
				shards++
				used += b
				if pos != 0 {
					continue
				}
				leaders++
				inSync := 0
				for _, id := range sh.servers {
					if sh.inSync[id] {
						inSync++
					}
				}
				if inSync < len(sh.servers) {
					outOfSync++
				}
				// Counted for replicated shards only, so rf=1 collections
				// do not read as permanently unsafe.
				if len(sh.servers) > 1 && inSync <= 1 {
					notRepl++
				}
			}
		}
		free := c.p.DiskBytesPerDBServer - used
		if free < 0 {
			free = 0
		}
		p.gauge(mFreeDisk, float64(free))
		p.gauge(mTotalDisk, float64(c.p.DiskBytesPerDBServer))
		p.gauge(mShards, float64(shards))
		p.gauge(mLeaders, float64(leaders))
		p.gauge(mOutOfSync, float64(outOfSync))
		p.gauge(mNotRepl, float64(notRepl))
	}
	return p.b
}
