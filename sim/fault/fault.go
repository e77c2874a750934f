// Package fault injects faults into the emulated world of package sim:
// HTTP faults by wrapping every emulator listener (sim.Params.Wrap) and
// model faults through the emulators' hooks, each active in a window of
// (virtual) time. An Injector holds the rules; whether a matching request
// is hit is drawn from the seed, the request's key and how many such
// requests came before, so a run is reproducible even when clusters
// reconcile concurrently.
package fault

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

// Action is what a rule does to a request it hits.
type Action int

// The HTTP actions.
const (
	// Unavailable answers Status (default 503) with Body (default a short
	// JSON message) without running the handler.
	Unavailable Action = iota + 1
	// Slow holds the request until the client gives up (its context ends)
	// and answers nothing: a response past the client's deadline.
	Slow
	// Reset closes the connection without an answer (TCP RST).
	Reset
	// Conflict answers 409 with Marathon's "app is locked" body.
	Conflict
	// Truncate runs the handler and sends its status and headers with only
	// the first half of the body, then closes the connection.
	Truncate
	// Garble runs the handler and replaces its body with bytes that are
	// not what the content type promises.
	Garble
	// LostResponse runs the handler (its effect happens) and then resets
	// the connection: the client never learns it succeeded.
	LostResponse
	// NotLeader answers 503 as a Marathon that lost its leader does.
	NotLeader
	// Redirect answers 307 to Location plus the request URI (a Marathon or
	// Mesos master that is not the leader); empty Location: the same URL.
	Redirect
	// Respond answers Status with Body (e.g. ArangoDB's 412 to
	// removeServer) without running the handler.
	Respond
	// Stale answers a GET with the answer the emulator gave the same
	// request (method and URI) last before the rule's From, without
	// running the handler: an old view of the app and its tasks. Marathon
	// serves reads from its in-memory state, which after a leader
	// election is what the new leader loaded from ZooKeeper until task
	// reconciliation with Mesos catches up (Marathon docs, "High
	// Availability Mode" and "Task Handling"); the bytes are upstream's,
	// only old. A request never answered before From passes through.
	Stale
)

var actionNames = map[Action]string{
	Unavailable: "unavailable", Slow: "slow", Reset: "reset", Conflict: "conflict", Truncate: "truncate",
	Garble: "garble", LostResponse: "lost_response", NotLeader: "not_leader", Redirect: "redirect", Respond: "respond", Stale: "stale",
}

func (a Action) String() string {
	if s, ok := actionNames[a]; ok {
		return s
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Real bodies of the answers the actions imitate.
const (
	// MarathonLockedBody is Marathon 1.x's 409 to a change of a locked app.
	MarathonLockedBody = `{"message":"App is locked by one or more deployments. Override with the option '?force=true'. View details at '/v2/deployments/<DEPLOYMENT_ID>'.","deployments":[{"id":"97c136bf-5a28-4821-9d94-480d9fbb01c8"}]}`
	// MarathonNoLeaderBody is what Marathon answers (503) while it has no
	// leader to proxy to.
	MarathonNoLeaderBody = `{"message":"Could not determine the current leader"}`
	// ArangoPreconditionBody is ArangoDB's 412 to removeServer of a server
	// that may not be removed.
	ArangoPreconditionBody = `{"code":412,"error":true,"errorMessage":"server may not be deleted","errorNum":1999}`
	unavailableBody        = `{"message":"service unavailable"}`
)

// Rule selects requests and says what to do to them.
type Rule struct {
	// Name identifies the rule in events and Remove.
	Name string
	// Service is the listener ("marathon", "mesos", "agent:3",
	// "arangodb:prod"); a trailing "*" matches a prefix; "" matches all.
	Service string
	// Method matches exactly; "" matches all.
	Method string
	// Path is a prefix of the request path; "" matches all.
	Path string
	// From and Until bound the rule in (virtual) time: From ≤ now < Until.
	// A zero Until never ends.
	From, Until time.Time
	// Probability of hitting a matching request; 0 means 1.
	Probability float64
	// Limit, when positive, is the most requests the rule hits.
	Limit int

	Action   Action
	Status   int
	Body     string
	Location string
}

func (r *Rule) matches(service string, req *http.Request, now time.Time) bool {
	switch {
	case r.Service != "" && !matchService(r.Service, service):
		return false
	case r.Method != "" && r.Method != req.Method:
		return false
	case r.Path != "" && !strings.HasPrefix(req.URL.Path, r.Path):
		return false
	case now.Before(r.From):
		return false
	case !r.Until.IsZero() && !now.Before(r.Until):
		return false
	}
	return true
}

func matchService(pattern, service string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(service, p)
	}
	return pattern == service
}

// Event records one request a rule hit.
type Event struct {
	At                    time.Time
	Rule                  string
	Service, Method, Path string
	Action                Action
}

func (e Event) String() string {
	return fmt.Sprintf("%s %s %s %s %s→%s", e.At.UTC().Format(time.TimeOnly), e.Rule, e.Service, e.Method, e.Path, e.Action)
}

// ErrBadRule is returned by Add for a rule without an action or with a
// probability outside [0, 1].
var ErrBadRule = errors.New("fault: invalid rule")

type ruleState struct {
	Rule
	hits int
}

// Injector holds HTTP rules and model faults. It is safe for concurrent use.
type Injector struct {
	clk  clock.Clock
	seed uint64

	mu     sync.Mutex
	rules  []*ruleState
	seen   map[string]uint64 // draws per rule and request key
	events []Event
	models []*modelState
	onHit  func(Event)
	// stale holds the last answer to each GET of a service while a Stale
	// rule for it has not ended: service → method and URI → answer.
	stale map[string]map[string]*recorded
}

type recorded struct {
	at     time.Time
	code   int
	header http.Header
	body   []byte
}

// New returns an injector reading time from clk; seed decides the
// probabilistic hits.
func New(clk clock.Clock, seed uint64) *Injector {
	return &Injector{clk: clk, seed: seed, seen: map[string]uint64{}}
}

// OnHit sets a function called (outside the injector's lock, before the
// action) for every request a rule hits.
func (in *Injector) OnHit(f func(Event)) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.onHit = f
}

// Add installs a rule.
func (in *Injector) Add(r Rule) error {
	if _, ok := actionNames[r.Action]; !ok {
		return fmt.Errorf("%w: rule %q: unknown action %d", ErrBadRule, r.Name, r.Action)
	}
	if r.Probability < 0 || r.Probability > 1 || r.Probability != r.Probability {
		return fmt.Errorf("%w: rule %q: probability %v outside [0, 1]", ErrBadRule, r.Name, r.Probability)
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = append(in.rules, &ruleState{Rule: r})
	return nil
}

// Remove drops every rule with the name.
func (in *Injector) Remove(name string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	kept := in.rules[:0]
	for _, r := range in.rules {
		if r.Name != name {
			kept = append(kept, r)
		}
	}
	in.rules = kept
}

// ClearRules drops every HTTP rule (model faults are stopped by StopAll).
func (in *Injector) ClearRules() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = nil
}

// Events returns the requests hit so far.
func (in *Injector) Events() []Event {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Event(nil), in.events...)
}

// draw returns a number in [0, 1) decided by the seed, the rule, the
// request key and how many times this key was drawn for the rule.
func (in *Injector) draw(rule int, key string) float64 {
	k := strconv.Itoa(rule) + " " + key
	n := in.seen[k]
	in.seen[k] = n + 1
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%d", in.seed, k, n)
	x := h.Sum64()
	// splitmix64 finaliser: fnv's low bits are weak.
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

// pick returns the first rule hitting the request, recording the event.
func (in *Injector) pick(service string, r *http.Request) (*Rule, bool) {
	now := in.clk.Now()
	in.mu.Lock()
	var hit *Rule
	var ev Event
	for i, rs := range in.rules {
		if !rs.matches(service, r, now) || (rs.Limit > 0 && rs.hits >= rs.Limit) {
			continue
		}
		if p := rs.Probability; p > 0 && p < 1 && in.draw(i, service+" "+r.Method+" "+r.URL.Path) >= p {
			continue
		}
		rs.hits++
		rule := rs.Rule
		hit = &rule
		ev = Event{At: now, Rule: rs.Name, Service: service, Method: r.Method, Path: r.URL.Path, Action: rs.Action}
		in.events = append(in.events, ev)
		break
	}
	f := in.onHit
	in.mu.Unlock()
	if hit != nil && f != nil {
		f(ev)
	}
	return hit, hit != nil
}

// Wrap returns h with the injector's rules applied to requests of service;
// it has the signature of sim.Params.Wrap.
func (in *Injector) Wrap(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule, ok := in.pick(service, r)
		switch {
		case ok && rule.Action == Stale:
			if old := in.recordedBefore(service, r, rule.From); old != nil {
				for k, v := range old.header {
					w.Header()[k] = v
				}
				w.WriteHeader(old.code)
				_, _ = w.Write(old.body)
				return
			}
			h.ServeHTTP(w, r)
		case ok:
			apply(rule, h, w, r)
		case r.Method == http.MethodGet && in.recording(service):
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			in.record(service, r, rec)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// recording reports whether a Stale rule for service has yet to begin:
// only then are answers kept (it costs a copy of each), and an answer
// given once the rule began never replaces the old one.
func (in *Injector) recording(service string) bool {
	now := in.clk.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, rs := range in.rules {
		if rs.Action == Stale && (rs.Service == "" || matchService(rs.Service, service)) && now.Before(rs.From) {
			return true
		}
	}
	return false
}

func staleKey(r *http.Request) string { return r.Method + " " + r.URL.RequestURI() }

func (in *Injector) record(service string, r *http.Request, rec *httptest.ResponseRecorder) {
	now := in.clk.Now()
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stale == nil {
		in.stale = map[string]map[string]*recorded{}
	}
	m := in.stale[service]
	if m == nil {
		m = map[string]*recorded{}
		in.stale[service] = m
	}
	m[staleKey(r)] = &recorded{at: now, code: rec.Code, header: rec.Header().Clone(), body: bytes.Clone(rec.Body.Bytes())}
}

// recordedBefore returns the answer kept for the request if it was given
// before from.
func (in *Injector) recordedBefore(service string, r *http.Request, from time.Time) *recorded {
	in.mu.Lock()
	defer in.mu.Unlock()
	if old := in.stale[service][staleKey(r)]; old != nil && old.at.Before(from) {
		return old
	}
	return nil
}

// maxHold bounds Slow in real time for clients without a deadline.
const maxHold = 30 * time.Second

func apply(rule *Rule, h http.Handler, w http.ResponseWriter, r *http.Request) {
	switch rule.Action {
	case Unavailable:
		respond(w, or(rule.Status, http.StatusServiceUnavailable), orS(rule.Body, unavailableBody))
	case Respond:
		respond(w, or(rule.Status, http.StatusInternalServerError), rule.Body)
	case Conflict:
		respond(w, http.StatusConflict, orS(rule.Body, MarathonLockedBody))
	case NotLeader:
		respond(w, http.StatusServiceUnavailable, orS(rule.Body, MarathonNoLeaderBody))
	case Redirect:
		loc := r.URL.RequestURI()
		if rule.Location != "" {
			loc = strings.TrimRight(rule.Location, "/") + loc
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(http.StatusTemporaryRedirect)
	case Slow:
		// The server notices the client going away only once the body
		// has been read.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		t := time.NewTimer(maxHold)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-t.C:
		}
		reset(w)
	case Reset:
		reset(w)
	case LostResponse:
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		reset(w)
	case Truncate:
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		writeRaw(w, rec.Code, rec.Header(), len(body), body[:len(body)/2])
	case Garble:
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := garble(rec.Body.Bytes())
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	default:
		h.ServeHTTP(w, r)
	}
}

func or(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func orS(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func respond(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// garble keeps the length's order but breaks the syntax: a NUL-laden,
// unbalanced prefix, then the original bytes reversed.
func garble(b []byte) []byte {
	out := make([]byte, 0, len(b)+8)
	out = append(out, "{\x00\"\xff["...)
	for i := len(b) - 1; i >= 0; i-- {
		out = append(out, b[i])
	}
	return out
}

// reset closes the connection under w without an answer, with SO_LINGER
// 0 so the client sees a reset rather than a clean close.
func reset(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		respond(w, http.StatusBadGateway, unavailableBody) // not HTTP/1: the nearest we can do
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// writeRaw writes a response whose Content-Length promises more than the
// body sent, then closes the connection.
func writeRaw(w http.ResponseWriter, status int, hdr http.Header, length int, body []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		respond(w, http.StatusBadGateway, unavailableBody)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	keys := make([]string, 0, len(hdr))
	for k := range hdr {
		if k != "Content-Length" && k != "Transfer-Encoding" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range hdr[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n", length)
	b.Write(body)
	writeAll(buf, b.Bytes())
}

func writeAll(buf *bufio.ReadWriter, b []byte) {
	_, _ = buf.Write(b)
	_ = buf.Flush()
}
