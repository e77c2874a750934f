package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
	"github.com/arangoscale/arangoscale/sim"
)

// TestRunDiscoversEmulatedClusters: `arangoscale run` against `arangoscale
// emulate --discover --clusters 2` finds both clusters by their labels,
// scales them (ready), and drops the one whose apps are removed.
func TestRunDiscoversEmulatedClusters(t *testing.T) {
	e, out := startEmulate(t, emulateOptions{trace: sim.DemoTrace, speed: 60, scale: 1, name: "found", clusters: 2,
		discover: true, dir: t.TempDir()})
	if !strings.Contains(out.String(), "templates:") || strings.Contains(out.String(), "name: found-1") {
		t.Fatalf("emulate --discover should print a template policy without clusters:\n%s", out.String())
	}
	a, logs := startRun(t, e.env)
	status := func() controller.Status {
		t.Helper()
		_, body := getURL(t, "http://"+a+"/status")
		var st controller.Status
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("/status: %v\n%s", err, body)
		}
		return st
	}
	// Polling a real process over HTTP, with a deadline.
	waitFor := func(what string, cond func(controller.Status) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			st := status()
			if cond(st) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not reached; status %+v\n%s", what, st, logs.String())
			}
			<-time.After(200 * time.Millisecond)
		}
	}
	names := func(st controller.Status) string {
		var n []string
		for _, c := range st.Clusters {
			n = append(n, c.Name)
		}
		return strings.Join(n, ",")
	}
	waitFor("both clusters discovered and ready", func(st controller.Status) bool {
		return names(st) == "found-1,found-2" && st.Ready && st.Discovery != nil && len(st.Discovery.Clusters) == 2
	})
	for _, id := range []string{sim.CoordinatorApp("found-2"), sim.DBServerApp("found-2")} {
		if err := e.world.Marathon().RemoveApp(id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("found-2 gone", func(st controller.Status) bool { return names(st) == "found-1" })
	if _, body := getURL(t, "http://"+a+"/metrics"); strings.Contains(body, `cluster="found-2"`) ||
		!strings.Contains(body, "arangoscale_discovered_clusters 1") {
		t.Fatalf("metrics after found-2 went:\n%s", body)
	}
}
