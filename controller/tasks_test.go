package controller

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/arangoscale/arangoscale/arangodb"
	"github.com/arangoscale/arangoscale/marathon"
)

func TestTaskForMatchesOnlyWhenSure(t *testing.T) {
	dns := map[string][]string{
		"agent-1.example":  {"10.0.0.1"},
		"agent-2.example":  {"10.0.0.2"},
		"shared.example":   {"10.0.0.1", "10.0.0.2"},
		"dbserver.l4lb.ex": {"11.0.0.9"}, // a VIP: no agent has this address
	}
	resolve := func(_ context.Context, host string) ([]string, error) {
		if ips, ok := dns[host]; ok {
			return ips, nil
		}
		return nil, errors.New("no such host")
	}
	task := func(id, host string, port int) marathon.Task {
		return marathon.Task{ID: id, Host: host, Ports: []int{port, port + 1}}
	}
	cases := []struct {
		name     string
		tasks    []marathon.Task
		servers  map[string]string // server ID → endpoint
		want     map[string]string // server ID → task ID, "" = none
		wantWhy  string            // in the reason of every unmatched server
		notAmbig bool
	}{
		{name: "host and port", tasks: []marathon.Task{task("a", "10.0.0.1", 4000), task("b", "10.0.0.2", 4000)},
			servers: map[string]string{"S1": "tcp://10.0.0.2:4000"}, want: map[string]string{"S1": "b"}},
		{name: "name to IP", tasks: []marathon.Task{task("a", "10.0.0.1", 4000), task("b", "10.0.0.2", 4000)},
			servers: map[string]string{"S1": "tcp://agent-1.example:4000", "S2": "ssl://Agent-2.Example.:4000"},
			want:    map[string]string{"S1": "a", "S2": "b"}},
		{name: "IP to name", tasks: []marathon.Task{task("a", "agent-1.example", 4000), task("b", "agent-2.example", 4000)},
			servers: map[string]string{"S1": "tcp://10.0.0.2:4000"}, want: map[string]string{"S1": "b"}},
		{name: "port alone for an unresolvable name", tasks: []marathon.Task{task("a", "10.0.0.1", 4000), task("b", "10.0.0.2", 4001)},
			servers: map[string]string{"S1": "tcp://dbserver-1.internal:4001"}, want: map[string]string{"S1": "b"}},
		{name: "two tasks on the port of a name", tasks: []marathon.Task{task("a", "10.0.0.1", 4000), task("b", "10.0.0.2", 4000)},
			servers: map[string]string{"S1": "tcp://dbserver-1.internal:4000"}, want: map[string]string{"S1": ""}, wantWhy: "matches 2 tasks by port"},
		{name: "a name of two agents", tasks: []marathon.Task{task("a", "10.0.0.1", 4000), task("b", "10.0.0.2", 4000)},
			servers: map[string]string{"S1": "tcp://shared.example:4000"}, want: map[string]string{"S1": ""}, wantWhy: "by IP address and port"},
		{name: "a VIP", tasks: []marathon.Task{task("a", "10.0.0.1", 4000), task("b", "10.0.0.2", 4001)},
			servers: map[string]string{"S1": "tcp://dbserver.l4lb.ex:8529"}, want: map[string]string{"S1": ""}, wantWhy: "no task", notAmbig: true},
		{name: "a VIP on a task's port", tasks: []marathon.Task{task("a", "10.0.0.1", 8529)},
			servers: map[string]string{"S1": "tcp://dbserver.l4lb.ex:8529"}, want: map[string]string{"S1": ""}, wantWhy: "no task", notAmbig: true},
		{name: "an IP of no task is not matched by port", tasks: []marathon.Task{task("a", "10.0.0.1", 4000)},
			servers: map[string]string{"S1": "tcp://10.9.9.9:4000"}, want: map[string]string{"S1": ""}, wantWhy: "no task", notAmbig: true},
		{name: "two servers claim one task", tasks: []marathon.Task{task("a", "10.0.0.1", 4000), task("b", "10.0.0.2", 4001)},
			servers: map[string]string{"S1": "tcp://10.0.0.1:4000", "S2": "tcp://agent-1.example:4000"},
			want:    map[string]string{"S1": "", "S2": ""}, wantWhy: "matches several servers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl := &cluster{ctl: &Controller{cfg: Config{Resolver: resolve}}}
			app := &marathon.App{ID: "/db", Tasks: tc.tasks}
			v := &arangoView{}
			for id, ep := range tc.servers {
				v.health = append(v.health, arangodb.ServerHealth{ID: id, Role: arangodb.RoleDBServer, Endpoint: ep})
			}
			ob := &observation{arango: v}
			for _, s := range v.health {
				m := cl.taskFor(context.Background(), ob, app, s)
				want := tc.want[s.ID]
				switch {
				case want != "" && (!m.ok || m.task.ID != want):
					t.Errorf("%s (%s): got %+v, want task %s", s.ID, s.Endpoint, m, want)
				case want == "" && m.ok:
					t.Errorf("%s (%s): matched task %s, want none", s.ID, s.Endpoint, m.task.ID)
				case want == "" && !strings.Contains(m.why, tc.wantWhy):
					t.Errorf("%s: reason %q lacks %q", s.ID, m.why, tc.wantWhy)
				case want == "" && m.ambiguous == tc.notAmbig:
					t.Errorf("%s: ambiguous %v", s.ID, m.ambiguous)
				}
			}
		})
	}
}
