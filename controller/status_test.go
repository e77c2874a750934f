package controller_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
)

// TestMarathonUnreachableFromStartIsNotReady: with Marathon failing from
// the first request, /readyz answers 503 naming the roles and the error,
// /status shows the counts as null and no arangoscale_instances series
// exists; once Marathon answers, the controller becomes ready.
func TestMarathonUnreachableFromStartIsNotReady(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.proxy.set(func(r *http.Request) (int, string, bool) {
		return 502, "Bad Gateway", strings.HasPrefix(r.URL.Path, "/v2/")
	})
	srv := httptestServer(t, h.ctl.Handler(controllerHTTPOptions()))
	h.run(2 * time.Minute)
	code, body := get(t, srv+"/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "coordinators (app /arangodb-prod/coordinator) not observed yet") ||
		!strings.Contains(body, "502") {
		t.Fatalf("/readyz with Marathon unreachable from the start: %d %q", code, body)
	}
	_, body = get(t, srv+"/status")
	var st struct {
		Ready    bool
		Clusters []struct {
			Roles []map[string]any
		}
	}
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	if st.Ready || len(st.Clusters) != 1 || len(st.Clusters[0].Roles) != 2 {
		t.Fatalf("/status: %s", body)
	}
	for _, rs := range st.Clusters[0].Roles {
		for _, k := range []string{"current", "healthy", "target", "desired"} {
			if v, ok := rs[k]; !ok || v != nil {
				t.Errorf("%s %s = %v (present %v), want null", rs["role"], k, v, ok)
			}
		}
	}
	_, m := get(t, srv+"/metrics")
	if strings.Contains(m, "arangoscale_instances{") {
		t.Errorf("arangoscale_instances series exist for counts never observed:\n%s", m)
	}
	h.proxy.set(nil)
	h.run(time.Minute)
	if code, body := get(t, srv+"/readyz"); code != 200 {
		t.Fatalf("/readyz after Marathon came back: %d %s", code, body)
	}
	_, body = get(t, srv+"/status")
	if !strings.Contains(body, `"current": 2`) {
		t.Errorf("/status after Marathon came back lacks the count: %s", body)
	}
}

// TestClosedByDefault: no profiles on the main handler; without an admin
// token POST /-/reload is refused unless AdminOpen says otherwise.
func TestClosedByDefault(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	reloads := 0
	reload := func(context.Context) error { reloads++; return nil }
	closed := httptestServer(t, h.ctl.Handler(controller.HTTPOptions{Reload: reload}))
	if code, _ := get(t, closed+"/debug/pprof/"); code != http.StatusNotFound {
		t.Errorf("/debug/pprof/ on the main port: %d, want 404", code)
	}
	resp, err := http.Post(closed+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || reloads != 0 {
		t.Fatalf("/-/reload without a token configured: %d (%d reloads), want 403", resp.StatusCode, reloads)
	}
	open := httptestServer(t, h.ctl.Handler(controller.HTTPOptions{Reload: reload, AdminOpen: true}))
	resp, err = http.Post(open+"/-/reload", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || reloads != 1 {
		t.Fatalf("/-/reload with AdminOpen: %d (%d reloads)", resp.StatusCode, reloads)
	}
}
