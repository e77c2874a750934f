// Package deploy holds arangoscale's deployment artifacts, not code: the
// DC/OS Universe package (dcos-package/), the Marathon app definitions
// (marathon/), the Prometheus alert rules and their promtool tests
// (prometheus/) and the Grafana dashboard (grafana/). Its tests check those
// files, and the repository's Dockerfile, against the rules they must keep
// (DESIGN.md "Metrics", "HTTP", "Configuration"); the package is rendered
// as Cosmos renders it and must match marathon/arangoscale.json.
package deploy
