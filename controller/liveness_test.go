package controller_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestRunTicksWithTheInjectedClock: Run's ticker follows the controller's
// clock, so in virtual time each advance of an interval gives a reconcile at
// once, with no wall-clock second in between.
func TestRunTicksWithTheInjectedClock(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	apps := make(chan struct{}, 256)
	h.proxy.set(func(r *http.Request) (int, string, bool) {
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v2/apps/arangodb-prod/coordinator") {
			apps <- struct{}{}
		}
		return 0, "", false
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.ctl.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	<-apps // Run's first Step, before any tick

	// Ten reconciles would take ten wall seconds on a wall-clock ticker.
	deadline := time.After(4 * time.Second)
	for n := 0; n < 10; {
		h.world.Advance(step)
		select {
		case <-apps:
			n++
		case <-time.After(50 * time.Millisecond):
			// The previous reconcile was still running and the tick found
			// the cluster busy: advance again.
		case <-deadline:
			t.Fatalf("%d reconciles after 4 s of wall time: Run does not tick with the injected clock", n)
		}
	}
}

// TestHealthAndStatusDoNotWaitForAReconcile: with a reconcile stuck in a
// Marathon call and a policy reload waiting for that reconcile, /healthz,
// /readyz and /status still answer at once.
func TestHealthAndStatusDoNotWaitForAReconcile(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.run(2 * step)
	srv := httptestServer(t, h.ctl.Handler(controllerHTTPOptions()))

	stuck := make(chan struct{})
	release := make(chan struct{})
	h.proxy.set(func(r *http.Request) (int, string, bool) {
		if strings.HasPrefix(r.URL.Path, "/v2/apps/") {
			select {
			case stuck <- struct{}{}:
			default:
			}
			<-release
		}
		return 0, "", false
	})
	h.world.Advance(step)
	stepped := make(chan struct{})
	go func() { h.ctl.Step(context.Background(), true); close(stepped) }()
	<-stuck // the reconcile holds its cluster, blocked in Marathon I/O

	reloaded := make(chan error, 1)
	go func() {
		reloaded <- h.ctl.SetPolicy(h.policy(func(s string) string { return strings.Replace(s, "max: 10", "max: 11", 1) }))
	}()

	client := &http.Client{Timeout: 2 * time.Second}
	for _, p := range []string{"/healthz", "/readyz", "/status", "/healthz"} {
		resp, err := client.Get(srv + p)
		if err != nil {
			close(release)
			t.Fatalf("%s while a reconcile is stuck and a reload pending: %v", p, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
	select {
	case err := <-reloaded:
		t.Fatalf("the reload did not wait for the reconcile in flight (err %v)", err)
	default:
	}
	h.proxy.set(nil)
	close(release)
	<-stepped
	if err := <-reloaded; err != nil {
		t.Fatal(err)
	}
	if rs := h.role("coordinators"); rs.Max != 11 {
		t.Fatalf("reloaded max not in force: %d", rs.Max)
	}
}
