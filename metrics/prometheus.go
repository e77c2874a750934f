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
	var env struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      *struct {
			ResultType model.ValueType `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		if code/100 != 2 {
			return 0, &StatusError{URL: "/api/v1/query", Code: code, Detail: strings.TrimSpace(string(body[:min(len(body), 200)]))}
		}
		return 0, fmt.Errorf("%w: %w", ErrBadBody, err)
	}
	if env.Status != "success" {
		if code/100 != 2 {
			return 0, &StatusError{URL: "/api/v1/query", Code: code, Detail: env.ErrorType + ": " + env.Error}
		}
		return 0, fmt.Errorf("%w: status %q: %s: %s", ErrBadBody, env.Status, env.ErrorType, env.Error)
	}
	if env.Data == nil {
		return 0, fmt.Errorf("%w: no \"data\"", ErrBadBody)
	}
	var f float64
	switch env.Data.ResultType {
	case model.ValScalar:
		var s model.Scalar
		if err := json.Unmarshal(env.Data.Result, &s); err != nil {
			return 0, fmt.Errorf("%w: scalar result: %w", ErrBadBody, err)
		}
		f = float64(s.Value)
	case model.ValVector:
		var vec model.Vector
		if err := json.Unmarshal(env.Data.Result, &vec); err != nil {
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
		return 0, fmt.Errorf("%w: %s result, want a number", ErrMissing, env.Data.ResultType)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: value is %v", ErrMissing, f)
	}
	return f, nil
}
