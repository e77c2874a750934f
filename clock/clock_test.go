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

func TestVirtualTickerFollowsVirtualTime(t *testing.T) {
	v := NewVirtual(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c, stop := NewTicker(v, 10*time.Second)
	v.Advance(9 * time.Second)
	select {
	case <-c:
		t.Fatal("ticked before its period")
	default:
	}
	v.Advance(time.Second)
	select {
	case got := <-c:
		if !got.Equal(v.Now()) {
			t.Fatalf("tick carries %v, want %v", got, v.Now())
		}
	default:
		t.Fatal("no tick after one period")
	}
	// A jump over many periods is one tick, and the next is a period later.
	v.Advance(time.Minute)
	<-c
	v.Advance(5 * time.Second)
	select {
	case <-c:
		t.Fatal("ticked mid-period after a jump")
	default:
	}
	stop()
	v.Advance(time.Hour)
	select {
	case <-c:
		t.Fatal("ticked after stop")
	default:
	}
	var _ Ticker = v
	var _ Ticker = Real{}
}
