package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/ha/zktest"
	"github.com/arangoscale/arangoscale/sim"
)

// TestRunTwoReplicasOnZooKeeper runs the production entry point twice with
// ARANGOSCALE_ZK: one replica owns the cluster, the other reports it
// standby; both export the HA metrics.
func TestRunTwoReplicasOnZooKeeper(t *testing.T) {
	zks := zktest.Start(t)
	world, err := sim.NewWorld(clock.Real{}, sim.DefaultParams(), sim.ClusterSpec{Name: "prod", Coordinators: 2, DBServers: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := world.Start(); err != nil {
		t.Fatal(err)
	}
	defer world.Close()
	dir := t.TempDir()
	polPath := filepath.Join(dir, "policies.yaml")
	if err := os.WriteFile(polPath, []byte(strings.ReplaceAll(goodPolicy, "ARANGO", world.ArangoURL("prod"))), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ARANGOSCALE_POLICY_FILE", polPath)
	t.Setenv("ARANGOSCALE_MARATHON_URL", world.MarathonURL())
	t.Setenv("ARANGOSCALE_MESOS_URL", world.MesosURL())
	t.Setenv("ARANGOSCALE_LISTEN", "127.0.0.1:0")
	t.Setenv("ARANGOSCALE_ADMIN_OPEN", "true")
	t.Setenv("ARANGOSCALE_LOG_FORMAT", "text")
	t.Setenv("ARANGOSCALE_SOURCE_TIMEOUT", "1s")
	t.Setenv("ARANGOSCALE_INTERVAL", "1s")
	t.Setenv("ARANGOSCALE_ZK_SESSION_TIMEOUT", "2s")
	t.Setenv("ARANGOSCALE_ZK", "zk://"+zks.Addr()+"/run-test")

	var bases []string
	for range 2 {
		a, _ := startRun(t, nil)
		bases = append(bases, "http://"+a)
	}

	// Both run in real time against a real ZooKeeper: poll their
	// endpoints until they agree, with a deadline.
	deadline := time.Now().Add(30 * time.Second)
	for {
		owners, standbys, leaders := 0, 0, 0
		for _, b := range bases {
			_, m := getURL(t, b+"/metrics")
			if strings.Contains(m, "\narangoscale_owned_clusters 1\n") {
				owners++
			}
			if strings.Contains(m, "\narangoscale_leader 1\n") {
				leaders++
			}
			var st struct {
				Clusters []struct {
					Standby string `json:"standby"`
				} `json:"clusters"`
			}
			_, s := getURL(t, b+"/status")
			if json.Unmarshal([]byte(s), &st) == nil && len(st.Clusters) == 1 && strings.Contains(st.Clusters[0].Standby, "owned by another replica") {
				standbys++
			}
		}
		if owners == 1 && standbys == 1 && leaders == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("owners %d standbys %d leaders %d, want one each", owners, standbys, leaders)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
