package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/redirect"
)

// MesosOptions tunes a Mesos source.
type MesosOptions struct {
	// AdminRouter reaches agents through the DC/OS admin router
	// (<base>/slave/<agent-id>/monitor/statistics) instead of directly
	// (http://hostname:port/monitor/statistics).
	AdminRouter bool
	// AdminRouterURL is the DC/OS base URL (https://dcos.example.com). If
	// empty, it is the master URL without a trailing "/mesos".
	AdminRouterURL string
	// Timeout bounds each request (default DefaultTimeout).
	Timeout time.Duration
	// ForgetAfter drops the previous statistics of tasks not seen for this
	// long (default DefaultForgetAfter).
	ForgetAfter time.Duration
	// MaxAge lets answers younger than this be reused: a Mesos source
	// shared by many clusters then asks the master and each agent once per
	// interval, not once per cluster (0: never reuse).
	MaxAge time.Duration
	// AgentScheme is the scheme for direct agent access (default "http").
	AgentScheme string
	// Sequential reads the agents one after another in the calling
	// goroutine instead of side by side.
	Sequential bool
}

// Mesos reads cluster capacity from the Mesos master and per-task resource
// usage from the agents. It keeps each task's previous CPU times for
// rates; it is safe for concurrent use.
type Mesos struct {
	client    *http.Client
	master    string
	agentBase string
	clk       clock.Clock
	opts      MesosOptions
	rates     *rates

	cacheMu sync.Mutex
	cache   map[string]*cached // by URL

	// known is the last agent list read, reused while it places every
	// task asked about (see agentsFor).
	knownMu sync.Mutex
	known   *agentIndex
}

// agentListMaxAge bounds how long a read agent list stands in for the
// master's answer. The list changes when agents join or leave, and a task
// on an agent it does not name, or an agent whose statistics cannot be
// read, has it read again at once: the age only bounds what neither shows
// (an agent re-registered under the same id at a new address answers at
// the old one until then).
const agentListMaxAge = 5 * time.Minute

// agentIndex is one agent list, by id and by hostname.
type agentIndex struct {
	at     time.Time
	byID   map[string]agent
	byHost map[string]agent
}

func newAgentIndex(agents []agent, at time.Time) *agentIndex {
	x := &agentIndex{at: at, byID: make(map[string]agent, len(agents)), byHost: make(map[string]agent, len(agents))}
	for _, a := range agents {
		x.byID[a.ID] = a
		x.byHost[a.Hostname] = a
	}
	return x
}

// find is the agent a task runs on: by its agent id, else by its host.
func (x *agentIndex) find(t Task) (agent, bool) {
	a, ok := x.byID[t.AgentID]
	if !ok && t.Host != "" {
		a, ok = x.byHost[t.Host]
	}
	return a, ok
}

// cached is one reusable answer; its mutex makes concurrent callers of the
// same URL wait for one request instead of each sending their own.
type cached struct {
	mu  sync.Mutex
	at  time.Time
	val any
}

// fetch returns the parsed answer of u, reusing one younger than MaxAge.
// Errors are never reused.
func (m *Mesos) fetch(ctx context.Context, u string, parse func([]byte) (any, error)) (any, error) {
	load := func() (any, error) {
		body, err := get(ctx, m.client, u, "application/json")
		if err != nil {
			return nil, err
		}
		return parse(body)
	}
	if m.opts.MaxAge <= 0 {
		return load()
	}
	m.cacheMu.Lock()
	if m.cache == nil {
		m.cache = map[string]*cached{}
	}
	c := m.cache[u]
	if c == nil {
		c = &cached{}
		m.cache[u] = c
	}
	m.cacheMu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	now := m.clk.Now()
	if c.val != nil && now.Sub(c.at) < m.opts.MaxAge {
		return c.val, nil
	}
	v, err := load()
	if err != nil {
		c.val = nil
		return nil, err
	}
	c.val, c.at = v, now
	return v, nil
}

// NewMesos returns a Mesos source for the master at masterURL (for example
// http://leader.mesos:5050 or https://dcos.example.com/mesos). The
// client's transport adds authentication (the DC/OS token), so redirects
// are followed only within their origin (redirect.Guard): point masterURL
// at the leading master (leader.mesos), not at one that redirects to it.
func NewMesos(client *http.Client, masterURL string, clk clock.Clock, opts MesosOptions) *Mesos {
	client = redirect.Guard(client)
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.AgentScheme == "" {
		opts.AgentScheme = "http"
	}
	master := strings.TrimRight(masterURL, "/")
	base := strings.TrimRight(opts.AdminRouterURL, "/")
	if base == "" {
		base = strings.TrimSuffix(master, "/mesos")
	}
	return &Mesos{client: client, master: master, agentBase: base, clk: clk, opts: opts, rates: newRates(opts.ForgetAfter)}
}

// Capacity reads the master's /metrics/snapshot.
func (m *Mesos) Capacity(ctx context.Context) (Capacity, error) {
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	u := m.master + "/metrics/snapshot"
	v, err := m.fetch(ctx, u, func(b []byte) (any, error) { return parseSnapshot(b) })
	if err != nil {
		if errors.Is(err, ErrBadBody) {
			return Capacity{}, fmt.Errorf("mesos capacity (GET %s): %w", u, err)
		}
		return Capacity{}, fmt.Errorf("mesos capacity: %w", err)
	}
	return v.(Capacity), nil
}

// decodeOptions make go-json-experiment/json (the encoding/json/v2 design,
// about twice as fast at decoding an agent's statistics as encoding/json)
// accept what encoding/json did: names matched regardless of case, a
// repeated name's last value, invalid UTF-8 replaced.
var decodeOptions = jsonv2.JoinOptions(jsonv2.MatchCaseInsensitiveNames(true),
	jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))

// parseSnapshot decodes the master's flat {"name": number} snapshot.
func parseSnapshot(body []byte) (Capacity, error) {
	var snap map[string]float64
	if err := jsonv2.Unmarshal(body, &snap, decodeOptions); err != nil {
		return Capacity{}, fmt.Errorf("%w: %w", ErrBadBody, err)
	}
	var c Capacity
	for _, f := range []struct {
		key string
		dst *float64
	}{
		{"master/cpus_total", &c.CPUsTotal}, {"master/cpus_used", &c.CPUsUsed},
		{"master/mem_total", &c.MemTotalMB}, {"master/mem_used", &c.MemUsedMB},
		{"master/disk_total", &c.DiskTotalMB}, {"master/disk_used", &c.DiskUsedMB},
	} {
		v, ok := snap[f.key]
		if !ok {
			return Capacity{}, fmt.Errorf("%w: %q missing", ErrBadBody, f.key)
		}
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return Capacity{}, fmt.Errorf("%w: %q = %v", ErrBadBody, f.key, v)
		}
		*f.dst = v
	}
	if v, ok := snap["master/slaves_active"]; ok && v >= 0 && v < math.MaxInt32 {
		c.AgentsActive = int(v)
	}
	return c, nil
}

// agent is one entry of the master's /master/slaves.
type agent struct {
	ID       string `json:"id"`
	Hostname string `json:"hostname"`
	Port     int    `json:"port"`
	PID      string `json:"pid"` // "slave(1)@10.0.0.1:5051"
	Active   *bool  `json:"active"`
}

// agentsFor returns an agent list that places every task, reading the
// master's only when the last one read is older than agentListMaxAge or
// misses one of the tasks (a task on a new agent): a reconcile then asks
// the master for its agents every few minutes, not every interval.
func (m *Mesos) agentsFor(ctx context.Context, tasks []Task) (*agentIndex, error) {
	now := m.clk.Now()
	m.knownMu.Lock()
	x := m.known
	m.knownMu.Unlock()
	if x != nil && !now.Before(x.at) && now.Sub(x.at) < agentListMaxAge {
		all := true
		for _, t := range tasks {
			if _, ok := x.find(t); !ok {
				all = false
				break
			}
		}
		if all {
			return x, nil
		}
	}
	agents, err := m.agents(ctx)
	if err != nil {
		m.forgetAgents(x)
		return nil, err
	}
	x = newAgentIndex(agents, now)
	m.knownMu.Lock()
	m.known = x
	m.knownMu.Unlock()
	return x, nil
}

// forgetAgents drops the kept agent list if it is still x, so the next
// TaskStats reads the master's.
func (m *Mesos) forgetAgents(x *agentIndex) {
	m.knownMu.Lock()
	if m.known == x {
		m.known = nil
	}
	m.knownMu.Unlock()
}

// agents reads the master's agent list.
func (m *Mesos) agents(ctx context.Context) ([]agent, error) {
	u := m.master + "/master/slaves"
	v, err := m.fetch(ctx, u, func(b []byte) (any, error) { return parseAgents(b) })
	if err != nil {
		if errors.Is(err, ErrBadBody) {
			return nil, fmt.Errorf("mesos agents (GET %s): %w", u, err)
		}
		return nil, fmt.Errorf("mesos agents: %w", err)
	}
	return v.([]agent), nil
}

func parseAgents(body []byte) ([]agent, error) {
	var v struct {
		Slaves *[]agent `json:"slaves"`
	}
	if err := jsonv2.Unmarshal(body, &v, decodeOptions); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBody, err)
	}
	if v.Slaves == nil {
		return nil, fmt.Errorf("%w: no \"slaves\" list", ErrBadBody)
	}
	return *v.Slaves, nil
}

// statsURL is where an agent's /monitor/statistics is reached.
func (m *Mesos) statsURL(a agent) (string, error) {
	if m.opts.AdminRouter {
		return m.agentBase + "/slave/" + url.PathEscape(a.ID) + "/monitor/statistics", nil
	}
	host, port := a.Hostname, a.Port
	if (host == "" || port == 0) && a.PID != "" {
		// pid is "slave(1)@ip:port"
		if _, hp, ok := strings.Cut(a.PID, "@"); ok {
			if h, p, err := net.SplitHostPort(hp); err == nil {
				if host == "" {
					host = h
				}
				if port == 0 {
					port, _ = strconv.Atoi(p)
				}
			}
		}
	}
	if host == "" || port == 0 {
		return "", fmt.Errorf("agent %s: no hostname/port to reach it", a.ID)
	}
	return m.opts.AgentScheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + "/monitor/statistics", nil
}

// executorStats is one entry of an agent's /monitor/statistics.
type executorStats struct {
	ExecutorID string `json:"executor_id"`
	Source     string `json:"source"`
	Statistics *struct {
		CPUsLimit      *float64 `json:"cpus_limit"`
		CPUsUserSecs   *float64 `json:"cpus_user_time_secs"`
		CPUsSystemSecs *float64 `json:"cpus_system_time_secs"`
		MemLimitBytes  *float64 `json:"mem_limit_bytes"`
		MemRSSBytes    *float64 `json:"mem_rss_bytes"`
		Timestamp      *float64 `json:"timestamp"`
	} `json:"statistics"`
}

func parseStatistics(body []byte) ([]executorStats, error) {
	var es []executorStats
	if err := jsonv2.Unmarshal(body, &es, decodeOptions); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBody, err)
	}
	return es, nil
}

// TaskStats returns the CPU and memory utilization of each task, by task
// id. Each agent that runs one of the tasks is asked once. A task whose
// agent cannot be asked, or whose statistics are absent, gets a Reason and
// CPUOK/MemoryOK false; the error names the failed agents (it wraps each
// agent's error) while the map still holds every task.
func (m *Mesos) TaskStats(ctx context.Context, tasks []Task) (map[string]TaskUsage, error) {
	out := make(map[string]TaskUsage, len(tasks))
	if len(tasks) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	idx, err := m.agentsFor(ctx, tasks)
	if err != nil {
		for _, t := range tasks {
			out[t.ID] = TaskUsage{Reason: "mesos agent list unavailable: " + err.Error()}
		}
		return out, err
	}
	// Group tasks by agent: one request per agent.
	groups := map[string][]Task{}
	for _, t := range tasks {
		a, ok := idx.find(t)
		if !ok {
			out[t.ID] = TaskUsage{Reason: fmt.Sprintf("agent of task not found (agent id %q, host %q)", t.AgentID, t.Host)}
			continue
		}
		groups[a.ID] = append(groups[a.ID], t)
	}
	type res struct {
		stats []executorStats
		err   error
	}
	results := make(map[string]*res, len(groups))
	var wg sync.WaitGroup
	// One agent's statistics are read in this goroutine, the others'
	// side by side in their own (a goroutine start and stack growth fewer).
	var inline func()
	for id := range groups {
		r := &res{}
		results[id] = r
		a := idx.byID[id]
		read := func() {
			u, err := m.statsURL(a)
			if err == nil {
				var v any
				v, err = m.fetch(ctx, u, func(b []byte) (any, error) { return parseStatistics(b) })
				if err == nil {
					r.stats = v.([]executorStats)
				} else if errors.Is(err, ErrBadBody) {
					err = fmt.Errorf("GET %s: %w", u, err)
				}
			}
			if err != nil {
				r.err = &AgentError{AgentID: id, Err: err}
			}
		}
		if m.opts.Sequential {
			read()
			continue
		}
		if inline == nil {
			inline = read
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			read()
		}()
	}
	if inline != nil {
		inline()
	}
	wg.Wait()
	now := m.clk.Now()
	var errs []error
	for id, ts := range groups {
		r := results[id]
		if r.err != nil {
			// The agent may have moved to a new address: ask the master
			// again next time.
			m.forgetAgents(idx)
			errs = append(errs, r.err)
			for _, t := range ts {
				out[t.ID] = TaskUsage{Reason: "agent statistics unavailable: " + r.err.Error()}
			}
			continue
		}
		index := make(map[string]*executorStats, 2*len(r.stats))
		for i := range r.stats {
			e := &r.stats[i]
			if e.ExecutorID != "" {
				index[e.ExecutorID] = e
			}
			if e.Source != "" {
				if _, dup := index[e.Source]; !dup {
					index[e.Source] = e
				}
			}
		}
		for _, t := range ts {
			out[t.ID] = m.usage(t.ID, index[t.ID], now)
		}
	}
	m.rates.forget(now)
	return out, joinErrors(errs)
}

// usage derives one task's utilization from its statistics entry.
func (m *Mesos) usage(taskID string, e *executorStats, now time.Time) TaskUsage {
	if e == nil || e.Statistics == nil {
		return TaskUsage{Reason: "no statistics for the task on its agent"}
	}
	st := e.Statistics
	var u TaskUsage
	var why []string
	switch {
	case st.MemRSSBytes == nil || st.MemLimitBytes == nil:
		why = append(why, "memory: mem_rss_bytes or mem_limit_bytes absent")
	case *st.MemLimitBytes <= 0:
		why = append(why, "memory: no memory limit")
	default:
		u.Memory, u.MemoryOK = *st.MemRSSBytes / *st.MemLimitBytes, true
	}
	switch {
	case st.CPUsUserSecs == nil || st.CPUsSystemSecs == nil || st.Timestamp == nil:
		why = append(why, "cpu: cpus_user_time_secs, cpus_system_time_secs or timestamp absent")
	case st.CPUsLimit == nil || *st.CPUsLimit <= 0:
		why = append(why, "cpu: no cpus_limit")
	case !(*st.Timestamp > 0 && *st.Timestamp < 1e11):
		why = append(why, fmt.Sprintf("cpu: implausible timestamp %v", *st.Timestamp))
	default:
		at := time.Unix(0, int64(*st.Timestamp*1e9))
		r, ok, reason := m.rates.observe(taskID, "cpu_seconds", *st.CPUsUserSecs+*st.CPUsSystemSecs, at, now)
		if ok {
			u.CPU, u.CPUOK = r / *st.CPUsLimit, true
		} else {
			why = append(why, "cpu: "+reason)
		}
	}
	u.Reason = strings.Join(why, "; ")
	return u
}

// AgentError is the failure to read one Mesos agent's statistics.
type AgentError struct {
	AgentID string
	Err     error
}

func (e *AgentError) Error() string { return "mesos agent " + e.AgentID + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *AgentError) Unwrap() error { return e.Err }
