package clock

import (
	"testing"
	"time"
)

func TestVirtualNeverRunsBackwards(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	v := NewVirtual(start)
	if got := v.Advance(15 * time.Second); !got.Equal(start.Add(15 * time.Second)) {
		t.Fatalf("Advance: got %v", got)
	}
	v.Advance(-time.Hour)
	v.Set(start)
	if got := v.Now(); !got.Equal(start.Add(15 * time.Second)) {
		t.Fatalf("clock moved backwards to %v", got)
	}
	var _ Clock = Real{}
	var _ Clock = v
}
