package deploy_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	marathon "github.com/gambol99/go-marathon"
	"gopkg.in/yaml.v3"
)

func decodeJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// rawApp holds the fields of a Marathon app that go-marathon v0.7.1 does
// not model (readiness checks, secrets, secret volumes, persistent volumes).
type rawApp struct {
	ReadinessChecks []struct {
		Protocol                string `json:"protocol"`
		Path                    string `json:"path"`
		PortName                string `json:"portName"`
		HTTPStatusCodesForReady []int  `json:"httpStatusCodesForReady"`
	} `json:"readinessChecks"`
	Secrets map[string]struct{ Source string } `json:"secrets"`
	// UnreachableStrategy is "disabled" or an object (v2/types/unreachableStrategy.raml).
	UnreachableStrategy json.RawMessage `json:"unreachableStrategy"`
	Container           struct {
		Volumes []struct {
			ContainerPath string          `json:"containerPath"`
			Secret        string          `json:"secret"`
			Persistent    json.RawMessage `json:"persistent"`
		} `json:"volumes"`
	} `json:"container"`
}

func TestArangoscaleApp(t *testing.T) {
	path := filepath.Join("marathon", "arangoscale.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	app := checkControllerApp(t, path, data)
	if app.ID != "/arangoscale" {
		t.Errorf("id %q", app.ID)
	}
	if app.Instances == nil || *app.Instances != 1 {
		t.Error("want exactly 1 instance: never two controllers")
	}
}

// checkControllerApp checks what every definition of the controller's app
// must keep (the hand-written one and every rendering of the package) and
// returns it decoded.
func checkControllerApp(t *testing.T, name string, data []byte) marathon.Application {
	t.Helper()
	var app marathon.Application
	var raw rawApp
	if err := json.Unmarshal(data, &app); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	checkAppBody(t, app, raw)
	return app
}

func checkAppBody(t *testing.T, app marathon.Application, raw rawApp) {
	t.Helper()
	us := app.UpgradeStrategy
	if us == nil || us.MinimumHealthCapacity == nil || *us.MinimumHealthCapacity != 0 ||
		us.MaximumOverCapacity == nil || *us.MaximumOverCapacity != 0 {
		t.Errorf("upgradeStrategy %+v: want minimumHealthCapacity 0, maximumOverCapacity 0 (never two controllers)", us)
	}
	// An enabled unreachable strategy starts a replacement while the old
	// task may still run behind a partition: two controllers acting at once.
	if got := string(raw.UnreachableStrategy); got != `"disabled"` {
		t.Errorf("unreachableStrategy %s: want \"disabled\" (never two controllers)", got)
	}
	if app.CPUs <= 0 || app.Mem == nil || *app.Mem <= 0 {
		t.Error("cpus and mem must be set")
	}
	if app.Container == nil || app.Container.Docker == nil ||
		!strings.HasPrefix(app.Container.Docker.Image, "arangoscale/arangoscale:") ||
		strings.HasSuffix(app.Container.Docker.Image, ":latest") {
		t.Errorf("image: want arangoscale/arangoscale:<version>, got %+v", app.Container)
	}
	if app.PortDefinitions == nil || len(*app.PortDefinitions) != 1 {
		t.Fatal("want one port definition (PORT0)")
	}
	port := (*app.PortDefinitions)[0]
	if port.Port == nil || *port.Port != 0 {
		t.Error("port 0: let Marathon assign PORT0")
	}
	if port.Labels == nil || (*port.Labels)["DCOS_METRICS_FORMAT"] != "prometheus" {
		t.Error(`port labels lack DCOS_METRICS_FORMAT=prometheus (Prometheus discovery)`)
	}
	if app.HealthChecks == nil || len(*app.HealthChecks) == 0 {
		t.Fatal("no health check")
	}
	hc := (*app.HealthChecks)[0]
	if !strings.HasSuffix(hc.Protocol, "HTTP") || hc.Path == nil || *hc.Path != "/healthz" || hc.PortIndex == nil || *hc.PortIndex != 0 {
		t.Errorf("health check %+v: want HTTP /healthz on portIndex 0", hc)
	}
	if len(raw.ReadinessChecks) != 1 || raw.ReadinessChecks[0].Path != "/readyz" || raw.ReadinessChecks[0].PortName != port.Name {
		t.Errorf("readiness checks %+v: want one on /readyz via port %q", raw.ReadinessChecks, port.Name)
	}

	// The DC/OS UI links a service through the admin router
	// (/service/<DCOS_SERVICE_NAME>/) to this port, over this scheme.
	labels := map[string]string{}
	if app.Labels != nil {
		labels = *app.Labels
	}
	if want := strings.TrimPrefix(app.ID, "/"); labels["DCOS_SERVICE_NAME"] != want {
		t.Errorf("label DCOS_SERVICE_NAME %q, want %q (the app id)", labels["DCOS_SERVICE_NAME"], want)
	}
	if labels["DCOS_SERVICE_PORT_INDEX"] != "0" || labels["DCOS_SERVICE_SCHEME"] != "http" {
		t.Errorf("labels DCOS_SERVICE_PORT_INDEX=%q DCOS_SERVICE_SCHEME=%q, want 0 and http (the status page on PORT0)",
			labels["DCOS_SERVICE_PORT_INDEX"], labels["DCOS_SERVICE_SCHEME"])
	}

	env := map[string]string{}
	if app.Env != nil {
		env = *app.Env
	}
	for _, k := range []string{"ARANGOSCALE_POLICY_FILE", "ARANGOSCALE_MARATHON_URL", "ARANGOSCALE_MESOS_URL", "ARANGOSCALE_INTERVAL",
		"ARANGOSCALE_DRY_RUN", "ARANGOSCALE_LOG_LEVEL", "ARANGOSCALE_LOG_FORMAT"} {
		if env[k] == "" {
			t.Errorf("env lacks %s", k)
		}
	}
	if _, ok := env["ARANGOSCALE_LISTEN"]; ok {
		t.Error("ARANGOSCALE_LISTEN set: the default :$PORT0 is what Marathon's port and checks expect")
	}
	for k := range env {
		if !strings.HasPrefix(k, "ARANGOSCALE_") {
			t.Errorf("unexpected env %s", k)
		}
		if strings.Contains(strings.ToLower(k), "password") && !strings.HasSuffix(k, "_FILE") {
			t.Errorf("secret in plain env %s", k)
		}
	}
	// Every *_FILE points at a secret volume's file in the sandbox, and
	// every secret volume names a declared secret.
	mounted := map[string]bool{}
	for _, v := range raw.Container.Volumes {
		if v.Secret == "" {
			continue
		}
		if _, ok := raw.Secrets[v.Secret]; !ok {
			t.Errorf("volume %s uses undeclared secret %q", v.ContainerPath, v.Secret)
		}
		mounted["/mnt/mesos/sandbox/"+v.ContainerPath] = true
	}
	for k, v := range env {
		remote := k == "ARANGOSCALE_POLICY_FILE" && (strings.HasPrefix(v, "https://") || strings.HasPrefix(v, "http://"))
		if strings.HasSuffix(k, "_FILE") && k != "ARANGOSCALE_CA_FILE" && !remote && !mounted[v] {
			t.Errorf("%s=%s is not a mounted secret file", k, v)
		}
	}
}

func TestArangoDBClusterGroup(t *testing.T) {
	path := filepath.Join("marathon", "arangodb-cluster.json")
	var g marathon.Group
	decodeJSON(t, path, &g)
	if g.ID != "/arangodb-prod" {
		t.Errorf("group id %q", g.ID)
	}
	apps := map[string]*marathon.Application{}
	for _, a := range g.Apps {
		apps[a.ID] = a
	}
	want := map[string]string{
		"/arangodb-prod/agent":       "--agency.my-address tcp://$HOST:$PORT0",
		"/arangodb-prod/dbserver":    "--cluster.my-address tcp://$HOST:$PORT0",
		"/arangodb-prod/coordinator": "--cluster.my-address tcp://$HOST:$PORT0",
	}
	if len(apps) != len(want) {
		t.Errorf("apps %v, want agent, dbserver, coordinator", keys(apps))
	}
	for id, flag := range want {
		a := apps[id]
		if a == nil {
			t.Errorf("no app %s", id)
			continue
		}
		if a.Cmd == nil || !strings.Contains(*a.Cmd, "arangod ") || !strings.Contains(*a.Cmd, flag) ||
			!strings.Contains(*a.Cmd, "--server.endpoint tcp://0.0.0.0:$PORT0") {
			t.Errorf("%s: cmd must run arangod with %s on $PORT0", id, flag)
		}
		if a.Instances == nil || *a.Instances < 1 || a.PortDefinitions == nil || len(*a.PortDefinitions) != 1 {
			t.Errorf("%s: needs instances and one port definition", id)
		}
		if a.HealthChecks == nil || len(*a.HealthChecks) == 0 {
			t.Errorf("%s: no health check", id)
		}
		if a.Container == nil || a.Container.Docker == nil || !strings.HasPrefix(a.Container.Docker.Image, "arangodb/arangodb:") {
			t.Errorf("%s: want an arangodb/arangodb image", id)
		}
	}
	if a := apps["/arangodb-prod/agent"]; a != nil && (a.Instances == nil || *a.Instances != 3) {
		t.Error("agency: want 3 agents")
	}
	for _, id := range []string{"/arangodb-prod/dbserver", "/arangodb-prod/coordinator"} {
		a := apps[id]
		if a == nil {
			continue
		}
		if len(a.Dependencies) == 0 || a.Dependencies[0] != "/arangodb-prod/agent" {
			t.Errorf("%s: should depend on the agency", id)
		}
	}
	if a := apps["/arangodb-prod/dbserver"]; a != nil {
		if !strings.Contains(*a.Cmd, "--cluster.my-role DBSERVER") {
			t.Error("dbserver: --cluster.my-role DBSERVER")
		}
		if a.UpgradeStrategy == nil || a.UpgradeStrategy.MaximumOverCapacity == nil || *a.UpgradeStrategy.MaximumOverCapacity != 0 {
			t.Error("dbserver: resident app needs maximumOverCapacity 0")
		}
	}
	if a := apps["/arangodb-prod/coordinator"]; a != nil && !strings.Contains(*a.Cmd, "--cluster.my-role COORDINATOR") {
		t.Error("coordinator: --cluster.my-role COORDINATOR")
	}
	// Agents and DB servers keep their data on a persistent volume.
	data, _ := os.ReadFile(path)
	var raw struct{ Apps []rawApp }
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for i, a := range g.Apps {
		persistent := false
		for _, v := range raw.Apps[i].Container.Volumes {
			persistent = persistent || (v.ContainerPath == "data" && len(v.Persistent) > 0)
		}
		if role := a.ID[strings.LastIndex(a.ID, "/")+1:]; (role == "agent" || role == "dbserver") && !persistent {
			t.Errorf("%s: no persistent data volume", a.ID)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The example policy scales the apps of the example group.
func TestExamplePolicyMatchesGroup(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "policies.example.yaml"))
	if err != nil {
		t.Skipf("no example policy: %v", err)
	}
	var pol struct {
		Clusters []struct {
			Marathon map[string]string `yaml:"marathon"`
		} `yaml:"clusters"`
	}
	if err := yaml.Unmarshal(data, &pol); err != nil {
		t.Fatalf("policies.example.yaml: %v", err)
	}
	var g marathon.Group
	decodeJSON(t, filepath.Join("marathon", "arangodb-cluster.json"), &g)
	ids := map[string]bool{}
	for _, a := range g.Apps {
		ids[a.ID] = true
	}
	found := false
	for _, c := range pol.Clusters {
		if c.Marathon["dbservers"] == "/arangodb-prod/dbserver" {
			found = true
			if !ids[c.Marathon["coordinators"]] || !ids[c.Marathon["dbservers"]] {
				t.Errorf("example policy's apps %v are not in the group (%v)", c.Marathon, keys(ids))
			}
		}
	}
	if !found {
		t.Error("no cluster of the example policy scales /arangodb-prod/dbserver")
	}
}
