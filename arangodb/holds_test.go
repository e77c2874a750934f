package arangodb

import (
	"context"
	"errors"
	"testing"
	"time"
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
