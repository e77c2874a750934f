package dcos

import (
	"encoding/json"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The emulator must not invent field names: every key it emits appears in
// a real upstream payload (testdata/SOURCES.md), except the few listed
// with the reason.
var notInFixtures = map[string]string{
	"lastTaskFailure": "AppsResource.show embeds it; the only sample is a .jsonc doc",
	"localVolumes":    "Marathon 1.x EnrichedTask",
	"deployments.id":  "the 409 body and the 1.3.6 app doc; the 1.5 samples have no deployment",
	"app":             "the {\"app\": …} wrapper of GET /v2/apps/{id}",
}

func allowed(k string) bool {
	if notInFixtures[k] != "" {
		return true
	}
	for _, seg := range strings.Split(k, ".") {
		if notInFixtures[seg] != "" {
			return true
		}
	}
	return false
}

func keysOf(t *testing.T, v any, prefix string, into map[string]bool) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			into[prefix+k] = true
			keysOf(t, vv, prefix+k+".", into)
		}
	case []any:
		for _, vv := range x {
			keysOf(t, vv, prefix, into)
		}
	}
}

func fixtureKeys(t *testing.T, files ...string) map[string]bool {
	t.Helper()
	keys := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		keysOf(t, v, "", keys)
	}
	return keys
}

// normalize drops the top-level wrapper ("apps."/"app.") so app bodies from
// different endpoints compare.
func normalize(keys map[string]bool, prefixes ...string) map[string]bool {
	out := map[string]bool{}
	for k := range keys {
		for _, p := range prefixes {
			k = strings.TrimPrefix(k, p)
		}
		out[k] = true
	}
	return out
}

func checkSubset(t *testing.T, what string, ours, real map[string]bool) {
	t.Helper()
	var extra []string
	for k := range ours {
		if !real[k] && !allowed(k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("%s: keys not in any real payload: %v", what, extra)
	}
}

func TestOutputKeysAreReal(t *testing.T) {
	e := newEnv(t, Params{Agents: 1}, AppSpec{ID: "/arangodb-prod/dbserver", Instances: 2, CPUs: 4, MemMB: 16384})
	if _, err := e.c.Scale("/arangodb-prod/dbserver", 3); err != nil {
		t.Fatal(err)
	}
	if err := e.c.FailTask(e.c.Tasks("/arangodb-prod/dbserver")[0].ID); err != nil {
		t.Fatal(err)
	}
	e.advance(time.Second)
	var v any
	decode := func(path string) any {
		if err := json.Unmarshal(get(t, e.c.MarathonURL()+path, ""), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	appKeys := fixtureKeys(t, "v1.10_raml_example_app.json", "marathon-lb_marathon15_apps.json", "marathon-lb_zdd_app_blue_marathon1.5.json")
	appKeys = normalize(appKeys, "apps.")
	taskKeys := normalize(fixtureKeys(t, "v1.10_raml_example_tasks.json"), "tasks.")
	for k := range appKeys {
		if rest, ok := strings.CutPrefix(k, "tasks."); ok {
			taskKeys[rest] = true
		}
	}
	for k := range taskKeys {
		appKeys["tasks."+k] = true
	}
	ours := map[string]bool{}
	keysOf(t, decode("/v2/apps/arangodb-prod/dbserver"), "", ours)
	checkSubset(t, "GET /v2/apps/{id}", normalize(ours, "app."), appKeys)

	ours = map[string]bool{}
	keysOf(t, decode("/v2/tasks"), "", ours)
	checkSubset(t, "GET /v2/tasks", normalize(ours, "tasks."), taskKeys)

	// Queue items: the item keys against the queue sample, the embedded
	// app against the app samples.
	queueKeys := fixtureKeys(t, "v1.10_raml_example_queue.json")
	for k := range appKeys {
		queueKeys["queue.app."+k] = true
	}
	ours = map[string]bool{}
	keysOf(t, decode("/v2/queue"), "", ours)
	checkSubset(t, "GET /v2/queue", ours, queueKeys)

	ours = map[string]bool{}
	keysOf(t, decode("/v2/deployments"), "", ours)
	checkSubset(t, "GET /v2/deployments", ours, fixtureKeys(t, "v1.10_raml_example_deployments.json"))

	var stats any
	if err := json.Unmarshal(get(t, e.c.AgentURL(0)+"/monitor/statistics", ""), &stats); err != nil {
		t.Fatal(err)
	}
	ours = map[string]bool{}
	keysOf(t, stats, "", ours)
	checkSubset(t, "agent /monitor/statistics", ours,
		fixtureKeys(t, "mesos_doc_agent_monitor_statistics.json", "mesos_doc_agent_monitor_statistics_network-port-mapping.json"))
	if len(stats.([]any)) == 0 {
		t.Fatal("no statistics")
	}
}

func TestLockedBodyMatchesFixture(t *testing.T) {
	e := newEnv(t, Params{}, dbserver)
	if _, err := e.c.Scale(dbserver.ID, 4); err != nil {
		t.Fatal(err)
	}
	rr := do(e.c.MarathonHandler(), "PUT", "/v2/apps"+dbserver.ID, `{"instances":5}`)
	var ours, real struct {
		Message     string `json:"message"`
		Deployments []struct {
			ID string `json:"id"`
		} `json:"deployments"`
	}
	b, _ := os.ReadFile("testdata/v1.3.6_doc_put_app_409_locked.json")
	if err := json.Unmarshal(b, &real); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(rr.Body.Bytes(), &ours); err != nil || rr.Code != 409 {
		t.Fatalf("%d %s", rr.Code, rr.Body)
	}
	if strings.ReplaceAll(ours.Message, ours.Deployments[0].ID, "<DEPLOYMENT_ID>") != real.Message {
		t.Fatalf("message\n%s\n%s", ours.Message, real.Message)
	}
	var result map[string]any
	b, _ = os.ReadFile("testdata/v1.10_raml_example_deployments_result.json")
	_ = json.Unmarshal(b, &result)
	rr = do(e.c.MarathonHandler(), "PUT", "/v2/apps"+dbserver.ID+"?force=true", `{"instances":5}`)
	var got map[string]any
	_ = json.Unmarshal(rr.Body.Bytes(), &got)
	gk, rk := keys(got), keys(result)
	if !slices.Equal(gk, rk) {
		t.Fatalf("deployment result keys %v, want %v", gk, rk)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
