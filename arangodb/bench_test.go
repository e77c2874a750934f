package arangodb

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/sim/arango"
)

// BenchmarkShards: one Shards call over 20 collections of 3×3 shards on a
// loopback coordinator (23 requests).
func BenchmarkShards(b *testing.B) {
	const n = 20
	var names, dist []string
	routes := map[string]http.HandlerFunc{
		"GET /_admin/cluster/health":     reply(200, `{"Health":{"PRMR-a":{"Role":"DBServer","Status":"GOOD"},"PRMR-b":{"Role":"DBServer","Status":"GOOD"},"PRMR-c":{"Role":"DBServer","Status":"GOOD"}},"error":false,"code":200}`),
		"GET /_db/_system/_api/database": reply(200, `{"error":false,"code":200,"result":["_system"]}`),
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("c%d", i)
		names = append(names, `{"name":"`+name+`"}`)
		routes["GET /_db/_system/_api/collection/"+name+"/properties"] = reply(200, `{"replicationFactor":3,"writeConcern":2,"error":false,"code":200}`)
		shards := `"s%d0":{"leader":"PRMR-a","followers":["PRMR-b","PRMR-c"]},"s%d1":{"leader":"PRMR-b","followers":["PRMR-c","PRMR-a"]},"s%d2":{"leader":"PRMR-c","followers":["PRMR-a","PRMR-b"]}`
		shards = fmt.Sprintf(shards, i, i, i)
		dist = append(dist, `"`+name+`":{"Plan":{`+shards+`},"Current":{`+shards+`}}`)
	}
	routes["GET /_db/_system/_api/collection"] = reply(200, `{"error":false,"code":200,"result":[`+strings.Join(names, ",")+`]}`)
	routes["GET /_db/_system/_admin/cluster/shardDistribution"] = reply(200, `{"results":{`+strings.Join(dist, ",")+`},"error":false,"code":200}`)
	c := newFake(b, routes).client(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := c.Shards(ctx)
		if err != nil || st.MaxReplicationFactor != 3 {
			b.Fatal(st, err)
		}
	}
}

// BenchmarkHealthAndJobEmulator: one Health plus one Job poll against the
// emulator, the controller's per-reconcile cost while a clean-out runs.
func BenchmarkHealthAndJobEmulator(b *testing.B) {
	clk := clock.NewVirtual(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	cl := arango.NewCluster("bench", clk, arango.DefaultParams())
	cl.ServerUp(arango.Coordinator, "c", "tcp://127.0.0.1:1")
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, cl.ServerUp(arango.DBServer, fmt.Sprint("d", i), fmt.Sprint("tcp://127.0.0.1:2", i)))
	}
	if err := cl.AddCollection(arango.CollectionSpec{Name: "x", NumberOfShards: 30, ReplicationFactor: 2, SizeBytes: 1 << 40}); err != nil {
		b.Fatal(err)
	}
	jobID := cl.CleanOutServer(ids[0])
	srv := httptest.NewServer(cl.Handler())
	defer srv.Close()
	c, err := New(Config{Endpoints: []string{srv.URL}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.Health(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Job(ctx, jobID); err != nil {
			b.Fatal(err)
		}
	}
}
