package arangodb

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzAdminAnswers serves one body and status to every admin call the
// controller makes (health, numberOfServers, shards, clean-out, rebalance)
// over real HTTP: each call returns a value or an error matching one of
// the package's sentinels, an *APIError, or the caller's deadline; never
// a panic.
func FuzzAdminAnswers(f *testing.F) {
	for _, name := range []string{"kube-arangodb_doc_cluster_health_3.4.2_truncated.jsonc", "kube-arangodb_doc_cleanOutServer_202.json"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(200, b)
		}
	}
	f.Add(200, []byte(`{"error":false,"code":200,"numberOfCoordinators":3,"numberOfDBServers":null,"cleanedServers":["PRMR-1"]}`))
	f.Add(200, []byte(`{"result":{"Plan":{"c":{"s1":{"leader":"A","followers":["B"]}}},"Current":{}}}`))
	f.Add(200, []byte(`{"result":{"pendingMoveShards":2,"todoMoveShards":1,"leader":{"imbalance":0.5}}}`))
	f.Add(202, []byte(`{"error":false,"code":202,"id":"123"}`))
	f.Add(412, []byte(`{"code":412,"error":true,"errorMessage":"server may not be deleted","errorNum":1999}`))
	f.Add(503, []byte(`<html>bad gateway</html>`))
	f.Add(200, []byte(`{"Health":{"x":{"Role":7}}}`))
	var status atomic.Int64
	var body atomic.Value
	answer := func(w http.ResponseWriter, r *http.Request) {
		writeJSONBody(w, int(status.Load()), string(body.Load().([]byte)))
	}
	srv := newFake(f, map[string]http.HandlerFunc{"/_admin/": answer, "/_api/": answer, "/_db/": answer})
	c, err := New(Config{Endpoints: []string{srv.URL}, Timeout: 2 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	sentinels := []error{ErrPrecondition, ErrNotFound, ErrUnauthorized, ErrUnavailable, ErrBadResponse, context.DeadlineExceeded}
	check := func(t *testing.T, op string, err error) {
		if err == nil {
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		var ae *APIError // any other status: typed, with the status
		if errors.As(err, &ae) {
			return
		}
		t.Fatalf("%s: unclassified error %v", op, err)
	}
	f.Fuzz(func(t *testing.T, code int, b []byte) {
		if code < 200 || code > 599 {
			code = 200
		}
		status.Store(int64(code))
		body.Store(b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := c.Health(ctx)
		check(t, "health", err)
		_, err = c.NumberOfServers(ctx)
		check(t, "numberOfServers", err)
		_, err = c.Shards(ctx)
		check(t, "shards", err)
		_, err = c.CleanOutServer(ctx, "PRMR-1")
		check(t, "cleanOutServer", err)
		_, err = c.Job(ctx, "1")
		check(t, "queryAgencyJob", err)
		_, _, err = c.RebalanceStatus(ctx)
		check(t, "rebalanceStatus", err)
		_, err = c.StartRebalance(ctx)
		check(t, "startRebalance", err)
	})
}
