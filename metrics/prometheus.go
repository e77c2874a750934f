package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	"github.com/prometheus/common/model"

	"github.com/arangoscale/arangoscale/redirect"
)

// Prometheus evaluates the policies' promql: expressions with instant
// queries (GET /api/v1/query).
//
// The HTTP transport is client_golang's api.Client; the answer is decoded
// here with prometheus/common/model types, because the typed
// api/prometheus/v1 package needs github.com/json-iterator/go, which the
// module does not require.
type Prometheus struct {
	client api.Client
}

// NewPrometheus returns a source for the Prometheus server at url. The
// client's transport adds authentication; nil means a default client.
// Redirects are followed only within their origin (redirect.Guard).
func NewPrometheus(url string, client *http.Client) (*Prometheus, error) {
	c, err := api.NewClient(api.Config{Address: url, Client: redirect.Guard(client)})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %q: %w", url, err)
	}
	return &Prometheus{client: c}, nil
}

// Query evaluates expr at time at. A scalar, or a vector of exactly one
// sample, is the value. An empty vector, several series, a matrix, a
// string, a native histogram or NaN/Inf give an error wrapping ErrMissing
// with the reason; a failed request gives the request's error.
func (p *Prometheus) Query(ctx context.Context, expr string, at time.Time) (float64, error) {
	u := p.client.URL("/api/v1/query", nil)
	q := url.Values{"query": {expr}}
	if !at.IsZero() {
		q.Set("time", strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', -1, 64))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("prometheus query %q: %w", expr, err)
	}
	resp, body, err := p.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("prometheus query %q: %w", expr, err)
	}
	v, err := decodeQueryAnswer(resp.StatusCode, body)
	if err != nil {
		return 0, fmt.Errorf("prometheus query %q: %w", expr, err)
	}
	return v, nil
}

// decodeQueryAnswer reads an /api/v1/query answer down to one number.
func decodeQueryAnswer(code int, body []byte) (float64, error) {
	data, err := decodeEnvelope("/api/v1/query", code, body)
	if err != nil {
		return 0, err
	}
	var f float64
	switch data.ResultType {
	case model.ValScalar:
		var s model.Scalar
		if err := json.Unmarshal(data.Result, &s); err != nil {
			return 0, fmt.Errorf("%w: scalar result: %w", ErrBadBody, err)
		}
		f = float64(s.Value)
	case model.ValVector:
		var vec model.Vector
		if err := json.Unmarshal(data.Result, &vec); err != nil {
			return 0, fmt.Errorf("%w: vector result: %w", ErrBadBody, err)
		}
		switch len(vec) {
		case 0:
			return 0, fmt.Errorf("%w: empty result", ErrMissing)
		case 1:
			if vec[0] == nil || vec[0].Histogram != nil {
				return 0, fmt.Errorf("%w: sample is a native histogram, want a number", ErrMissing)
			}
			f = float64(vec[0].Value)
		default:
			return 0, fmt.Errorf("%w: %d series, want one (aggregate with sum/avg/max)", ErrMissing, len(vec))
		}
	case model.ValMatrix:
		return 0, fmt.Errorf("%w: range vector result, want an instant value", ErrMissing)
	default:
		return 0, fmt.Errorf("%w: %s result, want a number", ErrMissing, data.ResultType)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: value is %v", ErrMissing, f)
	}
	return f, nil
}

// Point is one sample of a range query.
type Point struct {
	T time.Time
	V float64
}

// maxRangePoints is the most samples Prometheus returns per series from
// one range query (prometheus/prometheus web/api/v1/api.go: "exceeded
// maximum resolution of 11,000 points per timeseries"); longer ranges are
// asked for in pieces.
const maxRangePoints = 11000

// QueryRange evaluates expr over [start, end] at step
// (GET /api/v1/query_range, prometheus docs/querying/api.md "Range
// queries"), in pieces of at most maxRangePoints. The answer must be one
// series (or none: no points); NaN and infinite samples are left out.
func (p *Prometheus) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) ([]Point, error) {
	if step < time.Second || !start.Before(end) {
		return nil, fmt.Errorf("prometheus range query %q: %w: want start before end and a step of at least 1s", expr, ErrBadBody)
	}
	var out []Point
	for from := start; !from.After(end); {
		to := from.Add(step * (maxRangePoints - 1))
		if to.After(end) {
			to = end
		}
		part, err := p.queryRange(ctx, expr, from, to, step)
		if err != nil {
			return nil, fmt.Errorf("prometheus range query %q [%s, %s]: %w", expr, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), err)
		}
		for _, pt := range part {
			if len(out) == 0 || pt.T.After(out[len(out)-1].T) {
				out = append(out, pt)
			}
		}
		from = to.Add(step)
	}
	return out, nil
}

func (p *Prometheus) queryRange(ctx context.Context, expr string, from, to time.Time, step time.Duration) ([]Point, error) {
	unix := func(t time.Time) string { return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64) }
	u := p.client.URL("/api/v1/query_range", nil)
	u.RawQuery = url.Values{"query": {expr}, "start": {unix(from)}, "end": {unix(to)},
		"step": {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, body, err := p.client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	return decodeRangeAnswer(resp.StatusCode, body)
}

// decodeRangeAnswer reads an /api/v1/query_range answer of at most one series.
func decodeRangeAnswer(code int, body []byte) ([]Point, error) {
	data, err := decodeEnvelope("/api/v1/query_range", code, body)
	switch {
	case err != nil:
		return nil, err
	case data.ResultType != model.ValMatrix:
		return nil, fmt.Errorf("%w: %s result, want a matrix", ErrBadBody, data.ResultType)
	}
	var m model.Matrix
	if err := json.Unmarshal(data.Result, &m); err != nil {
		return nil, fmt.Errorf("%w: matrix result: %w", ErrBadBody, err)
	}
	switch len(m) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("%w: %d series, want one (aggregate with sum)", ErrMissing, len(m))
	}
	out := make([]Point, 0, len(m[0].Values))
	for _, sp := range m[0].Values {
		v := float64(sp.Value)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		out = append(out, Point{T: sp.Timestamp.Time().UTC(), V: v})
	}
	return out, nil
}

// apiData is the "data" of a Prometheus HTTP API answer.
type apiData struct {
	ResultType model.ValueType `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// decodeEnvelope reads the envelope every Prometheus HTTP API answer has
// (status, errorType, error, data) and returns its data; endpoint names the
// endpoint in a StatusError.
func decodeEnvelope(endpoint string, code int, body []byte) (*apiData, error) {
	var env struct {
		Status    string   `json:"status"`
		ErrorType string   `json:"errorType"`
		Error     string   `json:"error"`
		Data      *apiData `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		if code/100 != 2 {
			return nil, &StatusError{URL: endpoint, Code: code, Detail: strings.TrimSpace(string(body[:min(len(body), 200)]))}
		}
		return nil, fmt.Errorf("%w: %w", ErrBadBody, err)
	}
	switch {
	case env.Status != "success" && code/100 != 2:
		return nil, &StatusError{URL: endpoint, Code: code, Detail: env.ErrorType + ": " + env.Error}
	case env.Status != "success":
		return nil, fmt.Errorf("%w: status %q: %s: %s", ErrBadBody, env.Status, env.ErrorType, env.Error)
	case env.Data == nil:
		return nil, fmt.Errorf("%w: no \"data\"", ErrBadBody)
	}
	return env.Data, nil
}
