package controller

import (
	"testing"

	"github.com/arangoscale/arangoscale/arangodb"
)

// A shard placement stays valid while the DB servers and their states do:
// coordinators come and go without moving a shard.
func TestSameDBServers(t *testing.T) {
	c1 := arangodb.ServerHealth{ID: "CRDN-1", Role: arangodb.RoleCoordinator, Status: "GOOD"}
	c2 := arangodb.ServerHealth{ID: "CRDN-2", Role: arangodb.RoleCoordinator, Status: "GOOD"}
	d1 := arangodb.ServerHealth{ID: "PRMR-1", Role: arangodb.RoleDBServer, Status: "GOOD"}
	d2 := arangodb.ServerHealth{ID: "PRMR-2", Role: arangodb.RoleDBServer, Status: "GOOD"}
	d2bad := d2
	d2bad.Status = "BAD"
	for _, c := range []struct {
		name string
		a, b []arangodb.ServerHealth
		want bool
	}{
		{"same", []arangodb.ServerHealth{c1, d1, d2}, []arangodb.ServerHealth{c1, d1, d2}, true},
		{"coordinator added", []arangodb.ServerHealth{c1, d1, d2}, []arangodb.ServerHealth{c1, c2, d1, d2}, true},
		{"coordinators gone", []arangodb.ServerHealth{c1, c2, d1, d2}, []arangodb.ServerHealth{d1, d2}, true},
		{"DB server added", []arangodb.ServerHealth{c1, d1}, []arangodb.ServerHealth{c1, d1, d2}, false},
		{"DB server gone", []arangodb.ServerHealth{d1, d2}, []arangodb.ServerHealth{d1}, false},
		{"DB server state", []arangodb.ServerHealth{d1, d2}, []arangodb.ServerHealth{d1, d2bad}, false},
		{"both empty", nil, []arangodb.ServerHealth{c1}, true},
	} {
		if got := sameDBServers(c.a, c.b); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
