package deploy_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// contract is DESIGN.md "Metrics" plus arangoscale_failed_servers_with_shards,
// arangoscale_reconcile_interval_seconds, the discovery gauges and the SLO
// model's gauges.
var contract = []string{
	"arangoscale_build_info",
	"arangoscale_instances",
	"arangoscale_signal_value",
	"arangoscale_signal_target",
	"arangoscale_decisions_total",
	"arangoscale_scale_blocked",
	"arangoscale_scale_actions_total",
	"arangoscale_cleanout_jobs_total",
	"arangoscale_saga_step",
	"arangoscale_source_errors_total",
	"arangoscale_reconcile_duration_seconds",
	"arangoscale_last_reconcile_timestamp_seconds",
	"arangoscale_config_last_reload_successful",
	"arangoscale_config_last_reload_success_timestamp_seconds",
	"arangoscale_dry_run",
	"arangoscale_failed_servers_with_shards",
	"arangoscale_reconcile_interval_seconds",
	"arangoscale_discovered_clusters",
	"arangoscale_discovery_errors",
	// DESIGN.md "Second stage": several replicas on ZooKeeper (package ha).
	"arangoscale_leader",
	"arangoscale_owned_clusters",
	"arangoscale_zk_connected",
	// DESIGN.md "Second stage": a role's forecast.
	"arangoscale_forecast_value",
	"arangoscale_forecast_error",
	"arangoscale_forecast_desired_instances",
	"arangoscale_forecast_used",
	// Roles with an slo: (README "SLO").
	"arangoscale_slo_model_ready",
	"arangoscale_capacity_per_instance_rps",
	"arangoscale_slo_utilization_target",
	"arangoscale_headroom_ratio",
	"arangoscale_slo_desired_instances",
}

// inContract reports whether a series name belongs to a contract metric
// (a histogram's _bucket, _sum and _count series included).
func inContract(name string) bool {
	if slices.Contains(contract, name) {
		return true
	}
	for _, suf := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suf); ok && base == "arangoscale_reconcile_duration_seconds" {
			return true
		}
	}
	return false
}

var (
	promStrings  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promKeywords = []string{"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "inf", "nan", "atan2"}
)

// metricNames returns the metric names a PromQL expression selects. It is a
// small lexer, not a parser: enough for the expressions shipped here.
func metricNames(expr string) []string {
	e := promStrings.ReplaceAllString(expr, `""`)
	e = promMatchers.ReplaceAllString(e, " ")
	e = promRanges.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	var names []string
	for _, loc := range promIdent.FindAllStringIndex(e, -1) {
		if loc[0] > 0 && strings.ContainsAny(e[loc[0]-1:loc[0]], "0123456789.$") {
			continue // part of a number (1e3) or a Grafana variable
		}
		tok := e[loc[0]:loc[1]]
		if strings.HasPrefix(strings.TrimLeft(e[loc[1]:], " \t\n"), "(") {
			continue // a function or an aggregation
		}
		if slices.Contains(promKeywords, strings.ToLower(tok)) {
			continue
		}
		if !slices.Contains(names, tok) {
			names = append(names, tok)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (cluster, role) (increase(arangoscale_scale_actions_total{direction="up", result!="failed"}[5m])) > 0`: {"arangoscale_scale_actions_total"},
		`time() - arangoscale_last_reconcile_timestamp_seconds > 3 * 15`:                                               {"arangoscale_last_reconcile_timestamp_seconds"},
		`histogram_quantile(0.95, sum by (le) (rate(x_bucket{a=~"$cluster"}[$__rate_interval])))`:                      {"x_bucket"},
		`a > on (cluster) group_left b or absent(c) unless d offset 5m`:                                                {"a", "b", "c", "d"},
		`changes(arangoscale:scale_direction[1h]) > 1e3`:                                                               {"arangoscale:scale_direction"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%s) = %v, want %v", expr, got, want)
		}
	}
}
