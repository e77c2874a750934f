package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const simPolicy = "../../simulate/testdata/policy.yaml"

func TestSimulateStartAndParallelFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--start", "monday"}, `--start "monday": want RFC 3339`},
		{[]string{"--parallel", "-1"}, "--parallel"},
		{[]string{"--query", "up"}, "--prometheus and --query go together"},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"simulate", "--policy", simPolicy}, c.args...), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("%v: exit %d, stderr %q; want 2 mentioning %q", c.args, code, errOut.String(), c.msg)
		}
	}
}

// A JSON trace that is bad is refused before anything runs, naming the
// file and the line.
func TestSimulateBadJSONTrace(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "rate.json")
	if err := os.WriteFile(bad, []byte("{\"status\":\"success\",\n\"data\":{\"resultType\":\"matrix\",\n\"result\":[{\"values\":[[1, 2,]]}]}}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"simulate", "--policy", simPolicy, "--trace", bad, "--quiet"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "rate.json") || !strings.Contains(errOut.String(), "line 3") || out.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q: want 1 naming rate.json line 3 and no table", code, out.String(), errOut.String())
	}
}

// fakePrometheus answers query_range with 100 rps at every step and
// records the requests.
type fakePrometheus struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakePrometheus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.calls = append(f.calls, r.URL.Path+" "+r.FormValue("query"))
	f.mu.Unlock()
	start, _ := strconv.ParseFloat(r.FormValue("start"), 64)
	end, _ := strconv.ParseFloat(r.FormValue("end"), 64)
	step, _ := strconv.ParseFloat(r.FormValue("step"), 64)
	var vals []string
	for ts := start; ts <= end; ts += step {
		vals = append(vals, fmt.Sprintf(`[%.3f,"100"]`, ts))
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[%s]}]}}`, strings.Join(vals, ","))
}

// --prometheus fetches the trace over query_range in pieces of at most
// 11,000 points and replays it from its own first timestamp.
func TestSimulateFromPrometheus(t *testing.T) {
	fp := &fakePrometheus{}
	srv := httptest.NewServer(fp)
	defer srv.Close()
	var out, errOut bytes.Buffer
	code := run([]string{"simulate", "--policy", simPolicy, "--prometheus", srv.URL, "--query", "sum(rate(x[1m]))",
		"--range", "720h", "--duration", "5m", "--baselines", "", "--scale-rps", "1"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	// 30 days at 1 minute: 43,201 points in 4 pieces.
	if len(fp.calls) != 4 || fp.calls[0] != "/api/v1/query_range sum(rate(x[1m]))" {
		t.Fatalf("requests %q, want 4 query_range calls", fp.calls)
	}
	if !strings.Contains(out.String(), "| prometheus | policy |") {
		t.Fatalf("table:\n%s", out.String())
	}
	if !strings.Contains(errOut.String(), "simulate: prometheus: 5m0s / 5m0s virtual (100%)") {
		t.Fatalf("no progress line on stderr:\n%s", errOut.String())
	}
}

func TestSimulatePrometheusEmpty(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
	}))
	defer srv.Close()
	var out, errOut bytes.Buffer
	code := run([]string{"simulate", "--policy", simPolicy, "--prometheus", srv.URL, "--query", "nothing", "--range", "1h"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), `prometheus query "nothing"`) || !strings.Contains(errOut.String(), "no samples") {
		t.Fatalf("exit %d, stderr %q: want 1 naming the query", code, errOut.String())
	}
}

func TestProgressLines(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := newProgress(&buf, func() time.Time { return now })
	p.advance("day", "policy", 0, 24*time.Hour)
	now = now.Add(11 * time.Second)
	p.advance("day", "policy", 12*time.Hour, 24*time.Hour)
	now = now.Add(time.Second)
	p.advance("day", "policy", 13*time.Hour, 24*time.Hour) // within the period: no line
	now = now.Add(time.Second)
	p.advance("day", "policy", 24*time.Hour, 24*time.Hour) // the end always shows
	want := "simulate: day: 0s / 1d00h virtual (0%), ETA ?\n" +
		"simulate: day: 12h0m0s / 1d00h virtual (50%), ETA 11s\n" +
		"simulate: day: 1d00h / 1d00h virtual (100%), ETA 0s\n"
	if buf.String() != want {
		t.Fatalf("progress:\n%s\nwant:\n%s", buf.String(), want)
	}
}
