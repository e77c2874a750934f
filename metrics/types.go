package metrics

import (
	"errors"
	"time"
)

// Signal names built into arangoscale (see DESIGN.md "Signals").
const (
	SignalCPU          = "cpu_utilization"
	SignalMemory       = "memory_utilization"
	SignalDisk         = "disk_utilization"
	SignalRequests     = "requests_per_second"
	SignalQueue        = "scheduler_queue_length"
	SignalLatencyP95   = "request_latency_p95"
	SignalShards       = "shards_per_server"
	PromQLSignalPrefix = "promql:"
)

// Source names passed to OnError.
const (
	SourceArangoDB   = "arangodb"
	SourceMesos      = "mesos"
	SourcePrometheus = "prometheus"
)

// Role names of the policy and the controller.
const (
	RoleCoordinators = "coordinators"
	RoleDBServers    = "dbservers"
)

// DefaultTimeout bounds every source call unless configured otherwise.
const DefaultTimeout = 5 * time.Second

// DefaultForgetAfter is how long the previous sample of an instance that is
// no longer seen is kept for rates before it is dropped.
const DefaultForgetAfter = 10 * time.Minute

// Errors callers can match with errors.Is.
var (
	// ErrMissing marks a value that cannot be computed (no data, not a
	// single number, first scrape, counter reset, …).
	ErrMissing = errors.New("metric missing")
	// ErrBadBody marks a response body that could not be parsed.
	ErrBadBody = errors.New("malformed response body")
	// ErrTruncated marks a response body that ended early.
	ErrTruncated = errors.New("truncated response body")
	// ErrWrongServer marks metrics that belong to another server than the
	// one asked for (their role label differs from the health entry).
	ErrWrongServer = errors.New("metrics from the wrong server")
	// ErrHTTPStatus marks a non-2xx answer; see *StatusError for the code.
	ErrHTTPStatus = errors.New("unexpected HTTP status")
)

// StatusError is a non-2xx HTTP answer from a source.
type StatusError struct {
	URL    string
	Code   int
	Detail string // start of the body, for the operator
}

func (e *StatusError) Error() string {
	if e.Detail == "" {
		return "GET " + e.URL + ": HTTP " + itoa(e.Code)
	}
	return "GET " + e.URL + ": HTTP " + itoa(e.Code) + ": " + e.Detail
}

// Unwrap lets errors.Is(err, ErrHTTPStatus) match.
func (e *StatusError) Unwrap() error { return ErrHTTPStatus }

// Series is one signal of one role: the per-instance values that could be
// computed, and how many instances could not. It mirrors
// policy.MetricValue field by field.
type Series struct {
	Values    []float64
	IDs       []string // same order as Values: Marathon task ids for cpu/memory when tasks are known, else ArangoDB server ids
	Missing   int      // instances whose value could not be computed
	Reason    string   // why values are missing (first reasons, joined)
	Aggregate bool     // Values holds one role-wide value (PromQL), not per-instance values
}

// RoleSignals maps a signal name ("cpu_utilization", …, or "promql:"+expr)
// to its series.
type RoleSignals map[string]*Series

// Server is one ArangoDB cluster member as the health API lists it.
type Server struct {
	ID        string
	ShortName string
	Role      string // "COORDINATOR", "DBSERVER", "AGENT", …
	Status    string // "GOOD", "BAD", "FAILED"
	Endpoint  string // "tcp://host:port"
}

// Capacity is the Mesos cluster's resource totals and usage.
type Capacity struct {
	CPUsTotal, CPUsUsed     float64
	MemTotalMB, MemUsedMB   float64
	DiskTotalMB, DiskUsedMB float64
	AgentsActive            int
}

// Free returns the unused resources (never negative).
func (c Capacity) Free() (cpus, memMB, diskMB float64) {
	return nonNeg(c.CPUsTotal - c.CPUsUsed), nonNeg(c.MemTotalMB - c.MemUsedMB), nonNeg(c.DiskTotalMB - c.DiskUsedMB)
}

// Task is a Marathon task of a role.
type Task struct {
	ID      string
	AgentID string // Mesos agent (slave) id
	Host    string
	Ports   []int
}

// TaskUsage is the resource usage of one task from its agent's statistics.
type TaskUsage struct {
	CPU, Memory     float64 // fractions of the task's limits
	CPUOK, MemoryOK bool
	Reason          string // why CPU or Memory is missing
}

func nonNeg(v float64) float64 {
	if v < 0 {
		return 0
	}
	return v
}

// joinErrors is errors.Join that keeps nil for no errors.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.Join(errs...)
}
