package controller

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTPOptions configure the controller's HTTP endpoints.
type HTTPOptions struct {
	// Reload reloads the policy; a non-nil error is answered with 400 and
	// its text (the file:line:col errors), the old policy staying in force.
	Reload func(ctx context.Context) error
	// AdminToken, when set, is required as "Authorization: Bearer <token>"
	// by mutating endpoints.
	AdminToken string
}

// Handler serves /metrics, /healthz, /readyz, /status, /debug/pprof/ and
// POST /-/reload.
func (c *Controller) Handler(o HTTPOptions) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.cfg.Registry, promhttp.HandlerOpts{Registry: c.cfg.Registry}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !c.Alive() {
			http.Error(w, "reconcile loop stalled\n", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, why := c.Readiness(); !ok {
			http.Error(w, "not ready:\n"+why+"\n", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(c.Status())
	})
	// Profiles, as Prometheus' own exporters serve them: for finding where
	// CPU and memory go in production.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, r *http.Request) {
		if !authorized(r, o.AdminToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="arangoscale"`)
			http.Error(w, "unauthorized\n", http.StatusUnauthorized)
			return
		}
		if o.Reload == nil {
			http.Error(w, "reload not available\n", http.StatusNotImplemented)
			return
		}
		if err := o.Reload(r.Context()); err != nil {
			http.Error(w, "policy rejected, the previous one stays in force:\n"+err.Error()+"\n", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte("policy reloaded\n"))
	})
	return mux
}

func authorized(r *http.Request, token string) bool {
	if token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
