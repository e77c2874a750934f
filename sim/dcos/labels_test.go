package dcos

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

// The selector examples of apps.raml and LabelSelectorParsersTest, over
// HTTP against the emulated Marathon.
func TestAppListLabelSelectors(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	c, err := New(clk, Params{Agents: 1, AgentCPUs: 8, AgentMemMB: 65536})
	if err != nil {
		t.Fatal(err)
	}
	for id, labels := range map[string]map[string]string{
		"/a": {"environment": "production", "tier": "frontend"},
		"/b": {"environment": "qa", "tier": "backend", "a b": "x"},
		"/c": {"partition": "1"},
	} {
		if err := c.AddApp(AppSpec{ID: id, Instances: 1, CPUs: 0.1, MemMB: 32, Labels: labels}); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(c.MarathonHandler())
	defer srv.Close()
	list := func(sel string) (int, []string) {
		resp, err := http.Get(srv.URL + "/v2/apps?label=" + url.QueryEscape(sel))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Apps []struct{ ID string } `json:"apps"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		ids := []string{}
		for _, a := range body.Apps {
			ids = append(ids, a.ID)
		}
		return resp.StatusCode, ids
	}
	for sel, want := range map[string][]string{
		"":                                   {"/a", "/b", "/c"},
		"partition":                          {"/c"},
		"environment==production":            {"/a"},
		"environment != production":          {"/b"},
		"environment in (production, qa)":    {"/a", "/b"},
		"tier notin (frontend)":              {"/b"},
		"environment, tier==backend":         {"/b"},
		`a\ b==x`:                            {"/b"},
		"environment in (qa), partition":     {},
		"environment notin (qa, production)": {},
	} {
		code, got := list(sel)
		if code != http.StatusOK || !reflect.DeepEqual(got, want) {
			t.Errorf("label=%q: %d %v, want 200 %v", sel, code, got, want)
		}
	}
	for _, bad := range []string{"a==", "a in b", "a in (b", ",", "a b"} {
		if code, _ := list(bad); code != http.StatusUnprocessableEntity {
			t.Errorf("label=%q: %d, want 422", bad, code)
		}
	}
}

func TestRemoveAppAndSetLabels(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	c, err := New(clk, Params{Agents: 1, AgentCPUs: 8, AgentMemMB: 65536})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddApp(AppSpec{ID: "/x", Instances: 2, CPUs: 0.1, MemMB: 32}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLabels("/x", map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveApp("/x"); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.AppStatus("/x"); ok {
		t.Fatal("app still there")
	}
	if err := c.RemoveApp("/x"); err == nil {
		t.Fatal("second remove succeeded")
	}
}
