package sim

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DemoTrace is one day of the 1998 World Cup web site's request rate
// (testdata/wc98_day.csv, see testdata/SOURCES.md), in ReadTrace's format.
//
//go:embed testdata/wc98_day.csv
var DemoTrace []byte

// ErrBadTrace is wrapped by every ReadTrace error.
var ErrBadTrace = errors.New("bad trace")

// Trace is a request-rate series: RPS[i] is the mean rate from T[i] on.
type Trace struct {
	T   []time.Duration
	RPS []float64
	// Start is the wall-clock time of T = 0 when the source carries one
	// (Prometheus answers do, t_seconds CSV does not: zero).
	Start time.Time
}

// ReadTrace reads CSV "t_seconds,rps" with that header, t strictly
// increasing from ≥ 0 and rps ≥ 0. Errors name the line.
func ReadTrace(r io.Reader) (Trace, error) {
	var tr Trace
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
			if strings.ReplaceAll(text, " ", "") != "t_seconds,rps" {
				return Trace{}, fmt.Errorf("%w: line 1: header %q, want \"t_seconds,rps\"", ErrBadTrace, text)
			}
			continue
		}
		if text == "" {
			continue
		}
		ts, rs, ok := strings.Cut(text, ",")
		if !ok || strings.Contains(rs, ",") {
			return Trace{}, fmt.Errorf("%w: line %d: want 2 fields \"t_seconds,rps\", got %q", ErrBadTrace, line, text)
		}
		t, err := strconv.ParseFloat(strings.TrimSpace(ts), 64)
		if err != nil || math.IsNaN(t) || math.IsInf(t, 0) || t < 0 || t > 1e10 {
			return Trace{}, fmt.Errorf("%w: line %d: t_seconds %q is not a non-negative number", ErrBadTrace, line, ts)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Trace{}, fmt.Errorf("%w: line %d: rps %q is not a non-negative number", ErrBadTrace, line, rs)
		}
		d := time.Duration(t * float64(time.Second))
		if n := len(tr.T); n > 0 && d <= tr.T[n-1] {
			return Trace{}, fmt.Errorf("%w: line %d: t_seconds %s does not increase", ErrBadTrace, line, ts)
		}
		tr.T = append(tr.T, d)
		tr.RPS = append(tr.RPS, v)
	}
	if err := sc.Err(); err != nil {
		return Trace{}, fmt.Errorf("%w: line %d: %w", ErrBadTrace, line+1, err)
	}
	if line == 0 {
		return Trace{}, fmt.Errorf("%w: empty", ErrBadTrace)
	}
	if len(tr.T) == 0 {
		return Trace{}, fmt.Errorf("%w: no data rows after the header", ErrBadTrace)
	}
	return tr, nil
}

// Duration is the trace's length: the last row's start plus one bucket.
func (t Trace) Duration() time.Duration {
	n := len(t.T)
	switch n {
	case 0:
		return 0
	case 1:
		return time.Minute
	}
	return t.T[n-1] + (t.T[n-1] - t.T[n-2])
}

// Peak is the highest rps of the trace.
func (t Trace) Peak() float64 {
	p := 0.0
	for _, v := range t.RPS {
		p = max(p, v)
	}
	return p
}

// Func replays the trace compressed by speed (2: twice as fast; ≤ 0 means
// 1) with every rate multiplied by scaleRPS. Between rows the rate holds
// (step interpolation); before the first row it is the first rate, after
// the end the last.
func (t Trace) Func(speed, scaleRPS float64) LoadFunc {
	if speed <= 0 {
		speed = 1
	}
	ts, rps := t.T, t.RPS
	return func(e time.Duration) float64 {
		if len(ts) == 0 {
			return 0
		}
		at := time.Duration(float64(e) * speed)
		i := sort.Search(len(ts), func(i int) bool { return ts[i] > at }) - 1
		return rps[max(i, 0)] * scaleRPS
	}
}

// WriteTrace writes t as ReadTrace reads it: "t_seconds,rps", seconds and
// rates with up to three decimals.
func WriteTrace(w io.Writer, t Trace) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("t_seconds,rps\n")
	for i := range t.T {
		bw.WriteString(strconv.FormatFloat(t.T[i].Seconds(), 'f', -1, 64))
		bw.WriteByte(',')
		bw.WriteString(strconv.FormatFloat(math.Round(t.RPS[i]*1000)/1000, 'f', -1, 64))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// From is the trace without its first d: the rate in effect at d starts
// it, later rows keep their distance. Start moves by d when it is set.
func (t Trace) From(d time.Duration) (Trace, error) {
	if d <= 0 {
		return t, nil
	}
	if d >= t.Duration() {
		return Trace{}, fmt.Errorf("%w: skipping %s leaves nothing of a %s trace", ErrBadTrace, d, t.Duration())
	}
	i := sort.Search(len(t.T), func(i int) bool { return t.T[i] > d }) - 1
	out := Trace{T: []time.Duration{0}, RPS: []float64{t.RPS[max(i, 0)]}}
	for j := i + 1; j < len(t.T); j++ {
		out.T = append(out.T, t.T[j]-d)
		out.RPS = append(out.RPS, t.RPS[j])
	}
	if !t.Start.IsZero() {
		out.Start = t.Start.Add(d)
	}
	return out, nil
}

// ReadTraceFile reads a trace file: a Prometheus query_range answer when
// it is JSON (.json, or its first byte is '{'), else "t_seconds,rps" CSV.
// Errors name the file (and the line or sample).
func ReadTraceFile(path string) (Trace, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Trace{}, err
	}
	var tr Trace
	if strings.EqualFold(filepath.Ext(path), ".json") || bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		tr, err = ReadTraceJSON(data)
	} else {
		tr, err = ReadTrace(bytes.NewReader(data))
	}
	if err != nil {
		return Trace{}, fmt.Errorf("%s: %w", path, err)
	}
	return tr, nil
}
