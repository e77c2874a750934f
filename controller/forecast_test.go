package controller_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

// fakeHistory is what the test Prometheus answers and was asked.
type fakeHistory struct {
	mu     sync.Mutex
	status int
	asked  []string
}

func (f *fakeHistory) setStatus(s int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status = s
}

func (f *fakeHistory) queries() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

// The forecast of the coordinators: a daily season read from Prometheus.
const forecastBlock = `        forecast:
          mode: forecast_and_scale
          season: daily
          history: 3d
          lead: 30m
          max_error: 0.25
          promql: 'sum(rate(arangodb_http_request_statistics_total_requests_total{role="coordinator"}[1m]))'`

// historyPrometheus answers /api/v1/query_range like Prometheus (the
// shape of docs/querying/api.md's range query example: a matrix of one
// series, "values": [[<unix seconds>, "<value>"], …]) with business-hours
// load: 3,000 rps from 09:00 to 18:00 UTC, 400 rps otherwise. status is
// the HTTP status it answers with (200, or a failure).
func historyPrometheus(t *testing.T, fh *fakeHistory) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query_range" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		fh.mu.Lock()
		fh.asked = append(fh.asked, q.Get("query"))
		status := fh.status
		fh.mu.Unlock()
		if status != http.StatusOK {
			w.WriteHeader(status)
			fmt.Fprint(w, "Service Unavailable")
			return
		}
		start, _ := strconv.ParseFloat(q.Get("start"), 64)
		end, _ := strconv.ParseFloat(q.Get("end"), 64)
		step, _ := strconv.ParseFloat(q.Get("step"), 64)
		var b strings.Builder
		b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[`)
		for ts := start; ts <= end; ts += step {
			if ts > start {
				b.WriteByte(',')
			}
			v := "400"
			if h := time.Unix(int64(ts), 0).UTC().Hour(); h >= 9 && h < 18 {
				v = "3000"
			}
			fmt.Fprintf(&b, `[%s,"%s"]`, strconv.FormatFloat(ts, 'f', -1, 64), v)
		}
		b.WriteString(`]}]}}`)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, b.String())
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestForecastFromPrometheus(t *testing.T) {
	fh := &fakeHistory{status: http.StatusOK}
	prom := historyPrometheus(t, fh)
	read := make(chan error, 4)
	h := newHarness(t, harnessOpts{forecast: forecastBlock, promURL: prom.URL,
		onHistory: func(cluster string, role policy.Role, points int, err error) {
			if err == nil && points < 3*24*60 {
				err = fmt.Errorf("only %d points", points)
			}
			read <- err
		}})
	// t0 is 10:00 on a Monday: Prometheus says 3,000 rps now on every past
	// day; the world offers 800. The first reconcile starts the reading.
	h.run(step)
	if rs := h.role("coordinators"); rs.Forecast == nil || rs.Forecast.Used || rs.Forecast.Reason != policy.ForecastReasonUntrained ||
		rs.Forecast.Source != "prometheus" {
		t.Fatalf("before the history: %+v", rs.Forecast)
	}
	select {
	case err := <-read:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no history read")
	}
	h.run(step)
	rs := h.role("coordinators")
	f := rs.Forecast
	if f == nil || !f.Used || f.Demand == nil || *f.Demand < 2900 || f.Error == nil || *f.Error > 0.05 || f.HistoryLoadedAt == nil {
		t.Fatalf("forecast %+v", f)
	}
	// 3,000 rps at 650 per instance: 5 coordinators, before the load
	// comes (once the cooldown since the apps' start is over).
	if f.Desired != 5 {
		t.Fatalf("forecast desired %d", f.Desired)
	}
	if v := h.metric("arangoscale_forecast_value", map[string]string{"role": "coordinators", "signal": "requests_per_second"}); v < 2900 {
		t.Fatalf("arangoscale_forecast_value = %g", v)
	}
	if h.metric("arangoscale_forecast_used", map[string]string{"role": "coordinators"}) != 1 ||
		h.metric("arangoscale_forecast_desired_instances", map[string]string{"role": "coordinators"}) != 5 {
		t.Fatal("forecast metrics")
	}
	h.runUntil(5*time.Minute, "5 coordinators", func(st sim.ClusterState) bool { return st.Coordinators.Target == 5 })
	if h.metric("arangoscale_decisions_total", map[string]string{"role": "coordinators", "direction": "up", "reason": "forecast"}) < 1 {
		dumpDecisions(t, h)
		t.Fatal("the scale-up was not the forecast's")
	}
	if asked := fh.queries(); len(asked) != 1 || !strings.Contains(asked[0], "arangodb_http_request_statistics_total_requests_total") {
		t.Fatalf("queries %q: want one reading within the hour", fh.queries())
	}

	// An hour later it reads again; a failure keeps the history it has
	// and is counted as a Prometheus source error. Meanwhile the hour at
	// 800 rps where the history said 3,000 made the forecast's error high:
	// it is ignored, with that reason.
	fh.setStatus(http.StatusServiceUnavailable)
	h.run(time.Hour)
	select {
	case err := <-read:
		if err == nil {
			t.Fatal("the failed reading reported no error")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no second reading")
	}
	h.run(step)
	f = h.role("coordinators").Forecast
	if f.HistoryError == "" || f.Demand == nil || f.Used || f.Reason != policy.ForecastReasonErrorHigh || *f.Error <= 0.25 {
		t.Fatalf("after a failed reading: %+v", f)
	}
	if h.metric("arangoscale_source_errors_total", map[string]string{"source": "prometheus"}) < 1 {
		t.Fatal("the failed reading was not counted")
	}
}

func TestForecastObservedUntrained(t *testing.T) {
	// Without Prometheus the forecast learns from what is observed: at
	// first it knows nothing, and the role scales as it would without.
	h := newHarness(t, harnessOpts{forecast: strings.Replace(forecastBlock, "promql:", "# promql:", 1)})
	h.run(2 * time.Minute)
	rs := h.role("coordinators")
	f := rs.Forecast
	if f == nil || f.Source != "observed" || f.Used || f.Reason != policy.ForecastReasonUntrained || f.Demand != nil || f.Now == nil || *f.Now < 700 {
		t.Fatalf("forecast %+v", f)
	}
	if rs.Desired != 2 {
		t.Fatalf("desired %d, want the reactive 2 for 800 rps", rs.Desired)
	}
	if h.metric("arangoscale_forecast_used", map[string]string{"role": "coordinators"}) != 0 {
		t.Fatal("arangoscale_forecast_used")
	}
}

func dumpDecisions(t *testing.T, h *harness) {
	mfs, _ := h.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "arangoscale_decisions_total" {
			for _, m := range mf.GetMetric() {
				t.Log(m.GetLabel(), m.GetCounter().GetValue())
			}
		}
	}
}
