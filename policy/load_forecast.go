package policy

import (
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Forecast defaults and bounds.
const (
	defaultForecastLead     = 10 * time.Minute
	defaultForecastMaxError = 0.25
	maxForecastHistory      = 8 * 7 * 24 * time.Hour // memory: 5,376 bins per role
	maxForecastLead         = 6 * time.Hour
)

// forecast parses a role's forecast: block.
func (l *loader) forecast(n *yaml.Node, path string) *ForecastPolicy {
	f := l.fields(n, path, "mode", "season", "history", "lead", "max_error", "promql")
	if f == nil {
		return nil
	}
	fp := &ForecastPolicy{Mode: ForecastOnly, Season: SeasonDaily, Lead: defaultForecastLead, MaxError: defaultForecastMaxError}
	ok := true
	if v, has := f["mode"]; has {
		if s, good := l.str(v.val, path+".mode"); !good {
			ok = false
		} else if s != ForecastOnly && s != ForecastAndScale {
			l.errAt(v.val, "%s.mode: %q is not one of %s, %s", path, s, ForecastOnly, ForecastAndScale)
			ok = false
		} else {
			fp.Mode = s
		}
	}
	if v, has := f["season"]; has {
		if s, good := l.str(v.val, path+".season"); !good {
			ok = false
		} else if s != SeasonDaily && s != SeasonWeekly {
			l.errAt(v.val, "%s.season: %q is not one of %s, %s", path, s, SeasonDaily, SeasonWeekly)
			ok = false
		} else {
			fp.Season = s
		}
	}
	period := fp.Period()
	fp.History = 7 * 24 * time.Hour // a week of days
	if fp.Season == SeasonWeekly {
		fp.History = 3 * period
	}
	if v, has := f["history"]; has {
		if d, good := l.longDuration(v.val, path+".history"); !good {
			ok = false
		} else if d < time.Duration(minSeasons)*period || d > maxForecastHistory {
			l.errAt(v.val, "%s.history: %s must be at least %d seasons (%s for season %s) and at most %s",
				path, resolve(v.val).Value, minSeasons, formatLongDuration(time.Duration(minSeasons)*period), fp.Season,
				formatLongDuration(maxForecastHistory))
			ok = false
		} else {
			fp.History = d
		}
	}
	if v, has := f["lead"]; has {
		if d, good := l.duration(v.val, path+".lead"); !good {
			ok = false
		} else if d == 0 || d > maxForecastLead {
			l.errAt(v.val, "%s.lead: %s must be above 0 and at most %s", path, resolve(v.val).Value, formatDuration(maxForecastLead))
			ok = false
		} else {
			fp.Lead = d
		}
	}
	if v, has := f["max_error"]; has {
		if x, good := l.number(v.val, path+".max_error"); !good {
			ok = false
		} else if x <= 0 || x > maxErrorValue {
			l.errAt(v.val, "%s.max_error: must be above 0 and at most %d (a fraction: 0.25 is 25 %%), got %s", path, maxErrorValue, resolve(v.val).Value)
			ok = false
		} else {
			fp.MaxError = x
		}
	}
	if v, has := f["promql"]; has {
		if s, good := l.str(v.val, path+".promql"); !good {
			ok = false
		} else if strings.TrimSpace(s) == "" {
			l.errAt(v.val, "%s.promql: empty query", path)
			ok = false
		} else {
			fp.PromQL = s
		}
	}
	if !ok {
		return nil
	}
	return fp
}

// longDuration accepts a Go duration ("36h") or whole days or weeks
// ("14d", "2w"), which Go's durations lack.
func (l *loader) longDuration(n *yaml.Node, path string) (time.Duration, bool) {
	s, ok := l.scalar(n)
	if ok && s.ShortTag() == "!!str" {
		for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
			if num, cut := strings.CutSuffix(s.Value, suffix); cut {
				k, err := strconv.Atoi(num)
				if err != nil || k < 0 || k > 1000 {
					l.errAt(n, "%s: invalid duration %q: want whole days or weeks such as \"14d\" or \"2w\", or a duration such as \"36h\"", path, s.Value)
					return 0, false
				}
				return time.Duration(k) * unit, true
			}
		}
	}
	return l.duration(n, path)
}

// formatLongDuration writes whole days as "14d".
func formatLongDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return formatDuration(d)
}
