package fault

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type target struct {
	srv   *httptest.Server
	calls atomic.Int64
}

func newTarget(t *testing.T, in *Injector) *target {
	tg := &target{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"deploymentId":"d1","version":"2026-03-02T10:00:00.000Z"}`)
	})
	tg.srv = httptest.NewServer(in.Wrap("marathon", h))
	t.Cleanup(tg.srv.Close)
	return tg
}

func do(t *testing.T, method, url string, timeout time.Duration) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, url, strings.NewReader(`{"instances":3}`))
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestActions(t *testing.T) {
	clk := clock.NewVirtual(t0)
	cases := []struct {
		rule      Rule
		status    int
		body      string
		wantErr   bool
		handlerRn bool
	}{
		{Rule{Action: Unavailable}, 503, unavailableBody, false, false},
		{Rule{Action: Unavailable, Status: 500, Body: "boom"}, 500, "boom", false, false},
		{Rule{Action: Conflict}, 409, MarathonLockedBody, false, false},
		{Rule{Action: NotLeader}, 503, MarathonNoLeaderBody, false, false},
		{Rule{Action: Respond, Status: 412, Body: ArangoPreconditionBody}, 412, ArangoPreconditionBody, false, false},
		{Rule{Action: Redirect, Location: "http://10.0.0.2:8080"}, 307, "", false, false},
		{Rule{Action: Reset}, 0, "", true, false},
		{Rule{Action: LostResponse}, 0, "", true, true},
		{Rule{Action: Truncate}, 200, "", true, true},
		{Rule{Action: Slow}, 0, "", true, false},
	}
	for _, c := range cases {
		t.Run(c.rule.Action.String(), func(t *testing.T) {
			in := New(clk, 1)
			if err := in.Add(c.rule); err != nil {
				t.Fatal(err)
			}
			tg := newTarget(t, in)
			status, body, err := do(t, http.MethodPut, tg.srv.URL+"/v2/apps/x", 200*time.Millisecond)
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if !c.wantErr && (status != c.status || body != c.body) {
				t.Fatalf("got %d %q, want %d %q", status, body, c.status, c.body)
			}
			if c.rule.Action == Slow && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("slow: %v, want the client's deadline", err)
			}
			if ran := tg.calls.Load() > 0; ran != c.handlerRn {
				t.Fatalf("handler ran %v, want %v", ran, c.handlerRn)
			}
			if ev := in.Events(); len(ev) != 1 || ev[0].Action != c.rule.Action || ev[0].Service != "marathon" {
				t.Fatalf("events %v", ev)
			}
		})
	}
	t.Run("garble", func(t *testing.T) {
		in := New(clk, 1)
		_ = in.Add(Rule{Action: Garble})
		tg := newTarget(t, in)
		status, body, err := do(t, http.MethodGet, tg.srv.URL+"/v2/apps/x", time.Second)
		if err != nil || status != 200 || strings.HasPrefix(body, "{\"") {
			t.Fatalf("garbled: %d %q %v", status, body, err)
		}
	})
}

func TestMatchWindowProbabilityLimit(t *testing.T) {
	clk := clock.NewVirtual(t0)
	in := New(clk, 7)
	_ = in.Add(Rule{Name: "w", Service: "mar*", Method: http.MethodPut, Path: "/v2/apps", Action: Unavailable,
		From: t0.Add(time.Minute), Until: t0.Add(2 * time.Minute)})
	tg := newTarget(t, in)
	if s, _, _ := do(t, http.MethodPut, tg.srv.URL+"/v2/apps/x", time.Second); s != 200 {
		t.Fatalf("before the window: %d", s)
	}
	clk.Advance(time.Minute)
	if s, _, _ := do(t, http.MethodGet, tg.srv.URL+"/v2/apps/x", time.Second); s != 200 {
		t.Fatalf("other method: %d", s)
	}
	if s, _, _ := do(t, http.MethodPut, tg.srv.URL+"/v2/apps/x", time.Second); s != 503 {
		t.Fatalf("in the window: %d", s)
	}
	clk.Advance(time.Minute)
	if s, _, _ := do(t, http.MethodPut, tg.srv.URL+"/v2/apps/x", time.Second); s != 200 {
		t.Fatalf("after the window: %d", s)
	}

	// The same seed hits the same requests; about p of them.
	pattern := func(seed uint64) string {
		in := New(clk, seed)
		_ = in.Add(Rule{Action: Unavailable, Probability: 0.3})
		tg := newTarget(t, in)
		var b strings.Builder
		for range 200 {
			s, _, _ := do(t, http.MethodGet, tg.srv.URL+"/x", time.Second)
			b.WriteByte("ok"[min(s/500, 1)])
		}
		return b.String()
	}
	a, b, c := pattern(3), pattern(3), pattern(4)
	if a != b || a == c {
		t.Fatalf("draws not decided by the seed")
	}
	if n := strings.Count(a, "k"); n < 40 || n > 80 {
		t.Fatalf("%d of 200 hit at p=0.3", n)
	}

	in = New(clk, 1)
	_ = in.Add(Rule{Action: Unavailable, Limit: 2})
	tg = newTarget(t, in)
	for i, want := range []int{503, 503, 200} {
		if s, _, _ := do(t, http.MethodGet, tg.srv.URL+"/x", time.Second); s != want {
			t.Fatalf("request %d: %d, want %d", i, s, want)
		}
	}
	if err := in.Add(Rule{Action: Unavailable, Probability: 2}); !errors.Is(err, ErrBadRule) {
		t.Fatalf("bad probability accepted: %v", err)
	}
	if err := in.Add(Rule{}); !errors.Is(err, ErrBadRule) {
		t.Fatalf("rule without action accepted: %v", err)
	}
}

func TestModelFaults(t *testing.T) {
	clk := clock.NewVirtual(t0)
	in := New(clk, 1)
	var on, off, once int
	in.AddModel(Model{Name: "m", From: t0.Add(time.Minute), Until: t0.Add(2 * time.Minute),
		Start: func() { on++ }, Stop: func() { off++ }})
	in.AddModel(Model{Name: "crash", From: t0.Add(90 * time.Second), Start: func() { once++ }})
	in.AddModel(Model{Name: "late", From: t0.Add(time.Hour), Start: func() { t.Fatal("started after StopAll") }})
	in.Tick()
	if on != 0 || in.Active() {
		t.Fatal("started early")
	}
	clk.Advance(time.Minute)
	if ev := in.Tick(); len(ev) != 1 || !ev[0].Start || on != 1 || !in.Active() {
		t.Fatalf("start: %v on=%d", ev, on)
	}
	clk.Advance(time.Minute)
	in.Tick()
	in.Tick()
	if on != 1 || off != 1 || once != 1 || in.Active() {
		t.Fatalf("on %d off %d once %d", on, off, once)
	}
	in.StopAll()
	clk.Advance(2 * time.Hour)
	in.Tick()
}
