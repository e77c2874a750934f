package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/simulate"
)

// writeSynthTrace writes the synthetic trace of spec as CSV to stdout.
func writeSynthTrace(spec string, stdout, stderr io.Writer) int {
	s, err := sim.ParseSynth(spec)
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale simulate: --write-trace: %v\n", err)
		return 2
	}
	if err := sim.WriteTrace(stdout, sim.Synthesize(s)); err != nil {
		fmt.Fprintf(stderr, "arangoscale simulate: --write-trace: %v\n", err)
		return 1
	}
	return 0
}

// runSweep runs the comparison per value of sw, prints the summary and
// writes sweep.csv and sweep-<trace>.png into out (when set).
func runSweep(ctx context.Context, o simulate.Options, sw simulate.Sweep, out string, stdout, stderr io.Writer) int {
	sr, err := simulate.RunSweep(ctx, o, sw)
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale simulate: %v\n", err)
		if errors.Is(err, simulate.ErrBadSweep) || errors.Is(err, simulate.ErrUnknownSetup) || errors.Is(err, simulate.ErrBadOptions) {
			return 2
		}
		return 1
	}
	if err := simulate.WriteSweepMarkdown(stdout, sr); err != nil {
		fmt.Fprintf(stderr, "arangoscale simulate: %v\n", err)
		return 1
	}
	if out != "" {
		if err := writeSweepFiles(out, sr); err != nil {
			fmt.Fprintf(stderr, "arangoscale simulate: %v\n", err)
			return 1
		}
		notePlots(stderr, out)
	}
	for _, p := range sr.Points {
		for _, r := range p.Report.Results {
			if r.Contender == simulate.Policy && r.LostShards > 0 {
				fmt.Fprintf(stderr, "arangoscale simulate: the policy lost %d shards on %s at %s=%g\n", r.LostShards, r.Trace, sr.Param, p.Value)
				return 1
			}
		}
	}
	return 0
}

func writeSweepFiles(dir string, sr *simulate.SweepReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := simulate.WriteSweepCSV(&b, sr); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sweep.csv"), b.Bytes(), 0o644); err != nil {
		return err
	}
	if !simulate.Plots {
		return nil
	}
	for _, tr := range sr.Traces() {
		var png bytes.Buffer
		if err := simulate.WriteSweepPNG(&png, sr, tr); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "sweep-"+tr+".png"), png.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
