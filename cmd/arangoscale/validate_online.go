package main

import (
	"context"
	"errors"
	"fmt"

	"gopkg.in/yaml.v3"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/metrics"
	"github.com/arangoscale/arangoscale/policy"
)

// validateOnline checks a loaded policy against the live systems: every
// Marathon app exists, every ArangoDB endpoint answers and takes the
// credentials, every metric of every role has data. Each problem is one
// "file:line:col: message" line at the policy entry it is about. wait
// separates the two metric reads a rate needs.
func validateOnline(ctx context.Context, setup *controller.Setup, path string, data []byte, pol *policy.Config,
	wait func(context.Context) error) (problems, ok []string) {
	var doc yaml.Node
	_ = yaml.Unmarshal(data, &doc) // it loaded, so it parses
	at := func(msg string, keys ...any) string {
		n := locate(&doc, keys...)
		return fmt.Sprintf("%s:%d:%d: %s", path, max(n.Line, 1), max(n.Column, 1), msg)
	}
	mc, err := setup.MarathonClient()
	if err != nil {
		return []string{fmt.Sprintf("%s: marathon: %v", path, err)}, nil
	}
	for i, pc := range pol.Clusters {
		req := metrics.Request{Tasks: map[string][]metrics.Task{}, PromQL: map[string][]string{}, Signals: map[string][]string{}}
		apps := 0
		for _, r := range []policy.Role{policy.Coordinators, policy.DBServers} {
			rp, has := pc.Roles[r]
			if !has {
				continue
			}
			id := pc.AppID(r)
			app, err := mc.App(ctx, id)
			if err != nil {
				problems = append(problems, at(fmt.Sprintf("clusters[%d].marathon.%s: app %s: %v", i, r, id, err), "clusters", i, "marathon", string(r)))
				continue
			}
			apps++
			for _, t := range app.Tasks {
				req.Tasks[string(r)] = append(req.Tasks[string(r)], metrics.Task{ID: t.ID, AgentID: t.AgentID, Host: t.Host, Ports: t.Ports})
			}
			for _, m := range rp.Metrics {
				if m.PromQL != "" {
					req.PromQL[string(r)] = append(req.PromQL[string(r)], m.PromQL)
				} else {
					req.Signals[string(r)] = append(req.Signals[string(r)], m.Signal)
				}
			}
		}
		answering := 0
		for j, ep := range pc.ArangoDB.Endpoints {
			one := *pc
			one.ArangoDB.Endpoints = []string{ep}
			c, err := setup.AdminClient(&one)
			if err == nil {
				_, err = c.Health(ctx)
			}
			switch {
			case err == nil:
				answering++
				continue
			case errors.Is(err, arangodb.ErrUnauthorized):
				err = fmt.Errorf("credentials refused (check ARANGOSCALE_ARANGODB_*): %w", err)
			default:
				err = fmt.Errorf("does not answer: %w", err)
			}
			problems = append(problems, at(fmt.Sprintf("clusters[%d].arangodb.endpoints[%d] %s: %v", i, j, ep, err), "clusters", i, "arangodb", "endpoints", j))
		}
		if answering == 0 {
			continue // no metric can be read either
		}
		clients, err := setup.Connector()(pc, func(string, error) {})
		if err != nil {
			problems = append(problems, at(fmt.Sprintf("clusters[%d]: %v", i, err), "clusters", i))
			continue
		}
		clients.Observer.Observe(ctx, req) // the first read primes the rates
		if err := wait(ctx); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", path, err))
			return problems, ok
		}
		obs := clients.Observer.Observe(ctx, req)
		nm := 0
		for _, r := range []policy.Role{policy.Coordinators, policy.DBServers} {
			rp, has := pc.Roles[r]
			if !has || req.Tasks[string(r)] == nil {
				continue
			}
			for k, m := range rp.Metrics {
				s := obs.Roles[string(r)][m.Key()]
				if s != nil && len(s.Values) > 0 {
					nm++
					continue
				}
				why := "no data from the source"
				if s != nil && s.Reason != "" {
					why = s.Reason
				}
				problems = append(problems, at(fmt.Sprintf("clusters[%d].roles.%s.metrics[%d] %s: %s", i, r, k, m.Key(), why), "clusters", i, "roles", string(r), "metrics", k))
			}
		}
		ok = append(ok, fmt.Sprintf("cluster %s: %d apps found, %d of %d endpoints answer with the credentials, %d metrics have data",
			pc.Name, apps, answering, len(pc.ArangoDB.Endpoints), nm))
	}
	return problems, ok
}

// locate finds the node at a path of mapping keys (string) and sequence
// indexes (int), or the deepest node found on the way.
func locate(n *yaml.Node, path ...any) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, p := range path {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		var next *yaml.Node
		switch k := p.(type) {
		case string:
			if n.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(n.Content); i += 2 {
					if n.Content[i].Value == k {
						next = n.Content[i+1]
					}
				}
			}
		case int:
			if n.Kind == yaml.SequenceNode && k < len(n.Content) {
				next = n.Content[k]
			}
		}
		if next == nil {
			return n
		}
		n = next
	}
	return n
}
