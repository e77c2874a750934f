package policy

import (
	"math"
	"testing"
	"time"
)

var fcStart = time.Date(2026, 6, 22, 0, 0, 0, 0, time.UTC) // a Monday

// diurnal is a business-day shape: 100 rps at night, 1,000 at 14:00.
func diurnal(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 100 + 900*math.Max(0, math.Sin((h-6)/16*math.Pi))
}

// noise is a deterministic ±5 % wobble.
func noise(i int) float64 { return 1 + 0.05*math.Sin(float64(i)*1.7) }

// feedMinutes adds one value per minute from from (inclusive) for n
// minutes; v returns the value and whether to add it.
func feedMinutes(d *DemandHistory, from time.Time, n int, v func(i int, t time.Time) (float64, bool)) {
	for i := 0; i < n; i++ {
		t := from.Add(time.Duration(i) * time.Minute)
		if x, ok := v(i, t); ok {
			d.Add(t, x)
		}
	}
}

func TestForecastDemand(t *testing.T) {
	daily := &ForecastPolicy{Mode: ForecastAndScale, Season: SeasonDaily, History: 7 * 24 * time.Hour, Lead: 30 * time.Minute, MaxError: 0.25}
	day := 24 * 60
	tests := []struct {
		name    string
		feed    func(d *DemandHistory)
		at      time.Time
		trained bool
		want    float64 // forecast value (ignored when not trained)
		tol     float64 // relative
		maxErr  float64 // the error must be at most this (when trained)
	}{
		{
			name: "no history",
			feed: func(*DemandHistory) {},
			at:   fcStart.Add(4 * 24 * time.Hour),
		},
		{
			name: "one day is not a season",
			feed: func(d *DemandHistory) {
				feedMinutes(d, fcStart, day, func(i int, t time.Time) (float64, bool) { return diurnal(t), true })
			},
			at: fcStart.Add(24*time.Hour + 10*time.Hour),
		},
		{
			name: "a seasonal series is recovered, with the max over the lead",
			feed: func(d *DemandHistory) {
				feedMinutes(d, fcStart, 4*day+10*60, func(i int, t time.Time) (float64, bool) { return diurnal(t) * noise(i), true })
			},
			at:      fcStart.Add(4*24*time.Hour + 10*time.Hour),
			trained: true,
			want:    diurnal(fcStart.Add(10*time.Hour + 45*time.Minute)), // the end of the lead's last bin
			tol:     0.08,
			maxErr:  0.08,
		},
		{
			name: "a level change (load doubled today) moves the forecast",
			feed: func(d *DemandHistory) {
				feedMinutes(d, fcStart, 4*day+10*60, func(i int, t time.Time) (float64, bool) {
					if i >= 4*day {
						return 2 * diurnal(t), true
					}
					return diurnal(t), true
				})
			},
			at:      fcStart.Add(4*24*time.Hour + 10*time.Hour),
			trained: true,
			want:    2 * diurnal(fcStart.Add(10*time.Hour+45*time.Minute)),
			tol:     0.1,
			maxErr:  0.6,
		},
		{
			name: "a flash crowd is not taken for a season",
			feed: func(d *DemandHistory) {
				feedMinutes(d, fcStart, 4*day+10*60, func(i int, t time.Time) (float64, bool) {
					if i >= 3*day+10*60 && i < 3*day+13*60 {
						return 5 * diurnal(t), true // yesterday 10:00-13:00, five times the load
					}
					return diurnal(t), true
				})
			},
			at:      fcStart.Add(4*24*time.Hour + 10*time.Hour),
			trained: true,
			want:    diurnal(fcStart.Add(10*time.Hour + 45*time.Minute)),
			tol:     0.05,
			maxErr:  1,
		},
		{
			name: "gaps, NaN, Inf and counter resets are skipped, not zero load",
			feed: func(d *DemandHistory) {
				feedMinutes(d, fcStart, 4*day+10*60, func(i int, t time.Time) (float64, bool) {
					switch {
					case i >= day && i < day+6*60:
						return 0, false // six hours without data
					case i%7 == 0:
						return math.NaN(), true
					case i%11 == 0:
						return math.Inf(1), true
					case i%13 == 0:
						return -5000, true // a counter reset read as a drop
					}
					return diurnal(t), true
				})
			},
			at:      fcStart.Add(4*24*time.Hour + 10*time.Hour),
			trained: true,
			want:    diurnal(fcStart.Add(10*time.Hour + 45*time.Minute)),
			tol:     0.05,
			maxErr:  0.05,
		},
		{
			name: "a history that stopped two hours ago is not trusted",
			feed: func(d *DemandHistory) {
				feedMinutes(d, fcStart, 4*day+8*60, func(i int, t time.Time) (float64, bool) { return diurnal(t), true })
			},
			at: fcStart.Add(4*24*time.Hour + 10*time.Hour),
		},
		{
			name: "a clock jump forward past the history forgets it",
			feed: func(d *DemandHistory) {
				feedMinutes(d, fcStart, 4*day, func(i int, t time.Time) (float64, bool) { return diurnal(t), true })
				d.Add(fcStart.Add(30*24*time.Hour), 500)
			},
			at: fcStart.Add(30*24*time.Hour + time.Minute),
		},
		{
			name: "a clock jump back keeps the history and the forecast",
			feed: func(d *DemandHistory) {
				feedMinutes(d, fcStart, 4*day+10*60, func(i int, t time.Time) (float64, bool) { return diurnal(t), true })
				d.Add(fcStart.Add(-30*24*time.Hour), 1e6) // older than the history: dropped
				d.Add(fcStart.Add(4*24*time.Hour+9*time.Hour), diurnal(fcStart.Add(9*time.Hour)))
			},
			at:      fcStart.Add(4*24*time.Hour + 10*time.Hour),
			trained: true,
			want:    diurnal(fcStart.Add(10*time.Hour + 45*time.Minute)),
			tol:     0.05,
			maxErr:  0.05,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d DemandHistory
			d.Resize(HistorySpan(daily))
			tt.feed(&d)
			got := ForecastDemand(daily, &d, tt.at)
			if got.Trained != tt.trained {
				t.Fatalf("trained = %v, want %v (%+v)", got.Trained, tt.trained, got)
			}
			if !tt.trained {
				return
			}
			if math.Abs(got.Value-tt.want) > tt.tol*tt.want {
				t.Errorf("forecast = %.1f, want %.1f ± %.0f %%", got.Value, tt.want, tt.tol*100)
			}
			if got.Error > tt.maxErr || got.Error < 0 || math.IsNaN(got.Error) {
				t.Errorf("error = %.3f, want at most %.3f", got.Error, tt.maxErr)
			}
		})
	}
}

func TestForecastWeekly(t *testing.T) {
	weekly := &ForecastPolicy{Mode: ForecastAndScale, Season: SeasonWeekly, History: 14 * 24 * time.Hour, Lead: 10 * time.Minute, MaxError: 0.25}
	// Weekdays as diurnal, weekends at a fifth: a daily profile cannot
	// know Monday morning from Sunday's.
	load := func(t time.Time) float64 {
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return diurnal(t) / 5
		}
		return diurnal(t)
	}
	var d DemandHistory
	d.Resize(HistorySpan(weekly))
	at := fcStart.Add(14*24*time.Hour + 10*time.Hour) // the third Monday
	for ts := fcStart; ts.Before(at); ts = ts.Add(time.Minute) {
		d.Add(ts, load(ts))
	}
	got := ForecastDemand(weekly, &d, at)
	want := load(at.Add(15 * time.Minute))
	if !got.Trained || math.Abs(got.Value-want) > 0.05*want {
		t.Fatalf("forecast = %+v, want %.1f trained", got, want)
	}
}

func TestDemandHistoryBounded(t *testing.T) {
	fp := &ForecastPolicy{Season: SeasonDaily, History: 7 * 24 * time.Hour}
	var d DemandHistory
	d.Resize(HistorySpan(fp))
	n := len(d.sums)
	for ts := fcStart; ts.Before(fcStart.Add(30 * 24 * time.Hour)); ts = ts.Add(15 * time.Second) {
		d.Add(ts, 1)
	}
	if len(d.sums) != n || n != int(8*24*time.Hour/ForecastBin) {
		t.Fatalf("bins = %d, want %d however much is fed", len(d.sums), n)
	}
	// Shrinking keeps the newest bins.
	d.Resize(3 * 24 * time.Hour)
	if v, ok := d.at(binOf(fcStart.Add(30*24*time.Hour - time.Minute))); !ok || v != 1 {
		t.Fatalf("newest bin after a resize = %v, %v", v, ok)
	}
}
