package ha_test

import (
	"errors"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/ha"
	"github.com/arangoscale/arangoscale/ha/zktest"
)

// TestDigestAuth: with credentials the nodes carry a digest ACL, so a
// client without them can neither read nor delete a cluster's lock.
func TestDigestAuth(t *testing.T) {
	zks := zktest.Start(t)
	n, err := ha.Start(ha.Config{Servers: []string{zks.Addr()}, Root: "/secured", Auth: "arangoscale:s3cret",
		SessionTimeout: sessionTimeout, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	n.SetClusters([]string{"prod"})
	waitAll(t, 20*time.Second, "prod owned", []*ha.Node{n}, func(s []ha.Snapshot) bool { return len(s[0].Owned) == 1 })

	anon, _, err := zk.Connect([]string{zks.Addr()}, 10*time.Second, zk.WithLogger(quiet{}))
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	if _, _, err := anon.Get("/secured/owners/prod"); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("read of the lock without credentials: %v, want ErrNoAuth", err)
	}
	if err := anon.Delete("/secured/owners/prod", -1); !errors.Is(err, zk.ErrNoAuth) {
		t.Fatalf("delete of the lock without credentials: %v, want ErrNoAuth", err)
	}
	if _, err := ha.Start(ha.Config{Servers: []string{zks.Addr()}, Auth: "no-colon"}); err == nil {
		t.Fatal("auth without a colon accepted")
	}
}
