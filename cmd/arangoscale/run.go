package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/config"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/discovery"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/reload"
	"github.com/arangoscale/arangoscale/statuspage"
)

// cmdRun is the production entry point: configuration from the
// environment, policy from a file or URL (hot reloaded), HTTP on LISTEN.
func cmdRun(args []string, _, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: arangoscale run   (configured by ARANGOSCALE_* environment variables)")
		_ = config.Usage(stderr)
		return 2
	}
	if percent, ok := runGCPercent(os.LookupEnv); ok {
		debug.SetGCPercent(percent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runController(ctx, stderr, runHooks{})
}

// defaultRunGCPercent is the garbage collector's target of run unless the
// operator sets GOGC: the controller's live heap is small and its CPU
// mostly idle, so letting the heap grow by a quarter before a collection,
// not double, keeps it near 30 MiB resident with 50 clusters (33.7 MiB at
// 50 %) for about 1.3 % of a core instead of 0.7 % (README, "Memory").
const defaultRunGCPercent = 25

// runGCPercent is the GC percent run sets, and false when GOGC is set:
// the Go runtime has applied the operator's value already.
func runGCPercent(lookup func(string) (string, bool)) (int, bool) {
	if _, set := lookup("GOGC"); set {
		return 0, false
	}
	return defaultRunGCPercent, true
}

// runHooks let tests follow a running controller without sleeping.
type runHooks struct {
	listening func(addr string)      // the HTTP server is up
	policy    func(p *policy.Config) // a new policy is in force
}

func runController(ctx context.Context, stderr io.Writer, hooks runHooks) int {
	cfg, secrets, w, err := fromEnv(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale: %v\n", err)
		return 2
	}
	logger := w.Logger
	rl, err := reload.New[*policy.Config](cfg.PolicyFile, policy.Load, reload.Options{Client: w.Plain, Logger: logger})
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale: ARANGOSCALE_POLICY_FILE: %v\n", err)
		return 2
	}
	if _, err := rl.Reload(ctx); err != nil {
		fmt.Fprintf(stderr, "arangoscale: policy %s rejected:\n%v\n", cfg.PolicyFile, err)
		return 1
	}

	w.ReloadStatus = rl.LastSuccess
	w.ReloadError = rl.LastError
	node, err := startHA(cfg, secrets, w)
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale: ARANGOSCALE_ZK: %v\n", err)
		return 2
	}
	if node != nil {
		defer node.Close() // after the loop: the clusters are handed over at once
	}
	ctl, err := w.Build()
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale: %v\n", err)
		return 2
	}
	target := haTarget{Controller: ctl, node: node}
	if err := target.SetPolicy(rl.Current()); err != nil {
		fmt.Fprintf(stderr, "arangoscale: %v\n", err)
		return 1
	}
	disc, err := newDiscoverer(cfg, w, target, rl.Current())
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale: %v\n", err)
		return 2
	}
	apply := target.SetPolicy
	if disc != nil {
		apply = disc.SetBase // the file's clusters plus the discovered ones
	}
	rl.OnChange(func(_, p *policy.Config) {
		if err := apply(p); err != nil {
			logger.Error("new policy could not be applied; the previous one stays", "error", err)
			return
		}
		if hooks.policy != nil {
			hooks.policy(p)
		}
	})
	reloadNow := func(ctx context.Context) error {
		_, err := rl.Reload(ctx)
		ctl.SyncReloadStatus()
		return err
	}
	ctl.SyncReloadStatus()
	if cfg.AdminTokenFile == "" && !cfg.AdminOpen {
		logger.Info("mutating HTTP endpoints are closed: no ARANGOSCALE_ADMIN_TOKEN_FILE; reload by changing the policy or by SIGHUP")
	}
	if cfg.PprofListen != "" {
		stopPprof, err := servePprof(logger, cfg.PprofListen)
		if err != nil {
			fmt.Fprintf(stderr, "arangoscale: ARANGOSCALE_PPROF_LISTEN: %v\n", err)
			return 2
		}
		defer stopPprof()
	}
	o := controller.HTTPOptions{Reload: reloadNow, AdminToken: secrets.AdminToken, AdminOpen: cfg.AdminOpen}
	hist := statuspage.NewHistory(statuspage.HistoryOptions{})
	return serve(ctx, logger, withStatusPage(ctl, o, hist, logger), cfg.Listen, hooks.listening,
		func(ctx context.Context) {
			var wg sync.WaitGroup
			wg.Go(func() { hist.Run(ctx, clock.Real{}, cfg.Interval, ctl.Status) })
			wg.Go(func() {
				if err := rl.Watch(ctx); err != nil && !errors.Is(err, context.Canceled) {
					logger.Error("policy watch stopped", "error", err)
				}
			})
			wg.Go(func() { reloadOnHUP(ctx, logger, reloadNow) })
			if disc != nil {
				wg.Go(func() { disc.Run(ctx) })
			}
			ctl.Run(ctx)
			wg.Wait() // a reload in flight finishes before we report stopped
		})
}

// serve runs loop with the HTTP endpoints up, and shuts both down
// gracefully when ctx ends: the in-flight reconcile finishes first.
func serve(ctx context.Context, logger *slog.Logger, h http.Handler, listen string,
	listening func(string), loop func(context.Context)) int {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		logger.Error("cannot listen", "listen", listen, "error", err)
		return 1
	}
	srv := controller.NewServer(h)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("http server stopped", "error", err)
		}
	}()
	logger.Info("arangoscale started", "listen", ln.Addr().String(), "version", version)
	if listening != nil {
		listening(ln.Addr().String())
	}
	loop(ctx)
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	logger.Info("arangoscale stopped")
	return 0
}

// withStatusPage serves the status page at / (and its stylesheet) in
// front of the controller's own endpoints.
func withStatusPage(ctl *controller.Controller, o controller.HTTPOptions, hist *statuspage.History, logger *slog.Logger) http.Handler {
	page := statuspage.Handler(ctl.Status, hist, statuspage.Options{Logger: logger})
	mux := http.NewServeMux()
	mux.Handle("/", ctl.Handler(o))
	mux.Handle("GET /{$}", page)
	mux.Handle("GET /assets/", page)
	return mux
}

// servePprof serves profiles on their own loopback listener.
func servePprof(logger *slog.Logger, addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := controller.NewPprofServer()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("pprof server stopped", "error", err)
		}
	}()
	logger.Info("profiles served", "pprof_listen", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

func reloadOnHUP(ctx context.Context, logger *slog.Logger, reload func(context.Context) error) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if err := reload(ctx); err != nil {
				logger.Warn("SIGHUP reload rejected", "error", err)
			}
		}
	}
}

// newDiscoverer builds the cluster discovery by Marathon labels unless
// ARANGOSCALE_DISCOVERY=false; with auto it lists Marathon only while the
// policy has templates.
func newDiscoverer(cfg *config.Config, w *controller.Setup, ctl discovery.Target, base *policy.Config) (*discovery.Discoverer, error) {
	if cfg.Discovery == "false" {
		return nil, nil
	}
	mc, err := marathon.New(marathon.Config{URL: w.MarathonURL, HTTPClient: w.DCOS, Timeout: w.SourceTimeout})
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	return discovery.New(discovery.Config{
		Marathon: mc, Target: ctl, Clock: w.Clock, Logger: w.Logger, Interval: cfg.Interval,
		Timeout: w.SourceTimeout, OnlyWithTemplates: !cfg.DiscoveryOn(false),
	}, base)
}
