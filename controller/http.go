package controller

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"
	"time"

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
	// AdminOpen lets mutating endpoints answer without a token when no
	// AdminToken is set; otherwise they are refused (403), the port being
	// reachable by anyone on the DC/OS network.
	AdminOpen bool
}

// Handler serves /metrics, /healthz, /readyz, /status and POST /-/reload.
// Profiles are served apart, by PprofHandler.
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
		ok, why := c.Readiness()
		if !ok {
			http.Error(w, "not ready:\n"+why+"\n", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
		if why != "" { // the clusters this replica only observes
			_, _ = w.Write([]byte(why + "\n"))
		}
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(c.Status())
	})
	mux.HandleFunc("POST /-/reload", func(w http.ResponseWriter, r *http.Request) {
		if o.AdminToken == "" && !o.AdminOpen {
			http.Error(w, "mutating endpoints are closed: set ARANGOSCALE_ADMIN_TOKEN_FILE (or ARANGOSCALE_ADMIN_OPEN=true); "+
				"a changed policy file and SIGHUP still reload\n", http.StatusForbidden)
			return
		}
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

// Limits of the HTTP servers: a slow or idle client cannot hold a
// connection (or a goroutine) for long.
const (
	serverReadTimeout  = 15 * time.Second
	serverWriteTimeout = 30 * time.Second
	serverIdleTimeout  = 30 * time.Second
	// MaxProfileSeconds bounds ?seconds= of CPU profiles, traces and
	// delta profiles.
	MaxProfileSeconds = 30
)

// NewServer is the controller's HTTP server for h, with read, write and
// idle timeouts so that idle keep-alive connections are closed.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       serverReadTimeout,
		WriteTimeout:      serverWriteTimeout,
		IdleTimeout:       serverIdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// NewPprofServer serves PprofHandler; its write timeout exceeds the
// longest profile allowed, as net/http/pprof requires.
func NewPprofServer() *http.Server {
	s := NewServer(PprofHandler())
	s.WriteTimeout = (MaxProfileSeconds + 10) * time.Second
	return s
}

// PprofHandler serves /debug/pprof/ for a loopback listener of its own
// (ARANGOSCALE_PPROF_LISTEN, off by default): one profile at a time, and
// ?seconds= at most MaxProfileSeconds.
func PprofHandler() http.Handler {
	busy := make(chan struct{}, 1)
	limit := func(h http.HandlerFunc) http.HandlerFunc { return limitProfiles(busy, h) }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", limit(pprof.Index))
	// pprof's own defaults (30 s profile, 1 s trace) are made explicit, so
	// that every profile counts against the limit.
	withDefault := func(seconds int, h http.HandlerFunc) http.HandlerFunc {
		h = limit(h)
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("seconds") == "" {
				q := r.URL.Query()
				q.Set("seconds", strconv.Itoa(seconds))
				r.URL.RawQuery = q.Encode()
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /debug/pprof/profile", withDefault(MaxProfileSeconds, pprof.Profile))
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", withDefault(1, pprof.Trace))
	return mux
}

// limitProfiles refuses ?seconds= outside 1..MaxProfileSeconds and, while
// busy is full, any further timed profile.
func limitProfiles(busy chan struct{}, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("seconds"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxProfileSeconds {
				http.Error(w, fmt.Sprintf("seconds must be 1..%d\n", MaxProfileSeconds), http.StatusBadRequest)
				return
			}
			select {
			case busy <- struct{}{}:
				defer func() { <-busy }()
			default:
				http.Error(w, "a profile is already being taken; try again when it is done\n", http.StatusTooManyRequests)
				return
			}
		}
		h(w, r)
	}
}

func authorized(r *http.Request, token string) bool {
	if token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
