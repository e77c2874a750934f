package policy

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// The effective policy is written through these types so the keys come out
// in the documented order and every default is visible.
type (
	effConfig struct {
		Templates map[string]effTemplate `yaml:"templates,omitempty"`
		Clusters  []effCluster           `yaml:"clusters,omitempty"`
	}
	effTemplate struct {
		Interval string   `yaml:"interval,omitempty"`
		Roles    effRoles `yaml:"roles"`
	}
	effCluster struct {
		Name     string      `yaml:"name"`
		Interval string      `yaml:"interval,omitempty"`
		ArangoDB effArangoDB `yaml:"arangodb"`
		Marathon effMarathon `yaml:"marathon"`
		Roles    effRoles    `yaml:"roles"`
	}
	effArangoDB struct {
		Endpoints []string `yaml:"endpoints"`
	}
	effMarathon struct {
		Coordinators string `yaml:"coordinators,omitempty"`
		DBServers    string `yaml:"dbservers,omitempty"`
	}
	effRoles struct {
		Coordinators *effRole `yaml:"coordinators,omitempty"`
		DBServers    *effRole `yaml:"dbservers,omitempty"`
	}
	effRole struct {
		Strategy         string        `yaml:"strategy,omitempty"`
		Min              int           `yaml:"min"`
		Max              int           `yaml:"max"`
		Metrics          []effMetric   `yaml:"metrics"`
		Tolerance        *float64      `yaml:"tolerance,omitempty"`
		Stabilization    *effUpDown    `yaml:"stabilization,omitempty"`
		Cooldown         *effUpDown    `yaml:"cooldown,omitempty"`
		Step             *effStep      `yaml:"step,omitempty"`
		OnMetricsMissing string        `yaml:"on_metrics_missing"`
		Paused           bool          `yaml:"paused"`
		ManualHold       string        `yaml:"manual_hold"`
		Schedule         []effSchedule `yaml:"schedule,omitempty"`
		SLO              *effSLO       `yaml:"slo,omitempty"`
		Forecast         *effForecast  `yaml:"forecast,omitempty"`
	}
	effForecast struct {
		Mode     string  `yaml:"mode"`
		Season   string  `yaml:"season"`
		History  string  `yaml:"history"`
		Lead     string  `yaml:"lead"`
		MaxError float64 `yaml:"max_error"`
		PromQL   string  `yaml:"promql,omitempty"`
	}
	effSLO struct {
		LatencyP95     string       `yaml:"latency_p95,omitempty"`
		QueueLength    float64      `yaml:"queue_length,omitempty"`
		MaxUtilization float64      `yaml:"max_utilization"`
		Lead           string       `yaml:"lead"`
		Headroom       effHeadroom  `yaml:"headroom"`
		Trend          *effTrendOpt `yaml:"trend,omitempty"`
	}
	effHeadroom struct {
		Quantile   float64 `yaml:"quantile"`
		Window     string  `yaml:"window"`
		BaseWindow string  `yaml:"base_window"`
	}
	effTrendOpt struct {
		Window string `yaml:"window"`
	}
	effUpDown struct {
		Up   string `yaml:"up"`
		Down string `yaml:"down"`
	}
	effStep struct {
		Up   any `yaml:"up"`
		Down any `yaml:"down"`
	}
	effMetric struct {
		Strategy          string   `yaml:"strategy"`
		Signal            string   `yaml:"signal,omitempty"`
		PromQL            string   `yaml:"promql,omitempty"`
		Target            float64  `yaml:"target,omitempty"`
		TargetPerInstance float64  `yaml:"target_per_instance,omitempty"`
		Upper             *float64 `yaml:"upper,omitempty"`
		Lower             *float64 `yaml:"lower,omitempty"`
		Periods           int      `yaml:"periods,omitempty"`
		Step              int      `yaml:"step,omitempty"`
		Multiplier        float64  `yaml:"multiplier,omitempty"`
	}
	effSchedule struct {
		Cron     string `yaml:"cron"`
		Duration string `yaml:"duration"`
		Min      int    `yaml:"min"`
		TimeZone string `yaml:"time_zone"`
	}
)

// Effective returns the policy as YAML with every default filled in (what
// `arangoscale validate --print` shows). Load accepts the result again and
// yields an equal Config.
func (c *Config) Effective() ([]byte, error) {
	out := effConfig{Clusters: make([]effCluster, 0, len(c.Clusters))}
	for _, cl := range c.Clusters {
		ec := effCluster{
			Name:     cl.Name,
			ArangoDB: effArangoDB{Endpoints: cl.ArangoDB.Endpoints},
			Marathon: effMarathon{Coordinators: cl.Marathon.Coordinators, DBServers: cl.Marathon.DBServers},
		}
		if cl.Interval > 0 {
			ec.Interval = formatDuration(cl.Interval)
		}
		if rp := cl.Roles[Coordinators]; rp != nil {
			ec.Roles.Coordinators = effectiveRole(rp)
		}
		if rp := cl.Roles[DBServers]; rp != nil {
			ec.Roles.DBServers = effectiveRole(rp)
		}
		out.Clusters = append(out.Clusters, ec)
	}
	if len(c.Templates) > 0 {
		out.Templates = make(map[string]effTemplate, len(c.Templates))
		for name, t := range c.Templates {
			et := effTemplate{}
			if t.Interval > 0 {
				et.Interval = formatDuration(t.Interval)
			}
			if rp := t.Roles[Coordinators]; rp != nil {
				et.Roles.Coordinators = effectiveRole(rp)
			}
			if rp := t.Roles[DBServers]; rp != nil {
				et.Roles.DBServers = effectiveRole(rp)
			}
			out.Templates[name] = et
		}
	}
	b, err := yaml.Marshal(&out)
	if err != nil {
		return nil, fmt.Errorf("policy: writing effective policy: %w", err)
	}
	return b, nil
}

func effectiveRole(rp *RolePolicy) *effRole {
	er := &effRole{
		Strategy:         rp.Strategy,
		Min:              rp.Min,
		Max:              rp.Max,
		OnMetricsMissing: rp.OnMetricsMissing,
		Paused:           rp.Paused,
		ManualHold:       formatDuration(rp.ManualHold),
	}
	if rp.Strategy == "" || rp.Strategy == RoleStrategyPolicy {
		// The other strategies fix these themselves (and Load rejects them).
		tol := rp.Tolerance
		er.Tolerance = &tol
		er.Stabilization = &effUpDown{Up: formatDuration(rp.Stabilization.Up), Down: formatDuration(rp.Stabilization.Down)}
		er.Cooldown = &effUpDown{Up: formatDuration(rp.Cooldown.Up), Down: formatDuration(rp.Cooldown.Down)}
		er.Step = &effStep{Up: stepValue(rp.Step.Up), Down: stepValue(rp.Step.Down)}
	}
	for _, m := range rp.Metrics {
		em := effMetric{Strategy: m.Strategy, Signal: m.Signal, PromQL: m.PromQL}
		if m.Strategy == StrategyThreshold {
			up, lo := m.Upper, m.Lower
			em.Upper, em.Lower, em.Periods, em.Step, em.Multiplier = &up, &lo, m.Periods, m.Step, m.Multiplier
		} else {
			em.Target, em.TargetPerInstance = m.Target, m.TargetPerInstance
		}
		er.Metrics = append(er.Metrics, em)
	}
	if o := rp.SLO; o != nil {
		es := &effSLO{QueueLength: o.QueueLength, MaxUtilization: o.MaxUtilization, Lead: formatDuration(o.Lead),
			Headroom: effHeadroom{Quantile: o.Headroom.Quantile, Window: formatDuration(o.Headroom.Window),
				BaseWindow: formatDuration(o.Headroom.BaseWindow)}}
		if o.LatencyP95 > 0 {
			es.LatencyP95 = formatDuration(o.LatencyP95)
		}
		if o.Trend.Window > 0 {
			es.Trend = &effTrendOpt{Window: formatDuration(o.Trend.Window)}
		}
		er.SLO = es
	}
	for _, s := range rp.Schedule {
		tz := s.TimeZone
		if tz == "" {
			tz = "UTC"
		}
		er.Schedule = append(er.Schedule, effSchedule{Cron: s.Cron, Duration: formatDuration(s.Duration), Min: s.Min, TimeZone: tz})
	}
	if f := rp.Forecast; f != nil {
		er.Forecast = &effForecast{Mode: f.Mode, Season: f.Season, History: formatLongDuration(f.History),
			Lead: formatDuration(f.Lead), MaxError: f.MaxError, PromQL: f.PromQL}
	}
	return er
}

func stepValue(s Step) any {
	if s.Percent > 0 {
		return strconv.FormatFloat(s.Percent, 'f', -1, 64) + "%"
	}
	return s.Count
}

// formatDuration writes "5m" rather than time.Duration's "5m0s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Summary returns one line per cluster, e.g.
// "prod: coordinators 2..16 (3 metrics), dbservers 3..9 (2 metrics), interval 15s".
// Templates follow as "template <name>: …".
func (c *Config) Summary() []string {
	all := c.Clusters
	for _, name := range c.TemplateNames() {
		t := c.Templates[name]
		all = append(all[:len(all):len(all)], &Cluster{Name: "template " + name, Interval: t.Interval, Roles: t.Roles})
	}
	lines := make([]string, 0, len(all))
	for _, cl := range all {
		var b strings.Builder
		b.WriteString(cl.Name)
		b.WriteString(":")
		sep := " "
		for _, r := range Roles() {
			rp := cl.Roles[r]
			if rp == nil {
				continue
			}
			noun := "metrics"
			if len(rp.Metrics) == 1 {
				noun = "metric"
			}
			fmt.Fprintf(&b, "%s%s %d..%d (%d %s)", sep, r, rp.Min, rp.Max, len(rp.Metrics), noun)
			if rp.Paused {
				b.WriteString(" paused")
			}
			sep = ", "
		}
		if cl.Interval > 0 {
			fmt.Fprintf(&b, "%sinterval %s", sep, formatDuration(cl.Interval))
		} else {
			b.WriteString(sep + "interval default")
		}
		lines = append(lines, b.String())
	}
	return lines
}
