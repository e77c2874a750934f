package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/redirect"
)

// ArangoDBOptions tunes an ArangoDB source.
type ArangoDBOptions struct {
	// Timeout bounds each request (default DefaultTimeout).
	Timeout time.Duration
	// CPUs gives the CPU count per server (by server id or short name) for
	// the process-time CPU fallback. Default: the server's
	// arangodb_server_statistics_cpu_cores, else 1.
	CPUs map[string]float64
	// ForgetAfter drops the previous samples of servers not seen for this
	// long (default DefaultForgetAfter).
	ForgetAfter time.Duration
	// Parallel is how many servers are scraped at once (default
	// DefaultParallel); 1 scrapes them one after another in the calling
	// goroutine.
	Parallel int
}

// DefaultParallel is how many servers of one cluster are scraped at once,
// each on its own keep-alive connection to the coordinator; 4 scrape a
// 10-server cluster in three round trips. run keeps one of them idle per
// coordinator between intervals (cmd/arangoscale/env.go): with 50 clusters,
// 8 kept per coordinator were ~350 connections (~9 MiB).
const DefaultParallel = 4

// ArangoDB scrapes the metrics of every coordinator and DB server of one
// cluster through one coordinator endpoint. It keeps the previous samples
// for rates; it is safe for concurrent use, but Scrape calls of one
// cluster are meant to be sequential.
type ArangoDB struct {
	client   *http.Client
	endpoint string
	clk      clock.Clock
	opts     ArangoDBOptions
	rates    *rates

	mu    sync.Mutex
	hists map[string]histPoint // server id -> previous request-time histogram

	// scratch holds *textScratch values: the read and parse buffers of
	// one server's scrape, reused across servers and intervals.
	scratch sync.Pool
}

type histPoint struct {
	h    histogram
	seen time.Time
}

// ArangoSnapshot is one scrape of a cluster.
type ArangoSnapshot struct {
	Servers []Server                      // every health entry, sorted by id
	Signals map[string]map[string]float64 // server id -> signal -> value
	Missing map[string]map[string]string  // server id -> signal -> reason
	// Errors holds one error per server that could not be scraped.
	Errors []error
}

// ServerError is the failure to scrape one server.
type ServerError struct {
	ServerID string
	Err      error
}

func (e *ServerError) Error() string { return "arangodb server " + e.ServerID + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *ServerError) Unwrap() error { return e.Err }

// NewArangoDB returns a source for the cluster reached at endpoint (a
// coordinator URL such as http://coordinator:8529). The client's
// transport adds authentication, so redirects are followed only within
// their origin (redirect.Guard).
func NewArangoDB(client *http.Client, endpoint string, clk clock.Clock, opts ArangoDBOptions) *ArangoDB {
	client = redirect.Guard(client)
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultParallel
	}
	return &ArangoDB{
		client:   client,
		endpoint: strings.TrimRight(endpoint, "/"),
		clk:      clk,
		opts:     opts,
		rates:    newRates(opts.ForgetAfter),
		hists:    map[string]histPoint{},
	}
}

// arangoSignals are the signals derived from ArangoDB metrics.
var arangoSignals = [...]string{SignalRequests, SignalQueue, SignalLatencyP95, SignalDisk, SignalMemory, SignalCPU, SignalShards}

// Scrape reads the server list and the metrics of every coordinator and DB
// server. It fails only when the server list cannot be read; a server that
// cannot be scraped gets all its signals missing with the reason, and its
// error in ArangoSnapshot.Errors.
func (a *ArangoDB) Scrape(ctx context.Context) (*ArangoSnapshot, error) {
	servers, err := a.Health(ctx)
	if err != nil {
		return nil, err
	}
	return a.scrapeSome(ctx, servers, nil), nil
}

// scrapeSome is Scrape with the server list the caller already read this
// interval (sorted by id, as Health returns it), for the servers keep
// accepts (nil: all); the others are in Servers but have neither signals
// nor reasons.
func (a *ArangoDB) scrapeSome(ctx context.Context, servers []Server, keep func(Server) bool) *ArangoSnapshot {
	snap := &ArangoSnapshot{
		Servers: servers,
		Signals: map[string]map[string]float64{},
		Missing: map[string]map[string]string{},
	}
	type result struct {
		id     string
		sample *arangoSample
		err    error
	}
	var targets []Server
	for _, s := range servers {
		if s.Role != "COORDINATOR" && s.Role != "DBSERVER" || keep != nil && !keep(s) {
			continue
		}
		if s.Status == "FAILED" || s.Status == "BAD" {
			// Down, or gone after a scale-down and waiting for
			// removeServer: not asked, so not a source error every interval.
			miss := make(map[string]string, len(arangoSignals))
			for _, sig := range arangoSignals {
				miss[sig] = "server is " + s.Status
			}
			snap.Missing[s.ID] = miss
			continue
		}
		targets = append(targets, s)
	}
	results := make([]result, len(targets))
	sem := make(chan struct{}, a.opts.Parallel)
	var wg sync.WaitGroup
	for i, s := range targets {
		if a.opts.Parallel == 1 {
			smp, err := a.scrapeServer(ctx, s)
			results[i] = result{s.ID, smp, err}
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			smp, err := a.scrapeServer(ctx, s)
			results[i] = result{s.ID, smp, err}
		}()
	}
	wg.Wait()
	now := a.clk.Now()
	for i, r := range results {
		if r.err != nil {
			snap.Errors = append(snap.Errors, &ServerError{ServerID: r.id, Err: r.err})
			miss := make(map[string]string, len(arangoSignals))
			for _, sig := range arangoSignals {
				miss[sig] = "scrape failed: " + r.err.Error()
			}
			snap.Missing[r.id] = miss
			continue
		}
		vals, miss := a.derive(targets[i], r.sample, now)
		snap.Signals[r.id] = vals
		snap.Missing[r.id] = miss
	}
	a.forget(now)
	return snap
}

// maxKeptBody is the largest read buffer kept for the next scrape; a
// larger answer's buffer is left to the garbage collector.
const maxKeptBody = 1 << 20

func (a *ArangoDB) scrapeServer(ctx context.Context, srv Server) (*arangoSample, error) {
	id := srv.ID
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	// serverId is sent for every server, the coordinator we talk to
	// included: ArangoDB answers its own id locally and forwards others.
	u := a.endpoint + "/_admin/metrics/v2?serverId=" + url.QueryEscape(id)
	ps, _ := a.scratch.Get().(*textScratch)
	if ps == nil {
		ps = new(textScratch)
	}
	defer func() {
		if ps.body.Cap() <= maxKeptBody {
			a.scratch.Put(ps)
		}
	}()
	body, err := getInto(ctx, a.client, u, "text/plain", &ps.body)
	if err != nil {
		return nil, err
	}
	s, err := ps.parse(body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	// A server that ignores serverId (or a proxy in between) would answer
	// with the coordinator's own metrics for every id: the role label
	// catches that for DB servers instead of reporting wrong numbers.
	if knownRole(s.role) && s.role != srv.Role {
		return nil, fmt.Errorf("GET %s: %w: metrics carry role %q, health says %q", u, ErrWrongServer, s.role, srv.Role)
	}
	return s, nil
}

// Health reads the cluster's server list from /_admin/cluster/health.
func (a *ArangoDB) Health(ctx context.Context) ([]Server, error) {
	ctx, cancel := context.WithTimeout(ctx, a.opts.Timeout)
	defer cancel()
	u := a.endpoint + "/_admin/cluster/health"
	body, err := get(ctx, a.client, u, "application/json")
	if err != nil {
		return nil, fmt.Errorf("arangodb cluster health: %w", err)
	}
	servers, err := parseHealth(body)
	if err != nil {
		return nil, fmt.Errorf("arangodb cluster health (GET %s): %w", u, err)
	}
	return servers, nil
}

type healthBody struct {
	Health map[string]struct {
		Role      string `json:"Role"`
		ShortName string `json:"ShortName"`
		Status    string `json:"Status"`
		Endpoint  string `json:"Endpoint"`
	} `json:"Health"`
	Error        bool   `json:"error"`
	ErrorMessage string `json:"errorMessage"`
}

// parseHealth decodes a /_admin/cluster/health body into servers sorted by
// id. Roles are upper-cased to match the metrics' role label; "DBServer"
// and "PRIMARY" become "DBSERVER".
func parseHealth(body []byte) ([]Server, error) {
	var hb healthBody
	if err := json.Unmarshal(body, &hb); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadBody, err)
	}
	if hb.Error {
		return nil, fmt.Errorf("%w: error answer: %s", ErrBadBody, hb.ErrorMessage)
	}
	if hb.Health == nil {
		return nil, fmt.Errorf("%w: no \"Health\" object", ErrBadBody)
	}
	servers := make([]Server, 0, len(hb.Health))
	for id, h := range hb.Health {
		servers = append(servers, Server{ID: id, ShortName: h.ShortName, Role: normalizeRole(h.Role), Status: h.Status, Endpoint: h.Endpoint})
	}
	sort.Slice(servers, func(i, j int) bool { return servers[i].ID < servers[j].ID })
	return servers, nil
}

// knownRole tells role labels that identify a server kind.
func knownRole(r string) bool {
	switch r {
	case "COORDINATOR", "DBSERVER", "SINGLE", "AGENT":
		return true
	}
	return false
}

// derive computes the signals of one server from its sample.
func (a *ArangoDB) derive(srv Server, s *arangoSample, now time.Time) (map[string]float64, map[string]string) {
	vals := make(map[string]float64, len(arangoSignals))
	miss := map[string]string{}
	absent := func(sig, metric string) {
		if metric == s.suspect && metric != "" {
			miss[sig] = metric + ": last line of a body without final newline (possibly truncated)"
			return
		}
		miss[sig] = metric + " not present"
	}
	v := s.values

	if c, ok := v[mRequests]; ok {
		if r, ok, why := a.rates.observe(srv.ID, mRequests, c, now, now); ok {
			vals[SignalRequests] = r
		} else {
			miss[SignalRequests] = why
		}
	} else {
		absent(SignalRequests, mRequests)
	}

	if q, ok := v[mQueue]; ok {
		vals[SignalQueue] = q
	} else {
		absent(SignalQueue, mQueue)
	}

	if sh, ok := v[mShards]; ok {
		vals[SignalShards] = sh
	} else {
		absent(SignalShards, mShards)
	}

	free, okF := v[mFreeDisk]
	total, okT := v[mTotalDisk]
	switch {
	case !okF:
		absent(SignalDisk, mFreeDisk)
	case !okT:
		absent(SignalDisk, mTotalDisk)
	case total <= 0 || free < 0 || free > total:
		miss[SignalDisk] = fmt.Sprintf("implausible disk space: free %g of total %g", free, total)
	default:
		vals[SignalDisk] = 1 - free/total
	}

	rss, okR := v[mRSS]
	phys, okP := v[mPhysMem]
	switch {
	case !okR:
		absent(SignalMemory, mRSS)
	case !okP:
		absent(SignalMemory, mPhysMem)
	case phys <= 0 || rss < 0:
		miss[SignalMemory] = fmt.Sprintf("implausible memory: rss %g of physical %g", rss, phys)
	default:
		vals[SignalMemory] = rss / phys
	}

	ut, okU := v[mUserTime]
	st, okS := v[mSystemTime]
	switch {
	case !okU:
		absent(SignalCPU, mUserTime)
	case !okS:
		absent(SignalCPU, mSystemTime)
	default:
		cpus := a.cpus(srv, s)
		if r, ok, why := a.rates.observe(srv.ID, "process_cpu_seconds", ut+st, now, now); ok {
			vals[SignalCPU] = r / cpus
		} else {
			miss[SignalCPU] = why
		}
	}

	if !s.histOK {
		miss[SignalLatencyP95] = s.histWhy
		a.mu.Lock()
		delete(a.hists, srv.ID) // a gap: the next complete one is a new base
		a.mu.Unlock()
	} else {
		a.mu.Lock()
		prev, had := a.hists[srv.ID]
		a.hists[srv.ID] = histPoint{h: s.hist, seen: now}
		a.mu.Unlock()
		if !had {
			miss[SignalLatencyP95] = reasonFirstScrape
		} else if p, ok, why := deltaQuantile(0.95, prev.h, s.hist); ok {
			vals[SignalLatencyP95] = p
		} else {
			miss[SignalLatencyP95] = why
		}
	}
	return vals, miss
}

func (a *ArangoDB) cpus(srv Server, s *arangoSample) float64 {
	if c, ok := a.opts.CPUs[srv.ID]; ok && c > 0 {
		return c
	}
	if c, ok := a.opts.CPUs[srv.ShortName]; ok && c > 0 && srv.ShortName != "" {
		return c
	}
	if c, ok := s.values[mCPUCores]; ok && c > 0 {
		return c
	}
	return 1
}

func (a *ArangoDB) forget(now time.Time) {
	a.rates.forget(now)
	cut := now.Add(-a.rates.forgetAfter)
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, p := range a.hists {
		if p.seen.Before(cut) {
			delete(a.hists, id)
		}
	}
}
