// Package policy owns arangoscale's scaling policies: the YAML schema, strict
// loading that reports every mistake with its file position, the defaults,
// and the pure decision engine (Recommend) that turns one observation of a
// role into a desired instance count with reasons.
//
// Nothing in this package does I/O except LoadFile, and nothing reads a
// clock: time always comes in as a value, so the controller can replay
// decisions deterministically in virtual time.
package policy

import (
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Role is a scalable part of an ArangoDB cluster.
type Role string

// The roles arangoscale scales. Agents are never scaled.
const (
	Coordinators Role = "coordinators"
	DBServers    Role = "dbservers"
)

// Roles lists the known roles in their canonical order.
func Roles() []Role { return []Role{Coordinators, DBServers} }

// Strategy names of a Metric.
const (
	StrategyTarget    = "target"
	StrategyThreshold = "threshold"
)

// Role strategies (RolePolicy.Strategy): how the engine turns a role's
// metrics into a count. Policy is the full pipeline; HPA and Threshold
// replay two well-known algorithms on the same observations, so they can be
// run by the same controller and compared fairly.
const (
	// RoleStrategyPolicy: every option of the role applies.
	RoleStrategyPolicy = "policy"
	// RoleStrategyHPA: the Kubernetes HPA's defaults (autoscaling/v2):
	// tolerance 0.1, no up stabilization, a 5-minute down stabilization
	// window, scale-up by at most max(+100 %, +4) per decision, scale-down
	// unlimited (DB servers one at a time), no cooldown, no schedule; a
	// scale-down is never computed from instances not yet healthy.
	RoleStrategyHPA = "hpa"
	// RoleStrategyThreshold: marathon-autoscale's rule on threshold
	// metrics only: no dead band, stabilization, cooldown, step limit or
	// schedule; the metric's periods, step or multiplier decide alone.
	RoleStrategyThreshold = "threshold"
)

// Values of RolePolicy.OnMetricsMissing.
const (
	MissingHold    = "hold"
	MissingScaleUp = "scale_up"
)

// Signals returns the names of the built-in signals, in documentation order.
// It returns a fresh slice so callers cannot change the set.
func Signals() []string {
	return []string{
		"cpu_utilization",
		"memory_utilization",
		"disk_utilization",
		"requests_per_second",
		"scheduler_queue_length",
		"request_latency_p95",
		"shards_per_server",
	}
}

// IsSignal reports whether name is a built-in signal.
func IsSignal(name string) bool {
	switch name {
	case "cpu_utilization", "memory_utilization", "disk_utilization",
		"requests_per_second", "scheduler_queue_length",
		"request_latency_p95", "shards_per_server":
		return true
	}
	return false
}

// Config is a whole policy file.
type Config struct {
	Clusters []*Cluster
	// Templates are the named cluster policies that Marathon apps labelled
	// arangoscale.policy=<name> are scaled with (package discovery).
	Templates map[string]*Template
}

// Cluster is the policy of one ArangoDB cluster.
type Cluster struct {
	Name     string
	Interval time.Duration // 0: use the controller's interval
	ArangoDB ArangoDBRef
	Marathon MarathonRef
	Roles    map[Role]*RolePolicy // only the configured roles
}

// ArangoDBRef says where the cluster's coordinators answer.
type ArangoDBRef struct {
	Endpoints []string
}

// MarathonRef holds the Marathon app ids of the cluster's roles.
type MarathonRef struct {
	Coordinators string
	DBServers    string
}

// AppID returns the Marathon app id of role r ("" for an unknown role).
func (c *Cluster) AppID(r Role) string {
	switch r {
	case Coordinators:
		return c.Marathon.Coordinators
	case DBServers:
		return c.Marathon.DBServers
	}
	return ""
}

// RolePolicy is how one role of one cluster scales.
type RolePolicy struct {
	Role             Role
	Strategy         string // RoleStrategyPolicy (""), RoleStrategyHPA or RoleStrategyThreshold
	Min, Max         int
	Metrics          []Metric
	Tolerance        float64 // dead band: |value/target - 1| <= Tolerance keeps the count
	Stabilization    UpDown
	Cooldown         UpDown
	Step             StepLimits
	OnMetricsMissing string // MissingHold or MissingScaleUp
	Paused           bool
	ManualHold       time.Duration
	Schedule         []ScheduleEntry
	Forecast         *ForecastPolicy // nil: none
	// SLO, when set, sizes the role for a latency or queue objective by a
	// learned model of one instance (capacity.go); nil: metrics only.
	SLO *SLO
}

// UpDown is a pair of durations, one per direction.
type UpDown struct{ Up, Down time.Duration }

// StepLimits bound how far one action moves, per direction.
type StepLimits struct{ Up, Down Step }

// Step is a step limit: exactly one of Count or Percent is set.
type Step struct {
	Count   int
	Percent float64 // of the current target count, rounded up, at least 1
}

// Metric is one input to a role's decision.
type Metric struct {
	Strategy string // StrategyTarget or StrategyThreshold
	Signal   string // a built-in signal, or "" when PromQL is set
	PromQL   string

	// Strategy target: exactly one of these is set.
	Target            float64 // desired = ceil(current * value / Target)
	TargetPerInstance float64 // desired = ceil(sum / TargetPerInstance)

	// Strategy threshold.
	Upper, Lower float64
	Periods      int // consecutive observations beyond a bound before acting
	Step         int // instances added or removed per action
	// Multiplier, when set instead of Step, scales to ceil(n × Multiplier)
	// up and floor(n / Multiplier) down, as marathon-autoscale does.
	Multiplier float64

	key string // cached Key(), set by Load
}

// Key is the key of this metric in Observation.Metrics: the signal name, or
// "promql:" followed by the query.
func (m Metric) Key() string {
	if m.key != "" {
		return m.key
	}
	if m.Signal != "" {
		return m.Signal
	}
	return "promql:" + m.PromQL
}

// ScheduleEntry is a floor by time of day: from every firing of Cron (in
// TimeZone) the role keeps at least Min instances for Duration.
// ScheduleFloor evaluates the entries of a role.
type ScheduleEntry struct {
	Cron     string
	Duration time.Duration
	Min      int
	TimeZone string // IANA name; "" means UTC

	sched cron.Schedule  // parsed by Load
	loc   *time.Location // parsed by Load
}

// ScheduleFloor returns the highest schedule floor of rp active at now, or
// 0 when none is. A floor is active from each firing t of its cron
// expression while t <= now < t+Duration.
func ScheduleFloor(rp *RolePolicy, now time.Time) int {
	floor := 0
	for i := range rp.Schedule {
		e := &rp.Schedule[i]
		if e.Min <= floor || e.Duration <= 0 {
			continue
		}
		sched, loc := e.sched, e.loc
		if sched == nil || loc == nil {
			// Built by hand rather than by Load: parse now.
			var err error
			if sched, loc, err = parseSchedule(e.Cron, e.TimeZone); err != nil {
				continue
			}
		}
		// The first firing strictly after now-Duration; active when it
		// is not after now.
		f := sched.Next(now.Add(-e.Duration).In(loc))
		if !f.IsZero() && !f.After(now) {
			floor = e.Min
		}
	}
	return floor
}

func parseSchedule(spec, tz string) (cron.Schedule, *time.Location, error) {
	loc := time.UTC
	if tz != "" && tz != "UTC" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, nil, err
		}
		loc = l
	}
	s, err := parseCron(spec)
	if err != nil {
		return nil, nil, err
	}
	return s, loc, nil
}

// parseCron parses a standard 5-field cron expression (or a descriptor such
// as @daily); the time zone is not part of it.
func parseCron(spec string) (cron.Schedule, error) {
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		return nil, errCronTZ
	}
	if strings.HasPrefix(spec, "@every") {
		return nil, errCronEvery
	}
	return cron.ParseStandard(spec)
}
