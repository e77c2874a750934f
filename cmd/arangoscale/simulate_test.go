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

func TestSimulateFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"bad flag", []string{"--frobnicate"}, 2, "flag provided but not defined"},
		{"no policy", []string{"--trace", "x.csv"}, 2, "--policy is required"},
		{"stray argument", []string{"--policy", "p.yaml", "extra"}, 2, "unexpected argument"},
		{"bad speed", []string{"--policy", "p.yaml", "--speed", "0"}, 2, "--speed"},
		{"unknown baseline", []string{"--policy", "../../simulate/testdata/policy.yaml", "--trace", "../../simulate/testdata/step.csv", "--baselines", "static,magic"}, 2, `"magic"`},
		{"missing policy file", []string{"--policy", "nope.yaml"}, 1, "nope.yaml"},
		{"missing trace file", []string{"--policy", "../../simulate/testdata/policy.yaml", "--trace", "missing.csv"}, 1, "trace: open missing.csv: no such file"},
	} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"simulate"}, c.args...), &out, &errOut)
		if code != c.code || !strings.Contains(errOut.String(), c.msg) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", c.name, code, errOut.String(), c.code, c.msg)
		}
	}
}

func TestSimulateBadTrace(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("t_seconds,rps\n0,10\n60,-1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run([]string{"simulate", "--policy", "../../simulate/testdata/policy.yaml", "--trace", bad}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "bad.csv") || !strings.Contains(errOut.String(), "line 3") {
		t.Fatalf("exit %d, stderr %q: want 1 naming the file and line 3", code, errOut.String())
	}
}

func TestSimulateWritesResults(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := run([]string{"simulate", "--policy", "../../simulate/testdata/policy.yaml", "--trace", "../../simulate/testdata/step.csv",
		"--baselines", "static,oracle", "--scale-rps", "1", "--out", dir, "--quiet"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	if errOut.Len() != 0 && simulate.Plots {
		t.Fatalf("--quiet printed %q", errOut.String())
	}
	for _, want := range []string{"| step | policy |", "| step | static | 8.0 | 6.0 |", "| step | oracle |", "rps × 1,"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, "results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(csv), "\n"); lines != 4 {
		t.Errorf("results.csv has %d lines, want header + 3:\n%s", lines, csv)
	}
	png, err := os.ReadFile(filepath.Join(dir, "step.png"))
	if !simulate.Plots {
		// The container image's build: tables and CSV, no plots, and
		// a line that says so.
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(errOut.String(), "-tags noplot") {
			t.Fatalf("noplot build: step.png %v, stderr %q", err, errOut.String())
		}
		return
	}
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("step.png: %v (%d bytes)", err, len(png))
	}
}

// TestSimulateFaultsRunsChaos: --faults turns simulate into the chaos run
// of the invariants.
func TestSimulateFaultsRunsChaos(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"simulate", "--faults", "random", "--seed", "3", "--runs", "1", "--duration", "5m"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "summary: 1 runs, 0 with violations") {
		t.Fatalf("no clean summary:\n%s", out.String())
	}
}
