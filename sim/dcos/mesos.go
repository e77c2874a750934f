package dcos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Mesos master and agent HTTP endpoints, as the Mesos docs describe them
// (apache/mesos docs/monitoring.md for /metrics/snapshot keys,
// docs/endpoints/master/slaves.md, docs/endpoints/slave/monitor/statistics.md).

type server struct {
	ln  net.Listener
	srv *http.Server
}

func listen(addr string, h http.Handler) (*server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dcos: listen: %w", err)
	}
	s := &server{ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *server) url() string {
	if s == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

func (s *server) port() int {
	if s == nil {
		return 0
	}
	return s.ln.Addr().(*net.TCPAddr).Port
}

// Start opens the Marathon, Mesos master and agent listeners on
// 127.0.0.1 random ports.
func (c *Cluster) Start() error {
	c.mu.Lock()
	started := c.marathonSrv != nil
	c.mu.Unlock()
	if started {
		return ErrStarted
	}
	var err error
	var srvs []*server
	add := func(service string, h http.Handler) *server {
		if err != nil {
			return nil
		}
		addr := ""
		if c.p.Addr != nil {
			addr = c.p.Addr(service)
		}
		var s *server
		s, err = listen(addr, c.wrap(service, h))
		srvs = append(srvs, s)
		return s
	}
	agents := make([]*server, len(c.agents))
	m := add(ServiceMarathon, c.MarathonHandler())
	ms := add(ServiceMesos, c.MesosHandler())
	for i := range c.agents {
		agents[i] = add(AgentService(i), c.AgentHandler(i))
	}
	if err != nil {
		for _, s := range srvs {
			if s != nil {
				_ = s.srv.Close()
			}
		}
		return err
	}
	c.mu.Lock()
	c.marathonSrv, c.masterSrv = m, ms
	for i, ag := range c.agents {
		ag.srv = agents[i]
	}
	c.mu.Unlock()
	return nil
}

// Close stops every listener.
func (c *Cluster) Close() {
	c.mu.Lock()
	srvs := []*server{c.marathonSrv, c.masterSrv}
	for _, ag := range c.agents {
		srvs = append(srvs, ag.srv)
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range srvs {
		if s != nil {
			if err := s.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				_ = s.srv.Close()
			}
		}
	}
}

// MarathonURL is the Marathon base URL ("" before Start).
func (c *Cluster) MarathonURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.marathonSrv.url()
}

// MesosURL is the Mesos master base URL ("" before Start).
func (c *Cluster) MesosURL() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.masterSrv.url()
}

// AgentURL is agent i's base URL ("" before Start or out of range).
func (c *Cluster) AgentURL(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 0 || i >= len(c.agents) {
		return ""
	}
	return c.agents[i].srv.url()
}

// MesosHandler serves the Mesos master, plus the DC/OS admin-router path
// /slave/<agent-id>/… answered directly instead of proxied.
func (c *Cluster) MesosHandler() http.Handler {
	return c.requireToken(http.HandlerFunc(c.serveMaster))
}

// AgentHandler serves Mesos agent i.
func (c *Cluster) AgentHandler(i int) http.Handler {
	return c.requireToken(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.serveAgent(w, r, i, r.URL.Path)
	}))
}

func (c *Cluster) serveMaster(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	// Admin router serves the leading master under /mesos.
	if rest, ok := strings.CutPrefix(path, "/mesos"); ok && (rest == "" || rest[0] == '/') {
		path = rest
	}
	switch {
	case path == "/metrics/snapshot":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveMasterMetrics(w)
		}
	case path == "/master/slaves" || path == "/slaves":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveSlaves(w)
		}
	case path == "/master/state" || path == "/state" || path == "/master/state.json" || path == "/state.json":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveState(w)
		}
	case path == "/health" || path == "/master/health":
		if methodAllowed(w, r, http.MethodGet) {
			w.WriteHeader(http.StatusOK)
		}
	case strings.HasPrefix(path, "/slave/") || strings.HasPrefix(path, "/agent/"):
		rest := path[strings.Index(path[1:], "/")+2:]
		id, sub, _ := strings.Cut(rest, "/")
		for i, ag := range c.agents {
			if ag.id == id {
				c.serveAgent(w, r, i, "/"+sub)
				return
			}
		}
		http.Error(w, "Agent not found", http.StatusNotFound)
	default:
		http.NotFound(w, r)
	}
}

func (c *Cluster) serveAgent(w http.ResponseWriter, r *http.Request, i int, path string) {
	switch path {
	case "/monitor/statistics", "/monitor/statistics.json":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveStatistics(w, c.agents[i])
		}
	case "/metrics/snapshot":
		if methodAllowed(w, r, http.MethodGet) {
			c.serveAgentMetrics(w, c.agents[i])
		}
	case "/health":
		if methodAllowed(w, r, http.MethodGet) {
			w.WriteHeader(http.StatusOK)
		}
	default:
		http.NotFound(w, r)
	}
}

func pct(used, total float64) float64 {
	if total == 0 {
		return 0
	}
	return used / total
}

// serveMasterMetrics: flat JSON of master/* gauges and counters
// (docs/monitoring.md "Master Nodes").
func (c *Cluster) serveMasterMetrics(w http.ResponseWriter) {
	c.mu.Lock()
	now := c.clk.Now()
	var cpusT, memT, diskT, cpusU, memU, diskU float64
	for _, ag := range c.agents {
		fc, fm, fd, _ := c.agentFree(ag)
		cpusT, memT, diskT = cpusT+ag.cpus, memT+ag.mem, diskT+ag.disk
		cpusU, memU, diskU = cpusU+ag.cpus-fc, memU+ag.mem-fm, diskU+ag.disk-fd
	}
	var staging, running int
	for _, a := range c.apps {
		s, r, _ := a.counts()
		staging, running = staging+s, running+r
	}
	m := map[string]float64{
		"master/cpus_total": cpusT, "master/cpus_used": cpusU, "master/cpus_percent": pct(cpusU, cpusT),
		"master/mem_total": memT, "master/mem_used": memU, "master/mem_percent": pct(memU, memT),
		"master/disk_total": diskT, "master/disk_used": diskU, "master/disk_percent": pct(diskU, diskT),
		"master/gpus_total": 0, "master/gpus_used": 0, "master/gpus_percent": 0,
		"master/slaves_active": float64(len(c.agents)), "master/slaves_connected": float64(len(c.agents)),
		"master/slaves_disconnected": 0, "master/slaves_inactive": 0,
		"master/elected": 1, "master/uptime_secs": now.Sub(c.started).Seconds(),
		"master/frameworks_active": 1, "master/frameworks_connected": 1,
		"master/tasks_staging": float64(staging), "master/tasks_running": float64(running),
		"master/tasks_failed": float64(c.counters.failed), "master/tasks_killed": float64(c.counters.killed),
		"master/tasks_finished": 0, "master/tasks_lost": 0, "master/tasks_error": 0,
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, m)
}

type resources struct {
	CPUs  float64 `json:"cpus"`
	Mem   float64 `json:"mem"`
	Disk  float64 `json:"disk"`
	GPUs  float64 `json:"gpus"`
	Ports string  `json:"ports,omitempty"`
}

// portRanges renders a port set as Mesos does: "[31000-31002, 31005-31005]".
func portRanges(ports []int) string {
	var parts []string
	for i := 0; i < len(ports); {
		j := i
		for j+1 < len(ports) && ports[j+1] == ports[j]+1 {
			j++
		}
		parts = append(parts, fmt.Sprintf("%d-%d", ports[i], ports[j]))
		i = j + 1
	}
	if len(parts) == 0 {
		return ""
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// agentUsedPorts lists the ports of ag's range in use, ascending. It walks
// the few used ports, not the whole range (a map look-up per port of the
// range was most of a /master/slaves answer's cost).
func (c *Cluster) agentUsedPorts(ag *agent) []int {
	var ports []int
	for p, used := range ag.usedPort {
		if used && p >= ag.portLow && p <= ag.portHigh {
			ports = append(ports, p)
		}
	}
	slices.Sort(ports)
	return ports
}

type slaveJSON struct {
	ID                  string            `json:"id"`
	Hostname            string            `json:"hostname"`
	Port                int               `json:"port"`
	PID                 string            `json:"pid"`
	RegisteredTime      float64           `json:"registered_time"`
	Resources           resources         `json:"resources"`
	UsedResources       resources         `json:"used_resources"`
	OfferedResources    resources         `json:"offered_resources"`
	ReservedResources   map[string]any    `json:"reserved_resources"`
	UnreservedResources resources         `json:"unreserved_resources"`
	Attributes          map[string]string `json:"attributes"`
	Active              bool              `json:"active"`
	Version             string            `json:"version"`
	Capabilities        []string          `json:"capabilities"`
}

func (c *Cluster) slaves() []slaveJSON {
	out := make([]slaveJSON, 0, len(c.agents))
	for _, ag := range c.agents {
		fc, fm, fd, _ := c.agentFree(ag)
		total := resources{CPUs: ag.cpus, Mem: ag.mem, Disk: ag.disk, Ports: fmt.Sprintf("[%d-%d]", ag.portLow, ag.portHigh)}
		out = append(out, slaveJSON{
			ID: ag.id, Hostname: "127.0.0.1", Port: ag.srv.port(),
			PID:                 fmt.Sprintf("slave(1)@127.0.0.1:%d", ag.srv.port()),
			RegisteredTime:      float64(c.started.UnixNano()) / 1e9,
			Resources:           total,
			UsedResources:       resources{CPUs: ag.cpus - fc, Mem: ag.mem - fm, Disk: ag.disk - fd, Ports: portRanges(c.agentUsedPorts(ag))},
			OfferedResources:    resources{},
			ReservedResources:   map[string]any{},
			UnreservedResources: total,
			Attributes:          map[string]string{},
			Active:              true,
			Version:             "1.10.0",
			Capabilities:        []string{"MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT"},
		})
	}
	return out
}

// serveSlaves: GET /master/slaves → {"slaves":[…],"recovered_slaves":[]}.
func (c *Cluster) serveSlaves(w http.ResponseWriter) {
	c.mu.Lock()
	out := map[string]any{"slaves": c.slaves(), "recovered_slaves": []any{}}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// serveState: a reduced GET /master/state: slaves and the Marathon
// framework with its tasks.
func (c *Cluster) serveState(w http.ResponseWriter) {
	c.mu.Lock()
	type taskState struct {
		ID          string    `json:"id"`
		Name        string    `json:"name"`
		FrameworkID string    `json:"framework_id"`
		SlaveID     string    `json:"slave_id"`
		State       string    `json:"state"`
		Resources   resources `json:"resources"`
	}
	tasks := []taskState{}
	for _, id := range c.sortedAppIDs() {
		a := c.apps[id]
		for _, t := range a.tasks {
			tasks = append(tasks, taskState{ID: t.id, Name: strings.ReplaceAll(strings.TrimPrefix(id, "/"), "/", "."),
				FrameworkID: c.frameworkID, SlaveID: t.agent.id, State: t.state(),
				Resources: resources{CPUs: a.spec.CPUs, Mem: a.spec.MemMB, Disk: a.spec.DiskMB, Ports: portRanges(t.ports)}})
		}
	}
	out := map[string]any{
		"version":              "1.10.0",
		"id":                   c.masterID,
		"pid":                  fmt.Sprintf("master@127.0.0.1:%d", c.masterSrv.port()),
		"hostname":             "127.0.0.1",
		"activated_slaves":     len(c.agents),
		"deactivated_slaves":   0,
		"leader":               fmt.Sprintf("master@127.0.0.1:%d", c.masterSrv.port()),
		"slaves":               c.slaves(),
		"frameworks":           []any{map[string]any{"id": c.frameworkID, "name": "marathon", "active": true, "tasks": tasks}},
		"completed_frameworks": []any{},
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

type statistics struct {
	Timestamp          float64 `json:"timestamp"`
	CPUsUserTimeSecs   float64 `json:"cpus_user_time_secs"`
	CPUsSystemTimeSecs float64 `json:"cpus_system_time_secs"`
	CPUsLimit          float64 `json:"cpus_limit"`
	CPUsNrPeriods      int64   `json:"cpus_nr_periods"`
	CPUsNrThrottled    int64   `json:"cpus_nr_throttled"`
	CPUsThrottledSecs  float64 `json:"cpus_throttled_time_secs"`
	MemRSSBytes        int64   `json:"mem_rss_bytes"`
	MemLimitBytes      int64   `json:"mem_limit_bytes"`
	MemTotalBytes      int64   `json:"mem_total_bytes"`
}

type executorStats struct {
	ExecutorID   string     `json:"executor_id"`
	ExecutorName string     `json:"executor_name"`
	FrameworkID  string     `json:"framework_id"`
	Source       string     `json:"source"`
	Statistics   statistics `json:"statistics"`
}

// The resources a Mesos agent gives a command executor on top of its task
// (apache/mesos src/slave/constants.hpp DEFAULT_EXECUTOR_CPUS,
// DEFAULT_EXECUTOR_MEM). The container's limits, and so cpus_limit and
// mem_limit_bytes, include them: the network-port-mapping doc's capture
// shows a 1-cpu, 128 MB task as cpus_limit 1.1, mem_limit_bytes 160 MiB.
const (
	executorCPUs  = 0.1
	executorMemMB = 32
)

// serveStatistics: the agent's GET /monitor/statistics, one entry per
// running task (Marathon command tasks: executor id = task id).
func (c *Cluster) serveStatistics(w http.ResponseWriter, ag *agent) {
	c.mu.Lock()
	ts := float64(c.last.UnixNano()) / 1e9
	out := []executorStats{}
	for _, id := range c.sortedAppIDs() {
		a := c.apps[id]
		for _, t := range a.tasks {
			if t.agent != ag || !t.running() || c.faults.hiddenStats[t.id] {
				continue
			}
			out = append(out, executorStats{
				ExecutorID:   t.id,
				ExecutorName: fmt.Sprintf("Command Executor (Task: %s) (Command: sh -c '%s')", t.id, a.spec.Cmd),
				FrameworkID:  c.frameworkID,
				Source:       t.id,
				Statistics: statistics{
					Timestamp:          ts,
					CPUsUserTimeSecs:   t.cpuSecs * 0.8,
					CPUsSystemTimeSecs: t.cpuSecs * 0.2,
					CPUsLimit:          a.spec.CPUs + executorCPUs,
					MemRSSBytes:        t.memRSS,
					MemLimitBytes:      int64((a.spec.MemMB + executorMemMB) * 1024 * 1024),
					MemTotalBytes:      t.memRSS,
				},
			})
		}
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

// serveAgentMetrics: the agent's slave/* gauges (docs/monitoring.md "Agent Nodes").
func (c *Cluster) serveAgentMetrics(w http.ResponseWriter, ag *agent) {
	c.mu.Lock()
	fc, fm, fd, _ := c.agentFree(ag)
	running := 0
	for _, a := range c.apps {
		for _, t := range a.tasks {
			if t.agent == ag && t.running() {
				running++
			}
		}
	}
	m := map[string]float64{
		"slave/cpus_total": ag.cpus, "slave/cpus_used": ag.cpus - fc, "slave/cpus_percent": pct(ag.cpus-fc, ag.cpus),
		"slave/mem_total": ag.mem, "slave/mem_used": ag.mem - fm, "slave/mem_percent": pct(ag.mem-fm, ag.mem),
		"slave/disk_total": ag.disk, "slave/disk_used": ag.disk - fd, "slave/disk_percent": pct(ag.disk-fd, ag.disk),
		"slave/registered": 1, "slave/tasks_running": float64(running),
		"slave/uptime_secs": c.clk.Now().Sub(c.started).Seconds(),
	}
	c.mu.Unlock()
	writeJSON(w, http.StatusOK, m)
}
