package controller_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/controller"
)

// switchFence lets a test take a cluster's ownership away and give it back.
type switchFence struct {
	mu    sync.Mutex
	owner bool
}

func (f *switchFence) set(owner bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.owner = owner
}

func (f *switchFence) MayAct(string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.owner {
		return fmt.Errorf("%w: owned by another replica", controller.ErrStandby)
	}
	return nil
}

func (f *switchFence) Enter(c string) (func(), error) {
	if err := f.MayAct(c); err != nil {
		return nil, err
	}
	return func() {}, nil
}

// TestStandbyObservesOnly: without the cluster's ownership the controller
// observes, decides and reports, marked standby in /status and /readyz, and
// sends no change; it neither backs off nor counts a source error. Given
// the ownership it acts at its next reconcile.
func TestStandbyObservesOnly(t *testing.T) {
	fence := &switchFence{}
	h := newHarness(t, harnessOpts{fence: fence})
	h.setRPS(5000)
	h.run(3 * time.Minute)
	if n := h.proxy.count(http.MethodPut, "/v2/apps") + h.proxy.count(http.MethodPost, "/v2/tasks/delete"); n != 0 {
		t.Fatalf("standby sent %d changes to Marathon", n)
	}
	st := h.ctl.Status().Clusters[0]
	if !strings.Contains(st.Standby, "owned by another replica") {
		t.Fatalf("status standby %q", st.Standby)
	}
	if rs := h.role("coordinators"); rs.Desired <= 2 || rs.BackoffUntil != nil || len(rs.Errors) > 0 {
		t.Fatalf("standby role status %+v: want a desired count, no backoff, no errors", rs)
	}
	if got := h.metric("arangoscale_source_errors_total", nil); got != 0 {
		t.Fatalf("source errors %v on a standby", got)
	}
	ok, why := h.ctl.Readiness()
	if !ok || !strings.Contains(why, "cluster prod: standby") {
		t.Fatalf("readiness %v %q: want ready, naming the standby cluster", ok, why)
	}
	fence.set(true)
	// The new owner acts at the next tick, not an interval later.
	h.world.Advance(time.Second)
	h.ctl.Step(context.Background(), true)
	if got := h.state().Coordinators.Target; got <= 2 {
		t.Fatalf("owner did not scale: target %d", got)
	}
	if st := h.ctl.Status().Clusters[0]; st.Standby != "" {
		t.Fatalf("owner still marked standby: %q", st.Standby)
	}
}
