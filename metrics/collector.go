package metrics

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

// CollectorConfig wires the sources of one cluster.
type CollectorConfig struct {
	ArangoDB   *ArangoDB   // may be nil: ArangoDB signals are then missing
	Mesos      *Mesos      // may be nil: no capacity, CPU/memory from ArangoDB
	Prometheus *Prometheus // may be nil: promql: signals are then missing
	// OnError is told about every failed source call (source is
	// "arangodb", "mesos" or "prometheus"); may be nil.
	OnError func(source string, err error)
	// Timeout bounds each source's part of an observation (default
	// DefaultTimeout).
	Timeout time.Duration
	// Clock gives the evaluation time of PromQL queries; nil lets the
	// Prometheus server use its own current time.
	Clock clock.Clock
	// Sequential asks the sources one after another in the calling
	// goroutine, each under its own Timeout, instead of side by side.
	Sequential bool
}

// Collector combines the sources of one cluster into the signals of each
// role, once per interval.
type Collector struct {
	cfg CollectorConfig
}

// NewCollector returns a collector for cfg.
func NewCollector(cfg CollectorConfig) *Collector {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	return &Collector{cfg: cfg}
}

// Request says what one observation needs, per role ("coordinators",
// "dbservers").
type Request struct {
	Tasks   map[string][]Task   // role -> its Marathon tasks
	PromQL  map[string][]string // role -> PromQL expressions
	Signals map[string][]string // role -> built-in signals the policy uses
	// Health, when not nil, is the ArangoDB server list the caller read
	// this interval; the ArangoDB source then does not read it again.
	Health []Server
	// ArangoDBOnly asks no other source (Mesos, Prometheus): a read of
	// ArangoDB signals between intervals, such as the disk usage a
	// scale-down checks first, must not move the Mesos cpu windows.
	ArangoDBOnly bool
}

// Observation is one interval's view of a cluster.
type Observation struct {
	Roles      map[string]RoleSignals // role -> signal key -> series
	Servers    []Server               // ArangoDB health list (nil if unreadable)
	Capacity   Capacity
	CapacityOK bool
	Errors     []error // every source failure of this observation
}

// SourceError tags an error with the source it came from.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return e.Source + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *SourceError) Unwrap() error { return e.Err }

// roleOf maps an ArangoDB server role to a policy role ("" for others).
func roleOf(arangoRole string) string {
	switch arangoRole {
	case "COORDINATOR":
		return RoleCoordinators
	case "DBSERVER":
		return RoleDBServers
	}
	return ""
}

// Observe queries ArangoDB, Mesos and Prometheus concurrently, each under
// the configured deadline, and assembles the signals of each role. It never
// fails as a whole: what a failed source would have given is missing, with
// the reason, and the failure is in Errors and reported through OnError.
func (c *Collector) Observe(ctx context.Context, req Request) *Observation {
	ob := &Observation{Roles: map[string]RoleSignals{}}
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		snap   *ArangoSnapshot
		usage  map[string]TaskUsage
		promV  = map[string]float64{}
		promE  = map[string]error{}
		report = func(source string, err error) {
			mu.Lock()
			ob.Errors = append(ob.Errors, &SourceError{Source: source, Err: err})
			mu.Unlock()
		}
	)
	// The source calls are collected, then run side by side: all but the
	// first in goroutines of their own, the first (the ArangoDB scrape, the
	// longest) in this one, which saves a goroutine start and its stack
	// growth per interval.
	var jobs []func(ctx context.Context)
	run := func(f func(ctx context.Context)) { jobs = append(jobs, f) }
	bounded := func(f func(ctx context.Context)) {
		ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		defer cancel()
		f(ctx)
	}

	need, fallback := c.arangoRoles(req)
	if c.cfg.ArangoDB != nil {
		run(func(ctx context.Context) {
			servers := req.Health
			if servers == nil {
				var err error
				if servers, err = c.cfg.ArangoDB.Health(ctx); err != nil {
					report(SourceArangoDB, err)
					return
				}
			}
			s := c.cfg.ArangoDB.scrapeSome(ctx, servers, func(s Server) bool { return need[roleOf(s.Role)] })
			for _, e := range s.Errors {
				report(SourceArangoDB, e)
			}
			snap = s
		})
	}
	if c.cfg.Mesos != nil && !req.ArangoDBOnly {
		run(func(ctx context.Context) {
			capa, err := c.cfg.Mesos.Capacity(ctx)
			if err != nil {
				report(SourceMesos, err)
				return
			}
			mu.Lock()
			ob.Capacity, ob.CapacityOK = capa, true
			mu.Unlock()
		})
		var all []Task
		for _, role := range sortedKeys(req.Tasks) {
			all = append(all, req.Tasks[role]...)
		}
		if len(all) > 0 {
			run(func(ctx context.Context) {
				u, err := c.cfg.Mesos.TaskStats(ctx, all)
				for _, e := range unjoin(err) {
					report(SourceMesos, e)
				}
				mu.Lock()
				usage = u
				mu.Unlock()
			})
		}
	}
	exprs := map[string]bool{}
	for _, es := range req.PromQL {
		for _, e := range es {
			exprs[e] = true
		}
	}
	if c.cfg.Prometheus != nil && !req.ArangoDBOnly {
		var at time.Time
		if c.cfg.Clock != nil {
			at = c.cfg.Clock.Now()
		}
		for e := range exprs {
			run(func(ctx context.Context) {
				v, err := c.cfg.Prometheus.Query(ctx, e, at)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					promE[e] = err
					if !errors.Is(err, ErrMissing) {
						// An answer that is not one number is the policy's
						// problem, not a source failure.
						ob.Errors = append(ob.Errors, &SourceError{Source: SourcePrometheus, Err: err})
					}
					return
				}
				promV[e] = v
			})
		}
	}
	for _, f := range jobs[min(1, len(jobs)):] {
		if c.cfg.Sequential {
			bounded(f)
			continue
		}
		wg.Go(func() { bounded(f) })
	}
	if len(jobs) > 0 {
		bounded(jobs[0])
	}
	wg.Wait()
	if snap != nil && len(fallback) > 0 {
		c.scrapeFallback(ctx, req, fallback, snap, usage, report)
	}

	if c.cfg.OnError != nil {
		for _, e := range ob.Errors {
			var se *SourceError
			if errors.As(e, &se) {
				c.cfg.OnError(se.Source, se.Err)
			}
		}
	}

	a := assembly{req: req, snap: snap, usage: usage, arangoOn: c.cfg.ArangoDB != nil}
	if snap != nil {
		ob.Servers = snap.Servers
	}
	a.index()
	roles := map[string]bool{}
	for r := range req.Tasks {
		roles[r] = true
	}
	for r := range req.Signals {
		roles[r] = true
	}
	for r := range req.PromQL {
		roles[r] = true
	}
	for r := range roles {
		rs := RoleSignals{}
		for _, sig := range req.Signals[r] {
			if _, done := rs[sig]; !done {
				rs[sig] = a.series(r, sig)
			}
		}
		for _, e := range req.PromQL[r] {
			key := PromQLSignalPrefix + e
			switch {
			case c.cfg.Prometheus == nil:
				rs[key] = &Series{Missing: 1, Aggregate: true, Reason: "no Prometheus source configured"}
			case req.ArangoDBOnly:
				rs[key] = &Series{Missing: 1, Aggregate: true, Reason: "Prometheus not asked (an ArangoDB-only read)"}
			case promE[e] != nil:
				rs[key] = &Series{Missing: 1, Aggregate: true, Reason: promE[e].Error()}
			default:
				rs[key] = &Series{Values: []float64{promV[e]}, IDs: []string{key}, Aggregate: true}
			}
		}
		ob.Roles[r] = rs
	}
	return ob
}

// arangoRoles says which roles' servers an observation scrapes: need, the
// roles that read a signal only ArangoDB has (requests, queue, latency,
// disk, shards), or cpu and memory without Mesos; fallback, the roles that
// read only cpu or memory, whose servers are scraped only for the tasks
// Mesos gave no statistics for (scrapeFallback). A replay's hpa and
// threshold contenders read only cpu, and scraping their coordinators was
// a tenth of their work.
func (c *Collector) arangoRoles(req Request) (need, fallback map[string]bool) {
	need, fallback = map[string]bool{}, map[string]bool{}
	for r, sigs := range req.Signals {
		for _, sig := range sigs {
			if (sig == SignalCPU || sig == SignalMemory) && c.cfg.Mesos != nil && len(req.Tasks[r]) > 0 {
				fallback[r] = true
			} else {
				need[r] = true
			}
		}
	}
	for r := range need {
		delete(fallback, r)
	}
	return need, fallback
}

// scrapeFallback scrapes, after Mesos answered, the servers of the
// fallback roles' tasks that Mesos has no usable cpu or memory for, and
// adds them to snap. A cpu from ArangoDB's process time is a rate: the
// first interval of a fallback has none yet.
func (c *Collector) scrapeFallback(ctx context.Context, req Request, fallback map[string]bool, snap *ArangoSnapshot, usage map[string]TaskUsage, report func(string, error)) {
	want := map[string]bool{}
	for r := range fallback {
		for _, t := range req.Tasks[r] {
			if u, ok := usage[t.ID]; ok && u.CPUOK && u.MemoryOK {
				continue
			}
			if hp := taskHostPort(t); hp != "" {
				want[hp] = true
			}
		}
	}
	if len(want) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	more := c.cfg.ArangoDB.scrapeSome(ctx, snap.Servers, func(s Server) bool {
		return fallback[roleOf(s.Role)] && want[endpointHostPort(s.Endpoint)]
	})
	for _, e := range more.Errors {
		report(SourceArangoDB, e)
	}
	maps.Copy(snap.Signals, more.Signals)
	maps.Copy(snap.Missing, more.Missing)
}

// assembly builds per-role series from one observation's source answers.
type assembly struct {
	req      Request
	snap     *ArangoSnapshot
	usage    map[string]TaskUsage
	arangoOn bool

	byRole     map[string][]Server
	byHostPort map[string]Server
}

func (a *assembly) index() {
	a.byRole = map[string][]Server{}
	a.byHostPort = map[string]Server{}
	if a.snap == nil {
		return
	}
	for _, s := range a.snap.Servers {
		r := roleOf(s.Role)
		if r == "" || s.Status == "FAILED" || s.Status == "BAD" {
			// A BAD or FAILED member is down, or gone after a scale-down
			// and waiting for removeServer; it serves nothing, so it is not
			// an instance whose signals are missing.
			continue
		}
		a.byRole[r] = append(a.byRole[r], s)
		if hp := endpointHostPort(s.Endpoint); hp != "" {
			a.byHostPort[hp] = s
		}
	}
}

// endpointHostPort turns "tcp://host:port" (or ssl://, http://) into
// "host:port".
func endpointHostPort(ep string) string {
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Host)
}

func taskHostPort(t Task) string {
	if t.Host == "" || len(t.Ports) == 0 {
		return ""
	}
	return strings.ToLower(t.Host) + ":" + strconv.Itoa(t.Ports[0])
}

// reasons collects per-instance reasons into one short string.
type reasons struct {
	list []string
	more int
}

func (r *reasons) add(id, why string) {
	if len(r.list) < 3 {
		r.list = append(r.list, id+": "+why)
		return
	}
	r.more++
}

func (r *reasons) String() string {
	s := strings.Join(r.list, "; ")
	if r.more > 0 {
		s += fmt.Sprintf("; and %d more", r.more)
	}
	return s
}

// series computes one built-in signal of one role.
func (a *assembly) series(role, sig string) *Series {
	s := &Series{}
	var why reasons
	known := false
	for _, k := range arangoSignals {
		known = known || k == sig
	}
	if !known {
		s.Missing = max(1, len(a.req.Tasks[role]))
		s.Reason = "unknown signal " + strconv.Quote(sig)
		return s
	}
	tasks := a.req.Tasks[role]
	if (sig == SignalCPU || sig == SignalMemory) && len(tasks) > 0 {
		// The instances are the role's Marathon tasks: Mesos statistics
		// first, the linked ArangoDB server's process statistics second.
		for _, t := range tasks {
			v, ok, reason := a.taskValue(t, sig)
			if ok {
				s.Values = append(s.Values, v)
				s.IDs = append(s.IDs, t.ID)
				continue
			}
			s.Missing++
			why.add(t.ID, reason)
		}
		s.Reason = why.String()
		return s
	}
	if a.snap == nil {
		s.Missing = max(1, len(tasks), len(a.byRole[role]))
		if a.arangoOn {
			s.Reason = "ArangoDB metrics unavailable (cluster health unreadable)"
		} else {
			s.Reason = "no ArangoDB source configured"
		}
		return s
	}
	servers := a.byRole[role]
	if len(servers) == 0 {
		s.Missing = max(1, len(tasks))
		s.Reason = "no " + role + " in the ArangoDB health list"
		return s
	}
	for _, srv := range servers {
		if v, ok := a.snap.Signals[srv.ID][sig]; ok {
			s.Values = append(s.Values, v)
			s.IDs = append(s.IDs, srv.ID)
			continue
		}
		s.Missing++
		reason := a.snap.Missing[srv.ID][sig]
		if reason == "" {
			reason = "not scraped"
		}
		why.add(serverName(srv), reason)
	}
	s.Reason = why.String()
	return s
}

func serverName(s Server) string {
	if s.ShortName != "" {
		return s.ShortName
	}
	return s.ID
}

// taskValue is the CPU or memory utilization of one task.
func (a *assembly) taskValue(t Task, sig string) (float64, bool, string) {
	var mesosWhy string
	if a.usage != nil {
		u, ok := a.usage[t.ID]
		switch {
		case !ok:
			mesosWhy = "no Mesos statistics"
		case sig == SignalCPU && u.CPUOK:
			return u.CPU, true, ""
		case sig == SignalMemory && u.MemoryOK:
			return u.Memory, true, ""
		default:
			mesosWhy = "mesos: " + u.Reason
		}
	} else {
		mesosWhy = "no Mesos statistics"
	}
	if a.snap == nil {
		return 0, false, mesosWhy + "; no ArangoDB metrics"
	}
	srv, ok := a.byHostPort[taskHostPort(t)]
	if !ok {
		return 0, false, mesosWhy + "; no ArangoDB server at " + taskHostPort(t)
	}
	if v, ok := a.snap.Signals[srv.ID][sig]; ok {
		return v, true, ""
	}
	return 0, false, mesosWhy + "; arangodb: " + a.snap.Missing[srv.ID][sig]
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// unjoin splits an errors.Join result into its parts.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
