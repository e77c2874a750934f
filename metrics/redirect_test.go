package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/redirect"
	"github.com/arangoscale/arangoscale/redirect/redirecttest"
)

// TestSourcesKeepCredentialsHome: a 307 from the Prometheus, ArangoDB or
// Mesos address to another host, or from https to http, does not take the
// credential there.
func TestSourcesKeepCredentialsHome(t *testing.T) {
	other := redirecttest.NewForeign(t, "application/json", `{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`)
	to := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	})
	plain := httptest.NewServer(to)
	defer plain.Close()
	secure := httptest.NewTLSServer(to)
	defer secure.Close()
	clk := clock.NewVirtual(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	for name, srv := range map[string]*httptest.Server{"cross-host": plain, "https to http": secure} {
		client := &http.Client{Transport: redirecttest.WithAuth(srv.Client().Transport, "bearer scrape-secret")}
		p, err := NewPrometheus(srv.URL, client)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Query(context.Background(), "up", time.Time{}); !errors.Is(err, redirect.ErrRefused) {
			t.Errorf("prometheus %s: %v, want redirect.ErrRefused", name, err)
		}
		a := NewArangoDB(client, srv.URL, clk, ArangoDBOptions{})
		if _, err := a.Health(context.Background()); !errors.Is(err, redirect.ErrRefused) {
			t.Errorf("arangodb scrape %s: %v, want redirect.ErrRefused", name, err)
		}
		m := NewMesos(client, srv.URL, clk, MesosOptions{})
		if _, err := m.Capacity(context.Background()); !errors.Is(err, redirect.ErrRefused) {
			t.Errorf("mesos %s: %v, want redirect.ErrRefused", name, err)
		}
	}
	if n := other.Stolen(); n != 0 {
		t.Fatalf("a credential reached the other host %d times", n)
	}
}
