package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

const prometheusBin = "/usr/bin/prometheus"

// livePolicy scales coordinators on the request rate so the first
// reconciles act (a scale action, decisions, blocked reasons), with a
// forecast whose history comes from forecastHistory.
const livePolicy = `clusters:
  - name: live
    interval: 1s
    arangodb: {endpoints: [ARANGO]}
    marathon: {coordinators: /arangodb-live/coordinator, dbservers: /arangodb-live/dbserver}
    roles:
      coordinators:
        min: 2
        max: 6
        metrics: [{signal: requests_per_second, target_per_instance: 650}]
        cooldown: {up: 2s, down: 1m}
        forecast: {mode: forecast_and_scale, history: 2d, lead: 5m, promql: 'sum(rate(arangodb_http_request_statistics_total_requests_total[1m]))'}
      dbservers:
        min: 3
        max: 4
        metrics: [{signal: cpu_utilization, target: 0.7}]
`

// TestLivePrometheus runs Debian's Prometheus server against two real
// controllers (one in dry-run) scraping an emulated world in real time,
// with the shipped rules (windows and for: shortened in a test copy), and
// checks through Prometheus' HTTP API that the series arrive, the
// recording rules evaluate, ArangoscaleSourceErrors fires while the
// emulated Mesos is stopped and resolves once it is back,
// ArangoscaleDryRunLeftOn fires, and every Grafana expression has data.
func TestLivePrometheus(t *testing.T) {
	if _, err := os.Stat(prometheusBin); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing: install prometheus: apt-get install prometheus", prometheusBin)
		}
		t.Skip("install prometheus: apt-get install prometheus")
	}
	if testing.Short() {
		t.Skip("live Prometheus run skipped in -short mode")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	w, err := sim.NewWorld(clock.Real{}, sim.DefaultParams(), sim.ClusterSpec{
		Name: "live", Coordinators: 2, DBServers: 3, Load: func(time.Duration) float64 { return 2500 },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	go w.Run(ctx)

	// The emulated Mesos behind a switch: stopped, it answers 503.
	var mesosDown atomic.Bool
	mu, _ := url.Parse(w.MesosURL())
	rp := httputil.NewSingleHostReverseProxy(mu)
	mesos := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if mesosDown.Load() {
			http.Error(rw, "stopped", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(rw, r)
	}))
	t.Cleanup(mesos.Close)

	// The forecasts' history: a Prometheus range query answer (the shape of
	// prometheus docs/querying/api.md's range query example) of the
	// world's steady 2,500 rps, so the forecast panels have data at once.
	history := httptest.NewServer(http.HandlerFunc(forecastHistory))
	t.Cleanup(history.Close)

	var targets []string
	for _, dry := range []bool{false, true} {
		// The dry-run controller watches the same apps under another
		// cluster name: the rules match series by cluster, and two
		// controllers never share one.
		src := strings.ReplaceAll(livePolicy, "ARANGO", w.ArangoURL("live"))
		if dry {
			src = strings.Replace(src, "name: live", "name: live-dry", 1)
		}
		pol, err := policy.Load("live.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		s := &controller.Setup{
			MarathonURL: w.MarathonURL(), MesosURL: mesos.URL, Interval: time.Second, SourceTimeout: 2 * time.Second, DryRun: dry,
			PrometheusURL: history.URL,
			Backoff:       controller.BackoffSettings{Initial: time.Second, Max: 2 * time.Second},
		}
		if dry {
			s.MesosURL = w.MesosURL()
		}
		ctl, err := s.Build()
		if err != nil {
			t.Fatal(err)
		}
		if err := ctl.SetPolicy(pol); err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(ctl.Handler(controller.HTTPOptions{}))
		t.Cleanup(srv.Close)
		done := make(chan struct{})
		go func() { ctl.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		targets = append(targets, strings.TrimPrefix(srv.URL, "http://"))
	}

	dir := t.TempDir()
	rules := shortenedRules(t, filepath.Join(dir, "rules.yml"))
	port := freePort(t)
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [%s]
scrape_configs:
  - job_name: arangoscale
    static_configs: [{targets: [%s, %s]}]
`, rules, targets[0], targets[1])
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, prometheusBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address=127.0.0.1:"+port)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	client, err := api.NewClient(api.Config{Address: "http://127.0.0.1:" + port})
	if err != nil {
		t.Fatal(err)
	}
	prom := promv1.NewAPI(client)
	deadline := time.Now().Add(90 * time.Second) // generous for -race on a shared machine; a run takes about 30 s
	logTail := func() string { b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log")); return string(b) }
	// Polling a real Prometheus with a deadline: there is no event to wait on.
	began := time.Now()
	waitFor := func(what string, cond func() (bool, string)) {
		t.Helper()
		last := ""
		for {
			ok, detail := cond()
			if ok {
				t.Logf("%5.1fs %s", time.Since(began).Seconds(), what)
				return
			}
			last = detail
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within the deadline (last: %s)\nprometheus log:\n%s", what, last, logTail())
			}
			<-time.After(250 * time.Millisecond)
		}
	}
	query := func(q string) (model.Vector, error) {
		qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
		defer qcancel()
		v, _, _, err := prom.Query(qctx, q, time.Now())
		if err != nil {
			return nil, err
		}
		vec, ok := v.(model.Vector)
		if !ok {
			return nil, fmt.Errorf("%s: not a vector: %s", q, v.Type())
		}
		return vec, nil
	}
	hasData := func(q string) func() (bool, string) {
		return func() (bool, string) {
			v, err := query(q)
			if err != nil {
				return false, err.Error()
			}
			return len(v) > 0, fmt.Sprintf("%s: %d samples", q, len(v))
		}
	}
	alertState := func(name, wantLabel string) (promv1.AlertState, string) {
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		defer acancel()
		res, err := prom.Alerts(actx)
		if err != nil {
			return "", err.Error()
		}
		var seen []string
		for _, a := range res.Alerts {
			seen = append(seen, fmt.Sprintf("%s%v=%s", a.Labels["alertname"], a.Labels, a.State))
			if string(a.Labels["alertname"]) == name && (wantLabel == "" || strings.Contains(a.Labels.String(), wantLabel)) {
				return a.State, ""
			}
		}
		return "", strings.Join(seen, "; ")
	}

	waitFor("the controllers' series arrive", hasData(`count by (instance) (arangoscale_instances{job="arangoscale"}) > 0 and on() count(up{job="arangoscale"} == 1) == 2`))
	waitFor("ArangoscaleDryRunLeftOn fires", func() (bool, string) {
		st, d := alertState("ArangoscaleDryRunLeftOn", "")
		return st == promv1.AlertStateFiring, d
	})
	// A scale action on the request rate, seen by the recording rule.
	waitFor("a scale action", hasData(`arangoscale_scale_actions_total{job="arangoscale",direction="up",result="success"} > 0`))
	waitFor("every rule evaluated without error", func() (bool, string) {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		defer rcancel()
		res, err := prom.Rules(rctx, nil)
		if err != nil {
			return false, err.Error()
		}
		for _, g := range res.Groups {
			for _, r := range g.Rules {
				if ar, ok := r.(promv1.AlertingRule); ok && (ar.Health != promv1.RuleHealthGood || ar.LastEvaluation.IsZero()) {
					return false, fmt.Sprintf("alert %s: health %s, last %s %s", ar.Name, ar.Health, ar.LastEvaluation, ar.LastError)
				}
				if rr, ok := r.(promv1.RecordingRule); ok {
					if rr.Health != promv1.RuleHealthGood || rr.LastEvaluation.IsZero() {
						return false, fmt.Sprintf("%s: health %s, last %s %s", rr.Name, rr.Health, rr.LastEvaluation, rr.LastError)
					}
					if v, err := query("max_over_time(" + rr.Name + "[3m])"); err != nil || len(v) == 0 {
						return false, fmt.Sprintf("%s: no samples yet (%v)", rr.Name, err)
					}
				}
			}
		}
		return true, ""
	})

	mesosDown.Store(true)
	waitFor("ArangoscaleSourceErrors fires for mesos", func() (bool, string) {
		st, d := alertState("ArangoscaleSourceErrors", `source="mesos"`)
		return st == promv1.AlertStateFiring, d
	})
	mesosDown.Store(false)
	waitFor("ArangoscaleSourceErrors resolves", func() (bool, string) {
		st, d := alertState("ArangoscaleSourceErrors", `source="mesos"`)
		return st == "", d
	})

	for _, e := range grafanaExprs(t) {
		if sloExpr(e) {
			// The SLO model needs minutes of clean rates before it
			// publishes; the controller's tests check these series.
			continue
		}
		waitFor("dashboard expression "+e, hasData(e))
	}
}

// shortenedRules writes the shipped rules with every for: at 1s and every
// range selector at 15s, so alerts fire and resolve within seconds.
func shortenedRules(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("prometheus", "arangoscale-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	ranges := regexp.MustCompile(`\[[0-9]+[smhdw]\]`)
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				switch k.Value {
				case "for":
					v.Value = "1s"
				case "expr":
					v.Value = ranges.ReplaceAllString(v.Value, "[6s]")
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// grafanaExprs are the dashboard's panel expressions with the template
// variables substituted as Grafana would for "All".
func grafanaExprs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("grafana", "arangoscale.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	r := strings.NewReplacer("$cluster", ".+", "$role", ".+", "$__rate_interval", "15s", "$__interval", "1s", "$__range", "1m")
	var out []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if tg.Expr != "" {
				out = append(out, r.Replace(tg.Expr))
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no expressions in the dashboard")
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// forecastHistory answers /api/v1/query_range with one series at 2,500
// over the asked range.
func forecastHistory(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query_range" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	start, err1 := strconv.ParseFloat(q.Get("start"), 64)
	end, err2 := strconv.ParseFloat(q.Get("end"), 64)
	step, err3 := strconv.ParseFloat(q.Get("step"), 64)
	if err1 != nil || err2 != nil || err3 != nil || step <= 0 {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"invalid parameter"}`)
		return
	}
	var b strings.Builder
	b.WriteString(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[`)
	for ts := start; ts <= end; ts += step {
		if ts > start {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `[%s,"2500"]`, strconv.FormatFloat(ts, 'f', -1, 64))
	}
	b.WriteString(`]}]}}`)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, b.String())
}

// sloExpr reports whether a dashboard expression reads the SLO model's
// gauges (README "SLO").
func sloExpr(e string) bool {
	for _, n := range []string{"arangoscale_slo_", "arangoscale_capacity_per_instance_rps", "arangoscale_headroom_ratio"} {
		if strings.Contains(e, n) {
			return true
		}
	}
	return false
}
