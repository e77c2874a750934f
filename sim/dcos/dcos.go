// Package dcos emulates the parts of DC/OS that arangoscale talks to: the
// Marathon 1.x REST API and a Mesos master with its agents. One state
// machine, advanced explicitly by Step(now), backs every HTTP endpoint, so
// the same emulator runs in real time (demo, emulate) and in virtual time
// (tests, simulate).
//
// The emulator owns apps, tasks, deployments, the launch queue, agent
// resources and per-task resource usage. It knows nothing about ArangoDB:
// callers learn about task life-cycle through Hooks and feed usage back with
// SetTaskUsage.
package dcos

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

// Task states as Marathon reports them.
const (
	StateStaging = "TASK_STAGING"
	StateRunning = "TASK_RUNNING"
)

// MaxInstances is the most instances one emulated app may have.
const MaxInstances = 1000

// Errors returned by the Go API (the HTTP API answers with Marathon's
// status codes and bodies instead).
var (
	ErrUnknownApp    = errors.New("dcos: unknown app")
	ErrUnknownTask   = errors.New("dcos: unknown task")
	ErrAppExists     = errors.New("dcos: app already exists")
	ErrInvalidParams = errors.New("dcos: invalid params")
	ErrInvalidApp    = errors.New("dcos: invalid app")
	ErrStarted       = errors.New("dcos: already started")
)

// Params configure the emulated cluster. Zero fields take the defaults of
// DefaultParams, except Token and ServiceAccounts (empty: no auth).
type Params struct {
	// StagingDelay is how long a new task stays TASK_STAGING (default 10s).
	StagingDelay time.Duration
	// HealthDelay is how long a running task waits for its first passing
	// health check (default 20s).
	HealthDelay time.Duration
	// RestartDelay is how long Marathon waits before it replaces a failed
	// task (default 5s, Marathon's backoffSeconds-ish).
	RestartDelay time.Duration
	// Agents is the number of Mesos agents (default 6).
	Agents int
	// AgentCPUs, AgentMemMB and AgentDiskMB are each agent's resources
	// (default 8 cpus, 32 GiB, 500 GiB).
	AgentCPUs   float64
	AgentMemMB  float64
	AgentDiskMB float64
	// Seed makes task, instance and deployment ids deterministic.
	Seed uint64
	// Token, when set, is the DC/OS ACS token every request except /ping
	// and the login must carry as "Authorization: token=<Token>".
	Token string
	// ServiceAccounts maps a service account uid to the public key that
	// verifies its RS256 login token at POST /acs/api/v1/auth/login.
	ServiceAccounts map[string]*rsa.PublicKey
	// Wrap, when set, wraps every listener's handler (fault injection,
	// request recording); service is ServiceMarathon, ServiceMesos or
	// AgentService(i).
	Wrap func(service string, h http.Handler) http.Handler
	// Addr, when set, is the listen address of a service (same names as
	// Wrap); "" or no Addr means 127.0.0.1 on a random port.
	Addr func(service string) string
	// Strict makes the emulated Marathon reject, as real Marathon does,
	// requests the emulator would otherwise let pass: a PUT /v2/apps/{id}
	// whose body is not application/json is 415 (AppsResource is
	// @Consumes(MediaType.APPLICATION_JSON); Jersey's 415 goes through
	// MarathonExceptionMapper). Tests turn it on to catch clients that
	// only work against a lenient stand-in.
	Strict bool
}

// MaxAgents bounds Params.Agents: the agents' port ranges are 1000 wide
// from 31000 and must stay below 65535.
const MaxAgents = 30

// DefaultParams returns the documented defaults.
func DefaultParams() Params {
	return Params{
		StagingDelay: 10 * time.Second,
		HealthDelay:  20 * time.Second,
		RestartDelay: 5 * time.Second,
		Agents:       6,
		AgentCPUs:    8,
		AgentMemMB:   32 * 1024,
		AgentDiskMB:  500 * 1024,
		Seed:         1,
	}
}

func (p Params) withDefaults() (Params, error) {
	d := DefaultParams()
	if p.StagingDelay < 0 || p.HealthDelay < 0 || p.RestartDelay < 0 || p.Agents < 0 ||
		p.AgentCPUs < 0 || p.AgentMemMB < 0 || p.AgentDiskMB < 0 {
		return p, fmt.Errorf("%w: negative delay, agent count or agent resource", ErrInvalidParams)
	}
	if p.StagingDelay == 0 {
		p.StagingDelay = d.StagingDelay
	}
	if p.HealthDelay == 0 {
		p.HealthDelay = d.HealthDelay
	}
	if p.RestartDelay == 0 {
		p.RestartDelay = d.RestartDelay
	}
	if p.Agents == 0 {
		p.Agents = d.Agents
	}
	if p.Agents > MaxAgents {
		return p, fmt.Errorf("%w: at most %d agents, got %d", ErrInvalidParams, MaxAgents, p.Agents)
	}
	if p.AgentCPUs == 0 {
		p.AgentCPUs = d.AgentCPUs
	}
	if p.AgentMemMB == 0 {
		p.AgentMemMB = d.AgentMemMB
	}
	if p.AgentDiskMB == 0 {
		p.AgentDiskMB = d.AgentDiskMB
	}
	return p, nil
}

// AppSpec defines a Marathon app.
type AppSpec struct {
	ID        string // absolute path, e.g. /arangodb-prod/dbserver
	Instances int
	CPUs      float64
	MemMB     float64
	DiskMB    float64
	Ports     int // host ports per task (default 1)
	Labels    map[string]string
	Cmd       string
}

// Task is a snapshot of one Marathon task.
type Task struct {
	ID        string
	AppID     string
	AgentID   string
	Host      string
	Ports     []int
	State     string
	StagedAt  time.Time
	StartedAt time.Time // zero while staging
	Healthy   bool
	CPUs      float64
	MemMB     float64
}

// AppStatus is a snapshot of one app's counters.
type AppStatus struct {
	ID          string
	Instances   int // target
	Staged      int
	Running     int
	Healthy     int
	Queued      int // instances waiting for a launch (backoff or no resources)
	Deployments []string
}

// Hooks tell the caller about task life-cycle events. They are called
// outside the emulator's lock, in event order, and may call back into the
// emulator.
type Hooks struct {
	OnTaskHealthy func(appID string, t Task)
	OnTaskGone    func(appID, taskID string)
}

type agent struct {
	idx      int
	id       string
	cpus     float64
	mem      float64
	disk     float64
	portLow  int
	portHigh int
	usedPort map[int]bool
	srv      *server
}

type task struct {
	id          string
	instanceID  string
	incarnation int
	app         *app
	agent       *agent
	ports       []int
	stagedAt    time.Time
	startedAt   time.Time
	healthyAt   time.Time
	healthFrom  time.Time // health checks count from here (after a fault)
	unhealthy   bool      // failing its health checks (a fault)
	version     time.Time
	cpuFrac     float64
	memRSS      int64
	cpuSecs     float64
}

func (t *task) running() bool { return !t.startedAt.IsZero() }
func (t *task) healthy() bool { return !t.healthyAt.IsZero() }
func (t *task) state() string {
	if t.running() {
		return StateRunning
	}
	return StateStaging
}

type pendingLaunch struct {
	instanceID  string
	incarnation int
	notBefore   time.Time
	queuedAt    time.Time
}

type offerSummary struct {
	processed     int // offers processed since the app was queued
	unused        int
	lastUnused    time.Time
	lastUsed      time.Time
	lastDeclined  map[string]int
	lastProcessed map[string]int
}

type taskFailure struct {
	taskID  string
	at      time.Time
	message string
	state   string
	host    string
	slaveID string
	version time.Time
}

type app struct {
	spec          AppSpec
	version       time.Time
	lastScalingAt time.Time
	lastConfigAt  time.Time
	tasks         []*task
	pending       []pendingLaunch
	deployment    *deployment
	offers        offerSummary
	lastFailure   *taskFailure
	servicePort   int
}

type deployment struct {
	id      string
	version time.Time
	apps    []*app
	before  map[*app]int // instances before the deployment, for a rollback
}

type event struct {
	healthy bool
	appID   string
	task    Task
	taskID  string
}

// Cluster is the emulated Marathon + Mesos. All methods are safe for
// concurrent use.
type Cluster struct {
	clk clock.Clock
	p   Params

	hookMu sync.Mutex // serialises hook delivery so events keep their order

	mu          sync.Mutex
	rng         *rand.Rand
	masterID    string
	frameworkID string
	agents      []*agent
	apps        map[string]*app
	deployments map[string]*deployment
	last        time.Time
	started     time.Time
	hooks       Hooks
	events      []event
	nextSvcPort int
	counters    struct{ failed, killed int }
	faults      faults

	marathonSrv *server
	masterSrv   *server
}

// New returns an emulated cluster with p's agents and no apps.
func New(clk clock.Clock, p Params) (*Cluster, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	now := clk.Now()
	c := &Cluster{
		clk:         clk,
		p:           p,
		rng:         rand.New(rand.NewPCG(p.Seed, p.Seed^0x9e3779b97f4a7c15)),
		apps:        map[string]*app{},
		deployments: map[string]*deployment{},
		last:        now,
		started:     now,
		nextSvcPort: 10000,
	}
	c.masterID = c.uuid()
	c.frameworkID = c.uuid() + "-0000"
	for i := range p.Agents {
		c.agents = append(c.agents, &agent{
			idx:      i,
			id:       fmt.Sprintf("%s-S%d", c.masterID, i),
			cpus:     p.AgentCPUs,
			mem:      p.AgentMemMB,
			disk:     p.AgentDiskMB,
			portLow:  31000 + 1000*i,
			portHigh: 31000 + 1000*i + 999,
			usedPort: map[int]bool{},
		})
	}
	return c, nil
}

// Params returns the effective parameters (defaults filled in).
func (c *Cluster) Params() Params { return c.p }

// SetHooks installs the life-cycle hooks; set them before adding apps.
func (c *Cluster) SetHooks(h Hooks) {
	c.mu.Lock()
	c.hooks = h
	c.mu.Unlock()
}

// uuid returns a deterministic RFC 4122 version-4 shaped id. Caller holds mu
// (or is the constructor).
func (c *Cluster) uuid() string {
	a, b := c.rng.Uint64(), c.rng.Uint64()
	a = (a &^ (0xf << 12)) | (0x4 << 12)
	b = (b &^ (0x3 << 62)) | (0x2 << 62)
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// normalizeAppID turns "a/b", "/a/b/" into "/a/b".
func normalizeAppID(id string) string {
	id = strings.Trim(id, "/")
	return "/" + id
}

func validAppID(id string) bool {
	if id == "/" {
		return false
	}
	for _, seg := range strings.Split(strings.TrimPrefix(id, "/"), "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
				return false
			}
		}
	}
	return true
}

// taskIDPrefix is the app path with "/" → "_" minus the leading one, as
// Marathon ≥ 1.8 builds instance ids (mesosphere/marathon
// src/main/scala/mesosphere/marathon/core/instance/Instance.scala).
func taskIDPrefix(appID string) string {
	return strings.ReplaceAll(strings.TrimPrefix(appID, "/"), "/", "_")
}

// AddApp creates an app. Its instances are launched immediately where they
// fit and start out running and healthy (a cluster that was deployed before
// the emulation began); what does not fit waits in the queue.
func (c *Cluster) AddApp(spec AppSpec) error {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	spec.ID = normalizeAppID(spec.ID)
	if !validAppID(spec.ID) {
		return fmt.Errorf("%w: id %q", ErrInvalidApp, spec.ID)
	}
	if spec.Instances < 0 || spec.Instances > MaxInstances || spec.CPUs < 0 || spec.MemMB < 0 || spec.DiskMB < 0 || spec.Ports < 0 {
		return fmt.Errorf("%w: %s: negative instances or resources", ErrInvalidApp, spec.ID)
	}
	if _, ok := c.apps[spec.ID]; ok {
		return fmt.Errorf("%w: %s", ErrAppExists, spec.ID)
	}
	a := c.newApp(spec)
	now := c.clk.Now()
	c.topUp(a, now)
	for i := 0; i < len(a.pending); {
		pl := a.pending[i]
		t := c.place(a, pl, now)
		if t == nil {
			i++
			continue
		}
		a.pending = slices.Delete(a.pending, i, i+1)
		t.startedAt, t.healthyAt = now, now
		c.events = append(c.events, event{healthy: true, appID: a.spec.ID, task: t.snapshot()})
	}
	return nil
}

func (c *Cluster) newApp(spec AppSpec) *app {
	if spec.Ports == 0 {
		spec.Ports = 1
	}
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	now := c.clk.Now()
	a := &app{spec: spec, version: now, lastScalingAt: now, lastConfigAt: now, servicePort: c.nextSvcPort}
	c.nextSvcPort += spec.Ports
	c.apps[spec.ID] = a
	return a
}

// live is the number of instances the app has or will launch.
func (a *app) live() int { return len(a.tasks) + len(a.pending) }

// topUp queues new instances until the app has its target count.
func (c *Cluster) topUp(a *app, now time.Time) {
	for a.live() < a.spec.Instances {
		a.pending = append(a.pending, pendingLaunch{instanceID: c.uuid(), incarnation: 1, notBefore: now, queuedAt: now})
	}
}

// reasons in the order Marathon's offer matcher checks them
// (mesosphere/marathon src/main/scala/mesosphere/mesos/NoOfferMatchReason.scala).
var rejectReasons = []string{"UnfulfilledRole", "UnfulfilledConstraint", "NoCorrespondingReservationFound",
	"AgentMaintenance", "InsufficientCpus", "InsufficientMemory", "InsufficientDisk", "InsufficientGpus",
	"InsufficientPorts", "DeclinedScarceResources"}

func (c *Cluster) agentFree(ag *agent) (cpus, mem, disk float64, ports int) {
	cpus, mem, disk = ag.cpus, ag.mem, ag.disk
	for _, a := range c.apps {
		for _, t := range a.tasks {
			if t.agent == ag {
				cpus -= a.spec.CPUs
				mem -= a.spec.MemMB
				disk -= a.spec.DiskMB
			}
		}
	}
	return cpus, mem, disk, ag.portHigh - ag.portLow + 1 - len(ag.usedPort)
}

// place launches pl on the agent with the most free resources that fits,
// recording the offer-matching outcome; nil if it fits nowhere.
func (c *Cluster) place(a *app, pl pendingLaunch, now time.Time) *task {
	const eps = 1e-9
	var best *agent
	bestScore := -1.0
	declined := map[string]int{}
	processed := map[string]int{}
	for _, ag := range c.agents {
		cpus, mem, disk, ports := c.agentFree(ag)
		reason := ""
		switch {
		case cpus+eps < a.spec.CPUs:
			reason = "InsufficientCpus"
		case mem+eps < a.spec.MemMB:
			reason = "InsufficientMemory"
		case disk+eps < a.spec.DiskMB:
			reason = "InsufficientDisk"
		case ports < a.spec.Ports:
			reason = "InsufficientPorts"
		}
		// Every offer passes the checks before the failing one: the
		// funnel Marathon reports as "processed" per reason.
		for _, r := range rejectReasons {
			processed[r]++
			if r == reason {
				declined[r]++
				break
			}
		}
		if reason != "" {
			continue
		}
		score := cpus/ag.cpus + mem/ag.mem
		if score > bestScore+eps {
			best, bestScore = ag, score
		}
	}
	a.offers.processed += len(c.agents)
	if best == nil {
		a.offers.unused += len(c.agents)
		a.offers.lastUnused = now
		a.offers.lastDeclined, a.offers.lastProcessed = declined, processed
		return nil
	}
	a.offers.unused += len(c.agents) - 1
	a.offers.lastUsed = now
	t := &task{
		id:          fmt.Sprintf("%s.instance-%s._app.%d", taskIDPrefix(a.spec.ID), pl.instanceID, pl.incarnation),
		instanceID:  pl.instanceID,
		incarnation: pl.incarnation,
		app:         a,
		agent:       best,
		stagedAt:    now,
		version:     a.version,
	}
	for p := best.portLow; p <= best.portHigh && len(t.ports) < a.spec.Ports; p++ {
		if !best.usedPort[p] {
			best.usedPort[p] = true
			t.ports = append(t.ports, p)
		}
	}
	a.tasks = append(a.tasks, t)
	return t
}

func (t *task) snapshot() Task {
	return Task{
		ID:        t.id,
		AppID:     t.app.spec.ID,
		AgentID:   t.agent.id,
		Host:      "127.0.0.1",
		Ports:     slices.Clone(t.ports),
		State:     t.state(),
		StagedAt:  t.stagedAt,
		StartedAt: t.startedAt,
		Healthy:   t.healthy(),
		CPUs:      t.app.spec.CPUs,
		MemMB:     t.app.spec.MemMB,
	}
}

// removeTask takes t off its agent and out of its app and reports it gone.
func (c *Cluster) removeTask(t *task) {
	a := t.app
	for _, p := range t.ports {
		delete(t.agent.usedPort, p)
	}
	a.tasks = slices.DeleteFunc(a.tasks, func(x *task) bool { return x == t })
	c.events = append(c.events, event{appID: a.spec.ID, taskID: t.id})
}

// scaleTo sets the target and, going down, drops queued instances first,
// then kills staging tasks, then the newest running ones — Marathon's
// choice (mesosphere/marathon core/deployment/ScalingProposition.scala).
func (c *Cluster) scaleTo(a *app, n int, now time.Time) {
	if n != a.spec.Instances {
		a.lastScalingAt = now
	}
	a.spec.Instances = n
	for a.live() > n && len(a.pending) > 0 {
		a.pending = a.pending[:len(a.pending)-1]
	}
	if len(a.tasks) > n {
		victims := slices.Clone(a.tasks)
		sort.SliceStable(victims, func(i, j int) bool {
			if victims[i].running() != victims[j].running() {
				return !victims[i].running()
			}
			return victims[i].stagedAt.After(victims[j].stagedAt)
		})
		for _, t := range victims[:len(a.tasks)-n] {
			c.removeTask(t)
			c.counters.killed++
		}
	}
	c.topUp(a, now)
}

// newDeployment locks apps under a new deployment, replacing (force) any
// deployment they had. before holds the apps' instance counts from before
// the change.
func (c *Cluster) newDeployment(now time.Time, before map[*app]int, apps ...*app) *deployment {
	d := &deployment{id: c.uuid(), version: now, apps: apps, before: before}
	for _, a := range apps {
		if old := a.deployment; old != nil {
			old.apps = slices.DeleteFunc(old.apps, func(x *app) bool { return x == a })
			if len(old.apps) == 0 {
				delete(c.deployments, old.id)
			}
		}
		a.deployment = d
		a.version = now
	}
	c.deployments[d.id] = d
	return d
}

// converged: the app has exactly its instances, all running and healthy.
func (a *app) converged() bool {
	if len(a.pending) > 0 || len(a.tasks) != a.spec.Instances {
		return false
	}
	for _, t := range a.tasks {
		if !t.healthy() {
			return false
		}
	}
	return true
}

// Step advances the model to now: launches queued instances that fit,
// moves tasks staging → running → healthy at their exact times, accrues
// CPU time, and finishes converged deployments. Calling it again with the
// same (or an earlier) time changes nothing but a retry of launches.
func (c *Cluster) Step(now time.Time) {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Before(c.last) {
		now = c.last
	}
	for _, id := range c.sortedAppIDs() {
		a := c.apps[id]
		c.topUp(a, now)
		for i := 0; i < len(a.pending); {
			pl := a.pending[i]
			if pl.notBefore.After(now) {
				i++
				continue
			}
			// Offers come all the time: an instance launches as soon as it
			// may within the step, not at its end.
			at := pl.notBefore
			if at.Before(c.last) {
				at = c.last
			}
			if c.place(a, pl, at) == nil {
				break // the rest will not fit either
			}
			a.pending = slices.Delete(a.pending, i, i+1)
		}
		for _, t := range a.tasks {
			if !t.running() && !t.stagedAt.Add(c.p.StagingDelay).After(now) {
				t.startedAt = t.stagedAt.Add(c.p.StagingDelay)
			}
			c.applyHealthFaultLocked(t, now)
			checksFrom := t.startedAt
			if t.healthFrom.After(checksFrom) {
				checksFrom = t.healthFrom
			}
			if t.running() && !t.healthy() && !t.unhealthy && !checksFrom.Add(c.p.HealthDelay).After(now) {
				t.healthyAt = checksFrom.Add(c.p.HealthDelay)
				c.events = append(c.events, event{healthy: true, appID: a.spec.ID, task: t.snapshot()})
			}
			if t.running() {
				from := c.last
				if t.startedAt.After(from) {
					from = t.startedAt
				}
				if dt := now.Sub(from).Seconds(); dt > 0 {
					t.cpuSecs += t.cpuFrac * a.spec.CPUs * dt
				}
			}
		}
		if len(a.pending) == 0 {
			a.offers = offerSummary{}
		}
	}
	for id, d := range c.deployments {
		done := true
		for _, a := range d.apps {
			done = done && a.converged() && !c.faults.stuckApps[a.spec.ID]
		}
		if done {
			for _, a := range d.apps {
				a.deployment = nil
			}
			delete(c.deployments, id)
		}
	}
	c.last = now
}

func (c *Cluster) sortedAppIDs() []string {
	ids := make([]string, 0, len(c.apps))
	for id := range c.apps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// flush delivers queued events to the hooks, outside mu and in order.
func (c *Cluster) flush() {
	c.hookMu.Lock()
	defer c.hookMu.Unlock()
	c.mu.Lock()
	evs, h := c.events, c.hooks
	c.events = nil
	c.mu.Unlock()
	for _, e := range evs {
		switch {
		case e.healthy && h.OnTaskHealthy != nil:
			h.OnTaskHealthy(e.appID, e.task)
		case !e.healthy && h.OnTaskGone != nil:
			h.OnTaskGone(e.appID, e.taskID)
		}
	}
}

func (c *Cluster) findTask(taskID string) *task {
	for _, a := range c.apps {
		for _, t := range a.tasks {
			if t.id == taskID {
				return t
			}
		}
	}
	return nil
}

// SetTaskUsage sets the CPU fraction (of the task's cpus) and resident
// memory a task uses from now on; cumulative CPU seconds grow by
// cpuFraction × cpus × dt per Step. Unknown tasks are ignored: usage may
// race with a task going away.
func (c *Cluster) SetTaskUsage(taskID string, cpuFraction float64, memRSS int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.findTask(taskID); t != nil {
		t.cpuFrac = max(cpuFraction, 0)
		t.memRSS = max(memRSS, 0)
	}
}

// FailTask makes a task die (TASK_FAILED). Marathon relaunches the same
// instance with the next incarnation — a new task id — after RestartDelay.
func (c *Cluster) FailTask(taskID string) error {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.findTask(taskID)
	if t == nil {
		return fmt.Errorf("%w: %s", ErrUnknownTask, taskID)
	}
	now := c.clk.Now()
	a := t.app
	c.removeTask(t)
	c.counters.failed++
	a.lastFailure = &taskFailure{taskID: t.id, at: now, message: "Command exited with status 137", state: "TASK_FAILED", host: "127.0.0.1", slaveID: t.agent.id, version: t.version}
	a.pending = append(a.pending, pendingLaunch{instanceID: t.instanceID, incarnation: t.incarnation + 1,
		notBefore: now.Add(c.p.RestartDelay), queuedAt: now})
	return nil
}

// Scale sets an app's instances as PUT /v2/apps/{id}?force=true would and
// returns the deployment id.
func (c *Cluster) Scale(appID string, instances int) (string, error) {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.apps[normalizeAppID(appID)]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrUnknownApp, appID)
	}
	if instances < 0 || instances > MaxInstances {
		return "", fmt.Errorf("%w: %s: instances %d out of [0, %d]", ErrInvalidApp, appID, instances, MaxInstances)
	}
	now := c.clk.Now()
	before := map[*app]int{a: a.spec.Instances}
	c.scaleTo(a, instances, now)
	return c.newDeployment(now, before, a).id, nil
}

// Tasks returns the app's tasks, oldest first.
func (c *Cluster) Tasks(appID string) []Task {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.apps[normalizeAppID(appID)]
	if !ok {
		return nil
	}
	out := make([]Task, 0, len(a.tasks))
	for _, t := range a.tasks {
		out = append(out, t.snapshot())
	}
	return out
}

// AppStatus returns an app's counters.
func (c *Cluster) AppStatus(appID string) (AppStatus, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.apps[normalizeAppID(appID)]
	if !ok {
		return AppStatus{}, false
	}
	return a.status(), true
}

func (a *app) counts() (staged, running, healthy int) {
	for _, t := range a.tasks {
		if t.running() {
			running++
		} else {
			staged++
		}
		if t.healthy() {
			healthy++
		}
	}
	return
}

func (a *app) status() AppStatus {
	s := AppStatus{ID: a.spec.ID, Instances: a.spec.Instances, Queued: len(a.pending)}
	s.Staged, s.Running, s.Healthy = a.counts()
	if a.deployment != nil {
		s.Deployments = []string{a.deployment.id}
	}
	return s
}

// Agents returns the Mesos agent ids in order.
func (c *Cluster) Agents() []string {
	out := make([]string, len(c.agents))
	for i, ag := range c.agents {
		out[i] = ag.id
	}
	return out
}

// FreeResources returns the unallocated cpus and memory (MB) over all agents.
func (c *Cluster) FreeResources() (cpus, memMB float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ag := range c.agents {
		fc, fm, _, _ := c.agentFree(ag)
		cpus += fc
		memMB += fm
	}
	return cpus, memMB
}

// RemoveApp deletes an app with its tasks, queued launches and deployments:
// where DELETE /v2/apps/{appId} (apps.raml) ends once its deployment has
// killed the tasks. The tasks are reported gone like killed ones.
func (c *Cluster) RemoveApp(appID string) error {
	defer c.flush()
	c.mu.Lock()
	defer c.mu.Unlock()
	appID = normalizeAppID(appID)
	a, ok := c.apps[appID]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownApp, appID)
	}
	for len(a.tasks) > 0 {
		c.removeTask(a.tasks[0])
	}
	a.pending = nil
	for id, d := range c.deployments {
		if slices.Contains(d.apps, a) {
			delete(c.deployments, id)
		}
	}
	delete(c.apps, appID)
	return nil
}

// SetLabels replaces an app's labels, as a PUT /v2/apps/{appId} with
// "labels" does (without the deployment a label change starts).
func (c *Cluster) SetLabels(appID string, labels map[string]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.apps[normalizeAppID(appID)]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownApp, appID)
	}
	a.spec.Labels = maps.Clone(labels)
	if a.spec.Labels == nil {
		a.spec.Labels = map[string]string{}
	}
	return nil
}
