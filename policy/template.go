package policy

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Template is a cluster policy without the parts discovery supplies: the
// cluster's name, its Marathon app ids and its coordinator endpoints.
type Template struct {
	Name     string
	Interval time.Duration
	Roles    map[Role]*RolePolicy
}

// ErrIncomplete is returned by Instantiate when a discovered cluster lacks
// what its template needs (an app for a configured role, an endpoint).
var ErrIncomplete = errors.New("incomplete cluster")

// TemplateNames returns the template names in sorted order.
func (c *Config) TemplateNames() []string {
	names := make([]string, 0, len(c.Templates))
	for n := range c.Templates {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Instantiate builds the policy of a discovered cluster from t. Every role
// the template configures needs an app id; the endpoints must be http(s)
// URLs. The role policies are copied, so clusters never share state.
func (t *Template) Instantiate(name string, endpoints []string, apps MarathonRef) (*Cluster, error) {
	if !validName(name) {
		return nil, fmt.Errorf("cluster name %q: must start with a letter or digit and hold only letters, digits, '.', '_' and '-'", name)
	}
	if len(endpoints) == 0 {
		return nil, fmt.Errorf("cluster %q: %w: no coordinator endpoint (no running coordinator task and no arangoscale.endpoint label)", name, ErrIncomplete)
	}
	for _, e := range endpoints {
		if u, err := url.Parse(e); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("cluster %q: endpoint %q is not an http:// or https:// URL", name, e)
		}
	}
	c := &Cluster{
		Name:     name,
		Interval: t.Interval,
		ArangoDB: ArangoDBRef{Endpoints: append([]string(nil), endpoints...)},
		Marathon: apps,
		Roles:    make(map[Role]*RolePolicy, len(t.Roles)),
	}
	for _, r := range Roles() {
		rp, ok := t.Roles[r]
		if !ok {
			continue
		}
		if c.AppID(r) == "" {
			return nil, fmt.Errorf("cluster %q: %w: template %q scales %s but no Marathon app of that role was found", name, ErrIncomplete, t.Name, r)
		}
		cp := *rp
		cp.Metrics = append([]Metric(nil), rp.Metrics...)
		cp.Schedule = append([]ScheduleEntry(nil), rp.Schedule...)
		if rp.SLO != nil {
			o := *rp.SLO
			cp.SLO = &o
		}
		c.Roles[r] = &cp
	}
	return c, nil
}

// templates parses the top-level "templates:" mapping: name → {interval,
// roles}, the same keys a cluster has except name, arangodb and marathon.
func (l *loader) templates(n *yaml.Node) map[string]*Template {
	if n != nil && n.Kind == yaml.AliasNode && !l.expand(n) {
		return nil
	}
	m := resolve(n)
	if m == nil || m.Kind != yaml.MappingNode {
		l.errAt(n, "templates: expected a mapping of template names to cluster policies, got %s", describe(n))
		return nil
	}
	out := map[string]*Template{}
	first := map[string]*yaml.Node{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := resolve(m.Content[i]), m.Content[i+1]
		if k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			l.errAt(k, "templates: merge keys (<<) are not supported here; merge inside a template")
			continue
		}
		if k == nil || k.Kind != yaml.ScalarNode || k.ShortTag() != "!!str" {
			l.errAt(m.Content[i], "templates: keys must be template names, got %s", describe(k))
			continue
		}
		name := k.Value
		path := "templates." + name
		if !validName(name) {
			l.errAt(k, "%s: name %q must start with a letter or digit and hold only letters, digits, '.', '_' and '-'", path, name)
			continue
		}
		if prev, dup := first[name]; dup {
			l.errAt(k, "%s: duplicate template name %q (first at line %d)", path, name, prev.Line)
			continue
		}
		first[name] = k
		if t := l.template(v, path, name); t != nil {
			out[name] = t
		}
	}
	return out
}

func (l *loader) template(n *yaml.Node, path, name string) *Template {
	f := l.fields(n, path, "interval", "roles")
	if f == nil {
		return nil
	}
	t := &Template{Name: name, Roles: map[Role]*RolePolicy{}}
	if v, ok := f["interval"]; ok {
		if d, ok := l.duration(v.val, path+".interval"); ok {
			if d < time.Second {
				l.errAt(v.val, "%s.interval: %s is too short: at least 1s; leave it out to use the controller's interval", path, resolve(v.val).Value)
			}
			t.Interval = d
		}
	}
	v, ok := f["roles"]
	if !ok {
		l.errAt(n, "%s.roles: required", path)
		return t
	}
	rf := l.fields(v.val, path+".roles", "coordinators", "dbservers")
	if rf == nil {
		return t
	}
	if len(rf) == 0 {
		l.errAt(v.val, "%s.roles: configure at least one of coordinators, dbservers", path)
	}
	for _, r := range Roles() {
		rv, ok := rf[string(r)]
		if !ok {
			continue
		}
		if rp := l.role(rv.val, path+".roles."+string(r), r); rp != nil {
			t.Roles[r] = rp
		}
	}
	return t
}

// templateNamesList is for messages: "a, b" or "none".
func (c *Config) templateNamesList() string {
	if len(c.Templates) == 0 {
		return "none"
	}
	return strings.Join(c.TemplateNames(), ", ")
}

// UnknownTemplate is the error for a label naming a template c lacks.
func (c *Config) UnknownTemplate(name string) error {
	return fmt.Errorf("%w %q (templates in the policy: %s)", ErrUnknownTemplate, name, c.templateNamesList())
}

// ErrUnknownTemplate is wrapped by UnknownTemplate.
var ErrUnknownTemplate = errors.New("unknown template")
