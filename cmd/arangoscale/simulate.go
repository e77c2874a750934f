package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/arangoscale/arangoscale/chaos"
	"github.com/arangoscale/arangoscale/sim"
	"github.com/arangoscale/arangoscale/simulate"
)

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// cmdSimulate replays traces in virtual time against a policy (the real
// controller over HTTP to the emulated world) and the baselines, printing
// a Markdown table and writing CSV and PNG to --out.
func cmdSimulate(args []string, stdout, stderr io.Writer) int {
	defer tuneSimulateGC()()
	// With --faults it is the chaos run instead: the controller under
	// injected faults, checked against its invariants, seed by seed.
	for _, a := range args {
		if a == "--faults" || a == "-faults" || strings.HasPrefix(a, "--faults=") || strings.HasPrefix(a, "-faults=") {
			return chaos.Main(args, stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var traces multiFlag
	fs.Var(&traces, "trace", "trace: CSV \"t_seconds,rps\", a Prometheus query_range answer (.json), or a synthetic trace \"synth:KIND[+KIND…][?seed=N&days=D&base=RPS]\" (kinds: "+strings.Join(sim.SynthKinds(), ", ")+", or mixed) (repeatable; default: the embedded World Cup 98 day)")
	writeTrace := fs.String("write-trace", "", "write the synthetic trace \"synth:…\" as CSV \"t_seconds,rps\" to stdout and exit")
	from := fs.Duration("from", 0, "skip the first D of each trace (the default --start moves on by D)")
	warmup := fs.Duration("warmup", 0, "replay the first D (after --from) as history without counting it; --duration counts after it")
	sweepSpec := fs.String("sweep", "", "run the comparison once per value, e.g. target=0.55:0.90:0.05 (the cpu_utilization targets) or target=0.6,0.7; writes sweep.csv and sweep-<trace>.png to --out")
	promURL := fs.String("prometheus", "", "fetch the trace from this Prometheus server (with --query and --range)")
	promQuery := fs.String("query", "", "PromQL giving one series of requests per second (with --prometheus)")
	promRange := fs.Duration("range", 7*24*time.Hour, "how far back --prometheus fetches")
	promStep := fs.Duration("step", time.Minute, "resolution of the --prometheus fetch")
	startFlag := fs.String("start", "", "virtual wall-clock start of each replay, RFC 3339 (default: the trace's first timestamp when it has one, else Monday 00:00 UTC)")
	parallel := fs.Int("parallel", runtime.GOMAXPROCS(0), "contender runs at once, the policy's first (default: one per core; 0: all at once)")
	policyFile := fs.String("policy", "", "policy YAML (required)")
	cluster := fs.String("cluster", "", "cluster of the policy to simulate (default: the first)")
	baselines := fs.String("baselines", strings.Join(simulate.Baselines(), ","), "baselines to compare, comma separated (\"\" for none)")
	out := fs.String("out", "", "directory for results.csv and one PNG per trace (none when empty)")
	seed := fs.Uint64("seed", 1, "seed of the emulated DC/OS (ids and placement)")
	scale := fs.Float64("scale-rps", 0, "multiply trace rates by this (0: auto, the peak needs 80% of the coordinators' max at their target)")
	speed := fs.Float64("speed", 1, "trace seconds per virtual second")
	duration := fs.Duration("duration", 0, "virtual time counted per trace, after --warmup (0: the rest of the trace)")
	slo := fs.Duration("slo", 500*time.Millisecond, "p95 latency above which a step counts as overloaded")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: arangoscale simulate --policy P.yaml [--trace T.csv|T.json ...] [flags]")
		fmt.Fprintln(stderr, "       arangoscale simulate --policy P.yaml --prometheus URL --query 'sum(rate(…[1m]))' [--range 30d] [flags]")
		fmt.Fprintln(stderr, "       arangoscale simulate --faults random [--seed N] [--runs K] [--duration D] [--long-every M --long D]   (invariants under injected faults)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "arangoscale simulate: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *writeTrace != "" {
		return writeSynthTrace(*writeTrace, stdout, stderr)
	}
	if *policyFile == "" {
		fmt.Fprintln(stderr, "arangoscale simulate: --policy is required")
		fs.Usage()
		return 2
	}
	if *speed <= 0 || *scale < 0 || *duration < 0 || *slo <= 0 || *from < 0 || *warmup < 0 {
		fmt.Fprintln(stderr, "arangoscale simulate: --speed and --slo must be positive, --scale-rps, --duration, --from and --warmup not negative")
		return 2
	}
	var sweep simulate.Sweep
	if *sweepSpec != "" {
		sw, err := simulate.ParseSweep(*sweepSpec)
		if err != nil {
			fmt.Fprintf(stderr, "arangoscale simulate: --sweep: %v\n", err)
			return 2
		}
		sweep = sw
	}
	if (*promURL == "") != (*promQuery == "") {
		fmt.Fprintln(stderr, "arangoscale simulate: --prometheus and --query go together")
		return 2
	}
	if *parallel < 0 {
		fmt.Fprintln(stderr, "arangoscale simulate: --parallel must not be negative")
		return 2
	}
	o := simulate.Options{Cluster: *cluster, Seed: *seed, ScaleRPS: *scale, Speed: *speed, Duration: *duration, SLO: *slo,
		From: *from, Warmup: *warmup, Baselines: []string{}, Parallel: *parallel}
	if *startFlag != "" {
		t, err := time.Parse(time.RFC3339, *startFlag)
		if err != nil {
			fmt.Fprintf(stderr, "arangoscale simulate: --start %q: want RFC 3339, e.g. 2026-06-22T00:00:00Z\n", *startFlag)
			return 2
		}
		o.Start = t
	}
	var prog *progress
	if !*quiet {
		prog = newProgress(stderr, time.Now)
		o.Progress, o.Advance = prog, prog.advance
		defer prog.finish()
	}
	for _, b := range strings.Split(*baselines, ",") {
		if b = strings.TrimSpace(b); b != "" {
			o.Baselines = append(o.Baselines, b)
		}
	}
	data, err := os.ReadFile(*policyFile)
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale simulate: policy: %v\n", err)
		return 1
	}
	o.PolicyName, o.Policy = *policyFile, data
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if *promURL != "" {
		tr, err := fetchPrometheusTrace(ctx, *promURL, *promQuery, *promRange, *promStep, time.Now(), &http.Client{Timeout: time.Minute})
		if err != nil {
			fmt.Fprintf(stderr, "arangoscale simulate: %v\n", err)
			return 1
		}
		o.Traces = append(o.Traces, simulate.TraceInput{Name: "prometheus", Trace: tr})
	}
	if len(traces) == 0 && *promURL == "" {
		tr, err := sim.ReadTrace(bytes.NewReader(sim.DemoTrace))
		if err != nil {
			fmt.Fprintf(stderr, "arangoscale simulate: embedded trace: %v\n", err)
			return 1
		}
		o.Traces = append(o.Traces, simulate.TraceInput{Name: "wc98_day", Trace: tr})
	}
	for _, path := range traces {
		if strings.HasPrefix(path, sim.SynthPrefix) {
			spec, err := sim.ParseSynth(path)
			if err != nil {
				fmt.Fprintf(stderr, "arangoscale simulate: --trace: %v\n", err)
				return 2
			}
			o.Traces = append(o.Traces, simulate.TraceInput{Name: spec.Name(), Trace: sim.Synthesize(spec)})
			continue
		}
		tr, err := readTraceFile(path)
		if err != nil {
			fmt.Fprintf(stderr, "arangoscale simulate: %v\n", err)
			return 1
		}
		o.Traces = append(o.Traces, simulate.TraceInput{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), Trace: tr})
	}
	if *sweepSpec != "" {
		return runSweep(ctx, o, sweep, *out, stdout, stderr)
	}
	rep, err := simulate.Run(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "arangoscale simulate: %v\n", err)
		if errors.Is(err, simulate.ErrUnknownSetup) || errors.Is(err, simulate.ErrBadOptions) {
			return 2
		}
		return 1
	}
	if err := simulate.WriteMarkdown(stdout, rep); err != nil {
		fmt.Fprintf(stderr, "arangoscale simulate: %v\n", err)
		return 1
	}
	if *out != "" {
		if err := writeSimulationFiles(*out, rep); err != nil {
			fmt.Fprintf(stderr, "arangoscale simulate: %v\n", err)
			return 1
		}
		notePlots(stderr, *out)
	}
	for _, r := range rep.Results {
		if r.Contender == simulate.Policy && r.LostShards > 0 {
			fmt.Fprintf(stderr, "arangoscale simulate: the policy lost %d shards on %s\n", r.LostShards, r.Trace)
			return 1
		}
	}
	return 0
}

// readTraceFile reads a CSV trace, or a Prometheus query_range answer
// when the file is JSON (.json, or its first byte is '{').
func readTraceFile(path string) (sim.Trace, error) {
	tr, err := sim.ReadTraceFile(path)
	if err != nil {
		return sim.Trace{}, fmt.Errorf("trace: %w", err)
	}
	return tr, nil
}

// notePlots says, once, that this build wrote no PNG into dir.
func notePlots(stderr io.Writer, dir string) {
	if !simulate.Plots {
		fmt.Fprintf(stderr, "arangoscale simulate: no PNG plots in %s: this binary was built with -tags noplot (the container image is); build it without the tag to draw them\n", dir)
	}
}

// writeSimulationFiles writes results.csv and, when this build draws
// plots, <trace>.png into dir.
func writeSimulationFiles(dir string, rep *simulate.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var csvBuf bytes.Buffer
	if err := simulate.WriteCSV(&csvBuf, rep); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.csv"), csvBuf.Bytes(), 0o644); err != nil {
		return err
	}
	if !simulate.Plots {
		return nil
	}
	for _, tr := range rep.Traces() {
		var png bytes.Buffer
		if err := simulate.WritePNG(&png, rep, tr); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, tr+".png"), png.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
