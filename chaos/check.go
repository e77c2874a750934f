package chaos

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/arango"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// Checker checks the invariants of a chaos run. It sees every request the
// controller sends (Wrap, in front of the fault injector, so it sees what
// was sent even when a fault answers it) and the world after every step
// (CheckStep). Each distinct violation is reported once.
type Checker struct {
	world *sim.World
	pol   *policy.Config // bounds: the full policy, whatever is loaded now
	clk   clock.Clock
	// src gives the losses and incidents to check (the world; a test may
	// add its own).
	src interface {
		Losses() []arango.Loss
		Incidents() []arango.Incident
	}

	mu         sync.Mutex
	violations []string
	seen       map[string]bool
	inflight   map[string]int
	excused    map[string]time.Time // task and server ids the run crashed → when
	losses     int
	incidents  int
	scales     []Scale
	// actor is, per cluster, the process that sent the last change;
	// stoppedProcs are the processes gone (replaced).
	actor        map[string]actorRef
	stoppedProcs map[string]bool
	// creds are the credentials seen on requests → the services' family
	// they went to first.
	creds map[string]string
	// looseDeploy, while now is before it, lets a scale be sent during a
	// deployment: the controller's view is stale and Marathon's app lock
	// (409) refuses the request anyway.
	looseDeploy time.Time
	// Mutations counts the changes each process sent, by process id.
	mutations map[string]int
	cleanOuts map[string]int       // cleanOutServer requests of controllers per cluster
	foreign   map[string]time.Time // servers an operator started cleaning out → when
}

type actorRef struct {
	proc string
	at   time.Time
	what string
}

// excuseWindow is how long after a crash an incident or loss of the
// crashed server is the crash's doing: the world records both at the
// instant the task goes, so one interval of slack is plenty. Anything
// later is the controller's.
const excuseWindow = interval

// Scale is one scaling request the controller sent to Marathon.
type Scale struct {
	At        time.Time
	App       string
	From, To  int
	Kill      bool // a kill with scale=true
	Deploying bool // a deployment of the app was running
}

type roleRef struct {
	cluster string
	rp      *policy.RolePolicy
}

// NewChecker returns a checker of the world against the policy's bounds.
func NewChecker(w *sim.World, pol *policy.Config, clk clock.Clock) *Checker {
	return &Checker{world: w, src: w, pol: pol, clk: clk,
		seen: map[string]bool{}, inflight: map[string]int{}, excused: map[string]time.Time{},
		actor: map[string]actorRef{}, stoppedProcs: map[string]bool{}, creds: map[string]string{}, mutations: map[string]int{}, cleanOuts: map[string]int{}}
}

// replFloor is a cluster's replication floor read from the world: the
// highest replicationFactor or writeConcern of its collections now.
func (c *Checker) replFloor(cluster string) int {
	if ac := c.world.ArangoDB(cluster); ac != nil {
		return ac.ReplicationFloor()
	}
	return 0
}

// stopped records that a controller process is gone.
func (c *Checker) stopped(proc string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stoppedProcs[proc] = true
}

// loosenDeploy lets scales during a deployment pass until t (stale views).
func (c *Checker) loosenDeploy(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.looseDeploy = t
}

// acted records a change of cluster sent by proc: two processes acting on
// one cluster at overlapping times (the first not gone when the second
// acts) is a violation.
func (c *Checker) acted(cluster, proc, what string) {
	if cluster == "" || proc == "" {
		return
	}
	now := c.clk.Now()
	c.mu.Lock()
	prev, ok := c.actor[cluster]
	c.actor[cluster] = actorRef{proc, now, what}
	c.mutations[proc]++
	overlap := ok && prev.proc != proc && !c.stoppedProcs[prev.proc]
	c.mu.Unlock()
	if overlap {
		c.Violate("overlap "+cluster+" "+prev.proc+" "+proc, "two controllers act on cluster %s at overlapping times: %s sent %s while %s, which sent %s at %s, still runs",
			cluster, proc, what, prev.proc, prev.what, prev.at.UTC().Format(time.TimeOnly))
	}
}

// CleanOuts returns how many cleanOutServer requests controllers sent to
// the cluster.
func (c *Checker) CleanOuts(cluster string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cleanOuts[cluster]
}

// Foreign records a clean-out someone other than a controller (an
// operator) started now.
func (c *Checker) Foreign(server string) {
	now := c.clk.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.foreign == nil {
		c.foreign = map[string]time.Time{}
	}
	c.foreign[server] = now
}

// visibleCleanOuts are the running clean-outs a controller could know
// of: all but an operator's that ArangoDB has not started moving yet (a
// coordinator lists no agency jobs; a ToDo job moves nothing, so it shows
// nowhere before supervision picks it up).
func (c *Checker) visibleCleanOuts(ac *arango.Cluster) []string {
	now := c.clk.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range ac.RunningCleanOuts() {
		if at, ok := c.foreign[s]; ok && now.Sub(at) < interval {
			continue
		}
		out = append(out, s)
	}
	return out
}

// ownCleanOuts are the running clean-outs not started by an operator.
func (c *Checker) ownCleanOuts(ac *arango.Cluster) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, s := range ac.RunningCleanOuts() {
		if _, ok := c.foreign[s]; !ok && !slices.Contains(out, s) {
			out = append(out, s) // two jobs of one server drain one server
		}
	}
	return out
}

// Mutations returns how many changes each process sent.
func (c *Checker) Mutations() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.mutations {
		out[k] = v
	}
	return out
}

func (c *Checker) setPolicy(p *policy.Config) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pol = p
}

func (c *Checker) policy() *policy.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pol
}

// Violations returns the violations found so far, in order.
func (c *Checker) Violations() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.violations...)
}

// Scales returns the scaling requests seen so far.
func (c *Checker) Scales() []Scale {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Scale(nil), c.scales...)
}

// Excuse marks a task (and its ArangoDB server, if any) the run crashes
// now: an incident of that server, or a shard lost with it, within
// excuseWindow of now is not the controller's doing; later ones are.
func (c *Checker) Excuse(taskID, serverID string) {
	now := c.clk.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.excused[taskID] = now
	if serverID != "" {
		c.excused[serverID] = now
	}
}

// crashed reports whether the run crashed the server or task.
func (c *Checker) crashed(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.excused[id]
	return ok
}

// excusedLocked reports whether an event of id at t falls in the window
// of a crash of id.
func (c *Checker) excusedLocked(id string, t time.Time) bool {
	at, ok := c.excused[id]
	return ok && !t.Before(at) && !t.After(at.Add(excuseWindow))
}

// Violate records a violation; key dedupes (empty: the message).
func (c *Checker) Violate(key, format string, args ...any) {
	msg := c.clk.Now().UTC().Format(time.TimeOnly) + " " + fmt.Sprintf(format, args...)
	if key == "" {
		key = msg
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	c.violations = append(c.violations, msg)
}

func (c *Checker) role(app string) (roleRef, bool) {
	for _, pc := range c.policy().Clusters {
		for r, rp := range pc.Roles {
			if pc.AppID(r) == app {
				return roleRef{pc.Name, rp}, true
			}
		}
	}
	return roleRef{}, false
}

// floor is the lowest count the controller may set for a role now.
func (c *Checker) floor(ref roleRef) (int, string) {
	f, why := ref.rp.Min, "min"
	if s := policy.ScheduleFloor(ref.rp, c.clk.Now()); s > f {
		f, why = s, "schedule floor"
	}
	if rf := c.replFloor(ref.cluster); ref.rp.Role == policy.DBServers && rf > f {
		f, why = rf, "replication floor"
	}
	return f, why
}

// marathonPath strips the DC/OS prefixes Marathon may be reached under.
func marathonPath(p string) string {
	for _, pre := range []string{"/service/marathon", "/marathon"} {
		if rest, ok := strings.CutPrefix(p, pre); ok && (rest == "" || rest[0] == '/') {
			return rest
		}
	}
	return p
}

// Wrap observes the controller's requests to service before h (the
// injector, then the emulator) handles them; it has the signature of
// sim.Params.Wrap.
func (c *Checker) Wrap(service string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sender := r.Header.Get(senderHeader)
		r.Header.Del(senderHeader)
		if a := r.Header.Get("Authorization"); a != "" && sender != "" {
			c.credential(service, a)
		}
		c.route(service, sender, h).ServeHTTP(w, r)
	})
}

// serviceFamily is where a credential belongs: DC/OS (Marathon, Mesos and
// its agents) or ArangoDB.
func serviceFamily(service string) string {
	if strings.HasPrefix(service, "arangodb:") {
		return "ArangoDB"
	}
	return "DC/OS"
}

// credential records a credential a controller sent and checks it goes
// only where it belongs: one seen at DC/OS never goes to ArangoDB or the
// other way round.
func (c *Checker) credential(service, header string) {
	fam := serviceFamily(service)
	c.mu.Lock()
	first, ok := c.creds[header]
	if !ok {
		c.creds[header] = fam
	}
	c.mu.Unlock()
	if ok && first != fam {
		scheme, _, _ := strings.Cut(header, " ")
		c.Violate("cred "+first+" "+fam, "a %s credential (%s) was sent to %s (%s)", first, scheme, service, fam)
	}
}

// captured returns the credentials seen on requests, each as its
// Authorization header and its credential part.
func (c *Checker) captured() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for h := range c.creds {
		out = append(out, h)
		if _, cred, ok := strings.Cut(h, " "); ok && len(cred) >= 6 {
			out = append(out, cred)
		}
		if _, cred, ok := strings.Cut(h, "="); ok && len(cred) >= 6 {
			out = append(out, cred)
		}
	}
	sort.Strings(out)
	return out
}

func (c *Checker) route(service, sender string, h http.Handler) http.Handler {
	switch {
	case service == dcos.ServiceMarathon:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			done, apps := c.marathonRequest(r)
			if done != nil {
				defer done()
			}
			for _, app := range apps {
				if ref, ok := c.role(app); ok {
					c.acted(ref.cluster, sender, r.Method+" "+r.URL.Path)
				}
			}
			h.ServeHTTP(w, r)
		})
	case strings.HasPrefix(service, "arangodb:"):
		cluster := strings.TrimPrefix(service, "arangodb:")
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !arangoRead(r) {
				c.acted(cluster, sender, r.Method+" "+r.URL.Path)
			}
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_admin/cluster/cleanOutServer") {
				var body struct {
					Server string `json:"server"`
				}
				_ = json.Unmarshal(readBody(r), &body)
				if sender != "" {
					c.mu.Lock()
					c.cleanOuts[cluster]++
					c.mu.Unlock()
				}
				if ac := c.world.ArangoDB(cluster); ac != nil && sender != "" {
					for _, s := range ac.Servers() {
						if (s.ID == body.Server || s.ShortName == body.Server) && s.CleanedOut {
							c.Violate("", "cluster %s: %s sent a second clean-out of %s, already cleaned out", cluster, sender, s.ShortName)
						}
					}
				}
				if ac := c.world.ArangoDB(cluster); ac != nil {
					// The same server again is no second drain: ArangoDB
					// fails a cleanOutServer job of a server already being
					// cleaned out (arangod Agency/CleanOutServer.cpp). A
					// restarted process re-sends one when the running job
					// moved nothing (stuck): no coordinator API lists jobs.
					for _, run := range c.visibleCleanOuts(ac) {
						if run != body.Server {
							c.Violate("", "cluster %s: a clean-out of %s was started while the clean-out of %s runs", cluster, body.Server, run)
							break
						}
					}
				}
			}
			h.ServeHTTP(w, r)
		})
	}
	return h
}

func readBody(r *http.Request) []byte {
	if r.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// marathonRequest checks a scale (PUT instances) or a kill with
// scale=true against the bounds, the pause, the deployments and the
// requests in flight. The function it returns, when not nil, ends the
// request's time in flight; apps are the apps it changes.
func (c *Checker) marathonRequest(r *http.Request) (func(), []string) {
	p := marathonPath(r.URL.Path)
	dc := c.world.Marathon()
	var apps map[string]int // app → instances asked for
	kill := false
	switch {
	case r.Method == http.MethodPut && strings.HasPrefix(p, "/v2/apps/"):
		var body struct {
			Instances *int `json:"instances"`
		}
		if json.Unmarshal(readBody(r), &body) != nil || body.Instances == nil {
			return nil, nil
		}
		app := "/" + strings.Trim(strings.TrimPrefix(p, "/v2/apps/"), "/")
		apps = map[string]int{app: *body.Instances}
	case r.Method == http.MethodPost && p == "/v2/tasks/delete" && r.URL.Query().Get("scale") == "true":
		var body struct {
			IDs []string `json:"ids"`
		}
		if json.Unmarshal(readBody(r), &body) != nil {
			return nil, nil
		}
		kill = true
		apps = map[string]int{}
		for _, id := range body.IDs {
			if app := c.appOfTask(id); app != "" {
				st, _ := dc.AppStatus(app)
				if _, ok := apps[app]; !ok {
					apps[app] = st.Instances
				}
				apps[app]--
			}
		}
	default:
		return nil, nil
	}
	var names []string
	for app := range apps {
		names = append(names, app)
	}
	sort.Strings(names)
	for _, app := range names {
		to := apps[app]
		st, _ := dc.AppStatus(app)
		deploying := len(st.Deployments) > 0
		c.mu.Lock()
		c.scales = append(c.scales, Scale{At: c.clk.Now(), App: app, From: st.Instances, To: to, Kill: kill, Deploying: deploying})
		c.mu.Unlock()
		what := fmt.Sprintf("scale of %s from %d to %d", app, st.Instances, to)
		if kill {
			what = fmt.Sprintf("kill with scale=true in %s (%d → %d)", app, st.Instances, to)
		}
		c.mu.Lock()
		loose := c.clk.Now().Before(c.looseDeploy)
		c.mu.Unlock()
		if deploying && to != st.Instances && !loose {
			c.Violate("", "%s sent while deployment %s runs", what, st.Deployments[0])
		}
		ref, ok := c.role(app)
		if !ok {
			continue
		}
		if ref.rp.Paused && to != st.Instances {
			c.Violate("", "%s while the role is paused", what)
		}
		if to > ref.rp.Max {
			c.Violate("", "%s: above max %d", what, ref.rp.Max)
		}
		if f, why := c.floor(ref); to < f && to < st.Instances {
			c.Violate("", "%s: below the %s %d", what, why, f)
		}
	}
	c.mu.Lock()
	for _, app := range names {
		c.inflight[app]++
		if c.inflight[app] > 1 {
			c.mu.Unlock()
			c.Violate("", "two scaling operations of %s in flight at once", app)
			c.mu.Lock()
		}
	}
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, app := range names {
			c.inflight[app]--
		}
	}, names
}

func (c *Checker) appOfTask(id string) string {
	dc := c.world.Marathon()
	for _, pc := range c.policy().Clusters {
		for r := range pc.Roles {
			app := pc.AppID(r)
			for _, t := range dc.Tasks(app) {
				if t.ID == id {
					return app
				}
			}
		}
	}
	return ""
}

// CheckStep checks the world's state: every role's Marathon target within
// its bounds, no shard lost, no DB server gone down before its clean-out
// Finished, at most one clean-out running per cluster.
func (c *Checker) CheckStep() {
	dc := c.world.Marathon()
	for _, pc := range c.policy().Clusters {
		for r, rp := range pc.Roles {
			app := pc.AppID(r)
			st, ok := dc.AppStatus(app)
			if !ok {
				continue
			}
			if st.Instances > rp.Max {
				c.Violate("max "+app, "%s has %d instances, above max %d", app, st.Instances, rp.Max)
			}
			if st.Instances < rp.Min {
				c.Violate("min "+app, "%s has %d instances, below min %d", app, st.Instances, rp.Min)
			}
			if rf := c.replFloor(pc.Name); r == policy.DBServers && st.Instances < rf {
				c.Violate("repl "+app, "%s has %d instances, below the replication floor %d", app, st.Instances, rf)
			}
		}
		if ac := c.world.ArangoDB(pc.Name); ac != nil {
			if run := c.ownCleanOuts(ac); len(run) > 1 {
				c.Violate("cleanouts "+pc.Name, "cluster %s: %d clean-outs running at once (%v)", pc.Name, len(run), run)
			}
		}
	}
	losses := c.src.Losses()
	incidents := c.src.Incidents()
	c.mu.Lock()
	newLosses := losses[min(c.losses, len(losses)):]
	newInc := incidents[min(c.incidents, len(incidents)):]
	c.losses, c.incidents = len(losses), len(incidents)
	lossOK := make([]bool, len(newLosses))
	for i, l := range newLosses {
		lossOK[i] = c.excusedLocked(l.Server, l.At)
	}
	incOK := make([]bool, len(newInc))
	for i, in := range newInc {
		incOK[i] = c.excusedLocked(in.TaskID, in.At)
	}
	c.mu.Unlock()
	for i, l := range newLosses {
		if lossOK[i] {
			continue // an unreplicated shard on a server the run crashed, when it crashed
		}
		c.Violate("", "shard lost: %s/%s %s (server %s: %s)", l.Database, l.Collection, l.Shard, l.Server, l.Cause)
	}
	for i, in := range newInc {
		if !incOK[i] {
			c.Violate("", "DB server %s (%s) went down holding %d shard replicas, clean-out %q", in.ShortName, in.Server, in.Replicas, orNone(in.CleanOut))
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Secrets are the credentials of a run that must never show.
type Secrets struct {
	ArangoPassword, ArangoJWTSecret, DCOSToken, AdminToken string
	ArangoUser                                             string
}

// forms returns each secret with the encodings it could leak in.
func (s Secrets) forms() map[string]string {
	out := map[string]string{}
	add := func(name, v string) {
		if len(v) < 6 {
			return
		}
		out[v] = name
		out[base64.StdEncoding.EncodeToString([]byte(v))] = name + " (base64)"
		out[url.QueryEscape(v)] = name
	}
	add("ArangoDB password", s.ArangoPassword)
	add("ArangoDB JWT secret", s.ArangoJWTSecret)
	add("DC/OS token", s.DCOSToken)
	add("admin token", s.AdminToken)
	if s.ArangoUser != "" && s.ArangoPassword != "" {
		add("ArangoDB basic credentials", s.ArangoUser+":"+s.ArangoPassword)
	}
	return out
}

// CheckSecrets reports every secret (or its base64 form) found in text,
// which came from where (logs, /status, /metrics, an error).
// Every credential a controller sent (the derived ArangoDB JWTs and the
// DC/OS token header included) counts as a secret too.
func (c *Checker) CheckSecrets(s Secrets, where, text string) {
	for v, name := range s.forms() {
		if strings.Contains(text, v) {
			c.Violate("secret "+name+" "+where, "%s appears in %s", name, where)
		}
	}
	for _, v := range c.captured() {
		if strings.Contains(text, v) {
			c.Violate("secret sent "+where, "a credential the controller sent (%s…) appears in %s", v[:min(len(v), 6)], where)
		}
	}
}

// arangoRead says whether a request to ArangoDB only reads: GET, HEAD, or
// the multi-document read PUT /_api/document/{collection}?onlyget=true
// (docs-hugo 3.12 develop/http-api/documents.md, getDocuments), which
// controllers send every interval for the manual holds.
func arangoRead(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPut:
		return strings.Contains(r.URL.Path, "/_api/document/") && r.URL.Query().Get("onlyget") == "true"
	}
	return false
}
