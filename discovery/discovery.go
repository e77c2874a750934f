package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/marathon"
	"github.com/arangoscale/arangoscale/policy"
)

// The Marathon labels discovery reads.
const (
	LabelPolicy   = "arangoscale.policy"
	LabelCluster  = "arangoscale.cluster"
	LabelRole     = "arangoscale.role"
	LabelEndpoint = "arangoscale.endpoint"
)

// Lister lists Marathon apps by label selector (marathon.Client.Apps).
type Lister interface {
	Apps(ctx context.Context, selector string) ([]*marathon.App, error)
}

// Target is what discovery drives (controller.Controller).
type Target interface {
	SetPolicy(p *policy.Config) error
	SetDiscovery(st controller.DiscoveryStatus)
}

// Config is what a Discoverer is built from.
type Config struct {
	Marathon Lister
	Target   Target
	Clock    clock.Clock
	Logger   *slog.Logger
	// Interval between two listings (default 15s).
	Interval time.Duration
	// Timeout bounds one listing (default: the interval).
	Timeout time.Duration
	// OnlyWithTemplates skips listing Marathon while the policy has no
	// templates (ARANGOSCALE_DISCOVERY=auto): nothing could be scaled.
	OnlyWithTemplates bool
}

// Discoverer keeps the controller's policy equal to the file's policy plus
// the clusters found in Marathon.
type Discoverer struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex // serialises rounds and guards the fields below
	base    *policy.Config
	apps    []*marathon.App // the latest successful listing
	listed  time.Time
	listErr error
	found   map[string]found // by cluster name, as last applied
	applied *policy.Config   // the base the applied policy was built from
	sig     string           // signature of the applied discovered clusters
	// reported are the problems already logged, so each is logged once.
	reported map[string]bool
}

// problem is why one labelled cluster is not scaled.
type problem struct {
	cluster string
	err     error
}

// found is one discovered cluster.
type found struct {
	cluster   *policy.Cluster
	template  string
	fromTasks bool // endpoints taken from the coordinator tasks
}

// New returns a Discoverer for the policy base (the policy file).
func New(cfg Config, base *policy.Config) (*Discoverer, error) {
	if cfg.Marathon == nil || cfg.Target == nil {
		return nil, errors.New("discovery: Marathon and Target are required")
	}
	if base == nil {
		return nil, errors.New("discovery: no policy")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 15 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = cfg.Interval
	}
	return &Discoverer{cfg: cfg, log: cfg.Logger.With("component", "discovery"), base: base, found: map[string]found{}}, nil
}

// SetBase swaps in a new policy file (a reload) and applies it with the
// clusters of the latest listing, without waiting for the next one.
func (d *Discoverer) SetBase(p *policy.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.base = p
	return d.applyLocked()
}

// Sync lists Marathon once and applies the result.
func (d *Discoverer) Sync(ctx context.Context) error {
	d.mu.Lock()
	idle := d.cfg.OnlyWithTemplates && len(d.base.Templates) == 0
	d.mu.Unlock()
	if idle {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.apps, d.listErr = nil, nil
		return d.applyLocked()
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	apps, err := d.cfg.Marathon.Apps(ctx, LabelPolicy)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.listed = d.cfg.Clock.Now()
	d.listErr = err
	if err != nil {
		d.log.Warn("listing Marathon apps failed; the clusters found before stay", "error", err)
	} else {
		d.apps = apps
	}
	return d.applyLocked()
}

// Run syncs now and then every interval until ctx ends.
func (d *Discoverer) Run(ctx context.Context) {
	tick, stop := clock.NewTicker(d.cfg.Clock, d.cfg.Interval)
	defer stop()
	for {
		if err := d.Sync(ctx); err != nil && ctx.Err() == nil {
			d.log.Error("discovered clusters could not be applied", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick:
		}
	}
}

// applyLocked builds the effective policy from d.base and d.apps, reports
// the round, and hands the policy to the target when it changed.
func (d *Discoverer) applyLocked() error {
	st := controller.DiscoveryStatus{LastRun: d.listed, Clusters: []controller.DiscoveredCluster{}}
	if d.listErr != nil {
		st.Errors = append(st.Errors, fmt.Sprintf("listing Marathon apps: %v", d.listErr))
	}
	clusters, shadowed, problems := d.discover()
	seen := make(map[string]bool, len(problems))
	for _, p := range problems {
		msg := p.err.Error()
		seen[msg] = true
		if !d.reported[msg] { // once per problem, not every interval
			d.log.Error("labelled Marathon apps not scaled", "cluster", p.cluster, "error", p.err)
		}
		st.Errors = append(st.Errors, msg)
	}
	d.reported = seen
	st.Shadowed = shadowed
	names := make([]string, 0, len(clusters))
	for n := range clusters {
		names = append(names, n)
	}
	sort.Strings(names)
	var sig strings.Builder
	eff := &policy.Config{Templates: d.base.Templates, Clusters: slices.Clone(d.base.Clusters)}
	for _, n := range names {
		f := clusters[n]
		c := f.cluster
		eff.Clusters = append(eff.Clusters, c)
		st.Clusters = append(st.Clusters, controller.DiscoveredCluster{
			Name: n, Template: f.template, Coordinators: c.Marathon.Coordinators, DBServers: c.Marathon.DBServers,
			Endpoints: c.ArangoDB.Endpoints,
		})
		fmt.Fprintf(&sig, "%s|%s|%s|%s|%s\n", n, f.template, c.Marathon.Coordinators, c.Marathon.DBServers, strings.Join(c.ArangoDB.Endpoints, ","))
	}
	var err error
	if d.applied != d.base || sig.String() != d.sig {
		if err = d.cfg.Target.SetPolicy(eff); err != nil {
			err = fmt.Errorf("discovery: %w", err)
			st.Errors = append(st.Errors, err.Error())
		} else {
			d.logChanges(clusters)
			d.applied, d.sig, d.found = d.base, sig.String(), clusters
		}
	}
	d.cfg.Target.SetDiscovery(st)
	return err
}

func (d *Discoverer) logChanges(now map[string]found) {
	for n, f := range now {
		if _, had := d.found[n]; !had {
			d.log.Info("cluster discovered", "cluster", n, "template", f.template,
				"coordinators", f.cluster.Marathon.Coordinators, "dbservers", f.cluster.Marathon.DBServers,
				"endpoints", f.cluster.ArangoDB.Endpoints)
		}
	}
	for n := range d.found {
		if _, ok := now[n]; !ok {
			d.log.Info("discovered cluster gone from Marathon; it is no longer scaled", "cluster", n)
		}
	}
}

// group collects the labelled apps of one cluster.
type group struct {
	name      string
	templates map[string]bool
	apps      map[policy.Role]*marathon.App
	problems  []error
}

// discover turns the latest listing into clusters; problems name the
// apps at fault. The caller holds d.mu.
func (d *Discoverer) discover() (map[string]found, []string, []problem) {
	var problems []problem
	groups := map[string]*group{}
	for _, a := range d.apps {
		tpl := a.Labels[LabelPolicy]
		role, skip, err := roleOf(a)
		if skip {
			continue
		}
		name := clusterName(a)
		g := groups[name]
		if g == nil {
			g = &group{name: name, templates: map[string]bool{}, apps: map[policy.Role]*marathon.App{}}
			groups[name] = g
		}
		g.templates[tpl] = true
		if err != nil {
			g.problems = append(g.problems, err)
			continue
		}
		if prev, dup := g.apps[role]; dup {
			g.problems = append(g.problems, fmt.Errorf("apps %s and %s are both the %s of cluster %q", prev.ID, a.ID, role, name))
			continue
		}
		g.apps[role] = a
	}
	fileNames, fileApps := map[string]bool{}, map[string]string{}
	for _, c := range d.base.Clusters {
		fileNames[c.Name] = true
		for _, r := range policy.Roles() {
			if id := c.AppID(r); id != "" {
				fileApps[id] = c.Name
			}
		}
	}
	out := map[string]found{}
	var shadowed []string
	names := make([]string, 0, len(groups))
	for n := range groups {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g := groups[n]
		if sh := shadowedBy(g, fileNames, fileApps); sh != "" {
			shadowed = append(shadowed, sh)
			continue
		}
		f, err := d.build(g)
		if err != nil {
			problems = append(problems, problem{cluster: n, err: err})
			continue
		}
		out[n] = f
	}
	return out, shadowed, problems
}

func shadowedBy(g *group, fileNames map[string]bool, fileApps map[string]string) string {
	if fileNames[g.name] {
		return fmt.Sprintf("cluster %q: defined in the policy file, which is used", g.name)
	}
	for _, r := range policy.Roles() {
		if a := g.apps[r]; a != nil {
			if owner, ok := fileApps[a.ID]; ok {
				return fmt.Sprintf("cluster %q: app %s belongs to cluster %q of the policy file, which is used", g.name, a.ID, owner)
			}
		}
	}
	return ""
}

// build makes the policy of one group; the caller holds d.mu.
func (d *Discoverer) build(g *group) (found, error) {
	if len(g.problems) > 0 {
		return found{}, fmt.Errorf("cluster %q: %w", g.name, errors.Join(g.problems...))
	}
	var tpls []string
	for t := range g.templates {
		tpls = append(tpls, t)
	}
	sort.Strings(tpls)
	if len(tpls) != 1 {
		return found{}, fmt.Errorf("cluster %q: its apps name different templates (%s=%s)", g.name, LabelPolicy, strings.Join(tpls, ", "))
	}
	tpl, ok := d.base.Templates[tpls[0]]
	if !ok {
		return found{}, fmt.Errorf("cluster %q (%s): label %s: %w", g.name, appIDs(g), LabelPolicy, d.base.UnknownTemplate(tpls[0]))
	}
	var ref policy.MarathonRef
	if a := g.apps[policy.Coordinators]; a != nil {
		ref.Coordinators = a.ID
	}
	if a := g.apps[policy.DBServers]; a != nil {
		ref.DBServers = a.ID
	}
	endpoints, fromTasks := d.endpoints(g)
	c, err := tpl.Instantiate(g.name, endpoints, ref)
	if err != nil {
		return found{}, fmt.Errorf("%w (apps %s, template %q)", err, appIDs(g), tpl.Name)
	}
	return found{cluster: c, template: tpl.Name, fromTasks: fromTasks}, nil
}

func appIDs(g *group) string {
	var ids []string
	for _, r := range policy.Roles() {
		if a := g.apps[r]; a != nil {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return "no app of a scaled role"
	}
	return strings.Join(ids, ", ")
}

// endpoints are the coordinators' arangoscale.endpoint label, else their
// running tasks' first ports. Task endpoints stay as they were while one
// of them still runs, so scaling the coordinators does not churn the
// policy (the ArangoDB client fails over between them).
func (d *Discoverer) endpoints(g *group) ([]string, bool) {
	a := g.apps[policy.Coordinators]
	if a == nil {
		a = g.apps[policy.DBServers] // a template scaling DB servers only still talks to a coordinator
		if a == nil {
			return nil, false
		}
		if v := strings.TrimSpace(a.Labels[LabelEndpoint]); v != "" {
			return splitList(v), false
		}
		return nil, false
	}
	if v := strings.TrimSpace(a.Labels[LabelEndpoint]); v != "" {
		return splitList(v), false
	}
	var now []string
	for _, t := range a.Tasks {
		if t.State == "TASK_RUNNING" && t.Host != "" && len(t.Ports) > 0 && t.Ports[0] > 0 {
			now = append(now, fmt.Sprintf("http://%s:%d", t.Host, t.Ports[0]))
		}
	}
	sort.Strings(now)
	if prev, ok := d.found[g.name]; ok && prev.fromTasks {
		for _, e := range prev.cluster.ArangoDB.Endpoints {
			if slices.Contains(now, e) {
				return prev.cluster.ArangoDB.Endpoints, true
			}
		}
	}
	return now, true
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// roleOf reads an app's role; skip is set for agents, which are never
// scaled.
func roleOf(a *marathon.App) (r policy.Role, skip bool, err error) {
	v, labelled := a.Labels[LabelRole]
	if !labelled {
		v = path.Base(a.ID)
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "coordinators", "coordinator":
		return policy.Coordinators, false, nil
	case "dbservers", "dbserver":
		return policy.DBServers, false, nil
	case "agent", "agents", "agency":
		return "", true, nil
	}
	if labelled {
		return "", false, fmt.Errorf("app %s: label %s=%q: want coordinators or dbservers", a.ID, LabelRole, v)
	}
	return "", false, fmt.Errorf("app %s: cannot tell its role from the id: set the label %s=coordinators or dbservers", a.ID, LabelRole)
}

// clusterName is the arangoscale.cluster label, else the app's group
// without an "arangodb-" prefix.
func clusterName(a *marathon.App) string {
	if v := strings.TrimSpace(a.Labels[LabelCluster]); v != "" {
		return v
	}
	g := path.Base(path.Dir(a.ID))
	if g == "/" || g == "." {
		return strings.TrimPrefix(path.Base(a.ID), "arangodb-")
	}
	return strings.TrimPrefix(g, "arangodb-")
}
