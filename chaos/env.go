package chaos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/reload"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/fault"
)

// Start of every run's virtual time: a Monday morning, so the schedule
// floor of the policy fires during the run.
var epoch = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// The two clusters of a run: alpha carries the varying load and the
// interesting faults; beta is small and steady, and is what "other
// clusters go on" is checked against.
const (
	alpha = "alpha"
	beta  = "beta"
)

// policyTmpl is the chaos policy. Coordinators follow the request rate
// (so the policy's answer can be computed from the offered load), DB
// servers their CPU; short windows keep runs short in virtual time.
var policyTmpl = template.Must(template.New("p").Parse(`clusters:
{{- range .Clusters}}
  - name: {{.Name}}
    interval: 15s
    arangodb:
      endpoints: [{{.URL}}]
    marathon:
      coordinators: /arangodb-{{.Name}}/coordinator
      dbservers: /arangodb-{{.Name}}/dbserver
    roles:
      coordinators:
        min: 2
        max: 8
        metrics:
          - signal: requests_per_second
            target_per_instance: {{$.CoordRPS}}
        tolerance: 0.1
        stabilization: {up: 0s, down: 1m}
        cooldown: {up: 1m, down: 1m}
        step: {up: "100%", down: "50%"}
{{- if eq .Name "alpha"}}
        schedule:
          - cron: "10 10 * * *"
            duration: 10m
            min: 4
{{- end}}
      dbservers:
        min: {{if and (eq .Name "alpha") $.DBMin}}{{$.DBMin}}{{else}}3{{end}}
        max: 5
{{- if and (eq .Name "alpha") $.DBPaused}}
        paused: true
{{- end}}
        metrics:
          - signal: cpu_utilization
            target: 0.7
        stabilization: {up: 0s, down: 1m}
        cooldown: {up: 2m, down: 2m}
        step: {up: 1, down: 1}
{{- end}}
`))

// coordRPS is the coordinators' target_per_instance.
const coordRPS = 650

// interval is the reconcile interval of the chaos policy.
const interval = 15 * time.Second

// syncBuffer is the captured log output of every controller of a run.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one run's world: the emulated DC/OS + ArangoDB with auth on, the
// fault injector in front of every listener, the checker in front of the
// injector, and the real controller built as production builds it.
type env struct {
	o       Options
	ctx     context.Context // ends the run early
	clk     *clock.Virtual
	world   *sim.World
	inj     *fault.Injector
	chk     *Checker
	sec     Secrets
	logs    *syncBuffer
	logger  *slog.Logger
	dir     string
	rel     *reload.Reloader[*policy.Config]
	full    *policy.Config
	tr      http.RoundTripper // the controller's way to the emulators
	probeTr *http.Transport
	probe   *http.Client // to the controller's own HTTP server, over TCP
	httpSrv *httptest.Server

	mu      sync.Mutex // guards procs, ctl, handler and load
	procs   []*proc
	seq     int
	ctl     *controller.Controller // the newest process: /status, /metrics
	handler http.Handler
	load    map[string]float64

	timeline []timed
	hooks    []hook
	planned  []planned
	steps    int
	restarts int
	reloads  int
	notes    []string
	lostHit  bool // a lost response since the last step
	crashArm bool // crash the DB server being cleaned out (tests)
	crashed  int
	end      time.Time // end of the faults
	episodes []*episode
	armed    []*armedFault
	steering bool // an armed fault steers alpha's load
	// duringReconcile run side by side with the next reconcile.
	duringReconcile []func()
	override        *dbOverride // alpha's DB-server policy changed by a reload
	boundsDirty     bool        // the checker has yet to get the override's bounds
	opServer        string      // the operator's cleaned-out server
	opUndo          string      // the operator's server to take back
	opSince         time.Time
	opClean         int // intervals without an active fault since opSince
	pinned          map[string]bool
	traceOff        time.Duration // where in the hosted trace the run starts
	holdLoad        bool          // the faults stopped: the load holds
	pins            []string
	aborted         bool
}

type timed struct {
	at   time.Time
	name string
	do   func()
}

// newEnv builds and starts the world and the first controller.
func newEnv(ctx context.Context, o Options) (*env, error) {
	e := &env{o: o, ctx: ctx, clk: clock.NewVirtual(epoch), logs: &syncBuffer{},
		load: map[string]float64{alpha: 800, beta: 300}}
	if o.alphaLoad > 0 {
		e.load[alpha] = o.alphaLoad
	}
	e.inj = fault.New(e.clk, uint64(o.Seed))
	e.inj.OnHit(func(ev fault.Event) {
		if ev.Action == fault.LostResponse {
			e.mu.Lock()
			e.lostHit = true
			e.mu.Unlock()
		}
	})
	e.sec = newSecrets(o.Seed)
	var logOut io.Writer = e.logs
	if o.Logs != nil {
		logOut = io.MultiWriter(e.logs, o.Logs)
	}
	e.logger = slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))

	p := sim.DefaultParams()
	p.DCOS.Agents = 8
	coords, dbs := 2, max(o.alphaDBServers, 3)
	if h := o.Host; h != nil {
		p.DCOS.Agents = h.agents
		e.traceOff = h.offset(o.Seed, o.Duration)
		if h.trace != nil {
			e.load[alpha] = h.traceLoad(e.traceOff, 0)
		}
		rp := h.pc.Roles[policy.Coordinators]
		coords = min(max(coords, rp.Min), rp.Max)
		if rp := h.pc.Roles[policy.DBServers]; rp != nil {
			dbs = min(max(dbs, rp.Min, 2), rp.Max)
		}
	}
	p.DCOS.Seed = uint64(o.Seed) + 1
	p.DCOS.Token = e.sec.DCOSToken
	if e.sec.ArangoJWTSecret != "" {
		p.Arango.JWTSecret = e.sec.ArangoJWTSecret
	} else {
		p.Arango.Username, p.Arango.Password = e.sec.ArangoUser, e.sec.ArangoPassword
	}
	p.Wrap = func(service string, h http.Handler) http.Handler {
		return e.chk.Wrap(service, e.inj.Wrap(service, h))
	}
	loadOf := func(name string) sim.LoadFunc {
		return func(time.Duration) float64 {
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.load[name]
		}
	}
	w, err := sim.NewWorld(e.clk, p,
		sim.ClusterSpec{Name: alpha, Coordinators: coords, DBServers: dbs, Load: loadOf(alpha), Collections: []arango.CollectionSpec{
			{Name: "orders", NumberOfShards: 6, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 6 << 30},
			{Name: "sessions", NumberOfShards: 3, ReplicationFactor: 1, WriteConcern: 1, SizeBytes: 1 << 30},
		}},
		sim.ClusterSpec{Name: beta, Coordinators: 2, DBServers: 3, Load: loadOf(beta), Collections: []arango.CollectionSpec{
			{Name: "events", NumberOfShards: 3, ReplicationFactor: 2, WriteConcern: 1, SizeBytes: 1 << 30},
		}},
	)
	if err != nil {
		return nil, err
	}
	e.world = w
	// The checker wraps the listeners at Start; it learns the policy's
	// bounds before the first request that needs them.
	e.chk = NewChecker(w, &policy.Config{}, e.clk)
	if err := w.Start(); err != nil {
		return nil, err
	}
	// The controller reaches the emulators in process: the same handlers,
	// fault wrappers and bytes as over TCP, at a fraction of the cost.
	e.tr = w.InProcess()
	e.probeTr = &http.Transport{MaxIdleConnsPerHost: 16}
	e.probe = &http.Client{Timeout: 5 * time.Second, Transport: e.probeTr}

	e.dir, err = os.MkdirTemp("", "arangoscale-chaos-")
	if err != nil {
		e.close()
		return nil, err
	}
	if err := e.writePolicy(alpha, beta); err != nil {
		e.close()
		return nil, err
	}
	e.rel, err = reload.New(e.policyPath(), policy.Load, reload.Options{Clock: e.clk, Logger: e.logger})
	if err != nil {
		e.close()
		return nil, err
	}
	if _, err := e.rel.Reload(ctx); err != nil {
		e.close()
		return nil, fmt.Errorf("chaos policy: %w", err)
	}
	e.full = e.rel.Current()
	e.rel.OnChange(func(_, p *policy.Config) {
		if err := e.controller().SetPolicy(p); err != nil {
			e.note("controller refused the reloaded policy: %v", err)
		}
	})
	e.chk.setPolicy(e.full)
	e.httpSrv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		h := e.handler
		e.mu.Unlock()
		h.ServeHTTP(rw, r)
	}))
	if err := e.startController(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) policyPath() string { return filepath.Join(e.dir, "policies.yaml") }

// writePolicy writes the chaos policy with the named clusters.
func (e *env) writePolicy(names ...string) error {
	if e.o.Host != nil {
		data, err := e.hostedPolicy(names)
		if err != nil {
			return err
		}
		return os.WriteFile(e.policyPath(), data, 0o600)
	}
	type cl struct{ Name, URL string }
	var cs []cl
	for _, n := range names {
		cs = append(cs, cl{n, e.world.ArangoURL(n)})
	}
	var b bytes.Buffer
	data := map[string]any{"Clusters": cs, "CoordRPS": coordRPS, "DBMin": 0, "DBPaused": false}
	if o := e.override; o != nil {
		data["DBMin"], data["DBPaused"] = o.Min, o.Paused
	}
	if err := policyTmpl.Execute(&b, data); err != nil {
		return err
	}
	return os.WriteFile(e.policyPath(), b.Bytes(), 0o600)
}

// writeRaw writes arbitrary policy bytes (an invalid reload).
func (e *env) writeRaw(data string) error {
	return os.WriteFile(e.policyPath(), []byte(data), 0o600)
}

func (e *env) close() {
	if e.httpSrv != nil {
		e.httpSrv.Close()
	}
	if e.world != nil {
		e.world.Close()
	}
	if e.probeTr != nil {
		e.probeTr.CloseIdleConnections()
	}
	if e.dir != "" {
		_ = os.RemoveAll(e.dir)
	}
}

func (e *env) controller() *controller.Controller {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ctl
}

// restart checks what the old process exposes, then replaces it.
func (e *env) restart(why string) {
	e.checkExposed("before restart")
	if err := e.startController(); err != nil {
		e.chk.Violate("", "controller restart (%s) failed: %v", why, err)
		return
	}
	e.restarts++
	e.note("controller restarted (%s)", why)
}

func (e *env) note(format string, args ...any) {
	e.notes = append(e.notes, "+"+e.clk.Now().Sub(epoch).String()+" "+fmt.Sprintf(format, args...))
}

func (e *env) setLoad(cluster string, rps float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.load[cluster] = rps
}

func (e *env) loadOf(cluster string) float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.load[cluster]
}

// at schedules f at virtual time t (run at the first step at or after t).
func (e *env) at(t time.Time, name string, f func()) {
	e.timeline = append(e.timeline, timed{t, name, f})
	sort.SliceStable(e.timeline, func(i, j int) bool { return e.timeline[i].at.Before(e.timeline[j].at) })
}

// stepTimeout bounds one reconcile in real time: far above what any
// fault can cost with the chaos timeouts (a few slow answers of
// SourceTimeout each).
const stepTimeout = 60 * time.Second

// step advances one interval: the world, the faults, the timeline, one
// reconcile; then the invariants.
func (e *env) step() {
	if e.ctx.Err() != nil {
		e.aborted = true
		return
	}
	if h := e.o.Host; h != nil && h.trace != nil && !e.steering && !e.holdLoad {
		e.setLoad(alpha, h.traceLoad(e.traceOff, e.clk.Now().Add(interval).Sub(epoch)))
	}
	e.world.Advance(interval)
	e.inj.Tick()
	now := e.clk.Now()
	for len(e.timeline) > 0 && !e.timeline[0].at.After(now) {
		t := e.timeline[0]
		e.timeline = e.timeline[1:]
		t.do()
	}
	e.runHooks()
	e.crashMidCleanOut()
	e.runArmed()
	e.runOperatorUndo()
	during := e.duringReconcile
	e.duringReconcile = nil
	if !e.reconcile(during...) {
		e.chk.Violate("stuck", "a reconcile did not return within %s of real time", stepTimeout)
		e.aborted = true
		return
	}
	e.applyBounds()
	e.steps++
	e.notePins()
	e.chk.CheckStep()
	e.checkOperator()
	// Again right after the reconcile: a clean-out it just started may
	// be over by the next step (a server holding little).
	e.runArmed()
	if code, _ := e.get("/healthz"); code != http.StatusOK {
		e.chk.Violate("healthz", "/healthz answered %d", code)
	}
	e.mu.Lock()
	lost := e.lostHit
	e.lostHit = false
	e.mu.Unlock()
	if lost && e.o.RestartAfterLost {
		e.restart("right after a lost response")
	}
}

// notePins records every role that reports a manual pin. No operator
// writes numberOfServers in a chaos run, so a pin is the controller taking
// a count it wrote itself for an operator's.
func (e *env) notePins() {
	for _, c := range e.controller().Status().Clusters {
		for _, rs := range c.Roles {
			key := c.Name + "/" + rs.Role
			if contains(rs.Reasons, "manual_override") && !e.pinned[key] {
				if e.pinned == nil {
					e.pinned = map[string]bool{}
				}
				e.pinned[key] = true
				e.pins = append(e.pins, fmt.Sprintf("+%s %s pinned at %d (target %d) with no operator", e.clk.Now().Sub(epoch), key, rs.Desired, rs.Target))
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// crashMidCleanOut crashes the task of the DB server being cleaned out,
// once, when armed.
func (e *env) crashMidCleanOut() {
	if !e.crashArm {
		return
	}
	for _, name := range e.world.Clusters() {
		ac := e.world.ArangoDB(name)
		run := ac.RunningCleanOuts()
		if len(run) == 0 {
			continue
		}
		for _, s := range ac.Servers() {
			if s.ID == run[0] && s.TaskID != "" {
				e.chk.Excuse(s.TaskID, s.ID)
				if err := e.world.Marathon().FailTask(s.TaskID); err == nil {
					e.crashArm = false
					e.crashed++
					e.note("crashed DB server %s of %s mid clean-out", s.ShortName, name)
					return
				}
			}
		}
	}
}

// get fetches a controller endpoint over HTTP.
func (e *env) get(path string) (int, string) {
	resp, err := e.probe.Get(e.httpSrv.URL + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkExposed looks for secrets in everything the controller shows.
func (e *env) checkExposed(when string) {
	_, st := e.get("/status")
	e.chk.CheckSecrets(e.sec, "/status "+when, st)
	_, m := e.get("/metrics")
	e.chk.CheckSecrets(e.sec, "/metrics "+when, m)
	if err := e.rel.LastError(); err != nil {
		e.chk.CheckSecrets(e.sec, "the reload error", err.Error())
	}
}

// role returns the controller's status of a cluster's role.
func (e *env) role(cluster string, r policy.Role) (controller.RoleStatus, controller.SagaStatus, bool) {
	for _, c := range e.controller().Status().Clusters {
		if c.Name != cluster {
			continue
		}
		for _, rs := range c.Roles {
			if rs.Role == string(r) {
				return rs, c.Saga, true
			}
		}
	}
	return controller.RoleStatus{}, controller.SagaStatus{}, false
}

// reloadPolicy reloads the file the way SIGHUP or a file change does.
func (e *env) reloadPolicy() error {
	e.reloads++
	_, err := e.rel.Reload(e.ctx)
	return err
}

// errInvalidAccepted: an invalid policy was taken.
var errInvalidAccepted = errors.New("invalid policy accepted")

// invalidReload writes a policy with errors, reloads, and checks it was
// rejected with the old policy kept; then writes the good one back.
func (e *env) invalidReload() {
	before := e.controller().Policy()
	names := e.policyNames(before)
	bad := "clusters:\n  - name: " + alpha + "\n    roles:\n      coordinators: {min: 5, max: 2, bogus: 1}\n"
	if err := e.writeRaw(bad); err != nil {
		e.chk.Violate("", "write policy: %v", err)
		return
	}
	err := e.reloadPolicy()
	switch {
	case err == nil:
		e.chk.Violate("", "%v", errInvalidAccepted)
	case !errors.Is(err, reload.ErrRejected):
		e.chk.Violate("", "invalid reload failed as %v, want a rejection", err)
	case e.controller().Policy() != before:
		e.chk.Violate("", "invalid reload replaced the controller's policy")
	}
	if ok, _ := e.rel.LastSuccess(); ok {
		e.chk.Violate("", "invalid reload reported successful")
	}
	e.note("invalid reload rejected")
	if err := e.writePolicy(names...); err != nil {
		e.chk.Violate("", "write policy: %v", err)
	}
	if err := e.reloadPolicy(); err != nil {
		e.chk.Violate("", "reload of the restored policy: %v", err)
	}
}

func (e *env) policyNames(p *policy.Config) []string {
	var out []string
	for _, c := range p.Clusters {
		out = append(out, c.Name)
	}
	return out
}

// setClusters reloads a policy with just the named clusters.
func (e *env) setClusters(names ...string) {
	if err := e.writePolicy(names...); err != nil {
		e.chk.Violate("", "write policy: %v", err)
		return
	}
	if err := e.reloadPolicy(); err != nil {
		e.chk.Violate("", "reload of a valid policy failed: %v", err)
	}
	e.note("policy now has clusters %s", strings.Join(names, ", "))
}

// newSecrets derives a run's credentials from its seed: distinctive
// strings, so finding one anywhere is never a coincidence. Even seeds use
// an ArangoDB JWT secret, odd ones basic auth.
func newSecrets(seed int64) Secrets {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xc0ffee))
	mk := func(kind string) string { return fmt.Sprintf("%s-%016x%016x", kind, rng.Uint64(), rng.Uint64()) }
	s := Secrets{DCOSToken: mk("dcostok"), AdminToken: mk("admintok")}
	if seed%2 == 0 {
		s.ArangoJWTSecret = mk("jwtsecret")
	} else {
		s.ArangoUser = "root"
		s.ArangoPassword = mk("arangopw")
	}
	return s
}
