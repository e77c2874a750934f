package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"

	"github.com/arangoscale/arangoscale/sim"
)

// maxPoints is the most samples Prometheus returns per series from one
// range query (prometheus/prometheus web/api/v1/api.go: "exceeded maximum
// resolution of 11,000 points per timeseries"); longer ranges are fetched
// in pieces.
const maxPoints = 11000

// fetchPrometheusTrace runs query over [end-rng, end] at step through
// Prometheus' /api/v1/query_range (docs/querying/api.md) and reads the
// answers as one trace. Errors name the query.
func fetchPrometheusTrace(ctx context.Context, base, query string, rng, step time.Duration, end time.Time, hc *http.Client) (sim.Trace, error) {
	if rng <= 0 || step <= 0 {
		return sim.Trace{}, fmt.Errorf("prometheus query %q: --range and --step must be positive", query)
	}
	c, err := api.NewClient(api.Config{Address: base, Client: hc})
	if err != nil {
		return sim.Trace{}, fmt.Errorf("prometheus %q: %w", base, err)
	}
	end = end.Truncate(step)
	start := end.Add(-rng)
	var out sim.Trace
	for from := start; from.Before(end); {
		to := from.Add(step * (maxPoints - 1))
		if to.After(end) {
			to = end
		}
		part, err := queryRange(ctx, c, query, from, to, step)
		if errors.Is(err, sim.ErrNoSamples) {
			part, err = sim.Trace{}, nil // a gap; the whole must have samples
		}
		if err != nil {
			return sim.Trace{}, fmt.Errorf("prometheus query %q [%s, %s]: %w", query, from.Format(time.RFC3339), to.Format(time.RFC3339), err)
		}
		if len(part.T) > 0 {
			if out.Start.IsZero() {
				out.Start = part.Start
			}
			off := part.Start.Sub(out.Start)
			for i, t := range part.T {
				if at := off + t; len(out.T) == 0 || at > out.T[len(out.T)-1] {
					out.T = append(out.T, at)
					out.RPS = append(out.RPS, part.RPS[i])
				}
			}
		}
		from = to.Add(step)
	}
	if len(out.T) == 0 {
		return sim.Trace{}, fmt.Errorf("prometheus query %q: %w: %w in the last %s", query, sim.ErrBadTrace, sim.ErrNoSamples, rng)
	}
	return out, nil
}

func queryRange(ctx context.Context, c api.Client, query string, from, to time.Time, step time.Duration) (sim.Trace, error) {
	u := c.URL("/api/v1/query_range", nil)
	unix := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64) }
	u.RawQuery = url.Values{
		"query": {query}, "start": {unix(from)}, "end": {unix(to)},
		"step": {strconv.FormatFloat(math.Max(step.Seconds(), 1), 'f', -1, 64)},
	}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return sim.Trace{}, err
	}
	resp, body, err := c.Do(ctx, req)
	if err != nil {
		return sim.Trace{}, err
	}
	tr, err := sim.ReadTraceJSON(body)
	if err != nil && resp.StatusCode/100 != 2 {
		return sim.Trace{}, fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	return tr, err
}
