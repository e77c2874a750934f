package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// LoadFile reads and loads the policy file at path. Problems in the file
// come back as *Errors; a file that cannot be read as a wrapped fs error.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return Load(path, data)
}

// Load parses a policy file strictly, fills in the defaults and validates
// it. filename only labels error positions. On any problem it returns a
// nil *Config and an *Errors holding every problem found.
func Load(filename string, data []byte) (*Config, error) {
	l := &loader{file: filename}
	cfg := l.load(data)
	if len(l.errs.List) > 0 {
		l.errs.sort()
		if l.truncated {
			last := l.errs.List[len(l.errs.List)-1]
			last.Msg = fmt.Sprintf("too many errors (more than %d); stopping", maxErrors)
			l.errs.List = append(l.errs.List, last)
		}
		return nil, &l.errs
	}
	return cfg, nil
}

type loader struct {
	file string
	errs Errors
	locs map[string]*time.Location // time zones loaded so far

	// aliases counts alias and merge expansions: the walk expands them, so
	// a small file of nested aliases must not make it walk forever.
	aliases   int
	truncated bool // more than maxErrors errors
}

// Limits that keep hostile or broken files cheap to reject.
const (
	maxAliases = 1000
	maxErrors  = 500
)

// expand counts one alias or merge expansion at n and reports false, once
// with an error, when the file uses too many.
func (l *loader) expand(n *yaml.Node) bool {
	l.aliases++
	if l.aliases == maxAliases+1 {
		l.errAt(n, "too many alias or merge expansions (more than %d)", maxAliases)
	}
	return l.aliases <= maxAliases
}

// location loads an IANA time zone once per file.
func (l *loader) location(name string) (*time.Location, error) {
	if loc, ok := l.locs[name]; ok {
		return loc, nil
	}
	if name == "" || name == "Local" {
		return nil, errors.New("not an IANA time zone")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	if l.locs == nil {
		l.locs = map[string]*time.Location{}
	}
	l.locs[name] = loc
	return loc, nil
}

func (l *loader) errAt(n *yaml.Node, format string, args ...any) {
	if len(l.errs.List) >= maxErrors {
		l.truncated = true
		return
	}
	line, col := 1, 1
	if n != nil && n.Line > 0 {
		line, col = n.Line, max(n.Column, 1)
	}
	l.errs.List = append(l.errs.List, PosError{File: l.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
}

// syntaxErr turns a yaml.v3 parse error ("yaml: line 3: msg") into a
// positioned error; yaml.v3 gives no column, so the column is 1.
func (l *loader) syntaxErr(err error, fallbackLine int) {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := fallbackLine
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil && n > 0 {
				line = n
				msg = strings.TrimSpace(rest[i+1:])
				if isParserProblem(msg) {
					line++ // yaml.v3 reports parser (not scanner) errors 0-based
				}
			}
		}
	}
	l.errs.List = append(l.errs.List, PosError{File: l.file, Line: max(line, 1), Col: 1, Msg: "invalid YAML: " + msg})
}

// isParserProblem reports whether msg is one of yaml.v3's parser problems
// (its scanner problems carry 1-based lines, its parser problems 0-based).
func isParserProblem(msg string) bool {
	switch msg {
	case "did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"did not find expected '-' indicator", "did not find expected <document start>",
		"did not find expected <stream-start>", "did not find expected key",
		"did not find expected node content", "found duplicate %TAG directive",
		"found duplicate %YAML directive", "found incompatible YAML document",
		"found undefined tag handle":
		return true
	}
	return false
}

func (l *loader) load(data []byte) *Config {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.errAt(nil, "policy is empty: want a top-level \"clusters:\" list")
		} else {
			l.syntaxErr(err, 1)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.errAt(&extra, "only one YAML document is allowed")
	} else if !errors.Is(err, io.EOF) {
		l.syntaxErr(err, 1)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			l.errAt(root, "policy is empty: want a top-level \"clusters:\" list")
			return nil
		}
		root = root.Content[0]
	}
	f := l.fields(root, "policy", "clusters", "templates")
	if f == nil {
		return nil
	}
	cfg := &Config{}
	tn, hasTemplates := f["templates"]
	if hasTemplates {
		cfg.Templates = l.templates(tn.val)
	}
	cn, ok := f["clusters"]
	if !ok {
		switch {
		case !hasTemplates:
			l.errAt(root, "clusters: required (or templates: for discovered clusters)")
		case resolve(tn.val).Kind == yaml.MappingNode && len(resolve(tn.val).Content) == 0:
			l.errAt(tn.val, "templates: at least one template is required when there are no clusters")
		}
		return cfg
	}
	seq := l.seq(cn.val, "clusters")
	if seq != nil && len(seq) == 0 && !hasTemplates {
		l.errAt(cn.val, "clusters: at least one cluster is required")
	}
	names := map[string]*yaml.Node{}
	for i, n := range seq {
		c, nameNode := l.cluster(n, fmt.Sprintf("clusters[%d]", i))
		if c == nil {
			continue
		}
		if c.Name != "" {
			if first, dup := names[c.Name]; dup {
				l.errAt(nameNode, "clusters[%d].name: duplicate cluster name %q (first at line %d)", i, c.Name, first.Line)
			} else {
				names[c.Name] = nameNode
			}
		}
		cfg.Clusters = append(cfg.Clusters, c)
	}
	return cfg
}

// field is one key/value pair of a mapping.
type field struct{ key, val *yaml.Node }

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

// fields checks that n is a mapping with only known keys (none twice) and
// returns its pairs by key. Merge keys ("<<") are expanded; explicit keys win
// over merged ones. It returns nil when n is not a mapping.
func (l *loader) fields(n *yaml.Node, path string, known ...string) map[string]field {
	if n != nil && n.Kind == yaml.AliasNode && !l.expand(n) {
		return nil
	}
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		l.errAt(n, "%s: expected a mapping, got %s", path, describe(n))
		return nil
	}
	out := make(map[string]field, len(n.Content)/2)
	var add func(m *yaml.Node, fromMerge bool, depth int)
	add = func(m *yaml.Node, fromMerge bool, depth int) {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := resolve(m.Content[i]), m.Content[i+1]
			if k == nil {
				continue
			}
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				if depth > 8 {
					l.errAt(k, "%s: merge keys nested too deeply", path)
					continue
				}
				if !l.expand(k) {
					continue
				}
				src := resolve(v)
				switch {
				case src != nil && src.Kind == yaml.MappingNode:
					add(src, true, depth+1)
				case src != nil && src.Kind == yaml.SequenceNode:
					for _, s := range src.Content {
						if s = resolve(s); s != nil && s.Kind == yaml.MappingNode {
							add(s, true, depth+1)
						} else {
							l.errAt(s, "%s: a merge (<<) list must hold mappings", path)
						}
					}
				default:
					l.errAt(v, "%s: a merge (<<) needs a mapping, got %s", path, describe(src))
				}
				continue
			}
			if k.Kind != yaml.ScalarNode {
				l.errAt(k, "%s: keys must be plain strings, got %s", path, describe(k))
				continue
			}
			name := k.Value
			if !contains(known, name) {
				l.errAt(k, "%s: unknown key %q (known: %s)", path, name, strings.Join(known, ", "))
				continue
			}
			if prev, dup := out[name]; dup {
				if !fromMerge {
					l.errAt(k, "%s: duplicate key %q (first at line %d)", path, name, prev.key.Line)
				}
				continue // an explicit or earlier merged key wins
			}
			out[name] = field{key: k, val: v}
		}
	}
	// Explicit keys first so they win over merged ones.
	explicit := &yaml.Node{Kind: yaml.MappingNode}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := resolve(n.Content[i]); k != nil && k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merges = append(merges, n.Content[i], n.Content[i+1])
		} else {
			explicit.Content = append(explicit.Content, n.Content[i], n.Content[i+1])
		}
	}
	add(explicit, false, 0)
	add(&yaml.Node{Kind: yaml.MappingNode, Content: merges}, false, 0)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func describe(n *yaml.Node) string {
	n = resolve(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return strconv.Quote(n.Value)
		}
		return n.Value
	}
	return "an unexpected node"
}

func (l *loader) seq(n *yaml.Node, path string) []*yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode && !l.expand(n) {
		return nil
	}
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		l.errAt(n, "%s: expected a list, got %s", path, describe(n))
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, resolve(c))
	}
	return out
}

func (l *loader) scalar(n *yaml.Node) (*yaml.Node, bool) {
	n = resolve(n)
	return n, n != nil && n.Kind == yaml.ScalarNode
}

func (l *loader) str(n *yaml.Node, path string) (string, bool) {
	s, ok := l.scalar(n)
	if !ok || s.ShortTag() != "!!str" {
		l.errAt(n, "%s: expected a string, got %s", path, describe(n))
		return "", false
	}
	return s.Value, true
}

func (l *loader) integer(n *yaml.Node, path string) (int, bool) {
	s, ok := l.scalar(n)
	if !ok || s.ShortTag() != "!!int" {
		l.errAt(n, "%s: expected an integer, got %s", path, describe(n))
		return 0, false
	}
	var v int64
	if err := s.Decode(&v); err != nil || v > math.MaxInt32 || v < math.MinInt32 {
		l.errAt(n, "%s: integer %s out of range", path, s.Value)
		return 0, false
	}
	return int(v), true
}

func (l *loader) number(n *yaml.Node, path string) (float64, bool) {
	s, ok := l.scalar(n)
	if !ok || (s.ShortTag() != "!!int" && s.ShortTag() != "!!float") {
		l.errAt(n, "%s: expected a number, got %s", path, describe(n))
		return 0, false
	}
	var v float64
	if err := s.Decode(&v); err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		l.errAt(n, "%s: expected a finite number, got %s", path, s.Value)
		return 0, false
	}
	return v, true
}

func (l *loader) boolean(n *yaml.Node, path string) (bool, bool) {
	s, ok := l.scalar(n)
	if !ok || s.ShortTag() != "!!bool" {
		l.errAt(n, "%s: expected true or false, got %s", path, describe(n))
		return false, false
	}
	var v bool
	if err := s.Decode(&v); err != nil {
		l.errAt(n, "%s: expected true or false, got %s", path, s.Value)
		return false, false
	}
	return v, true
}

// duration accepts Go duration strings ("90s", "5m", "1h30m") and a bare 0.
func (l *loader) duration(n *yaml.Node, path string) (time.Duration, bool) {
	s, ok := l.scalar(n)
	if !ok || (s.ShortTag() != "!!str" && s.ShortTag() != "!!int") {
		l.errAt(n, "%s: expected a duration such as \"30s\" or \"5m\", got %s", path, describe(n))
		return 0, false
	}
	d, err := time.ParseDuration(s.Value)
	if err != nil {
		l.errAt(n, "%s: invalid duration %q: want a number with a unit such as \"30s\" or \"5m\"", path, s.Value)
		return 0, false
	}
	if d < 0 {
		l.errAt(n, "%s: duration %s must not be negative", path, s.Value)
		return 0, false
	}
	return d, true
}

// step accepts an instance count (1) or a percent of the current count ("50%").
func (l *loader) step(n *yaml.Node, path string) (Step, bool) {
	s, ok := l.scalar(n)
	if ok && s.ShortTag() == "!!int" {
		c, ok := l.integer(s, path)
		if !ok {
			return Step{}, false
		}
		if c < 1 {
			l.errAt(n, "%s: step must be at least 1 instance, got %d", path, c)
			return Step{}, false
		}
		return Step{Count: c}, true
	}
	if ok && s.ShortTag() == "!!str" && strings.HasSuffix(s.Value, "%") {
		p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s.Value, "%")), 64)
		if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
			l.errAt(n, "%s: invalid percent %q", path, s.Value)
			return Step{}, false
		}
		if p <= 0 || p > 100 {
			l.errAt(n, "%s: percent %s must be above 0%% and at most 100%%", path, s.Value)
			return Step{}, false
		}
		return Step{Percent: p}, true
	}
	l.errAt(n, "%s: expected an instance count (1) or a percent (\"50%%\"), got %s", path, describe(n))
	return Step{}, false
}

func (l *loader) cluster(n *yaml.Node, path string) (*Cluster, *yaml.Node) {
	f := l.fields(n, path, "name", "interval", "arangodb", "marathon", "roles")
	if f == nil {
		return nil, nil
	}
	c := &Cluster{Roles: map[Role]*RolePolicy{}}
	var nameNode *yaml.Node
	if v, ok := f["name"]; !ok {
		l.errAt(n, "%s.name: required", path)
	} else if s, ok := l.str(v.val, path+".name"); ok {
		nameNode = resolve(v.val)
		if !validName(s) {
			l.errAt(v.val, "%s.name: %q must start with a letter or digit and hold only letters, digits, '.', '_' and '-'", path, s)
		} else {
			c.Name = s
		}
	}
	if v, ok := f["interval"]; ok {
		if d, ok := l.duration(v.val, path+".interval"); ok {
			if d < time.Second {
				l.errAt(v.val, "%s.interval: %s is too short: at least 1s; leave it out to use the controller's interval", path, resolve(v.val).Value)
			}
			c.Interval = d
		}
	}
	if v, ok := f["arangodb"]; !ok {
		l.errAt(n, "%s.arangodb: required", path)
	} else if af := l.fields(v.val, path+".arangodb", "endpoints"); af != nil {
		if e, ok := af["endpoints"]; !ok {
			l.errAt(v.val, "%s.arangodb.endpoints: required", path)
		} else if list := l.seq(e.val, path+".arangodb.endpoints"); list != nil {
			if len(list) == 0 {
				l.errAt(e.val, "%s.arangodb.endpoints: at least one endpoint is required", path)
			}
			for i, en := range list {
				p := fmt.Sprintf("%s.arangodb.endpoints[%d]", path, i)
				if s, ok := l.str(en, p); ok {
					if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
						l.errAt(en, "%s: %q is not an http:// or https:// URL", p, s)
					} else {
						c.ArangoDB.Endpoints = append(c.ArangoDB.Endpoints, s)
					}
				}
			}
		}
	}
	var mf map[string]field
	if v, ok := f["marathon"]; !ok {
		l.errAt(n, "%s.marathon: required", path)
	} else {
		mf = l.fields(v.val, path+".marathon", "coordinators", "dbservers")
		for _, r := range Roles() {
			a, ok := mf[string(r)]
			if !ok {
				continue
			}
			p := path + ".marathon." + string(r)
			if s, ok := l.str(a.val, p); ok {
				if !strings.HasPrefix(s, "/") || len(s) < 2 || strings.ContainsAny(s, " \t?#") {
					l.errAt(a.val, "%s: %q is not a Marathon app id (want an absolute id such as /arangodb-prod/coordinator)", p, s)
				} else if r == Coordinators {
					c.Marathon.Coordinators = s
				} else {
					c.Marathon.DBServers = s
				}
			}
		}
	}
	if v, ok := f["roles"]; !ok {
		l.errAt(n, "%s.roles: required", path)
	} else if rf := l.fields(v.val, path+".roles", "coordinators", "dbservers"); rf != nil {
		if len(rf) == 0 {
			l.errAt(v.val, "%s.roles: configure at least one of coordinators, dbservers", path)
		}
		for _, r := range Roles() {
			rv, ok := rf[string(r)]
			if !ok {
				continue
			}
			p := path + ".roles." + string(r)
			if _, ok := mf[string(r)]; !ok && mf != nil {
				l.errAt(rv.key, "%s: no Marathon app id: set %s.marathon.%s", p, path, r)
			}
			if rp := l.role(rv.val, p, r); rp != nil {
				c.Roles[r] = rp
			}
		}
	}
	return c, nameNode
}

func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '-' || r == '_' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// defaultRolePolicy is the one place where role defaults live.
func defaultRolePolicy(r Role) *RolePolicy {
	return &RolePolicy{
		Role:             r,
		Tolerance:        0.1,
		Stabilization:    UpDown{Up: 0, Down: 5 * time.Minute},
		Cooldown:         UpDown{Up: time.Minute, Down: 5 * time.Minute},
		Step:             StepLimits{Up: Step{Percent: 100}, Down: Step{Count: 1}},
		OnMetricsMissing: MissingHold,
		ManualHold:       time.Hour,
	}
}

// defaultMetric is the one place where metric defaults live.
func defaultMetric() Metric {
	return Metric{Strategy: StrategyTarget, Periods: 3, Step: 1}
}

func (l *loader) role(n *yaml.Node, path string, r Role) *RolePolicy {
	f := l.fields(n, path, "strategy", "min", "max", "metrics", "tolerance", "stabilization", "cooldown",
		"step", "on_metrics_missing", "paused", "manual_hold", "schedule", "slo", "forecast")
	if f == nil {
		return nil
	}
	rp := defaultRolePolicy(r)
	if v, ok := f["strategy"]; ok {
		if s, ok := l.str(v.val, path+".strategy"); ok {
			switch s {
			case RoleStrategyPolicy, RoleStrategyHPA, RoleStrategyThreshold:
				rp.Strategy = s
			default:
				l.errAt(v.val, "%s.strategy: %q is not one of policy, hpa, threshold", path, s)
			}
		}
	}
	if rp.Strategy == RoleStrategyHPA || rp.Strategy == RoleStrategyThreshold {
		// These strategies fix their own dead band, windows and steps:
		// a setting here would silently do nothing.
		for _, k := range []string{"tolerance", "stabilization", "cooldown", "step", "schedule", "slo", "forecast"} {
			if v, has := f[k]; has {
				l.errAt(v.key, "%s.%s: not used by strategy %s", path, k, rp.Strategy)
				delete(f, k)
			}
		}
	}
	minOK, maxOK := false, false
	if v, ok := f["min"]; !ok {
		l.errAt(n, "%s.min: required", path)
	} else if m, ok := l.integer(v.val, path+".min"); ok {
		if m < 1 {
			l.errAt(v.val, "%s.min: must be at least 1, got %d", path, m)
		} else {
			rp.Min, minOK = m, true
		}
	}
	if v, ok := f["max"]; !ok {
		l.errAt(n, "%s.max: required", path)
	} else if m, ok := l.integer(v.val, path+".max"); ok {
		if m < 1 {
			l.errAt(v.val, "%s.max: must be at least 1, got %d", path, m)
		} else {
			rp.Max, maxOK = m, true
		}
	}
	if minOK && maxOK && rp.Min > rp.Max {
		l.errAt(f["min"].val, "%s: min %d is above max %d", path, rp.Min, rp.Max)
	}
	if v, ok := f["metrics"]; !ok {
		l.errAt(n, "%s.metrics: required: a role needs at least one metric", path)
	} else if list := l.seq(v.val, path+".metrics"); list != nil {
		if len(list) == 0 {
			l.errAt(v.val, "%s.metrics: a role needs at least one metric", path)
		}
		seen := map[string]int{}
		for i, mn := range list {
			p := fmt.Sprintf("%s.metrics[%d]", path, i)
			m, ok := l.metric(mn, p)
			if m.Signal != "" || m.PromQL != "" {
				if first, dup := seen[m.key]; dup {
					l.errAt(mn, "%s: %s is already used by metrics[%d]", p, m.key, first)
					continue
				}
				seen[m.key] = i
			}
			want := map[string]string{RoleStrategyHPA: StrategyTarget, RoleStrategyThreshold: StrategyThreshold}[rp.Strategy]
			if ok && want != "" && m.Strategy != want {
				l.errAt(mn, "%s: strategy %s of the role needs %s metrics, got %s", p, rp.Strategy, want, m.Strategy)
				ok = false
			}
			if ok {
				rp.Metrics = append(rp.Metrics, m)
			}
		}
	}
	if v, ok := f["tolerance"]; ok {
		p := path + ".tolerance"
		if s, ok := l.scalar(v.val); ok && s.ShortTag() == "!!str" && strings.HasSuffix(s.Value, "%") {
			pct, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s.Value, "%")), 64)
			if err != nil || pct < 0 || pct >= 100 || math.IsNaN(pct) {
				l.errAt(v.val, "%s: percent %s must be at least 0%% and below 100%%", p, s.Value)
			} else {
				rp.Tolerance = pct / 100
			}
		} else if t, ok := l.number(v.val, p); ok {
			if t < 0 || t >= 1 {
				l.errAt(v.val, "%s: must be at least 0 and below 1 (a fraction of the target), got %s", p, resolve(v.val).Value)
			} else {
				rp.Tolerance = t
			}
		}
	}
	l.upDown(f, "stabilization", path, &rp.Stabilization)
	l.upDown(f, "cooldown", path, &rp.Cooldown)
	if v, ok := f["step"]; ok {
		if sf := l.fields(v.val, path+".step", "up", "down"); sf != nil {
			if u, ok := sf["up"]; ok {
				if s, ok := l.step(u.val, path+".step.up"); ok {
					rp.Step.Up = s
				}
			}
			if d, ok := sf["down"]; ok {
				if s, ok := l.step(d.val, path+".step.down"); ok {
					if r == DBServers && (s.Percent != 0 || s.Count > 1) {
						l.errAt(d.val, "%s.step.down: DB servers leave one at a time: must be 1", path)
					} else {
						rp.Step.Down = s
					}
				}
			}
		}
	}
	if v, ok := f["on_metrics_missing"]; ok {
		if s, ok := l.str(v.val, path+".on_metrics_missing"); ok {
			if s != MissingHold && s != MissingScaleUp {
				l.errAt(v.val, "%s.on_metrics_missing: %q is not one of hold, scale_up", path, s)
			} else {
				rp.OnMetricsMissing = s
			}
		}
	}
	if v, ok := f["paused"]; ok {
		if b, ok := l.boolean(v.val, path+".paused"); ok {
			rp.Paused = b
		}
	}
	if v, ok := f["manual_hold"]; ok {
		if d, ok := l.duration(v.val, path+".manual_hold"); ok {
			rp.ManualHold = d
		}
	}
	if v, ok := f["schedule"]; ok {
		for i, sn := range l.seq(v.val, path+".schedule") {
			p := fmt.Sprintf("%s.schedule[%d]", path, i)
			if e, ok := l.schedule(sn, p); ok {
				if maxOK && e.Min > rp.Max {
					l.errAt(sn, "%s: min %d is above the role's max %d", p, e.Min, rp.Max)
					continue
				}
				rp.Schedule = append(rp.Schedule, e)
			}
		}
	}
	if v, ok := f["slo"]; ok {
		rp.SLO = l.slo(v.val, path+".slo")
	}
	if v, ok := f["forecast"]; ok {
		rp.Forecast = l.forecast(v.val, path+".forecast")
	}
	ApplyStrategy(rp)
	return rp
}

func (l *loader) upDown(f map[string]field, key, path string, out *UpDown) {
	v, ok := f[key]
	if !ok {
		return
	}
	p := path + "." + key
	sf := l.fields(v.val, p, "up", "down")
	if u, ok := sf["up"]; ok {
		if d, ok := l.duration(u.val, p+".up"); ok {
			out.Up = d
		}
	}
	if d, ok := sf["down"]; ok {
		if dd, ok := l.duration(d.val, p+".down"); ok {
			out.Down = dd
		}
	}
}

func (l *loader) metric(n *yaml.Node, path string) (Metric, bool) {
	f := l.fields(n, path, "strategy", "signal", "promql", "target", "target_per_instance",
		"upper", "lower", "periods", "step", "multiplier")
	if f == nil {
		return Metric{}, false
	}
	m := defaultMetric()
	ok := true
	if v, has := f["strategy"]; has {
		s, good := l.str(v.val, path+".strategy")
		switch {
		case !good:
			ok = false
		case s != StrategyTarget && s != StrategyThreshold:
			l.errAt(v.val, "%s.strategy: %q is not one of target, threshold", path, s)
			ok = false
		default:
			m.Strategy = s
		}
	}
	sig, hasSig := f["signal"]
	pq, hasPQ := f["promql"]
	switch {
	case hasSig && hasPQ:
		l.errAt(pq.key, "%s: set either signal or promql, not both", path)
		ok = false
	case !hasSig && !hasPQ:
		l.errAt(n, "%s: set one of signal or promql", path)
		ok = false
	case hasSig:
		if s, good := l.str(sig.val, path+".signal"); !good {
			ok = false
		} else if !IsSignal(s) {
			l.errAt(sig.val, "%s.signal: unknown signal %q (known: %s)", path, s, strings.Join(Signals(), ", "))
			ok = false
		} else {
			m.Signal = s
		}
	default:
		if s, good := l.str(pq.val, path+".promql"); !good {
			ok = false
		} else if strings.TrimSpace(s) == "" {
			l.errAt(pq.val, "%s.promql: empty query", path)
			ok = false
		} else {
			m.PromQL = s
		}
	}
	positive := func(key string, dst *float64) bool {
		v, has := f[key]
		if !has {
			return false
		}
		x, good := l.number(v.val, path+"."+key)
		if !good {
			ok = false
			return true
		}
		if x <= 0 {
			l.errAt(v.val, "%s.%s: must be above 0, got %s", path, key, resolve(v.val).Value)
			ok = false
			return true
		}
		*dst = x
		return true
	}
	notFor := func(keys ...string) {
		for _, k := range keys {
			if v, has := f[k]; has {
				l.errAt(v.key, "%s.%s: not used by strategy %s", path, k, m.Strategy)
				ok = false
			}
		}
	}
	if m.Strategy == StrategyTarget {
		notFor("upper", "lower", "periods", "step", "multiplier")
		hasT := positive("target", &m.Target)
		hasTP := positive("target_per_instance", &m.TargetPerInstance)
		switch {
		case hasT && hasTP:
			l.errAt(f["target_per_instance"].key, "%s: set either target or target_per_instance, not both", path)
			ok = false
		case !hasT && !hasTP:
			l.errAt(n, "%s: set one of target or target_per_instance", path)
			ok = false
		}
		m.Periods, m.Step = 0, 0
	} else {
		notFor("target", "target_per_instance")
		bounds := 0
		for _, k := range []string{"upper", "lower"} {
			v, has := f[k]
			if !has {
				l.errAt(n, "%s.%s: required by strategy threshold", path, k)
				ok = false
				continue
			}
			x, good := l.number(v.val, path+"."+k)
			if !good {
				ok = false
				continue
			}
			bounds++
			if k == "upper" {
				m.Upper = x
			} else {
				m.Lower = x
			}
		}
		if bounds == 2 && m.Upper <= m.Lower {
			l.errAt(f["upper"].val, "%s: upper %g must be above lower %g", path, m.Upper, m.Lower)
			ok = false
		}
		for _, k := range []string{"periods", "step"} {
			v, has := f[k]
			if !has {
				continue
			}
			x, good := l.integer(v.val, path+"."+k)
			if !good {
				ok = false
				continue
			}
			if x < 1 {
				l.errAt(v.val, "%s.%s: must be at least 1, got %d", path, k, x)
				ok = false
				continue
			}
			if k == "periods" {
				m.Periods = x
			} else {
				m.Step = x
			}
		}
		if v, has := f["multiplier"]; has {
			if _, step := f["step"]; step {
				l.errAt(v.key, "%s: set either step or multiplier, not both", path)
				ok = false
			} else if x, good := l.number(v.val, path+".multiplier"); !good {
				ok = false
			} else if !(x > 1) || math.IsInf(x, 0) {
				l.errAt(v.val, "%s.multiplier: must be above 1, got %s", path, resolve(v.val).Value)
				ok = false
			} else {
				m.Multiplier, m.Step = x, 0
			}
		}
	}
	m.key = m.Key()
	return m, ok
}

func (l *loader) schedule(n *yaml.Node, path string) (ScheduleEntry, bool) {
	f := l.fields(n, path, "cron", "duration", "min", "time_zone")
	if f == nil {
		return ScheduleEntry{}, false
	}
	e := ScheduleEntry{TimeZone: "UTC"}
	loc := time.UTC
	ok := true
	for _, k := range []string{"cron", "duration", "min"} {
		if _, has := f[k]; !has {
			l.errAt(n, "%s.%s: required", path, k)
			ok = false
		}
	}
	if v, has := f["time_zone"]; has {
		if s, good := l.str(v.val, path+".time_zone"); !good {
			ok = false
		} else if zl, err := l.location(s); err != nil {
			l.errAt(v.val, "%s.time_zone: unknown time zone %q (want an IANA name such as Europe/Berlin)", path, s)
			ok = false
		} else {
			e.TimeZone, loc = s, zl
		}
	}
	if v, has := f["cron"]; has {
		if s, good := l.str(v.val, path+".cron"); !good {
			ok = false
		} else if sched, err := parseCron(s); err != nil {
			if errors.Is(err, errCronTZ) || errors.Is(err, errCronEvery) {
				l.errAt(v.val, "%s.cron: %v", path, err)
			} else {
				l.errAt(v.val, "%s.cron: invalid cron expression %q: %v", path, s, err)
			}
			ok = false
		} else {
			e.Cron, e.sched, e.loc = s, sched, loc
		}
	}
	if v, has := f["duration"]; has {
		if d, good := l.duration(v.val, path+".duration"); !good {
			ok = false
		} else if d == 0 {
			l.errAt(v.val, "%s.duration: must be positive", path)
			ok = false
		} else {
			e.Duration = d
		}
	}
	if v, has := f["min"]; has {
		if m, good := l.integer(v.val, path+".min"); !good {
			ok = false
		} else if m < 1 {
			l.errAt(v.val, "%s.min: must be at least 1, got %d", path, m)
			ok = false
		} else {
			e.Min = m
		}
	}
	return e, ok
}
