package chaos

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
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
	if code := Main([]string{"--long-every", "-1"}, &out, &errb); code != 2 {
		t.Fatalf("--long-every -1: code %d", code)
	}
}

func TestMainRuns(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main([]string{"--faults", "random", "--seed", "1", "--runs", "2", "--duration", "5m", "-v"}, &out, &errb)
	t.Log(out.String())
	if code != 0 {
		t.Fatalf("code %d: %s %s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "summary: 2 runs, 0 with violations") || !strings.Contains(out.String(), "hit their target, per class") {
		t.Fatalf("no summary: %s", out.String())
	}
}

// What Main prints is the same whatever --parallel, but for the wall time:
// runs are reported in seed order.
func TestMainOutputIndependentOfParallel(t *testing.T) {
	wall := regexp.MustCompile(`wall time [^\n]*|violations \([^)]*\)`)
	var outs []string
	for _, p := range []string{"1", "3"} {
		var out, errb bytes.Buffer
		code := Main([]string{"--faults", "random", "--seed", "7", "--runs", "4", "--duration", "5m", "-v", "--parallel", p}, &out, &errb)
		if code != 0 {
			t.Fatalf("--parallel %s: code %d: %s %s", p, code, out.String(), errb.String())
		}
		outs = append(outs, wall.ReplaceAllString(out.String(), "–"))
	}
	if outs[0] != outs[1] {
		t.Fatalf("--parallel 1 and 3 print differently:\n%s\n---\n%s", outs[0], outs[1])
	}
	if !strings.Contains(outs[0], "seed 7") || strings.Index(outs[0], "seed 7") > strings.Index(outs[0], "seed 10") {
		t.Fatalf("runs not in seed order:\n%s", outs[0])
	}
}

// TestMainFromEnv runs Main with the arguments in CHAOS_MAIN, printing as
// it goes: a long sweep from the test binary, e.g.
// CHAOS_MAIN="--runs 1000 --seed 1000 --parallel 2" go test ./chaos -run TestMainFromEnv -timeout 2h
func TestMainFromEnv(t *testing.T) {
	args := os.Getenv("CHAOS_MAIN")
	if args == "" {
		t.Skip("CHAOS_MAIN not set")
	}
	if code := Main(strings.Fields(args), os.Stdout, os.Stderr); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestRunEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := Run(ctx, Options{Seed: 1, Faults: FaultsRandom})
	if !errors.Is(err, context.Canceled) || r.Steps != 0 {
		t.Fatalf("cancelled run: %d steps, %v", r.Steps, err)
	}
	if _, err := Run(context.Background(), Options{Faults: "often"}); !errors.Is(err, ErrOptions) {
		t.Fatalf("bad options: %v", err)
	}
}
