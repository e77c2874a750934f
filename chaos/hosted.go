package chaos

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// ErrHost reports a policy, cluster or trace the chaos world cannot host.
var ErrHost = errors.New("chaos: cannot host")

// Hosted is an operator's policy cluster made ready for chaos runs: every
// setting as the operator wrote it, with only what points outside (the
// cluster's name, its ArangoDB endpoints and Marathon app ids) rewritten
// to the chaos world's emulators, and the load of a trace (nil: the
// built-in plan's load levels).
type Hosted struct {
	File, Cluster string
	pc            *policy.Cluster // as loaded from the operator's file
	raw           map[string]any  // the cluster's YAML, aliases and merges expanded
	trace         *sim.Trace      // nil: the built-in load levels
	scale         float64         // multiplies the trace's rps
	agents        int             // Mesos agents the world needs
	peak, light   float64         // steering loads (rps) of armed faults
	settle        int             // convergence bound in intervals
	// Notes say what the chaos world rewrote and what it cannot judge.
	Notes []string
}

// HostOptions say what to host: the policy file's name and bytes, the
// cluster ("" = the first) and an optional trace.
type HostOptions struct {
	File      string
	Data      []byte
	Cluster   string
	TraceName string
	Trace     *sim.Trace
}

// Host checks that the chaos world can host the cluster and prepares it.
// Errors name the setting: file:line:col for the YAML, the flag otherwise.
func Host(o HostOptions) (*Hosted, error) {
	cfg, err := policy.Load(o.File, o.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrHost, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(o.Data, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("%w: %s: unreadable YAML", ErrHost, o.File)
	}
	root := doc.Content[0]
	clusters := nodeGet(root, "clusters")
	if len(cfg.Clusters) == 0 || clusters == nil {
		return nil, fmt.Errorf("%w: %s: the policy has no clusters: the chaos world hosts one of them", ErrHost, pos(o.File, clusters, root))
	}
	idx := 0
	if o.Cluster != "" {
		idx = -1
		var names []string
		for i, c := range cfg.Clusters {
			names = append(names, c.Name)
			if c.Name == o.Cluster {
				idx = i
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("%w: --cluster %q: no such cluster in %s (it has %s)", ErrHost, o.Cluster, o.File, strings.Join(names, ", "))
		}
	}
	pc := cfg.Clusters[idx]
	cn := resolveNode(clusters).Content[idx]
	h := &Hosted{File: o.File, Cluster: pc.Name, pc: pc, trace: o.Trace}
	if pc.Roles[policy.Coordinators] == nil {
		return nil, fmt.Errorf("%w: %s: cluster %q has no coordinators role: the chaos world's faults and checks need it", ErrHost, pos(o.File, nodeGet(cn, "roles"), cn), pc.Name)
	}
	for _, r := range policy.Roles() {
		rp := pc.Roles[r]
		if rp == nil {
			continue
		}
		rn := nodeGet(nodeGet(cn, "roles"), string(r))
		for i, m := range rp.Metrics {
			if m.PromQL != "" {
				mn := nodeGet(nthNode(nodeGet(rn, "metrics"), i), "promql")
				return nil, fmt.Errorf("%w: %s: clusters[%d].roles.%s.metrics[%d].promql: the chaos world has no Prometheus to ask", ErrHost, pos(o.File, mn, rn), idx, r, i)
			}
		}
	}
	// The chaos world's collections hold two replicas of a shard.
	if rp := pc.Roles[policy.DBServers]; rp != nil && rp.Max < 2 {
		return nil, fmt.Errorf("%w: %s: clusters[%d].roles.dbservers.max %d: the chaos world's collections need 2 DB servers (replicationFactor 2)", ErrHost, pos(o.File, nodeGet(nodeGet(nodeGet(cn, "roles"), "dbservers"), "max"), cn), idx, rp.Max)
	}
	if err := h.size(o.File, cn, idx); err != nil {
		return nil, err
	}
	var all struct {
		Clusters []map[string]any `yaml:"clusters"`
	}
	if err := yaml.Unmarshal(o.Data, &all); err != nil || len(all.Clusters) <= idx {
		return nil, fmt.Errorf("%w: %s: unreadable clusters", ErrHost, o.File)
	}
	h.raw = all.Clusters[idx]
	h.Notes = append(h.Notes, fmt.Sprintf("cluster %q of %s runs as %q: its ArangoDB endpoints and Marathon app ids (%s, %s) point to the chaos world's emulators (%s, %s); every other setting is as written",
		pc.Name, o.File, alpha, orNone(pc.Marathon.Coordinators), orNone(pc.Marathon.DBServers), sim.CoordinatorApp(alpha), sim.DBServerApp(alpha)))
	if iv := pc.Interval; iv != 0 && iv != interval {
		h.Notes = append(h.Notes, fmt.Sprintf("interval %s: the chaos world steps every %s, so the cluster reconciles at the first step it is due", iv, interval))
	}
	if hasSchedule(pc) {
		h.Notes = append(h.Notes, fmt.Sprintf("virtual time starts %s: the schedule floors active in a run's window apply", epoch.Format("Monday 2006-01-02 15:04 MST")))
	}
	h.loads(o)
	h.settle = settleBound(pc)
	h.Notes = append(h.Notes, fmt.Sprintf("convergence bound %d intervals (from the cooldowns, stabilization and steps)", h.settle))
	for _, r := range policy.Roles() {
		if rp := pc.Roles[r]; rp != nil {
			if _, ok := answerMetric(rp); !ok {
				h.Notes = append(h.Notes, fmt.Sprintf("%s: the count after convergence is checked within its bounds only (the chaos world predicts the answer of one target metric on requests_per_second or cpu_utilization, strategy policy, no slo, not paused)", r))
			}
		}
	}
	return h, nil
}

func hasSchedule(pc *policy.Cluster) bool {
	for _, rp := range pc.Roles {
		if len(rp.Schedule) > 0 {
			return true
		}
	}
	return false
}

// size checks the instances fit the Mesos agents the world can have, and
// sets how many it needs: the hosted cluster at its max plus the steady
// beta cluster, one spare agent for replacements.
func (h *Hosted) size(file string, cn *yaml.Node, idx int) error {
	p := sim.DefaultParams()
	d := dcos.DefaultParams()
	cpus := 2*p.Coordinator.CPUs + 3*p.DBServer.CPUs // beta
	mem := 2*p.Coordinator.MemMB + 3*p.DBServer.MemMB
	var worst *yaml.Node // the max of the role taking the most cpus
	most := 0.0
	for _, r := range policy.Roles() {
		rp := h.pc.Roles[r]
		res := p.Coordinator
		if r == policy.DBServers {
			res = p.DBServer
		}
		n := 3
		if rp != nil {
			n = rp.Max
			if c := float64(n) * res.CPUs; c > most {
				most, worst = c, nodeGet(nodeGet(nodeGet(cn, "roles"), string(r)), "max")
			}
		}
		cpus += float64(n) * res.CPUs
		mem += float64(n) * res.MemMB
	}
	need := int(math.Ceil(max(cpus/d.AgentCPUs, mem/d.AgentMemMB))) + 1
	if need > dcos.MaxAgents {
		return fmt.Errorf("%w: %s: clusters[%d].roles: max: %.0f cpus and %.0f MiB at the roles' max do not fit the chaos world's %d Mesos agents (%.0f cpus, %.0f MiB each)",
			ErrHost, pos(file, worst, cn), idx, cpus, mem, dcos.MaxAgents, d.AgentCPUs, d.AgentMemMB)
	}
	h.agents = max(need, 8)
	return nil
}

// loads sets the trace's scale and the steering loads: the peak asks for
// every role's max, the light load for its min.
func (h *Hosted) loads(o HostOptions) {
	p := sim.DefaultParams()
	cm := h.pc.Roles[policy.Coordinators]
	dbMax := 5
	if rp := h.pc.Roles[policy.DBServers]; rp != nil {
		dbMax = rp.Max
	}
	h.peak = max(float64(cm.Max)*p.CoordinatorRPS, float64(dbMax)*p.DBServerRPS)
	h.light = 0.05 * float64(cm.Min) * p.CoordinatorRPS
	if h.trace == nil {
		h.Notes = append(h.Notes, "load: the built-in plan's levels (400 to 4500 rps)")
		return
	}
	// As `simulate` scales by default: the trace's peak needs about 80 % of
	// the coordinators' max.
	h.scale = 1
	if pk := h.trace.Peak(); pk > 0 {
		h.scale = 0.8 * float64(cm.Max) * p.CoordinatorRPS * 0.7 / pk
	}
	h.Notes = append(h.Notes, fmt.Sprintf("load: trace %s (%s) scaled by %.4g, each seed from its own offset; armed faults steer it to %.0f or %.0f rps while they wait for a clean-out",
		o.TraceName, h.trace.Duration(), h.scale, h.peak, h.light))
}

// traceLoad is the hosted trace's load at elapsed virtual time el of a run
// starting at trace time off.
func (h *Hosted) traceLoad(off, el time.Duration) float64 {
	return h.trace.Func(1, h.scale)(off + el)
}

// offset picks a seed's start in the trace, so runs cover all of it.
func (h *Hosted) offset(seed int64, run time.Duration) time.Duration {
	if h.trace == nil {
		return 0
	}
	span := h.trace.Duration() - run
	if span < time.Minute {
		return 0
	}
	r := uint64(seed) * 0x9e3779b97f4a7c15
	return time.Duration(r%uint64(span/time.Minute)) * time.Minute
}

// render writes the hosted cluster, pointed at the world, with the
// override of alpha's DB servers applied.
func (h *Hosted) render(url string, o *dbOverride) map[string]any {
	c := make(map[string]any, len(h.raw))
	for k, v := range h.raw {
		c[k] = v
	}
	c["name"] = alpha
	c["arangodb"] = map[string]any{"endpoints": []string{url}}
	m := map[string]any{}
	if h.pc.Roles[policy.Coordinators] != nil {
		m["coordinators"] = sim.CoordinatorApp(alpha)
	}
	if h.pc.Roles[policy.DBServers] != nil {
		m["dbservers"] = sim.DBServerApp(alpha)
	}
	c["marathon"] = m
	if o != nil {
		roles, _ := c["roles"].(map[string]any)
		db, _ := roles[string(policy.DBServers)].(map[string]any)
		if db != nil {
			nr := make(map[string]any, len(roles))
			for k, v := range roles {
				nr[k] = v
			}
			nd := make(map[string]any, len(db))
			for k, v := range db {
				nd[k] = v
			}
			if o.Min > 0 {
				nd["min"] = o.Min
			}
			if o.Paused {
				nd["paused"] = true
			}
			nr[string(policy.DBServers)] = nd
			c["roles"] = nr
		}
	}
	return c
}

// hostedPolicy is the policy file of a hosted run: the hosted cluster
// (when named) and beta from the built-in template.
func (e *env) hostedPolicy(names []string) ([]byte, error) {
	var out []any
	for _, n := range names {
		if n == alpha {
			out = append(out, e.o.Host.render(e.world.ArangoURL(alpha), e.override))
			continue
		}
		var b bytes.Buffer
		data := map[string]any{"Clusters": []struct{ Name, URL string }{{n, e.world.ArangoURL(n)}}, "CoordRPS": coordRPS, "DBMin": 0, "DBPaused": false}
		if err := policyTmpl.Execute(&b, data); err != nil {
			return nil, err
		}
		var doc struct {
			Clusters []any `yaml:"clusters"`
		}
		if err := yaml.Unmarshal(b.Bytes(), &doc); err != nil {
			return nil, err
		}
		out = append(out, doc.Clusters...)
	}
	return yaml.Marshal(map[string]any{"clusters": out})
}

// settleBound is the convergence bound in intervals of a hosted cluster:
// DefaultSettle's path (the longest backoff, then the scale-downs from max
// to min, each after its cooldown or stabilization, DB servers with the
// clean-out saga, one interval of slack a step) for its settings, never
// below DefaultSettle.
func settleBound(pc *policy.Cluster) int {
	const backoff, saga = 2 * time.Minute, 90 * time.Second
	worst := time.Duration(0)
	steps := 0
	for _, r := range policy.Roles() {
		rp := pc.Roles[r]
		if rp == nil {
			continue
		}
		n := downSteps(rp)
		wait := max(rp.Cooldown.Down, rp.Stabilization.Down, interval)
		up := max(rp.Cooldown.Up, rp.Stabilization.Up, interval) + 30*time.Second // staging and health
		per := wait
		if r == policy.DBServers {
			per += saga
		}
		d := max(time.Duration(n)*per, time.Duration(upSteps(rp))*up)
		if d > worst {
			worst, steps = d, max(n, upSteps(rp))
		}
	}
	b := int(math.Ceil(float64(backoff+worst)/float64(interval))) + steps + 2
	return max(b, DefaultSettle)
}

// downSteps is how many scale-downs take rp from max to min.
func downSteps(rp *policy.RolePolicy) int {
	return stepsBetween(rp.Max, rp.Min, rp.Step.Down, -1)
}

// upSteps is how many scale-ups take rp from min to max.
func upSteps(rp *policy.RolePolicy) int {
	return stepsBetween(rp.Min, rp.Max, rp.Step.Up, 1)
}

func stepsBetween(from, to int, s policy.Step, dir int) int {
	n, steps := from, 0
	for n != to && steps < 10000 {
		d := 1
		switch {
		case s.Count > 0:
			d = s.Count
		case s.Percent > 0:
			d = max(1, int(math.Ceil(float64(n)*s.Percent/100)))
		default:
			d = max(1, abs(to-n))
		}
		n += dir * d
		if dir < 0 {
			n = max(n, to)
		} else {
			n = min(n, to)
		}
		steps++
	}
	return steps
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// answerMetric returns the metric the chaos world can compute a role's
// answer from: a role of strategy policy, not paused, with one target
// metric on requests_per_second (target_per_instance) or cpu_utilization,
// and no slo (its learned model sizes the role instead).
func answerMetric(rp *policy.RolePolicy) (policy.Metric, bool) {
	if rp.Paused || rp.SLO != nil || (rp.Strategy != "" && rp.Strategy != policy.RoleStrategyPolicy) || len(rp.Metrics) != 1 {
		return policy.Metric{}, false
	}
	m := rp.Metrics[0]
	if m.Strategy != "" && m.Strategy != policy.StrategyTarget {
		return m, false
	}
	switch {
	case m.Signal == "requests_per_second" && m.TargetPerInstance > 0 && rp.Role == policy.Coordinators:
		return m, true
	case m.Signal == "cpu_utilization" && m.Target > 0:
		return m, true
	}
	return m, false
}

// nodeGet returns the value of key in mapping n (aliases and merge keys
// followed), or nil.
func nodeGet(n *yaml.Node, key string) *yaml.Node {
	n = resolveNode(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "<<" {
			if v := nodeGet(n.Content[i+1], key); v != nil {
				return v
			}
		}
	}
	return nil
}

func nthNode(n *yaml.Node, i int) *yaml.Node {
	n = resolveNode(n)
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

func resolveNode(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

// pos is "file:line:col" of n, or of fallback when n is nil.
func pos(file string, n, fallback *yaml.Node) string {
	if n == nil {
		n = fallback
	}
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, max(n.Column, 1)
	}
	return fmt.Sprintf("%s:%d:%d", file, line, col)
}
