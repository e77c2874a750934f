package deploy_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

type grafanaTarget struct {
	Expr string `json:"expr"`
}

type grafanaPanel struct {
	Type    string          `json:"type"`
	Title   string          `json:"title"`
	Targets []grafanaTarget `json:"targets"`
	Panels  []grafanaPanel  `json:"panels"`
}

type grafanaDashboard struct {
	UID        string         `json:"uid"`
	Title      string         `json:"title"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Expr string `json:"expr"`
		} `json:"list"`
	} `json:"annotations"`
}

var labelValues = regexp.MustCompile(`^label_values\((.*),\s*\w+\s*\)$`)

func TestGrafanaDashboard(t *testing.T) {
	var d grafanaDashboard
	decodeJSON(t, filepath.Join("grafana", "arangoscale.json"), &d)
	if d.UID == "" || d.Title == "" {
		t.Error("dashboard needs uid and title")
	}
	check := func(where, expr string) {
		names := metricNames(expr)
		if len(names) == 0 {
			t.Errorf("%s: %q selects no metric", where, expr)
		}
		for _, n := range names {
			if !strings.HasPrefix(n, "arangoscale_") || !inContract(n) {
				t.Errorf("%s: %s is not an arangoscale metric of the contract", where, n)
			}
		}
	}
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type == "query" {
			m := labelValues.FindStringSubmatch(v.Definition)
			if m == nil {
				t.Errorf("variable %s: %q is not label_values(<selector>, <label>)", v.Name, v.Definition)
				continue
			}
			check("variable "+v.Name, m[1])
		}
	}
	if !vars["cluster"] || !vars["role"] {
		t.Errorf("dashboard must be templated on cluster and role, has %v", vars)
	}
	for _, a := range d.Annotations.List {
		check("annotation", a.Expr)
	}
	seen := map[string]bool{}
	var walk func([]grafanaPanel)
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				check("panel "+p.Title, tg.Expr)
				if !strings.Contains(tg.Expr, `cluster=~"$cluster"`) && !global(tg.Expr) {
					t.Errorf("panel %q: %q ignores the cluster variable", p.Title, tg.Expr)
				}
				for _, n := range metricNames(tg.Expr) {
					seen[strings.TrimSuffix(n, "_bucket")] = true
				}
			}
		}
	}
	walk(d.Panels)
	for _, want := range []string{
		"arangoscale_instances", "arangoscale_signal_value", "arangoscale_signal_target", "arangoscale_decisions_total",
		"arangoscale_scale_blocked", "arangoscale_scale_actions_total", "arangoscale_saga_step", "arangoscale_reconcile_duration_seconds",
	} {
		if !seen[want] {
			t.Errorf("no panel shows %s", want)
		}
	}
}

// global reports whether expr only reads metrics without a cluster label.
func global(expr string) bool {
	for _, n := range metricNames(expr) {
		switch n {
		case "arangoscale_build_info", "arangoscale_dry_run",
			"arangoscale_config_last_reload_successful", "arangoscale_config_last_reload_success_timestamp_seconds":
		default:
			return false
		}
	}
	return true
}
