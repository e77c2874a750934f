package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/sim/dcos"
)

// TestEmulateAuthRehearsal: `emulate --auth --clusters 2 --base-port P`
// serves every service on its fixed port, refuses wrong credentials, and
// the printed policy and run line bring a controller to ready over all
// clusters with the credentials it wrote.
func TestEmulateAuthRehearsal(t *testing.T) {
	base := freePorts(t, 2+2+agentsFor(sim.DefaultParams().DCOS, 2).Agents)
	e, out := startEmulate(t, emulateOptions{trace: sim.DemoTrace, speed: 60, scale: 1, name: "rehearse", clusters: 2,
		basePort: base, auth: true, dir: t.TempDir()})
	if e.world.MarathonURL() != "http://127.0.0.1:"+strconv.Itoa(base) || e.world.ArangoURL("rehearse-2") != "http://127.0.0.1:"+strconv.Itoa(base+3) {
		t.Fatalf("ports not fixed from %d: marathon %s, arangodb %s", base, e.world.MarathonURL(), e.world.ArangoURL("rehearse-2"))
	}
	for _, want := range []string{"arangoscale run", "ARANGOSCALE_DCOS_SERVICE_ACCOUNT_FILE=", "name: rehearse-1", "name: rehearse-2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("emulate output lacks %q:\n%s", want, out.String())
		}
	}
	req, _ := http.NewRequest(http.MethodGet, e.world.ArangoURL("rehearse-1")+"/_api/version", nil)
	req.SetBasicAuth("root", "wrong")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("ArangoDB with a wrong password: %v %v, want 401", resp.StatusCode, err)
	}
	if resp, err := http.Get(e.world.MarathonURL() + "/v2/apps"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Marathon without a token: %v %v, want 401", resp.StatusCode, err)
	}

	a, logs := startRun(t, e.env)
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := getURL(t, "http://"+a+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("controller never ready against the emulator with its credentials: %s\n%s", body, logs.String())
		}
		<-time.After(200 * time.Millisecond) // polling a real process over HTTP
	}
	if l := strings.ToLower(logs.String()); strings.Contains(l, "http 401") || strings.Contains(l, "unauthorized") {
		t.Errorf("credential failures in the controller's log:\n%s", logs.String())
	}
}

// freePorts finds n consecutive free ports on 127.0.0.1 and returns the
// first; they are closed again for the emulator to take.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for base := 41000; base < 60000; base += 97 {
		var lns []net.Listener
		for i := range n {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		for _, ln := range lns {
			ln.Close()
		}
		if len(lns) == n {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// TestDemoPrintsAndTakesPolicy: the demo prints the policy it runs, and
// runs the one given with --policy (here: coordinators capped at 3).
func TestDemoPrintsAndTakesPolicy(t *testing.T) {
	var builtIn bytes.Buffer
	if err := demoPolicy.Execute(&builtIn, map[string]string{"Name": "demo", "ArangoURL": "http://placeholder:8529"}); err != nil {
		t.Fatal(err)
	}
	o := demoOptions{duration: 20 * time.Minute, listen: "127.0.0.1:0", speed: 3, scale: 2.5, skip: 12 * time.Hour}
	var out bytes.Buffer
	if err := runDemo(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "policy (built in") || !strings.Contains(out.String(), "target_per_instance: 650") {
		t.Fatalf("demo does not print its policy:\n%s", out.String())
	}
	edited := strings.Replace(builtIn.String(), "max: 12", "max: 3", 1)
	path := t.TempDir() + "/p.yaml"
	if err := os.WriteFile(path, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	o.policy = path
	out.Reset()
	if err := runDemo(context.Background(), o, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "policy "+path) || !strings.Contains(out.String(), "max: 3") {
		t.Fatalf("demo does not print the --policy file:\n%s", out.String())
	}
	o.policy = t.TempDir() + "/missing.yaml"
	if err := runDemo(context.Background(), o, &out); err == nil || !strings.Contains(err.Error(), "--policy") {
		t.Fatalf("missing --policy file: %v", err)
	}
}

// Many emulated clusters fit the emulated DC/OS and keep the room a single
// one has: 50 clusters once refused to start ("initial instances do not fit").
func TestEmulateManyClustersFit(t *testing.T) {
	for _, n := range []int{1, 5, 50} {
		p := sim.DefaultParams()
		p.DCOS = agentsFor(p.DCOS, n)
		d := dcos.DefaultParams()
		if got, want := float64(p.DCOS.Agents)*p.DCOS.AgentCPUs, float64(n*d.Agents)*d.AgentCPUs; got < want {
			t.Errorf("%d clusters: %v cpus in all, want ≥ %v", n, got, want)
		}
		specs := make([]sim.ClusterSpec, n)
		for i := range specs {
			specs[i] = demoCluster(fmt.Sprintf("c-%d", i+1))
		}
		w, err := sim.NewWorld(clock.NewVirtual(time.Date(2026, 6, 22, 0, 0, 0, 0, time.UTC)), p, specs...)
		if err != nil {
			t.Fatalf("%d clusters: %v", n, err)
		}
		w.Close()
	}
}
