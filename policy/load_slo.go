package policy

import (
	"time"

	"gopkg.in/yaml.v3"
)

// Bounds of the SLO options: a window longer than maxSLOWindow would hold
// more samples than the model needs and cost memory per role.
const (
	maxSLOWindow = 7 * 24 * time.Hour
	maxLead      = time.Hour
)

// slo loads a role's slo: mapping (nil on any problem, reported).
func (l *loader) slo(n *yaml.Node, path string) *SLO {
	f := l.fields(n, path, "latency_p95", "queue_length", "max_utilization", "lead", "headroom", "trend")
	if f == nil {
		return nil
	}
	o := defaultSLO()
	ok := true
	lat, hasLat := f["latency_p95"]
	q, hasQ := f["queue_length"]
	if hasLat && hasQ {
		l.errAt(q.key, "%s: set either latency_p95 or queue_length, not both", path)
		ok = false
	} else if !hasLat && !hasQ {
		l.errAt(n, "%s: set one of latency_p95 or queue_length", path)
		ok = false
	}
	if hasLat {
		if d, good := l.duration(lat.val, path+".latency_p95"); !good {
			ok = false
		} else if d < time.Millisecond {
			l.errAt(lat.val, "%s.latency_p95: must be at least 1ms, got %s", path, resolve(lat.val).Value)
			ok = false
		} else {
			o.LatencyP95 = d
		}
	}
	if hasQ {
		if x, good := l.number(q.val, path+".queue_length"); !good {
			ok = false
		} else if x <= 0 {
			l.errAt(q.val, "%s.queue_length: must be above 0, got %s", path, resolve(q.val).Value)
			ok = false
		} else {
			o.QueueLength = x
		}
	}
	if v, has := f["max_utilization"]; has {
		if x, good := l.number(v.val, path+".max_utilization"); !good {
			ok = false
		} else if x <= 0 || x >= 1 {
			l.errAt(v.val, "%s.max_utilization: must be above 0 and below 1, got %s", path, resolve(v.val).Value)
			ok = false
		} else {
			o.MaxUtilization = x
		}
	}
	if v, has := f["lead"]; has {
		if d, good := l.duration(v.val, path+".lead"); !good {
			ok = false
		} else if d < time.Second || d > maxLead {
			l.errAt(v.val, "%s.lead: must be between 1s and %s (startup, health check and one interval), got %s", path, formatDuration(maxLead), resolve(v.val).Value)
			ok = false
		} else {
			o.Lead = d
		}
	}
	if v, has := f["headroom"]; has {
		p := path + ".headroom"
		if hf := l.fields(v.val, p, "quantile", "window", "base_window"); hf == nil {
			ok = false
		} else {
			if qv, has := hf["quantile"]; has {
				if x, good := l.number(qv.val, p+".quantile"); !good {
					ok = false
				} else if x < 0.5 || x > 1 {
					l.errAt(qv.val, "%s.quantile: must be between 0.5 and 1, got %s", p, resolve(qv.val).Value)
					ok = false
				} else {
					o.Headroom.Quantile = x
				}
			}
			if wv, has := hf["window"]; has {
				if d, good := l.duration(wv.val, p+".window"); !good {
					ok = false
				} else if d < 10*time.Minute || d > maxSLOWindow {
					l.errAt(wv.val, "%s.window: must be between 10m and %s, got %s", p, formatDuration(maxSLOWindow), resolve(wv.val).Value)
					ok = false
				} else {
					o.Headroom.Window = d
				}
			}
			if bv, has := hf["base_window"]; has {
				if d, good := l.duration(bv.val, p+".base_window"); !good {
					ok = false
				} else if d < time.Second || d > time.Hour {
					l.errAt(bv.val, "%s.base_window: must be between 1s and 1h, got %s", p, resolve(bv.val).Value)
					ok = false
				} else {
					o.Headroom.BaseWindow = d
				}
			}
		}
	}
	if v, has := f["trend"]; has {
		p := path + ".trend"
		if tf := l.fields(v.val, p, "window"); tf == nil {
			ok = false
		} else {
			o.Trend.Window = defaultTrendWindow
			if wv, has := tf["window"]; has {
				if d, good := l.duration(wv.val, p+".window"); !good {
					ok = false
				} else if d < 30*time.Second || d > time.Hour {
					l.errAt(wv.val, "%s.window: must be between 30s and 1h, got %s", p, resolve(wv.val).Value)
					ok = false
				} else {
					o.Trend.Window = d
				}
			}
		}
	}
	if o.Headroom.Window <= 2*o.Lead {
		l.errAt(n, "%s: headroom.window %s must be more than twice the lead %s", path, formatDuration(o.Headroom.Window), formatDuration(o.Lead))
		ok = false
	}
	if !ok {
		return nil
	}
	return o
}
