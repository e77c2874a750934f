package arango

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// upstreamMetric is one entry of docs-hugo's metric catalogue
// (testdata/docs-hugo_3.12_allMetrics.yaml).
type upstreamMetric struct {
	Name      string   `yaml:"name"`
	Type      string   `yaml:"type"`
	Help      string   `yaml:"help"`
	ExposedBy []string `yaml:"exposedBy"`
}

// Every metric family a coordinator and a DB server emit is in the
// catalogue with the same type and HELP text and is exposed by that role;
// samples carry arangod's global labels role (ServerState::roleToString:
// COORDINATOR, PRIMARY) and shortname.
func TestMetricsMatchUpstreamCatalogue(t *testing.T) {
	b, err := os.ReadFile("testdata/docs-hugo_3.12_allMetrics.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var list []upstreamMetric
	if err := yaml.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	cat := map[string]upstreamMetric{}
	for _, m := range list {
		cat[m.Name] = m
	}
	e := newEnv(t, Params{}, 1, 2, nil)
	if err := e.c.AddSystemCollections(); err != nil {
		t.Fatal(err)
	}
	e.advance(10 * time.Second)
	for _, s := range e.c.Servers() {
		role, label := "coordinator", "COORDINATOR"
		if s.Role == DBServer {
			role, label = "dbserver", "PRIMARY"
		}
		resp, err := http.Get(e.srv.URL + "/_admin/metrics/v2?serverId=" + s.ID)
		if err != nil {
			t.Fatal(err)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		for name, f := range fams {
			m, ok := cat[name]
			switch {
			case !ok:
				t.Errorf("%s: metric %s is not in allMetrics.yaml", role, name)
				continue
			case !strings.EqualFold(m.Type, strings.ToLower(f.GetType().String())):
				t.Errorf("%s: %s is %s, upstream %s", role, name, f.GetType(), m.Type)
			case strings.TrimSpace(m.Help) != f.GetHelp():
				t.Errorf("%s: %s HELP %q, upstream %q", role, name, f.GetHelp(), strings.TrimSpace(m.Help))
			}
			if !slices.Contains(m.ExposedBy, role) {
				t.Errorf("%s: %s is exposed by %v only", role, name, m.ExposedBy)
			}
			for _, mt := range f.GetMetric() {
				if got := labelValue(mt, "role"); got != label {
					t.Errorf("%s: %s role label %q, want %q", role, name, got, label)
				}
				if labelValue(mt, "shortname") == "" {
					t.Errorf("%s: %s without shortname", role, name)
				}
			}
		}
	}
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
