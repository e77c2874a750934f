package arangodb

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/arangodb/go-driver/v2/utils/jwt"
)

// TestHoldsRoundTrip writes, reads, replaces and deletes a hold through the
// emulator's document API, the collection created on first use, and a
// stale _rev refused.
func TestHoldsRoundTrip(t *testing.T) {
	e := newEmu(t, 3)
	ctx := context.Background()
	if _, ok, err := e.c.Hold(ctx, "coordinators"); err != nil || ok {
		t.Fatalf("before any write: ok=%v err=%v", ok, err)
	}
	until := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	h, err := e.c.PutHold(ctx, Hold{Cluster: "emu", Role: "coordinators", Count: 4, Until: until, By: "ops", Source: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Rev == "" {
		t.Fatal("no _rev after create")
	}
	if _, err := e.c.PutHold(ctx, Hold{Role: "coordinators", Count: 5, Until: until}); !errors.Is(err, ErrHoldChanged) {
		t.Fatalf("second create of the same role: %v, want ErrHoldChanged", err)
	}
	got, ok, err := e.c.Hold(ctx, "coordinators")
	if err != nil || !ok || got.Count != 4 || !got.Until.Equal(until) || got.By != "ops" || got.Rev != h.Rev {
		t.Fatalf("read back %+v ok=%v err=%v", got, ok, err)
	}
	got.Count = 5
	newer, err := e.c.PutHold(ctx, got)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.PutHold(ctx, got); !errors.Is(err, ErrHoldChanged) {
		t.Fatalf("replace with a stale _rev: %v, want ErrHoldChanged", err)
	}
	if err := e.c.DeleteHold(ctx, "coordinators", h.Rev); !errors.Is(err, ErrHoldChanged) {
		t.Fatalf("delete with a stale _rev: %v, want ErrHoldChanged", err)
	}
	if err := e.c.DeleteHold(ctx, "coordinators", newer.Rev); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.c.Hold(ctx, "coordinators"); err != nil || ok {
		t.Fatalf("after delete: ok=%v err=%v", ok, err)
	}
	if err := e.c.DeleteHold(ctx, "coordinators", ""); err != nil {
		t.Fatalf("deleting a hold already gone: %v", err)
	}
}

// TestHoldMalformed: a hold document someone edited into nonsense is an
// ErrBadResponse naming the document, never a hold.
func TestHoldMalformed(t *testing.T) {
	e := newEmu(t, 3)
	ctx := context.Background()
	h, err := e.c.PutHold(ctx, Hold{Role: "dbservers", Count: 4, Until: time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	garbleHold(t, e, "dbservers")
	_, ok, err := e.c.Hold(ctx, "dbservers")
	if ok || !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), HoldsCollection+"/dbservers") {
		t.Fatalf("malformed hold: ok=%v err=%v", ok, err)
	}
	if h.Rev == "" {
		t.Fatal("no _rev")
	}
}

// TestHoldsInOneRead reads the holds of both roles in one request: none
// before the collection exists, then only the role that has one (with its
// _rev), and a hold edited into nonsense is an ErrBadResponse.
func TestHoldsInOneRead(t *testing.T) {
	e := newEmu(t, 3)
	ctx := context.Background()
	got, err := e.c.Holds(ctx, "coordinators", "dbservers")
	if err != nil || len(got) != 0 {
		t.Fatalf("before any write: %v, %v", got, err)
	}
	until := time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC)
	h, err := e.c.PutHold(ctx, Hold{Cluster: "emu", Role: "dbservers", Count: 4, Until: until, By: "ops", Source: "cli"})
	if err != nil {
		t.Fatal(err)
	}
	got, err = e.c.Holds(ctx, "coordinators", "dbservers")
	if err != nil || len(got) != 1 {
		t.Fatalf("one hold stored: %v, %v", got, err)
	}
	if d := got["dbservers"]; d.Count != 4 || !d.Until.Equal(until) || d.By != "ops" || d.Rev != h.Rev {
		t.Fatalf("read back %+v, want count 4 until %v rev %s", d, until, h.Rev)
	}
	if got, err := e.c.Holds(ctx); err != nil || len(got) != 0 {
		t.Fatalf("no roles: %v, %v", got, err)
	}
	garbleHold(t, e, "dbservers")
	if _, err := e.c.Holds(ctx, "coordinators", "dbservers"); !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "onlyget") {
		t.Fatalf("malformed hold: %v", err)
	}
}

// garbleHold replaces the hold document of role, behind the client's back,
// with one whose count is not a number.
func garbleHold(t *testing.T, e *emu, role string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, e.url+"/_db/_system/_api/document/"+HoldsCollection+"/"+role,
		strings.NewReader(`{"role":"`+role+`","count":"four"}`))
	auth, err := jwt.CreateArangodJwtAuthorizationHeader(emuSecret, "test")
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", auth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("raw replace: %d", resp.StatusCode)
	}
}
