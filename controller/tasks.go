package controller

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/marathon"
)

// Resolver returns the IP addresses of a host name, as
// net.Resolver.LookupHost does (the default). Tests inject their own.
type Resolver func(ctx context.Context, host string) ([]string, error)

// taskMatch is the Marathon task found for an ArangoDB server.
type taskMatch struct {
	task marathon.Task
	ok   bool
	// ambiguous: more than one task could be the server's; none is taken.
	ambiguous bool
	why       string // when !ok
}

// taskIndex maps the servers of one role to the tasks of its app, once
// per reconcile.
type taskIndex struct {
	byServer map[string]taskMatch
}

// taskFor finds the Marathon task that runs an ArangoDB server.
//
// The apps start arangod with --cluster.my-address tcp://$HOST:$PORT0
// (deploy/marathon/arangodb-cluster.json), so a server's endpoint is
// normally its task's host and first port. On DC/OS the host part may
// also be a DNS name of the agent, or an IP where Marathon shows a name.
// In order, and only with the task's first port equal to the endpoint's
// port: the same host; the same IP address after resolving both; for a
// host name that does not resolve here, the port alone. Whenever two tasks
// could match, or two servers claim one task, no task is taken and the
// reason says so: a wrong guess would kill a server that holds data.
func (cl *cluster) taskFor(ctx context.Context, ob *observation, app *marathon.App, s arangodb.ServerHealth) taskMatch {
	if app == nil {
		return taskMatch{why: "Marathon app unreadable"}
	}
	if ob.taskIdx == nil {
		ob.taskIdx = map[string]*taskIndex{}
	}
	key := app.ID + "\x00" + s.Role
	idx := ob.taskIdx[key]
	if idx == nil {
		idx = cl.indexTasks(ctx, ob, app, s.Role)
		ob.taskIdx[key] = idx
	}
	if m, ok := idx.byServer[s.ID]; ok {
		return m
	}
	// Not in this reconcile's health list: match it alone.
	return cl.matchTask(ctx, ob, app, s.Endpoint)
}

func (cl *cluster) indexTasks(ctx context.Context, ob *observation, app *marathon.App, role string) *taskIndex {
	idx := &taskIndex{byServer: map[string]taskMatch{}}
	claims := map[string][]string{} // task ID → servers matched to it
	if ob.arango != nil {
		for _, s := range ob.arango.health {
			if s.Role != role {
				continue
			}
			m := cl.matchTask(ctx, ob, app, s.Endpoint)
			idx.byServer[s.ID] = m
			if m.ok {
				claims[m.task.ID] = append(claims[m.task.ID], s.ID)
			}
		}
	}
	for task, servers := range claims {
		if len(servers) < 2 {
			continue
		}
		slices.Sort(servers)
		for _, id := range servers {
			idx.byServer[id] = taskMatch{ambiguous: true,
				why: fmt.Sprintf("task %s matches several servers (%s)", task, strings.Join(servers, ", "))}
		}
	}
	return idx
}

// matchTask applies the rules of taskFor to one endpoint.
func (cl *cluster) matchTask(ctx context.Context, ob *observation, app *marathon.App, endpoint string) taskMatch {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return taskMatch{why: fmt.Sprintf("endpoint %q unparsable", endpoint)}
	}
	host, portStr := u.Hostname(), u.Port()
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return taskMatch{why: fmt.Sprintf("endpoint %q has no port", endpoint)}
	}
	var onPort []marathon.Task
	for _, t := range app.Tasks {
		if len(t.Ports) > 0 && t.Ports[0] == port {
			onPort = append(onPort, t)
		}
	}
	pick := func(how string, c []marathon.Task) (taskMatch, bool) {
		switch len(c) {
		case 0:
			return taskMatch{}, false
		case 1:
			return taskMatch{task: c[0], ok: true}, true
		}
		ids := make([]string, len(c))
		for i, t := range c {
			ids[i] = t.ID
		}
		return taskMatch{ambiguous: true, why: fmt.Sprintf("endpoint %s matches %d tasks by %s (%s)",
			endpoint, len(c), how, strings.Join(ids, ", "))}, true
	}
	if m, done := pick("host and port", filter(onPort, func(t marathon.Task) bool { return sameHost(t.Host, host) })); done {
		return m
	}
	want := cl.lookup(ctx, ob, host)
	if len(want) > 0 {
		if m, done := pick("IP address and port", filter(onPort, func(t marathon.Task) bool {
			return intersects(want, cl.lookup(ctx, ob, t.Host))
		})); done {
			return m
		}
	}
	// A name that resolves to no task's agent is a VIP or a balancer: its
	// port says nothing about a task. Only a name we cannot resolve (the
	// agents' own DNS, not ours) is matched by port.
	if len(want) == 0 {
		if m, done := pick("port (host name "+host+")", onPort); done {
			return m
		}
	}
	return taskMatch{why: fmt.Sprintf("no task of %s has endpoint %s", app.ID, endpoint)}
}

// lookup resolves a host once per reconcile; an IP is itself, a failed
// lookup is no address.
func (cl *cluster) lookup(ctx context.Context, ob *observation, host string) []string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if ip := net.ParseIP(host); ip != nil {
		return []string{ip.String()}
	}
	if ips, ok := ob.resolved[host]; ok {
		return ips
	}
	if ob.resolved == nil {
		ob.resolved = map[string][]string{}
	}
	resolve := cl.ctl.cfg.Resolver
	if resolve == nil {
		resolve = net.DefaultResolver.LookupHost
	}
	addrs, err := resolve(ctx, host)
	var ips []string
	if err == nil {
		for _, a := range addrs {
			if ip := net.ParseIP(a); ip != nil {
				ips = append(ips, ip.String())
			}
		}
	}
	ob.resolved[host] = ips
	return ips
}

func sameHost(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

func intersects(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func filter(ts []marathon.Task, keep func(marathon.Task) bool) []marathon.Task {
	var out []marathon.Task
	for _, t := range ts {
		if keep(t) {
			out = append(out, t)
		}
	}
	return out
}
