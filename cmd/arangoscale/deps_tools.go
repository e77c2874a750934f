//go:build tools

// This file pins the project's chosen dependencies in go.mod while the
// packages that use them are being written; it is never compiled.
package main

import (
	_ "github.com/arangodb/go-driver/v2/arangodb"
	_ "github.com/arangodb/go-driver/v2/connection"
	_ "github.com/cenkalti/backoff/v4"
	_ "github.com/fsnotify/fsnotify"
	_ "github.com/gambol99/go-marathon"
	_ "github.com/golang-jwt/jwt/v5"
	_ "github.com/kelseyhightower/envconfig"
	_ "github.com/prometheus/client_golang/api"
	_ "github.com/prometheus/client_golang/prometheus/promauto"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/common/expfmt"
	_ "github.com/robfig/cron/v3"
	_ "gonum.org/v1/plot"
	_ "gopkg.in/yaml.v3"
)
