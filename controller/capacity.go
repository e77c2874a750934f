package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/arangoscale/arangoscale/policy"
)

// CapacityStatus is the /status view of a role's SLO model: what it learned
// of one instance, the operating point and the count it needs.
type CapacityStatus struct {
	// Ready: the model decided; otherwise NotReady says why and the
	// role's metrics decide.
	Ready    bool   `json:"ready"`
	NotReady string `json:"not_ready,omitempty"`
	// Decided: the model's count was the largest (reason slo or trend).
	Decided             bool    `json:"decided"`
	DemandRPS           float64 `json:"demand_rps"`
	CapacityPerInstance float64 `json:"capacity_per_instance_rps"`
	IdleCPU             float64 `json:"idle_cpu"`
	ServiceTimeSeconds  float64 `json:"service_time_seconds,omitempty"`
	UtilizationTarget   float64 `json:"utilization_target"`
	Headroom            float64 `json:"headroom"`
	TrendRPSPerSecond   float64 `json:"trend_rps_per_second,omitempty"`
	ProjectedDemandRPS  float64 `json:"projected_demand_rps,omitempty"`
	Needed              int     `json:"needed"`
	TrendNeeded         int     `json:"trend_needed,omitempty"`
	Samples             int     `json:"samples"`
}

// capacityStatus turns the engine's result into its /status entry (nil
// without an SLO).
func capacityStatus(rec *policy.Recommendation) *CapacityStatus {
	c := &rec.Capacity
	if !c.Active {
		return nil
	}
	return &CapacityStatus{
		Ready: c.Ready, NotReady: c.NotReady,
		Decided:   c.Ready && (rec.Reasons.Has(policy.ReasonSLO) || rec.Reasons.Has(policy.ReasonTrend)),
		DemandRPS: c.Demand, CapacityPerInstance: c.PerInstanceRPS, IdleCPU: c.IdleCPU,
		ServiceTimeSeconds: c.ServiceTime, UtilizationTarget: c.Utilization, Headroom: c.Headroom,
		TrendRPSPerSecond: c.Slope, ProjectedDemandRPS: c.Projected,
		Needed: c.Needed, TrendNeeded: c.TrendNeeded, Samples: c.Samples,
	}
}

// sloMetrics publish the SLO model of every role that has one. A role
// whose model is not ready has no series but arangoscale_slo_model_ready 0.
type sloMetrics struct {
	ready, capacity, utilization, headroom, desired *prometheus.GaugeVec
}

func newSLOMetrics(f promauto.Factory) *sloMetrics {
	g := func(name, help string) *prometheus.GaugeVec {
		return f.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, []string{"cluster", "role"})
	}
	return &sloMetrics{
		ready:       g("arangoscale_slo_model_ready", "1 when the SLO model of a role has enough clean history to decide, else 0 (the role's metrics decide)."),
		capacity:    g("arangoscale_capacity_per_instance_rps", "Learned requests per second one instance of a role serves at a cpu signal of 1.0."),
		utilization: g("arangoscale_slo_utilization_target", "The highest utilisation of a role that meets its SLO (capped by max_utilization)."),
		headroom:    g("arangoscale_headroom_ratio", "Quantile of the load ratio over the lead that the SLO count insures against."),
		desired:     g("arangoscale_slo_desired_instances", "Instances the SLO model needs for the current demand (or the trend's projection, when higher)."),
	}
}

func (m *sloMetrics) forget(l prometheus.Labels) {
	for _, v := range []*prometheus.GaugeVec{m.ready, m.capacity, m.utilization, m.headroom, m.desired} {
		v.DeletePartialMatch(l)
	}
}

// publish sets the series of one role from its recommendation.
func (m *sloMetrics) publish(cluster, role string, c *policy.CapacityResult) {
	if !c.Active {
		m.forget(prometheus.Labels{"cluster": cluster, "role": role})
		return
	}
	if !c.Ready {
		m.ready.WithLabelValues(cluster, role).Set(0)
		for _, v := range []*prometheus.GaugeVec{m.capacity, m.utilization, m.headroom, m.desired} {
			v.DeleteLabelValues(cluster, role)
		}
		return
	}
	m.ready.WithLabelValues(cluster, role).Set(1)
	m.capacity.WithLabelValues(cluster, role).Set(c.PerInstanceRPS)
	m.utilization.WithLabelValues(cluster, role).Set(c.Utilization)
	m.headroom.WithLabelValues(cluster, role).Set(c.Headroom)
	m.desired.WithLabelValues(cluster, role).Set(float64(max(c.Needed, c.TrendNeeded)))
}
