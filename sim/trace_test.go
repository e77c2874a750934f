package sim

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDemoTrace(t *testing.T) {
	tr, err := ReadTrace(bytes.NewReader(DemoTrace))
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.T) != 1440 || tr.T[0] != 0 || tr.T[1439] != 86340*time.Second || tr.Duration() != 24*time.Hour {
		t.Fatalf("rows %d, last %v, duration %v", len(tr.T), tr.T[len(tr.T)-1], tr.Duration())
	}
	if tr.RPS[0] != 656.3167 || tr.Peak() != 3066.1833 {
		t.Fatalf("first %v peak %v", tr.RPS[0], tr.Peak())
	}
}

func TestReadTraceErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"time,rps\n0,1\n", "line 1: header"},
		{"t_seconds,rps\n", "no data rows"},
		{"t_seconds,rps\n0,1\n60,x\n", "line 3: rps"},
		{"t_seconds,rps\n0,1\n60,-1\n", "line 3: rps"},
		{"t_seconds,rps\n0,1\n0,2\n", "line 3: t_seconds 0 does not increase"},
		{"t_seconds,rps\n0,1,2\n", "line 2: want 2 fields"},
		{"t_seconds,rps\n-5,1\n", "line 2: t_seconds"},
		{"t_seconds,rps\nNaN,1\n", "line 2: t_seconds"},
	} {
		_, err := ReadTrace(strings.NewReader(tc.in))
		if !errors.Is(err, ErrBadTrace) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestTraceFunc(t *testing.T) {
	tr, err := ReadTrace(strings.NewReader("t_seconds,rps\r\n0,10\r\n60,20\r\n120,30\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := tr.Func(1, 2)
	for _, c := range []struct {
		e    time.Duration
		want float64
	}{{0, 20}, {59 * time.Second, 20}, {60 * time.Second, 40}, {time.Hour, 60}} {
		if got := f(c.e); got != c.want {
			t.Errorf("f(%v) = %v, want %v", c.e, got, c.want)
		}
	}
	fast := tr.Func(60, 1) // one trace minute per second
	if fast(time.Second) != 20 || fast(2*time.Second) != 30 || tr.Func(0, 1)(60*time.Second) != 20 {
		t.Fatal("speed")
	}
	if (Trace{}).Func(1, 1)(0) != 0 {
		t.Fatal("empty trace")
	}
}

func FuzzReadTrace(f *testing.F) {
	f.Add([]byte("t_seconds,rps\n0,1\n60,2\n"))
	f.Add(DemoTrace[:200])
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ReadTrace(bytes.NewReader(b))
		if err == nil {
			_ = tr.Func(1, 1)(time.Minute)
			_ = tr.Duration()
		}
	})
}
