package controller

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// blockReasons is the fixed set of DESIGN.md "Decision rules" 5: every one
// has an arangoscale_scale_blocked series per role, 0 or 1.
var blockReasons = []string{
	"within_tolerance", "stabilizing", "cooldown", "deployment_in_progress",
	"at_max", "at_min", "capacity", "metrics_missing", "unsafe_cluster",
	"replication_floor", "paused", "manual_override", "backoff", "dry_run",
}

// instanceStates are the state label values of arangoscale_instances, in
// the order worker.report sets them.
var instanceStates = []string{"current", "target", "desired", "min", "max"}

// promMetrics are the controller's metrics. Their names and labels are a
// contract (DESIGN.md "Metrics"): alert rules and dashboards use them.
type promMetrics struct {
	instances        *rowGauge
	signalValue      *prometheus.GaugeVec
	signalTarget     *prometheus.GaugeVec
	decisions        *prometheus.CounterVec
	blocked          *rowGauge
	actions          *prometheus.CounterVec
	cleanouts        *prometheus.CounterVec
	sagaStep         *rowGauge
	sourceErrors     *prometheus.CounterVec
	reconcile        *prometheus.HistogramVec
	lastReconcile    *prometheus.GaugeVec
	reloadOK         prometheus.Gauge
	reloadTimestamp  prometheus.Gauge
	dryRun           prometheus.Gauge
	failedWithShards *prometheus.GaugeVec
	removedServers   *prometheus.CounterVec
	foreignCleaned   *prometheus.GaugeVec
	interval         *prometheus.GaugeVec
	holdUntil        *prometheus.GaugeVec
	holdCount        *prometheus.GaugeVec
	discovered       prometheus.Gauge
	discoveryErrors  prometheus.Gauge
	forecastValue    *prometheus.GaugeVec
	forecastError    *prometheus.GaugeVec
	forecastDesired  *prometheus.GaugeVec
	forecastUsed     *prometheus.GaugeVec
	slo              *sloMetrics
}

func newPromMetrics(reg prometheus.Registerer, version, commit string) *promMetrics {
	f := promauto.With(reg)
	m := &promMetrics{
		discovered: f.NewGauge(prometheus.GaugeOpts{
			Name: "arangoscale_discovered_clusters",
			Help: "Clusters found by their Marathon labels and scaled with a policy template.",
		}),
		discoveryErrors: f.NewGauge(prometheus.GaugeOpts{
			Name: "arangoscale_discovery_errors",
			Help: "Problems of the latest discovery round: labelled apps that name an unknown template or make an incomplete cluster, or a failed Marathon listing.",
		}),
		holdUntil: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "arangoscale_manual_hold_until_timestamp_seconds",
			Help: "When the manual hold of a role ends (unix seconds); absent without a hold.",
		}, []string{"cluster", "role"}),
		holdCount: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "arangoscale_manual_hold_count",
			Help: "The instance count a manual hold keeps a role at; absent without a hold.",
		}, []string{"cluster", "role"}),
		instances: newRowGauge("arangoscale_instances",
			"Instances of a role: current (running), target (Marathon), desired (policy), min and max.",
			[]string{"cluster", "role"}, "state", instanceStates),
		signalValue: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "arangoscale_signal_value",
			Help: "Observed value of a policy metric for a role (mean per instance, or total for per-instance targets).",
		}, []string{"cluster", "role", "signal"}),
		signalTarget: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "arangoscale_signal_target",
			Help: "Target of a policy metric for a role.",
		}, []string{"cluster", "role", "signal"}),
		decisions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "arangoscale_decisions_total",
			Help: "Decisions taken per reconcile, by direction and primary reason.",
		}, []string{"cluster", "role", "direction", "reason"}),
		blocked: newRowGauge("arangoscale_scale_blocked",
			"1 when the reason held the role back at the last reconcile, else 0.",
			[]string{"cluster", "role"}, "reason", blockReasons),
		actions: f.NewCounterVec(prometheus.CounterOpts{
			Name: "arangoscale_scale_actions_total",
			Help: "Scaling actions sent (or, in dry-run, not sent), by result.",
		}, []string{"cluster", "role", "direction", "result"}),
		cleanouts: f.NewCounterVec(prometheus.CounterOpts{
			Name: "arangoscale_cleanout_jobs_total",
			Help: "DB-server clean-out jobs of this controller: started, then finished, failed or aborted (the scale-down given up before its kill).",
		}, []string{"cluster", "result"}),
		sagaStep: newRowGauge("arangoscale_saga_step",
			"1 for the step the DB-server scale-down saga of a cluster stands at, else 0.",
			[]string{"cluster"}, "step", sagaSteps),
		sourceErrors: f.NewCounterVec(prometheus.CounterOpts{
			Name: "arangoscale_source_errors_total",
			Help: "Failed calls to a source (arangodb, mesos, marathon, prometheus).",
		}, []string{"cluster", "source"}),
		reconcile: f.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "arangoscale_reconcile_duration_seconds",
			Help:    "Time one reconcile of a cluster took.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"cluster"}),
		lastReconcile: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "arangoscale_last_reconcile_timestamp_seconds",
			Help: "Unix time of the last completed reconcile of a role.",
		}, []string{"cluster", "role"}),
		reloadOK: f.NewGauge(prometheus.GaugeOpts{
			Name: "arangoscale_config_last_reload_successful",
			Help: "1 when the last policy reload succeeded, 0 when it was rejected.",
		}),
		reloadTimestamp: f.NewGauge(prometheus.GaugeOpts{
			Name: "arangoscale_config_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful policy load.",
		}),
		dryRun: f.NewGauge(prometheus.GaugeOpts{
			Name: "arangoscale_dry_run",
			Help: "1 when the controller runs in dry-run mode and changes nothing.",
		}),
		failedWithShards: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "arangoscale_failed_servers_with_shards",
			Help: "DB servers ArangoDB marks FAILED that still hold shards; never removed automatically.",
		}, []string{"cluster"}),
		removedServers: f.NewCounterVec(prometheus.CounterOpts{
			Name: "arangoscale_removed_servers_total",
			Help: "Stale FAILED servers removed from ArangoDB's health list, by role.",
		}, []string{"cluster", "role"}),
	}
	m.foreignCleaned = f.NewGaugeVec(prometheus.GaugeOpts{
		Name: "arangoscale_foreign_cleaned_servers",
		Help: "DB servers in ArangoDB's cleanedServers that no scale-down of this controller chose; never killed unless the policy wants a scale-down.",
	}, []string{"cluster"})
	m.slo = newSLOMetrics(f)
	m.interval = f.NewGaugeVec(prometheus.GaugeOpts{
		Name: "arangoscale_reconcile_interval_seconds",
		Help: "The reconcile interval in force for a cluster (alerts compare staleness with it).",
	}, []string{"cluster"})
	m.forecastValue = f.NewGaugeVec(prometheus.GaugeOpts{
		Name: "arangoscale_forecast_value",
		Help: "The forecast of a role's demand: the highest expected over the forecast's lead (requests per second); absent until the forecast is trained.",
	}, []string{"cluster", "role", "signal"})
	m.forecastError = f.NewGaugeVec(prometheus.GaugeOpts{
		Name: "arangoscale_forecast_error",
		Help: "Recent error of a role's forecast (weighted absolute percentage error over the last 12 h, 0.1 = 10 %); absent until trained.",
	}, []string{"cluster", "role", "signal"})
	m.forecastDesired = f.NewGaugeVec(prometheus.GaugeOpts{
		Name: "arangoscale_forecast_desired_instances",
		Help: "Instances the forecast demand of a role needs at the role's target.",
	}, []string{"cluster", "role"})
	m.forecastUsed = f.NewGaugeVec(prometheus.GaugeOpts{
		Name: "arangoscale_forecast_used",
		Help: "1 when a role's forecast took part in its last decision (forecast_and_scale, trained, error within max_error), else 0.",
	}, []string{"cluster", "role"})
	build := f.NewGaugeVec(prometheus.GaugeOpts{
		Name: "arangoscale_build_info",
		Help: "Build information; the value is always 1.",
	}, []string{"version", "commit", "goversion"})
	build.WithLabelValues(version, commit, runtime.Version()).Set(1)
	reg.MustRegister(m.instances, m.blocked, m.sagaStep)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// forgetCluster drops every series of a cluster that left the policy, so
// dashboards and alerts do not see a ghost.
func (m *promMetrics) forgetCluster(cluster string) {
	l := prometheus.Labels{"cluster": cluster}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.instances, m.signalValue, m.signalTarget, m.blocked, m.sagaStep,
		m.lastReconcile, m.failedWithShards, m.interval, m.foreignCleaned,
		m.forecastValue, m.forecastError, m.forecastDesired, m.forecastUsed,
	} {
		v.DeletePartialMatch(l)
	}
	m.decisions.DeletePartialMatch(l)
	m.actions.DeletePartialMatch(l)
	m.cleanouts.DeletePartialMatch(l)
	m.sourceErrors.DeletePartialMatch(l)
	m.reconcile.DeletePartialMatch(l)
	m.removedServers.DeletePartialMatch(l)
	m.holdUntil.DeletePartialMatch(l)
	m.holdCount.DeletePartialMatch(l)
	m.slo.forget(l)
}

// SumSeries adds up the values of every counter or gauge series of the
// metric name whose labels include match, as gathered from g (0 when there
// is none). The demo's report and the tests read the controller's
// decisions through it.
func SumSeries(g prometheus.Gatherer, name string, match map[string]string) (float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := make(map[string]string, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range match {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				total += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				total += m.GetGauge().GetValue()
			}
		}
	}
	return total, nil
}
