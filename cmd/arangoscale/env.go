package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/config"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/marathon"
)

// fromEnv reads the ARANGOSCALE_* configuration and its secret files and
// assembles the production controller setup: TLS always verified, the
// DC/OS token (static or service-account login) on Marathon and Mesos
// calls. A bad setting is one line naming the variable; the exit code for
// it is 2.
func fromEnv(stderr io.Writer) (*config.Config, config.Secrets, *controller.Setup, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, config.Secrets{}, nil, err
	}
	secrets, err := cfg.LoadSecrets()
	if err != nil {
		return nil, config.Secrets{}, nil, err
	}
	tlsCfg, err := cfg.TLSConfig()
	if err != nil {
		return nil, config.Secrets{}, nil, err
	}
	base := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		TLSClientConfig:     tlsCfg,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
	}
	// ArangoDB gets its own pool that keeps one idle connection per
	// coordinator between intervals; Marathon and Mesos serve every cluster
	// and keep more. A cluster's servers are scraped metrics.DefaultParallel
	// at once, so up to that many minus one connections are dialled anew
	// each interval (with TLS, as many handshakes): each one kept costs two
	// goroutines and their buffers, and with 50 clusters keeping all of them
	// held ~5 MiB more (README, "Memory").
	arango := base.Clone()
	arango.MaxIdleConnsPerHost = 1
	plain := &http.Client{Transport: arango}
	dcos := plain
	switch {
	case len(secrets.DCOSServiceAccount) > 0:
		ts, err := marathon.NewServiceAccount(secrets.DCOSServiceAccount, plain, clock.Real{})
		if err != nil {
			return nil, config.Secrets{}, nil, fmt.Errorf("ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE: %w", err)
		}
		dcos = &http.Client{Transport: marathon.NewAuthTransport(base, ts)}
	case secrets.DCOSToken != "":
		dcos = &http.Client{Transport: marathon.NewAuthTransport(base, marathon.StaticToken(secrets.DCOSToken))}
	}
	setup := &controller.Setup{
		MarathonURL:      cfg.MarathonURL,
		MesosURL:         cfg.MesosURL,
		PrometheusURL:    cfg.PrometheusURL,
		DCOS:             dcos,
		Plain:            plain,
		MesosAdminRouter: strings.HasSuffix(strings.TrimRight(cfg.MesosURL, "/"), "/mesos"),
		ArangoUser:       cfg.ArangoDBUsername,
		ArangoPassword:   secrets.ArangoDBPassword,
		ArangoJWTSecret:  secrets.ArangoDBJWTSecret,
		Logger:           cfg.Logger(stderr),
		Interval:         cfg.Interval,
		SourceTimeout:    cfg.SourceTimeout,
		DryRun:           cfg.DryRun,
		Version:          version,
		Commit:           commit,
	}
	return cfg, secrets, setup, nil
}
