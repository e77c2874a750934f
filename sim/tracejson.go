package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// ErrNoSamples is wrapped (beside ErrBadTrace) when an answer holds no
// series or only gaps: a piece of a longer fetch may, the whole may not.
var ErrNoSamples = errors.New("no samples")

// queryRange is the JSON a Prometheus range query answers
// (GET /api/v1/query_range; prometheus/prometheus
// docs/querying/api.md, "Range queries" and "Range vectors": a matrix
// result of series with "values": [[<unix seconds>, "<value>"], …]).
type queryRange struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      *struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string   `json:"metric"`
			Values [][]json.RawMessage `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

// ReadTraceJSON reads a Prometheus query_range answer holding exactly one
// series of request rates: T counts from its first sample, Start is that
// sample's time, a sample's rate holds until the next. "NaN" values (no
// data in the step) are skipped. Errors name the line (syntax) or the
// sample (values[i]).
func ReadTraceJSON(b []byte) (Trace, error) {
	var q queryRange
	if err := json.Unmarshal(b, &q); err != nil {
		if se, ok := err.(*json.SyntaxError); ok {
			return Trace{}, fmt.Errorf("%w: line %d: %s", ErrBadTrace, lineAt(b, se.Offset), se.Error())
		}
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return Trace{}, fmt.Errorf("%w: line %d: %s: want %s, got %s", ErrBadTrace, lineAt(b, te.Offset), te.Field, te.Type, te.Value)
		}
		return Trace{}, fmt.Errorf("%w: %w", ErrBadTrace, err)
	}
	switch {
	case q.Status == "error":
		return Trace{}, fmt.Errorf("%w: Prometheus error %s: %s", ErrBadTrace, q.ErrorType, q.Error)
	case q.Status != "success" || q.Data == nil:
		return Trace{}, fmt.Errorf("%w: not a Prometheus query_range answer (no \"status\":\"success\" with \"data\")", ErrBadTrace)
	case q.Data.ResultType != "matrix":
		return Trace{}, fmt.Errorf("%w: resultType %q, want \"matrix\" (a range query)", ErrBadTrace, q.Data.ResultType)
	case len(q.Data.Result) == 0:
		return Trace{}, fmt.Errorf("%w: %w: no series in the answer", ErrBadTrace, ErrNoSamples)
	case len(q.Data.Result) > 1:
		return Trace{}, fmt.Errorf("%w: %d series in the answer, want one (sum them in the query)", ErrBadTrace, len(q.Data.Result))
	}
	var tr Trace
	var first float64
	for i, pair := range q.Data.Result[0].Values {
		where := fmt.Sprintf("result[0].values[%d]", i)
		if len(pair) != 2 {
			return Trace{}, fmt.Errorf("%w: %s: want [<time>, \"<value>\"]", ErrBadTrace, where)
		}
		var ts float64
		if err := json.Unmarshal(pair[0], &ts); err != nil || math.IsNaN(ts) || math.IsInf(ts, 0) || ts < 0 {
			return Trace{}, fmt.Errorf("%w: %s: time %s is not a unix timestamp", ErrBadTrace, where, pair[0])
		}
		var vs string
		if err := json.Unmarshal(pair[1], &vs); err != nil {
			return Trace{}, fmt.Errorf("%w: %s: value %s is not a quoted number", ErrBadTrace, where, pair[1])
		}
		v, err := strconv.ParseFloat(vs, 64)
		if err != nil || math.IsInf(v, 0) || v < 0 {
			return Trace{}, fmt.Errorf("%w: %s: value %q is not a non-negative number", ErrBadTrace, where, vs)
		}
		if math.IsNaN(v) {
			continue
		}
		if len(tr.T) == 0 {
			first = ts
			sec, frac := math.Modf(ts)
			tr.Start = time.Unix(int64(sec), int64(frac*1e9)).UTC()
		}
		d := time.Duration((ts - first) * float64(time.Second))
		if n := len(tr.T); n > 0 && d <= tr.T[n-1] {
			return Trace{}, fmt.Errorf("%w: %s: time %s does not increase", ErrBadTrace, where, pair[0])
		}
		tr.T = append(tr.T, d)
		tr.RPS = append(tr.RPS, v)
	}
	if len(tr.T) == 0 {
		return Trace{}, fmt.Errorf("%w: %w: the series has no samples", ErrBadTrace, ErrNoSamples)
	}
	return tr, nil
}

// lineAt is the 1-based line of byte offset off.
func lineAt(b []byte, off int64) int {
	off = min(max(off, 0), int64(len(b)))
	return bytes.Count(b[:off], []byte("\n")) + 1
}
