package discovery_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/discovery"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/policy"
)

// counting passes everything to the controller and counts SetPolicy.
type counting struct {
	*controller.Controller
	sets atomic.Int32
}

func (c *counting) SetPolicy(p *policy.Config) error {
	c.sets.Add(1)
	return c.Controller.SetPolicy(p)
}

// A file cluster wins over a labelled one of the same apps; the policy is
// handed over only when it changed; a Marathon that cannot be listed keeps
// the clusters found before.
func TestFilePrecedenceChangesOnlyAndListingFailure(t *testing.T) {
	e := newEnv(t, "shop", "blog")
	file := strings.ReplaceAll(templates, "%MAX%", "6") + `clusters:
  - name: main
    arangodb: {endpoints: [` + e.world.ArangoURL("shop") + `]}
    marathon: {coordinators: /arangodb-shop/coordinator, dbservers: /arangodb-shop/dbserver}
    roles:
      coordinators: {min: 2, max: 3, metrics: [{signal: requests_per_second, target_per_instance: 650}]}
`
	base, err := policy.Load("policy.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	u, _ := url.Parse(e.world.MarathonURL())
	rp := httputil.NewSingleHostReverseProxy(u)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"message":"leader unknown"}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	mc, err := marathon.New(marathon.Config{URL: proxy.URL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	target := &counting{Controller: e.ctl}
	d, err := discovery.New(discovery.Config{Marathon: mc, Target: target, Clock: e.clk, Interval: step}, base)
	if err != nil {
		t.Fatal(err)
	}
	e.label("shop", "web")
	e.label("blog", "web")
	sync := func() {
		t.Helper()
		if err := d.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	sync()
	st := e.ctl.Status()
	if got := strings.Join(clusterNames(st), ","); got != "blog,main" {
		t.Fatalf("clusters = %s, want blog,main", got)
	}
	if len(st.Discovery.Shadowed) != 1 || !strings.Contains(st.Discovery.Shadowed[0], `cluster "main" of the policy file`) {
		t.Fatalf("shadowed = %v", st.Discovery.Shadowed)
	}
	for range 3 {
		e.world.Advance(step)
		sync()
	}
	if n := target.sets.Load(); n != 1 {
		t.Fatalf("SetPolicy called %d times for one change", n)
	}

	down.Store(true)
	e.world.Advance(step)
	if err := d.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	st = e.ctl.Status()
	if got := strings.Join(clusterNames(st), ","); got != "blog,main" {
		t.Fatalf("clusters after a failed listing = %s", got)
	}
	if len(st.Discovery.Errors) != 1 || !strings.Contains(st.Discovery.Errors[0], "listing Marathon apps") {
		t.Fatalf("errors = %v", st.Discovery.Errors)
	}
	down.Store(false)
	sync()
	if len(e.ctl.Status().Discovery.Errors) != 0 || target.sets.Load() != 1 {
		t.Fatalf("after recovery: errors %v, SetPolicy calls %d", e.ctl.Status().Discovery.Errors, target.sets.Load())
	}
}
