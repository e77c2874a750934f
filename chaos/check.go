package chaos

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
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
	// replFloor is each cluster's replication floor (the highest
	// replicationFactor or writeConcern of its collections).
	replFloor map[string]int

	mu         sync.Mutex
	violations []string
	seen       map[string]bool
	inflight   map[string]int
	excused    map[string]bool // task and server ids whose going down is not the controller's doing
	losses     int
	incidents  int
	scales     []Scale
}

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

// NewChecker returns a checker of the world against the policy's bounds;
// replFloor gives each cluster's replication floor.
func NewChecker(w *sim.World, pol *policy.Config, clk clock.Clock, replFloor map[string]int) *Checker {
	return &Checker{world: w, pol: pol, clk: clk, replFloor: replFloor,
		seen: map[string]bool{}, inflight: map[string]int{}, excused: map[string]bool{}}
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

// Excuse marks a task (and its ArangoDB server, if any) whose going down
// the run caused itself (a crash): an incident of that server, or a shard
// lost with it, is not the controller's doing.
func (c *Checker) Excuse(taskID, serverID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.excused[taskID] = true
	if serverID != "" {
		c.excused[serverID] = true
	}
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
	if ref.rp.Role == policy.DBServers && c.replFloor[ref.cluster] > f {
		f, why = c.replFloor[ref.cluster], "replication floor"
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
	switch {
	case service == dcos.ServiceMarathon:
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if done := c.marathonRequest(r); done != nil {
				defer done()
			}
			h.ServeHTTP(w, r)
		})
	case strings.HasPrefix(service, "arangodb:"):
		cluster := strings.TrimPrefix(service, "arangodb:")
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_admin/cluster/cleanOutServer") {
				if ac := c.world.ArangoDB(cluster); ac != nil {
					if run := ac.RunningCleanOuts(); len(run) > 0 {
						c.Violate("", "cluster %s: a clean-out was started while the clean-out of %s runs", cluster, run[0])
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
// scale=true against the bounds, the deployments and the requests in
// flight. The function it returns, when not nil, ends the request's time
// in flight.
func (c *Checker) marathonRequest(r *http.Request) func() {
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
			return nil
		}
		app := "/" + strings.Trim(strings.TrimPrefix(p, "/v2/apps/"), "/")
		apps = map[string]int{app: *body.Instances}
	case r.Method == http.MethodPost && p == "/v2/tasks/delete" && r.URL.Query().Get("scale") == "true":
		var body struct {
			IDs []string `json:"ids"`
		}
		if json.Unmarshal(readBody(r), &body) != nil {
			return nil
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
		return nil
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
		if deploying && to != st.Instances {
			c.Violate("", "%s sent while deployment %s runs", what, st.Deployments[0])
		}
		ref, ok := c.role(app)
		if !ok {
			continue
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
	}
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
			if r == policy.DBServers && st.Instances < c.replFloor[pc.Name] {
				c.Violate("repl "+app, "%s has %d instances, below the replication floor %d", app, st.Instances, c.replFloor[pc.Name])
			}
		}
		if ac := c.world.ArangoDB(pc.Name); ac != nil {
			if run := ac.RunningCleanOuts(); len(run) > 1 {
				c.Violate("cleanouts "+pc.Name, "cluster %s: %d clean-outs running at once (%v)", pc.Name, len(run), run)
			}
		}
	}
	losses := c.world.Losses()
	incidents := c.world.Incidents()
	c.mu.Lock()
	newLosses := losses[min(c.losses, len(losses)):]
	newInc := incidents[min(c.incidents, len(incidents)):]
	c.losses, c.incidents = len(losses), len(incidents)
	excused := map[string]bool{}
	for _, in := range newInc {
		excused[in.TaskID] = c.excused[in.TaskID]
	}
	for _, l := range newLosses {
		excused[l.Server] = c.excused[l.Server]
	}
	c.mu.Unlock()
	for _, l := range newLosses {
		if excused[l.Server] {
			continue // an unreplicated shard on a server the run crashed
		}
		c.Violate("", "shard lost: %s/%s %s (server %s: %s)", l.Database, l.Collection, l.Shard, l.Server, l.Cause)
	}
	for _, in := range newInc {
		if !excused[in.TaskID] {
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
func (c *Checker) CheckSecrets(s Secrets, where, text string) {
	for v, name := range s.forms() {
		if strings.Contains(text, v) {
			c.Violate("secret "+name+" "+where, "%s appears in %s", name, where)
		}
	}
}
