package fault

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

// Stale serves, while its window lasts, the answer given to the same GET
// last before the window: an old view, byte for byte.
func TestStaleServesTheViewFromBeforeItsWindow(t *testing.T) {
	clk := clock.NewVirtual(t0)
	in := New(clk, 1)
	var n atomic.Int64
	srv := httptest.NewServer(in.Wrap("marathon", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"instances":`+strconv.FormatInt(n.Add(1), 10)+`}`)
	})))
	t.Cleanup(srv.Close)
	if err := in.Add(Rule{Name: "stale", Service: "marathon", Method: http.MethodGet, Action: Stale,
		From: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		return string(b)
	}
	if got := get("/v2/apps/a"); got != `{"instances":1}` {
		t.Fatalf("before: %s", got)
	}
	if got := get("/v2/apps/a"); got != `{"instances":2}` {
		t.Fatalf("before, again: %s", got)
	}
	clk.Advance(time.Minute)
	for range 3 {
		if got := get("/v2/apps/a"); got != `{"instances":2}` {
			t.Fatalf("during: %s, want the last answer before the window", got)
		}
	}
	// Never asked before: passes through, and is not kept as "old".
	if got := get("/v2/apps/b"); got != `{"instances":3}` {
		t.Fatalf("a new request during the window: %s", got)
	}
	if got := get("/v2/apps/b"); got != `{"instances":4}` {
		t.Fatalf("a new request during the window, again: %s", got)
	}
	clk.Advance(2 * time.Minute)
	if got := get("/v2/apps/a"); got != `{"instances":5}` {
		t.Fatalf("after: %s", got)
	}
	if len(in.Events()) != 5 {
		t.Fatalf("events %v", in.Events())
	}
}
