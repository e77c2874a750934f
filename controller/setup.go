package controller

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/metrics"
	"github.com/arangoscale/arangoscale/policy"
)

// Setup is everything a production controller is assembled from: the
// real Marathon, Mesos, ArangoDB and Prometheus clients over HTTP. run,
// demo, simulate, scale and the end-to-end tests differ only in the values.
type Setup struct {
	MarathonURL   string
	MesosURL      string
	PrometheusURL string
	// DCOS carries the DC/OS token to Marathon and Mesos (and TLS).
	DCOS *http.Client
	// Plain is for ArangoDB and Prometheus (TLS settings, no DC/OS token).
	// Its transport carries the ArangoDB admin client's requests and the
	// metrics scrapes alike (nil: the admin client's own). Per-request
	// deadlines come from SourceTimeout either way.
	Plain *http.Client
	// MesosAdminRouter reaches agents through <dcos>/slave/<id>/….
	MesosAdminRouter bool

	ArangoUser, ArangoPassword, ArangoJWTSecret string

	Clock         clock.Clock
	Logger        *slog.Logger
	Registry      *prometheus.Registry
	Interval      time.Duration
	SourceTimeout time.Duration
	DryRun        bool
	Backoff       BackoffSettings
	ReloadStatus  func() (bool, time.Time)
	ReloadError   func() error
	// Marathon, when set, replaces the client built from MarathonURL.
	Marathon        Marathon
	Version, Commit string
	// Resolver, when set, replaces DNS for matching servers to tasks.
	Resolver Resolver
	// Fence, when set, gates every change (several replicas: package ha).
	Fence Fence
	// OnForecastHistory: Config.OnForecastHistory.
	OnForecastHistory func(cluster string, role policy.Role, points int, err error)
	// Sequential makes a reconcile do its reads one after another in its
	// own goroutine instead of side by side, so that slow sources add up
	// their timeouts. For a replay: there every read is served in-process,
	// the contenders already keep the cores busy, and the goroutines and
	// their stack growth were a tenth of the work.
	Sequential bool

	mesosOnce sync.Once
	mesos     *metrics.Mesos
}

// sharedMesos is the one Mesos source of every cluster: its answers are
// reused for half an interval, so the master and each agent are asked once
// per interval however many clusters there are.
func (w *Setup) sharedMesos() *metrics.Mesos {
	w.mesosOnce.Do(func() {
		iv := w.Interval
		if iv <= 0 {
			iv = 15 * time.Second
		}
		w.mesos = metrics.NewMesos(w.DCOS, w.MesosURL, w.Clock, metrics.MesosOptions{
			AdminRouter: w.MesosAdminRouter, Timeout: w.SourceTimeout, MaxAge: iv / 2, Sequential: w.Sequential,
		})
	})
	return w.mesos
}

func (w *Setup) defaults() {
	if w.Clock == nil {
		w.Clock = clock.Real{}
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	if w.Registry == nil {
		w.Registry = prometheus.NewRegistry()
	}
	if w.Plain == nil {
		w.Plain = &http.Client{}
	}
	if w.DCOS == nil {
		w.DCOS = w.Plain
	}
	if w.SourceTimeout <= 0 {
		w.SourceTimeout = 5 * time.Second
	}
}

// marathonClient builds the Marathon wrapper.
func (w *Setup) marathonClient() (*marathon.Client, error) {
	return marathon.New(marathon.Config{URL: w.MarathonURL, HTTPClient: w.DCOS, Timeout: w.SourceTimeout})
}

// arangoClient builds the admin client of one cluster.
func (w *Setup) arangoClient(pc *policy.Cluster) (*arangodb.Client, error) {
	rt := w.Plain.Transport
	cfg := arangodb.Config{
		Endpoints: pc.ArangoDB.Endpoints,
		Username:  w.ArangoUser,
		Password:  w.ArangoPassword,
		JWTSecret: w.ArangoJWTSecret,
		Timeout:   w.SourceTimeout,
		Clock:     w.Clock,
	}
	if rt != nil {
		// Plain's own transport, so the admin calls and the metrics scrapes
		// of a cluster share one connection pool: a pool per cluster held
		// hundreds of idle connections with 50 clusters.
		cfg.Transport = rt
	}
	return arangodb.New(cfg)
}

// MarathonClient is the Marathon client Build would use.
func (w *Setup) MarathonClient() (Marathon, error) {
	w.defaults()
	if w.Marathon != nil {
		return w.Marathon, nil
	}
	return w.marathonClient()
}

// AdminClient is the ArangoDB admin client the controller would use for
// the cluster.
func (w *Setup) AdminClient(pc *policy.Cluster) (*arangodb.Client, error) {
	w.defaults()
	return w.arangoClient(pc)
}

// HoldStore is where manual holds of a cluster are kept: its ArangoDB,
// as the controller reads them. `arangoscale scale` writes there.
func (w *Setup) HoldStore(pc *policy.Cluster) (HoldStore, error) {
	w.defaults()
	return w.arangoClient(pc)
}

// Connector builds every cluster's clients from its policy.
func (w *Setup) Connector() Connector {
	return func(pc *policy.Cluster, onError func(string, error)) (*ClusterClients, error) {
		if len(pc.ArangoDB.Endpoints) == 0 {
			return nil, errors.New("no arangodb endpoint")
		}
		admin, err := w.arangoClient(pc)
		if err != nil {
			return nil, err
		}
		auth, err := arangoAuthHeader(w.ArangoUser, w.ArangoPassword, w.ArangoJWTSecret, w.Clock)
		if err != nil {
			return nil, err
		}
		scrapeClient := &http.Client{Transport: headerTransport{base: transportOf(w.Plain), name: "Authorization", value: auth}}
		opts := metrics.ArangoDBOptions{Timeout: w.SourceTimeout}
		if w.Sequential {
			opts.Parallel = 1
		}
		cc := metrics.CollectorConfig{
			ArangoDB:   metrics.NewArangoDB(scrapeClient, pc.ArangoDB.Endpoints[0], w.Clock, opts),
			OnError:    onError,
			Timeout:    w.SourceTimeout,
			Sequential: w.Sequential,
		}
		if w.MesosURL != "" {
			cc.Mesos = w.sharedMesos()
		}
		if w.PrometheusURL != "" {
			p, err := metrics.NewPrometheus(w.PrometheusURL, w.Plain)
			if err != nil {
				return nil, fmt.Errorf("prometheus: %w", err)
			}
			cc.Prometheus = p
			cc.Clock = w.Clock
		}
		clients := &ClusterClients{Observer: metrics.NewCollector(cc), ArangoDB: admin, Holds: admin}
		if cc.Prometheus != nil {
			clients.History = cc.Prometheus
		}
		return clients, nil
	}
}

// Build assembles the controller.
func (w *Setup) Build() (*Controller, error) {
	w.defaults()
	mc := w.Marathon
	if mc == nil {
		c, err := w.marathonClient()
		if err != nil {
			return nil, err
		}
		mc = c
	}
	return New(Config{
		Marathon:     mc,
		Connect:      w.Connector(),
		Clock:        w.Clock,
		Logger:       w.Logger,
		Registry:     w.Registry,
		Interval:     w.Interval,
		DryRun:       w.DryRun,
		Backoff:      w.Backoff,
		Version:      w.Version,
		Commit:       w.Commit,
		ReloadStatus: w.ReloadStatus,
		ReloadError:  w.ReloadError,
		Resolver:     w.Resolver,
		Fence:        w.Fence,
		Sequential:   w.Sequential,

		OnForecastHistory: w.OnForecastHistory,
	})
}

// arangoAuthHeader gives the Authorization value for metric scrapes: a
// superuser JWT, short-lived and renewed (arangodb.SuperuserJWT), when a
// secret is configured, else basic auth, else none.
func arangoAuthHeader(user, password, jwtSecret string, clk clock.Clock) (func() (string, error), error) {
	if jwtSecret != "" {
		j, err := arangodb.NewSuperuserJWT(jwtSecret, "arangoscale", clk)
		if err == nil {
			_, err = j.Header()
		}
		if err != nil {
			return nil, errors.New("cannot sign the ArangoDB JWT")
		}
		return j.Header, nil
	}
	var h string
	if user != "" {
		r, _ := http.NewRequest(http.MethodGet, "http://x/", nil)
		r.SetBasicAuth(user, password)
		h = r.Header.Get("Authorization")
	}
	return func() (string, error) { return h, nil }, nil
}

// headerTransport sets one header on every request.
type headerTransport struct {
	base  http.RoundTripper
	name  string
	value func() (string, error)
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	v, err := t.value()
	if err != nil {
		return nil, err
	}
	if v == "" {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set(t.name, v)
	return t.base.RoundTrip(r)
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}
