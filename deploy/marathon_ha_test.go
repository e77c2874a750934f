package deploy_test

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/arangoscale/arangoscale/config"
)

// TestArangoscaleHAApp: the HA variant is the single app with three
// replicas on distinct hosts sharing the clusters through ZooKeeper; the
// fencing, not Marathon, keeps two replicas from acting on one cluster, so
// rolling upgrades and replacing unreachable tasks are allowed.
func TestArangoscaleHAApp(t *testing.T) {
	var single, ha map[string]any
	decodeJSON(t, filepath.Join("marathon", "arangoscale.json"), &single)
	decodeJSON(t, filepath.Join("marathon", "arangoscale-ha.json"), &ha)

	if ha["instances"] != 3.0 {
		t.Errorf("instances %v, want 3", ha["instances"])
	}
	if c, _ := json.Marshal(ha["constraints"]); string(c) != `[["hostname","UNIQUE"]]` {
		t.Errorf("constraints %s, want [[\"hostname\",\"UNIQUE\"]]: a lost agent takes one replica, not two", c)
	}
	us, _ := ha["upgradeStrategy"].(map[string]any)
	if mhc, _ := us["minimumHealthCapacity"].(float64); mhc <= 0 || mhc >= 1 || us["maximumOverCapacity"] != 0.0 {
		t.Errorf("upgradeStrategy %v: want a roll (0 < minimumHealthCapacity < 1) without a fourth host (maximumOverCapacity 0)", us)
	}
	if _, ok := ha["unreachableStrategy"].(map[string]any); !ok {
		t.Errorf("unreachableStrategy %v: want a replacement of unreachable replicas", ha["unreachableStrategy"])
	}

	env, _ := ha["env"].(map[string]any)
	zk, _ := env["ARANGOSCALE_ZK"].(string)
	target, err := config.ParseZK(zk)
	if err != nil || len(target.Servers) != 3 {
		t.Errorf("ARANGOSCALE_ZK %q: %+v, %v; want DC/OS's three ZooKeeper servers", zk, target, err)
	}
	lookup := func(k string) (string, bool) {
		v, ok := env[k].(string)
		if k == "ARANGOSCALE_POLICY_FILE" {
			return "https://example.invalid/policies.yaml", true // a file of the sandbox
		}
		if v != "" && len(k) > 5 && k[len(k)-5:] == "_FILE" {
			return "", false // secret files exist only in the sandbox
		}
		return v, ok
	}
	if _, err := config.FromEnv(lookup); err != nil {
		t.Errorf("env of the HA app is rejected: %v", err)
	}

	// Everything else is the single app's.
	senv, _ := single["env"].(map[string]any)
	for k, v := range senv {
		if env[k] != v {
			t.Errorf("env %s = %v, single app has %v", k, env[k], v)
		}
	}
	for _, k := range []string{"instances", "constraints", "upgradeStrategy", "unreachableStrategy", "env"} {
		delete(single, k)
		delete(ha, k)
	}
	if !reflect.DeepEqual(single, ha) {
		a, _ := json.MarshalIndent(single, "", " ")
		b, _ := json.MarshalIndent(ha, "", " ")
		t.Errorf("the HA app differs from the single one beyond replicas and ZooKeeper:\n%s\n%s", a, b)
	}
}
