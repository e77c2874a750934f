package marathon_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// Apps lists by label selector against the emulated Marathon, with tasks.
func TestAppsByLabel(t *testing.T) {
	clk := clock.NewVirtual(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))
	cl, err := dcos.New(clk, dcos.Params{Agents: 2, AgentCPUs: 8, AgentMemMB: 65536})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []dcos.AppSpec{
		{ID: "/arangodb-a/coordinator", Instances: 2, CPUs: 1, MemMB: 512, Labels: map[string]string{"arangoscale.policy": "web"}},
		{ID: "/other", Instances: 1, CPUs: 1, MemMB: 512},
	} {
		if err := cl.AddApp(s); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(cl.MarathonHandler())
	defer srv.Close()
	c, err := marathon.New(marathon.Config{URL: srv.URL, HTTPClient: srv.Client(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	apps, err := c.Apps(ctx, "arangoscale.policy")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 || apps[0].ID != "/arangodb-a/coordinator" || apps[0].Labels["arangoscale.policy"] != "web" || len(apps[0].Tasks) != 2 || apps[0].Tasks[0].Host == "" || len(apps[0].Tasks[0].Ports) == 0 {
		t.Fatalf("apps = %+v", apps)
	}
	all, err := c.Apps(ctx, "")
	if err != nil || len(all) != 2 {
		t.Fatalf("all apps: %d, %v", len(all), err)
	}
	_, err = c.Apps(ctx, "a in (")
	var apiErr *marathon.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 422 {
		t.Fatalf("bad selector: %v", err)
	}
}

// Marathon 1.5's GET /v2/apps?embed=apps.tasks as marathon-lb records it.
func TestAppsFixture(t *testing.T) {
	body, err := os.ReadFile("testdata/marathon-lb_marathon15_apps.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpBody(body))
	defer srv.Close()
	c, err := marathon.New(marathon.Config{URL: srv.URL, HTTPClient: srv.Client(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	apps, err := c.Apps(context.Background(), "HAPROXY_GROUP==external")
	if err != nil {
		t.Fatal(err)
	}
	if len(apps) != 1 || apps[0].ID != "/pywebserver" || apps[0].Labels["HAPROXY_GROUP"] != "external" || len(apps[0].Tasks) != 1 {
		t.Fatalf("apps = %+v", apps)
	}
}

type httpBody []byte

func (b httpBody) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
