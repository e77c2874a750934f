package policy

import "strings"

// Direction is which way a recommendation moves the role's instance count.
type Direction int

// Directions.
const (
	None Direction = iota
	Up
	Down
)

// String returns "none", "up" or "down" (the metric label values).
func (d Direction) String() string {
	switch d {
	case Up:
		return "up"
	case Down:
		return "down"
	}
	return "none"
}

// Reasons is a set of reasons, one bit each, so the steady decision path
// does not allocate. Every recommendation carries at least one.
type Reasons uint32

// The reasons. The first group explains why a role did not move (or moved
// less); the last group explains why it moved.
const (
	ReasonWithinTolerance Reasons = 1 << iota
	ReasonStabilizing
	ReasonCooldown
	ReasonDeploymentInProgress
	ReasonAtMax
	ReasonAtMin
	ReasonCapacity
	ReasonMetricsMissing
	ReasonUnsafeCluster
	ReasonReplicationFloor
	ReasonPaused
	ReasonManualOverride
	ReasonBackoff
	ReasonDryRun
	// Why an action moves.
	ReasonMetrics  // a metric asked for it
	ReasonSchedule // a schedule floor
	ReasonBounds   // current outside min/max or under the replication floor
	ReasonForecast // the forecast's count (forecast_and_scale)
	ReasonSLO      // the SLO model's count for the current demand
	ReasonTrend    // the SLO model's count for the demand a rise brings within the lead

	reasonEnd
)

// ReasonList returns every single reason in declaration order, e.g. to set
// a 0/1 gauge per reason.
func ReasonList() []Reasons {
	out := make([]Reasons, 0, 20)
	for r := Reasons(1); r < reasonEnd; r <<= 1 {
		out = append(out, r)
	}
	return out
}

// name returns the label value of a single reason bit.
func (r Reasons) name() string {
	switch r {
	case ReasonWithinTolerance:
		return "within_tolerance"
	case ReasonStabilizing:
		return "stabilizing"
	case ReasonCooldown:
		return "cooldown"
	case ReasonDeploymentInProgress:
		return "deployment_in_progress"
	case ReasonAtMax:
		return "at_max"
	case ReasonAtMin:
		return "at_min"
	case ReasonCapacity:
		return "capacity"
	case ReasonMetricsMissing:
		return "metrics_missing"
	case ReasonUnsafeCluster:
		return "unsafe_cluster"
	case ReasonReplicationFloor:
		return "replication_floor"
	case ReasonPaused:
		return "paused"
	case ReasonManualOverride:
		return "manual_override"
	case ReasonBackoff:
		return "backoff"
	case ReasonDryRun:
		return "dry_run"
	case ReasonMetrics:
		return "metrics"
	case ReasonSchedule:
		return "schedule"
	case ReasonBounds:
		return "bounds"
	case ReasonForecast:
		return "forecast"
	case ReasonSLO:
		return "slo"
	case ReasonTrend:
		return "trend"
	}
	return ""
}

// Has reports whether every reason in x is in r.
func (r Reasons) Has(x Reasons) bool { return r&x == x && x != 0 }

// Strings returns the names of the reasons in r, in declaration order.
func (r Reasons) Strings() []string {
	var out []string
	for b := Reasons(1); b < reasonEnd; b <<= 1 {
		if r&b != 0 {
			out = append(out, b.name())
		}
	}
	return out
}

// String returns the names joined by commas ("" for no reason).
func (r Reasons) String() string { return strings.Join(r.Strings(), ",") }

// Primary returns the one reason to put in a metric label: what an operator
// most needs to see first. It does not allocate. "" when r is empty.
func (r Reasons) Primary() string {
	// Operator intent first, then why it moved, then what held it back
	// (hard safety before soft hysteresis), dry_run last.
	order := [...]Reasons{
		ReasonPaused, ReasonManualOverride,
		ReasonBounds, ReasonSchedule, ReasonForecast, ReasonTrend, ReasonSLO, ReasonMetrics,
		ReasonBackoff, ReasonDeploymentInProgress, ReasonUnsafeCluster,
		ReasonReplicationFloor, ReasonCapacity, ReasonAtMax, ReasonAtMin,
		ReasonCooldown, ReasonStabilizing, ReasonMetricsMissing,
		ReasonWithinTolerance, ReasonDryRun,
	}
	for _, b := range order {
		if r&b != 0 {
			return b.name()
		}
	}
	return ""
}
