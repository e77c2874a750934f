package policy

import (
	"math"
	"time"
)

// trend fits demand = at + slope·(t-now) by least squares to the samples of
// the last window and reports a rise: ok only when the slope is positive
// and significant (trendSignificance standard errors), the window is at
// least half covered and holds minTrendSamples samples. at is the fitted
// demand now, slope in rps per second.
func trend(samples []capSample, now time.Time, window time.Duration) (slope, at float64, ok bool) {
	var n, st, sd, stt, std, sdd float64
	first := now
	for i := len(samples) - 1; i >= 0; i-- {
		s := &samples[i]
		age := now.Sub(s.at)
		if age >= window {
			break
		}
		if math.IsNaN(s.demand) {
			continue
		}
		t := -age.Seconds()
		n++
		st += t
		sd += s.demand
		stt += t * t
		std += t * s.demand
		sdd += s.demand * s.demand
		first = s.at
	}
	if n < minTrendSamples || now.Sub(first) < window/2 {
		return 0, 0, false
	}
	mt, md := st/n, sd/n
	sxx := stt - n*mt*mt
	if !(sxx > 0) {
		return 0, 0, false
	}
	slope = (std - n*mt*md) / sxx
	at = md - slope*mt
	// Standard error of the slope from the residuals, whose sum of
	// squares is Syy − slope²·Sxx (no second pass over the window).
	sse := max(sdd-n*md*md-slope*slope*sxx, 0)
	se := math.Sqrt(sse / (n - 2) / sxx)
	if !(slope > 0) || slope < trendSignificance*se || math.IsInf(slope, 0) {
		return 0, 0, false
	}
	return slope, at, true
}
