package policy

import (
	"math"
	"slices"
	"time"
)

// Forecast modes (ForecastPolicy.Mode).
const (
	// ForecastOnly computes and publishes the forecast, never acts on it.
	ForecastOnly = "forecast_only"
	// ForecastAndScale keeps at least the count the forecast needs:
	// capacity = max(forecast need, reactive need).
	ForecastAndScale = "forecast_and_scale"
)

// Forecast seasons (ForecastPolicy.Season).
const (
	SeasonDaily  = "daily"
	SeasonWeekly = "weekly"
)

// ForecastSignal is the demand a forecast follows: the role's requests per
// second, summed over its instances.
const ForecastSignal = "requests_per_second"

// Why a forecast was not used (ForecastResult.Reason).
const (
	ForecastReasonUntrained = "forecast_untrained"  // not enough history for the season
	ForecastReasonErrorHigh = "forecast_error_high" // recent error above max_error
	ForecastReasonOnly      = "forecast_only"       // mode forecast_only: published, not acted on
	ForecastReasonNoRate    = "forecast_no_rate"    // no per-instance demand to convert the forecast with
)

// ForecastPolicy is a role's optional forecast: block.
type ForecastPolicy struct {
	Mode     string        // ForecastOnly or ForecastAndScale
	Season   string        // SeasonDaily or SeasonWeekly
	History  time.Duration // how much history the profile uses
	Lead     time.Duration // how far ahead capacity must be ready
	MaxError float64       // a recent error (WAPE) above this ignores the forecast
	// PromQL, when set and the controller has a Prometheus, gives the
	// history (one series of the role's requests per second); otherwise
	// the history is what the controller observed.
	PromQL string
}

// Period is the length of one season.
func (f *ForecastPolicy) Period() time.Duration {
	if f.Season == SeasonWeekly {
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// Forecaster constants: the profile's resolution, and how many recent
// bins the level factor and the error look at.
const (
	ForecastBin = 15 * time.Minute
	levelBins   = 12 // 3 h: slow enough that a crowd of an hour does not move it
	errorBins   = 48 // 12 h of one-bin-ahead forecasts
	minSeasons  = 2  // past seasons a profile value needs
	staleBins   = 4  // an hour without a value: the level is unknown
	// maxErrorValue caps the published error (a forecast of load where
	// none came is "infinitely" wrong; JSON has no Inf).
	maxErrorValue = 10
)

// DemandHistory is a role's demand in ForecastBin bins (mean of the values
// of a bin) over a bounded span: memory is span / bin, however often it is
// fed. It is a plain value owned by one History. Not safe for concurrent use.
type DemandHistory struct {
	sums   []float64
	counts []int32
	newest int64 // bin number (unix time / bin) of the newest bin; valid when len(sums) > 0 && seen
	seen   bool

	// Cached per newest complete bin: the level factor and error only
	// change when a bin completes.
	cacheBin      int64
	cacheOK       bool
	level, errVal float64
	errOK         bool
	scratch       []float64
}

func binOf(t time.Time) int64 {
	return int64(math.Floor(float64(t.UnixNano()) / float64(ForecastBin)))
}

// Resize keeps span of history (at least one bin), keeping the newest bins
// that still fit.
func (d *DemandHistory) Resize(span time.Duration) {
	n := max(int(span/ForecastBin), 1)
	if n == len(d.sums) {
		return
	}
	sums, counts := make([]float64, n), make([]int32, n)
	if d.seen {
		for b := d.newest; b > d.newest-int64(min(n, len(d.sums))); b-- {
			i, j := ring(b, len(d.sums)), ring(b, n)
			sums[j], counts[j] = d.sums[i], d.counts[i]
		}
	}
	d.sums, d.counts = sums, counts
	d.cacheOK = false
}

// Reset forgets every value (a fresh history from another source).
func (d *DemandHistory) Reset() {
	clear(d.sums)
	clear(d.counts)
	d.seen, d.cacheOK = false, false
}

func ring(b int64, n int) int {
	i := int(b % int64(n))
	if i < 0 {
		i += n
	}
	return i
}

// Add records the demand v observed at t. NaN, Inf and negative values
// (a counter reset seen as a drop) are not demand and are skipped, and so
// is a value older than the span kept. A jump forward clears the bins it
// skips: they are gaps, not zero load.
func (d *DemandHistory) Add(t time.Time, v float64) {
	if len(d.sums) == 0 || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return
	}
	b, n := binOf(t), len(d.sums)
	switch {
	case !d.seen:
		d.newest, d.seen = b, true
		i := ring(b, n)
		d.sums[i], d.counts[i] = 0, 0
	case b > d.newest:
		for k := d.newest + 1; k <= b && k <= d.newest+int64(n); k++ {
			i := ring(k, n)
			d.sums[i], d.counts[i] = 0, 0
		}
		if b-d.newest > int64(n) {
			clear(d.sums)
			clear(d.counts)
		}
		d.newest = b
	case b <= d.newest-int64(n):
		return
	}
	i := ring(b, n)
	d.sums[i] += v
	d.counts[i]++
}

// at returns the mean demand of bin b, if it holds a value.
func (d *DemandHistory) at(b int64) (float64, bool) {
	n := len(d.sums)
	if !d.seen || n == 0 || b > d.newest || b <= d.newest-int64(n) {
		return 0, false
	}
	i := ring(b, n)
	if d.counts[i] == 0 {
		return 0, false
	}
	return d.sums[i] / float64(d.counts[i]), true
}

// profile is the seasonal level of bin b: the lower median of the same
// bin in the past seasons held (at least minSeasons). The lower median
// ignores one odd season, even of two: a single flash-crowd day does not
// raise the next day's profile.
func (d *DemandHistory) profile(b, period int64) (float64, bool) {
	vals := d.scratch[:0]
	for k := b - period; k > d.newest-int64(len(d.sums)); k -= period {
		if v, ok := d.at(k); ok {
			vals = append(vals, v)
		}
	}
	d.scratch = vals
	if len(vals) < minSeasons {
		return 0, false
	}
	slices.Sort(vals)
	return vals[(len(vals)-1)/2], true
}

// levelAt is the slowly moving level factor before bin b: the median ratio
// of actual to profile over the levelBins before b, within [0.5, 2]; 1
// with too few.
func (d *DemandHistory) levelAt(b, period int64) float64 {
	var ratios [levelBins]float64
	n := 0
	for k := b - levelBins; k < b; k++ {
		a, ok := d.at(k)
		if !ok {
			continue
		}
		p, ok := d.profile(k, period)
		if !ok || p <= 0 {
			continue
		}
		ratios[n] = a / p
		n++
	}
	if n < levelBins/3 {
		return 1
	}
	r := ratios[:n]
	slices.Sort(r)
	return min(max(r[(n-1)/2], 0.5), 2)
}

// refresh recomputes the level and the error when a bin completed.
func (d *DemandHistory) refresh(period int64) {
	last := d.newest - 1 // the newest complete bin
	if d.cacheOK && d.cacheBin == last {
		return
	}
	d.cacheBin, d.cacheOK = last, true
	d.level = d.levelAt(d.newest, period)
	var sumA, sumE float64
	got := 0
	for b := last - errorBins + 1; b <= last; b++ {
		a, ok := d.at(b)
		if !ok {
			continue
		}
		p, ok := d.profile(b, period)
		if !ok {
			continue
		}
		f := p * d.levelAt(b, period)
		sumA += a
		sumE += math.Abs(a - f)
		got++
	}
	d.errOK = got >= errorBins/2
	switch {
	case !d.errOK:
		d.errVal = 0
	case sumA > 0:
		d.errVal = min(sumE/sumA, maxErrorValue)
	case sumE > 0:
		d.errVal = maxErrorValue
	default:
		d.errVal = 0
	}
}

// Demand is one forecast: the highest demand expected over [now, now+lead]
// and the forecaster's recent error.
type Demand struct {
	Value   float64 // requests per second
	Error   float64 // WAPE of the one-bin-ahead forecast over the last 12 h
	Level   float64 // the level factor applied to the profile
	Trained bool    // enough history for a profile over the whole lead and an error
}

// ForecastDemand forecasts the demand of d for [now, now+lead] with the
// season of fp. It is pure apart from d's caches: no clock, no I/O.
func ForecastDemand(fp *ForecastPolicy, d *DemandHistory, now time.Time) Demand {
	if !d.seen || len(d.sums) == 0 {
		return Demand{}
	}
	period := int64(fp.Period() / ForecastBin)
	d.refresh(period)
	out := Demand{Level: d.level, Error: d.errVal}
	from, to := binOf(now), binOf(now.Add(fp.Lead))
	found := false
	for b := from; b <= to; b++ {
		p, ok := d.profile(b, period)
		if !ok {
			return out
		}
		out.Value = max(out.Value, p*d.level)
		found = true
	}
	// A history that stopped an hour ago no longer knows today's level.
	out.Trained = found && d.errOK && from-d.newest <= staleBins
	return out
}
