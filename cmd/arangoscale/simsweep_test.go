package main

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arangoscale/arangoscale/simulate"
)

// --write-trace prints the synthetic trace as CSV, the same bytes each
// time; a bad spec names the bad part.
func TestSimulateWriteTrace(t *testing.T) {
	write := func(spec string) (string, string, int) {
		var out, errOut bytes.Buffer
		code := run([]string{"simulate", "--write-trace", spec}, &out, &errOut)
		return out.String(), errOut.String(), code
	}
	a, _, code := write("synth:diurnal+flash?seed=7&days=2")
	b, _, _ := write("synth:diurnal+flash?seed=7&days=2")
	if code != 0 || a != b || !strings.HasPrefix(a, "t_seconds,rps\n0,") || strings.Count(a, "\n") != 1+2*1440 {
		t.Fatalf("exit %d, %d lines, equal %v", code, strings.Count(a, "\n"), a == b)
	}
	if _, errOut, code := write("synth:diurnal?days=two"); code != 2 || !strings.Contains(errOut, `days="two"`) {
		t.Errorf("bad spec: exit %d, %q", code, errOut)
	}
}

// A synthetic trace replays under its name, with --from and --warmup; the
// report says the warm-up.
func TestSimulateSynthFromWarmup(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"simulate", "--policy", "../../simulate/testdata/policy.yaml", "--trace", "synth:step?seed=2&days=0.05",
		"--from", "10m", "--warmup", "15m", "--baselines", "static,oracle", "--quiet"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	for _, want := range []string{"| synth_step_seed2_0.05d | policy |", "47m0s of virtual time from 10m0s into the trace after a 15m0s warm-up"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	errOut.Reset()
	if code := run([]string{"simulate", "--policy", "../../simulate/testdata/policy.yaml", "--trace", "synth:storm"}, &out, &errOut); code != 2 ||
		!strings.Contains(errOut.String(), `kind "storm"`) {
		t.Errorf("bad synth trace: exit %d, %q", code, errOut.String())
	}
}

// --sweep writes sweep.csv and a curve plot per trace, and prints the
// summary; a bad spec or a policy without cpu target runs nothing.
func TestSimulateSweep(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := run([]string{"simulate", "--policy", "../../simulate/testdata/cpu.yaml", "--trace", "../../simulate/testdata/step.csv",
		"--baselines", "oracle-target", "--scale-rps", "1", "--duration", "20m", "--sweep", "target=0.5,0.8", "--out", dir, "--quiet"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if !strings.Contains(out.String(), "| target | policy | oracle-target |") {
		t.Errorf("summary:\n%s", out.String())
	}
	csv, err := os.ReadFile(filepath.Join(dir, "sweep.csv"))
	if err != nil || strings.Count(string(csv), "\n") != 1+2*2 {
		t.Errorf("sweep.csv: %v\n%s", err, csv)
	}
	if png, err := os.ReadFile(filepath.Join(dir, "sweep-step.png")); !simulate.Plots {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("noplot build wrote sweep-step.png: %v", err)
		}
	} else if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Errorf("sweep-step.png: %v", err)
	}
	for _, c := range []struct {
		policy, spec, msg string
	}{
		{"cpu.yaml", "target=0.5:0.9", `--sweep: simulate: bad sweep: "target=0.5:0.9": range`},
		{"cpu.yaml", "slo=1,2", `parameter "slo"`},
		{"policy.yaml", "target=0.6", "no cpu_utilization target"},
	} {
		errOut.Reset()
		code := run([]string{"simulate", "--policy", "../../simulate/testdata/" + c.policy, "--trace", "../../simulate/testdata/step.csv",
			"--sweep", c.spec, "--quiet"}, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("%s %s: exit %d, %q; want 2 naming %s", c.policy, c.spec, code, errOut.String(), c.msg)
		}
	}
}
