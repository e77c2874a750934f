package chaos

import (
	"bytes"
	"strings"
	"testing"
)

func TestMainUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"--faults", "sometimes"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "faults") {
		t.Fatalf("bad --faults: code %d, stderr %q", code, errb.String())
	}
	if code := Main([]string{"--runs", "0"}, &out, &errb); code != 2 {
		t.Fatalf("--runs 0: code %d", code)
	}
}

func TestMainRuns(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"--faults", "random", "--seed", "1", "--runs", "2", "--duration", "10m", "-v"}, &out, &errb)
	t.Log(out.String())
	if code != 0 {
		t.Fatalf("code %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "summary: 2 runs, 0 with violations") {
		t.Fatalf("no summary: %s", out.String())
	}
}
