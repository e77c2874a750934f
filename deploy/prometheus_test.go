package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("prometheus", "arangoscale-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatalf("arangoscale-rules.yml: %v", err)
	}
	return rf
}

func TestAlertRules(t *testing.T) {
	rf := loadRules(t)
	recorded := map[string]bool{}
	used := map[string]bool{}
	alerts := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			for _, n := range metricNames(r.Expr) {
				switch {
				case recorded[n]:
				case inContract(n):
					used[n] = true
				default:
					t.Errorf("%s%s: %s is not an arangoscale metric of the contract", r.Alert, r.Record, n)
				}
			}
			if r.Alert == "" {
				continue
			}
			alerts[r.Alert] = true
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("%s: severity %q", r.Alert, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description", "runbook"} {
				if strings.TrimSpace(r.Annotations[a]) == "" {
					t.Errorf("%s: no %s annotation", r.Alert, a)
				}
			}
			// Where the series carry cluster and role, the text names them.
			text := r.Annotations["summary"] + r.Annotations["description"]
			if strings.Contains(r.Expr, "arangoscale_instances") || strings.Contains(r.Expr, "scale_direction") ||
				strings.Contains(r.Expr, "last_reconcile") || strings.Contains(r.Expr, "scale_actions_total{") {
				for _, l := range []string{"$labels.cluster", "$labels.role"} {
					if !strings.Contains(text, l) {
						t.Errorf("%s: summary/description do not name %s", r.Alert, l)
					}
				}
			}
		}
	}
	for _, want := range []string{
		"ArangoscaleDown", "ArangoscaleReconcileStalled", "ArangoscaleRolePinnedAtMax", "ArangoscaleScaleActionsFailing",
		"ArangoscaleCleanOutFailed", "ArangoscaleRoleFlapping", "ArangoscaleConfigReloadFailing", "ArangoscaleSourceErrors",
		"ArangoscaleDryRunLeftOn", "ArangoscaleDiscoveryErrors", "ArangoDBFailedServerWithShards", "ArangoscaleNoLeader", "ArangoscaleClusterUnowned", "ArangoscaleForecastIgnored",
	} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}

	// metric_names.txt lists exactly the metrics the rules use.
	data, err := os.ReadFile(filepath.Join("prometheus", "metric_names.txt"))
	if err != nil {
		t.Fatal(err)
	}
	listed := strings.Fields(string(data))
	var usedList []string
	for n := range used {
		usedList = append(usedList, n)
	}
	slices.Sort(usedList)
	if !slices.Equal(listed, usedList) {
		t.Errorf("metric_names.txt = %v\nrules use      %v", listed, usedList)
	}
}

// promtool runs the rule checks and unit tests when it is installed (.ci/run installs it).
func TestPromtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed")
	}
	for _, args := range [][]string{
		{"check", "rules", "arangoscale-rules.yml"},
		{"test", "rules", "arangoscale-rules.test.yml"},
	} {
		cmd := exec.CommandContext(t.Context(), promtool, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
