package policy

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/bad")

func TestExampleValidates(t *testing.T) {
	cfg, err := LoadFile("../policies.example.yaml")
	if err != nil {
		t.Fatalf("policies.example.yaml: %v", err)
	}
	if len(cfg.Clusters) != 3 || cfg.Clusters[0].Name != "prod" || cfg.Clusters[1].Name != "staging" || cfg.Clusters[2].Name != "batch" {
		t.Fatalf("clusters = %+v, want prod, staging and batch", cfg.Clusters)
	}
	for _, c := range cfg.Clusters {
		for r := range c.Roles {
			want := "/arangodb-" + c.Name + map[Role]string{Coordinators: "/coordinator", DBServers: "/dbserver"}[r]
			if got := c.AppID(r); got != want {
				t.Errorf("%s AppID(%s) = %q, want %q", c.Name, r, got, want)
			}
		}
		want := "http://arangodb-" + c.Name + "-coordinator.marathon.l4lb.thisdcos.directory:8529"
		if !reflect.DeepEqual(c.ArangoDB.Endpoints, []string{want}) {
			t.Errorf("%s endpoints = %v, want [%s]", c.Name, c.ArangoDB.Endpoints, want)
		}
	}
	got := cfg.Summary()
	want := []string{
		"prod: coordinators 2..16 (3 metrics), dbservers 3..9 (2 metrics), interval 15s",
		"staging: coordinators 1..4 (1 metric), interval default",
		"batch: coordinators 2..8 (1 metric), dbservers 3..6 (1 metric), interval default",
		"template web: coordinators 2..8 (1 metric), dbservers 3..6 (1 metric), interval 30s",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	prod := cfg.Clusters[0].Roles[Coordinators]
	if prod.Tolerance != 0.1 || prod.Cooldown != (UpDown{Up: time.Minute, Down: time.Minute}) ||
		prod.Step.Up != (Step{Percent: 100}) || prod.Step.Down != (Step{Count: 1}) ||
		len(prod.Schedule) != 0 || prod.Forecast == nil || prod.Forecast.Mode != ForecastAndScale || prod.Forecast.PromQL == "" {
		t.Errorf("prod coordinators = %+v (the forecast replaces the schedule floor)", prod)
	}
	if st := cfg.Clusters[1].Roles[Coordinators]; len(st.Schedule) != 1 || st.Schedule[0].TimeZone != "Europe/Berlin" {
		t.Errorf("staging coordinators = %+v", st)
	}
	if o := prod.SLO; o == nil || o.LatencyP95 != 500*time.Millisecond || o.MaxUtilization != 0.85 || o.Trend.Window != 5*time.Minute {
		t.Errorf("prod coordinators slo = %+v", o)
	}
	if k := prod.Metrics[2].Key(); k != `promql:sum(rate(http_requests_total{job="api"}[2m]))` {
		t.Errorf("promql key = %q", k)
	}
}

// Every option in the example is shown: the example's keys cover the schema.
func TestExampleShowsEveryOption(t *testing.T) {
	data, err := os.ReadFile("../policies.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"name:", "interval:", "endpoints:", "coordinators:", "dbservers:",
		"min:", "max:", "metrics:", "signal:", "promql:", "target:", "target_per_instance:", "strategy: threshold",
		"upper:", "lower:", "periods:", "step:", "tolerance:", "stabilization:", "cooldown:",
		"on_metrics_missing:", "paused:", "manual_hold:", "schedule:", "cron:", "duration:", "time_zone:",
		"strategy: hpa", "multiplier:", "slo:", "latency_p95:", "queue_length:", "max_utilization:", "lead:",
		"headroom:", "quantile:", "window:", "base_window:", "trend:", "forecast:", "mode:", "season:", "history:", "max_error:"} {
		if !strings.Contains(string(data), key) {
			t.Errorf("example does not show %q", key)
		}
	}
}

func TestDefaults(t *testing.T) {
	src := `clusters:
  - name: a
    arangodb: {endpoints: ["https://c:8529"]}
    marathon: {dbservers: /a/dbserver}
    roles:
      dbservers:
        min: 3
        max: 5
        metrics:
          - {strategy: threshold, signal: cpu_utilization, upper: 0.8, lower: 0.2}
          - {signal: disk_utilization, target: 0.7}
        schedule: [{cron: "0 8 * * *", duration: 1h, min: 4}]
`
	cfg, err := Load("d.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rp := cfg.Clusters[0].Roles[DBServers]
	want := defaultRolePolicy(DBServers)
	want.Min, want.Max, want.Metrics, want.Schedule = rp.Min, rp.Max, rp.Metrics, rp.Schedule
	if !reflect.DeepEqual(rp, want) {
		t.Errorf("role = %+v\nwant %+v", rp, want)
	}
	if rp.Tolerance != 0.1 || rp.Stabilization != (UpDown{0, 5 * time.Minute}) || rp.Cooldown != (UpDown{time.Minute, 5 * time.Minute}) ||
		rp.Step != (StepLimits{Up: Step{Percent: 100}, Down: Step{Count: 1}}) || rp.OnMetricsMissing != "hold" || rp.ManualHold != time.Hour {
		t.Errorf("defaults = %+v", rp)
	}
	if m := rp.Metrics[0]; m.Strategy != "threshold" || m.Periods != 3 || m.Step != 1 {
		t.Errorf("threshold defaults = %+v", m)
	}
	if m := rp.Metrics[1]; m.Strategy != "target" {
		t.Errorf("target default = %+v", m)
	}
	if rp.Schedule[0].TimeZone != "UTC" {
		t.Errorf("time zone default = %q", rp.Schedule[0].TimeZone)
	}
	if cfg.Clusters[0].Interval != 0 {
		t.Errorf("interval default = %v", cfg.Clusters[0].Interval)
	}
}

func TestEffectiveRoundTrip(t *testing.T) {
	cfg, err := LoadFile("../policies.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.Effective()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load("effective.yaml", out)
	if err != nil {
		t.Fatalf("effective policy does not load:\n%s\n%v", out, err)
	}
	out2, err := again.Effective()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(out2) {
		t.Errorf("effective output is not stable:\n%s\n---\n%s", out, out2)
	}
	if !reflect.DeepEqual(stripParsed(cfg), stripParsed(again)) {
		t.Errorf("round trip changed the config")
	}
	for _, want := range []string{"down: 5m", "on_metrics_missing: hold", "up: 100%", "manual_hold: 1h", "tolerance: 0.1", "periods: 4", "multiplier: 1.5", "strategy: hpa"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("effective output lacks %q:\n%s", want, out)
		}
	}
}

// stripParsed drops the parsed cron schedules and locations (pointers that
// differ between loads) so configs can be compared.
func stripParsed(c *Config) *Config {
	for _, cl := range c.Clusters {
		for _, rp := range cl.Roles {
			for i := range rp.Schedule {
				rp.Schedule[i].sched, rp.Schedule[i].loc = nil, nil
			}
		}
	}
	return c
}

func TestMergeKeys(t *testing.T) {
	// A role can inherit another's settings with an anchor and a merge key.
	src := `clusters:
  - name: a
    arangodb: {endpoints: ["http://c:8529"]}
    marathon: {coordinators: /a/coordinator, dbservers: /a/dbserver}
    roles:
      coordinators: &base
        min: 2
        max: 8
        metrics: [{signal: cpu_utilization, target: 0.5}]
      dbservers:
        <<: *base
        min: 3
        step: {up: 1, down: 1}
`
	cfg, err := Load("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	db := cfg.Clusters[0].Roles[DBServers]
	if db.Min != 3 || db.Max != 8 || len(db.Metrics) != 1 {
		t.Errorf("merged role = %+v", db)
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want os.ErrNotExist", err)
	}
}

// TestBadPolicies loads every testdata/bad/*.yaml and compares all errors
// with the golden file next to it (go test -run TestBadPolicies -update).
func TestBadPolicies(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad policies: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadFile(f)
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want *Errors", err)
			}
			for _, e := range errs.List {
				if e.File != f || e.Line < 1 || e.Col < 1 || e.Msg == "" {
					t.Errorf("error without a position: %+v", e)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestHostileFilesAreCheap(t *testing.T) {
	var b strings.Builder
	// Merge keys nest: without a budget this is 50^6 expansions.
	b.WriteString("clusters:\n  - &c0 {name: a, roles: {coordinators: {metrics: [{signal: x}]}}}\n")
	refs := strings.Repeat("*c0, ", 50)
	for i := 1; i < 7; i++ {
		fmt.Fprintf(&b, "  - &c%d {<<: [%s]}\n", i, strings.ReplaceAll(refs, "c0", fmt.Sprintf("c%d", i-1)))
	}
	start := time.Now()
	_, err := Load("h.yaml", []byte(b.String()))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	if len(errs.List) > maxErrors+1 || !strings.Contains(err.Error(), "too many alias or merge expansions") {
		t.Errorf("%d errors:\n%v", len(errs.List), err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	many := "clusters:\n" + strings.Repeat("  - 1\n", 2000)
	_, err = Load("m.yaml", []byte(many))
	if !errors.As(err, &errs) || len(errs.List) != maxErrors+1 ||
		!strings.Contains(errs.List[maxErrors].Msg, "too many errors") {
		t.Errorf("many errors: %d", len(errs.List))
	}
}

func TestTemplates(t *testing.T) {
	src := `templates:
  web:
    interval: 30s
    roles:
      coordinators:
        min: 2
        max: 8
        metrics: [{signal: cpu_utilization, target: 0.6}]
      dbservers:
        min: 3
        max: 6
        metrics: [{signal: disk_utilization, target: 0.7}]
`
	cfg, err := Load("p.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Clusters) != 0 || len(cfg.Templates) != 1 {
		t.Fatalf("clusters %d templates %d", len(cfg.Clusters), len(cfg.Templates))
	}
	tpl := cfg.Templates["web"]
	if tpl.Interval != 30*time.Second || tpl.Roles[Coordinators].Max != 8 || tpl.Roles[DBServers].Tolerance != 0.1 {
		t.Fatalf("template %+v", tpl)
	}
	c, err := tpl.Instantiate("shop", []string{"http://c.example:8529"}, MarathonRef{Coordinators: "/a/coordinator", DBServers: "/a/dbserver"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "shop" || c.Roles[DBServers].Min != 3 || c.Roles[DBServers] == tpl.Roles[DBServers] {
		t.Fatalf("instance %+v", c)
	}
	if _, err := tpl.Instantiate("shop", []string{"http://c.example:8529"}, MarathonRef{Coordinators: "/a/coordinator"}); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("missing dbserver app: %v", err)
	}
	if _, err := tpl.Instantiate("shop", nil, MarathonRef{Coordinators: "/a/c", DBServers: "/a/d"}); !errors.Is(err, ErrIncomplete) {
		t.Fatalf("no endpoint: %v", err)
	}
	if err := cfg.UnknownTemplate("nope"); !errors.Is(err, ErrUnknownTemplate) {
		t.Fatal(err)
	}
	// The effective policy loads again to the same templates.
	eff, err := cfg.Effective()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load("eff.yaml", eff)
	if err != nil {
		t.Fatalf("%v\n%s", err, eff)
	}
	if !reflect.DeepEqual(again.Templates, cfg.Templates) {
		t.Fatalf("effective round trip differs:\n%s", eff)
	}
}

func TestTemplateErrors(t *testing.T) {
	src := `templates:
  web:
    name: x
    roles:
      coordinators: {min: 2, max: 1, metrics: [{signal: cpu_utilization, target: 0.6}]}
  "bad name":
    roles: {}
clusters: []
`
	_, err := Load("p.yaml", []byte(src))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want *Errors, got %v", err)
	}
	want := []string{
		`p.yaml:3:5: templates.web: unknown key "name" (known: interval, roles)`,
		`p.yaml:5:27: templates.web.roles.coordinators: min 2 is above max 1`,
		`p.yaml:6:3: templates.bad name: name "bad name" must start with a letter or digit and hold only letters, digits, '.', '_' and '-'`,
	}
	var got []string
	for _, e := range errs.List {
		got = append(got, e.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestEmptyTemplatesWithoutClusters(t *testing.T) {
	_, err := Load("p.yaml", []byte("templates: {}\n"))
	if err == nil || err.Error() != "p.yaml:1:12: templates: at least one template is required when there are no clusters" {
		t.Fatalf("err = %v", err)
	}
}
