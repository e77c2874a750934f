package chaos

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/sim"
)

// Main runs `simulate --faults random|none --seed N --runs K [--duration D]
// [--long D --long-every M] [--settle N] [--parallel P] [-v]
// [--policy P.yaml [--cluster C] [--trace T.csv|T.json]]`: K runs with
// seeds N…N+K-1 (every M-th of them lasting D instead), their violations
// by seed, and a summary (runs, violations, wall time, per fault class
// the episodes that hit their target). It
// returns the exit code: 0 without violations, 1 with some (a spurious
// manual pin counts as one), 2 on bad usage.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	faults := fs.String("faults", FaultsRandom, "fault plan: random (drawn from the seed) or none")
	seed := fs.Int64("seed", 1, "first seed")
	runs := fs.Int("runs", 1, "number of runs (seeds seed, seed+1, …)")
	duration := fs.Duration("duration", 30*time.Minute, "virtual time with faults per run")
	settle := fs.Int("settle", 0, fmt.Sprintf("intervals allowed for convergence after the faults stop (0: %d, or the bound --policy's settings need)", DefaultSettle))
	policyFile := fs.String("policy", "", "run the chaos world on this policy file's cluster instead of the built-in one")
	cluster := fs.String("cluster", "", "cluster of --policy (default: the first)")
	tracePath := fs.String("trace", "", "load of --policy's cluster: CSV \"t_seconds,rps\" or a Prometheus query_range answer (.json) (default: the built-in load levels)")
	parallel := fs.Int("parallel", DefaultParallel(), "runs at once (default: twice the usable cores)")
	long := fs.Duration("long", 6*time.Hour, "virtual time with faults of the long runs")
	longEvery := fs.Int("long-every", 0, "every this many runs one lasts --long (0: none)")
	verbose := fs.Bool("v", false, "print every run and its faults")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "simulate: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *runs < 1 || *parallel < 1 || *longEvery < 0 {
		fmt.Fprintln(stderr, "simulate: --runs and --parallel must be at least 1")
		return 2
	}
	base := Options{Faults: *faults, Duration: *duration, Settle: *settle}
	if (*cluster != "" || *tracePath != "") && *policyFile == "" {
		fmt.Fprintln(stderr, "simulate: --cluster and --trace go with --policy")
		return 2
	}
	if *policyFile != "" {
		h, err := hostFromFlags(*policyFile, *cluster, *tracePath)
		if err != nil {
			fmt.Fprintf(stderr, "simulate: %v\n", err)
			return 2
		}
		base.Host = h
		for _, n := range h.Notes {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
	}
	if err := base.defaults(); err != nil {
		fmt.Fprintf(stderr, "simulate: %v\n", err)
		return 2
	}
	start := time.Now()
	results := make([]Result, *runs)
	errs := make([]error, *runs)
	done := make([]chan struct{}, *runs)
	for i := range done {
		done[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range *parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				o := base
				o.Seed = *seed + int64(i)
				if *longEvery > 0 && i%*longEvery == 0 {
					o.Duration = *long
				}
				results[i], errs[i] = Run(context.Background(), o)
				close(done[i])
			}
		}()
	}
	go func() {
		for i := range *runs {
			next <- i
		}
		close(next)
	}()
	// Runs are reported in seed order as they finish, so what is printed
	// does not depend on --parallel (but for the wall time).
	for i := range *runs {
		<-done[i]
		report(stdout, results[i], errs[i], *verbose)
	}
	wg.Wait()

	failed, violations, worst, pinned := 0, 0, 0, 0
	tally := map[string]Tally{}
	for i, r := range results {
		for c, t := range r.Classes {
			s := tally[c]
			s.Planned += t.Planned
			s.Hit += t.Hit
			tally[c] = s
		}
		if errs[i] != nil || len(r.Violations) > 0 {
			failed++
		}
		if len(r.SpuriousPins) > 0 {
			pinned++
		}
		violations += len(r.Violations)
		worst = max(worst, r.ConvergedAfter)
	}
	fmt.Fprintf(stdout, "summary: %d runs, %d with violations, %d violations, %d with a spurious manual pin, slowest convergence %d intervals, wall time %s\n",
		*runs, failed, violations, pinned, worst, time.Since(start).Round(time.Millisecond))
	if len(tally) > 0 {
		fmt.Fprintf(stdout, "fault episodes that hit their target, per class:\n%s", FormatTallies(tally))
	}
	// No operator writes numberOfServers in a chaos run: a pin is the
	// controller obeying a count of its own, a failure like a violation.
	if failed > 0 || pinned > 0 {
		return 1
	}
	return 0
}

// DefaultParallel is --parallel's default: two runs per usable core. A run
// spends much of its wall time waiting on the slow-answer faults (a request
// held until the controller's deadline), which a second run per core fills;
// more than two per core measured no faster and holds more memory
// (docs/simulation/results.md, "Chaos runs").
func DefaultParallel() int {
	return 2 * runtime.GOMAXPROCS(0)
}

// hostFromFlags reads --policy and --trace and checks the chaos world can
// host them.
func hostFromFlags(file, cluster, tracePath string) (*Hosted, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("--policy: %w", err)
	}
	o := HostOptions{File: file, Data: data, Cluster: cluster}
	if tracePath != "" {
		tr, err := readTrace(tracePath)
		if err != nil {
			return nil, err
		}
		o.Trace, o.TraceName = &tr, filepath.Base(tracePath)
	}
	return Host(o)
}

// readTrace reads a CSV trace, or a Prometheus query_range answer when
// the file is JSON (.json, or its first byte is '{'); errors name the file
// and line.
func readTrace(path string) (sim.Trace, error) {
	tr, err := sim.ReadTraceFile(path)
	if err != nil {
		return sim.Trace{}, fmt.Errorf("--trace: %w", err)
	}
	if len(tr.T) == 0 {
		return sim.Trace{}, fmt.Errorf("--trace: %s: no rows", path)
	}
	return tr, nil
}

func report(w io.Writer, r Result, err error, verbose bool) {
	switch {
	case err != nil:
		fmt.Fprintf(w, "seed %d: error: %v\n", r.Seed, err)
		return
	case len(r.Violations) == 0 && !verbose:
		return
	}
	fmt.Fprintln(w, r.String())
	if verbose || len(r.Violations) > 0 {
		for _, f := range r.Faults {
			fmt.Fprintf(w, "  fault %s\n", f)
		}
	}
	if verbose {
		fmt.Fprint(w, FormatTallies(r.Classes))
		fmt.Fprintf(w, "  changes sent per controller process: %v\n", r.Mutations)
	}
	for _, p := range r.SpuriousPins {
		fmt.Fprintf(w, "  PIN %s\n", p)
	}
	for _, v := range r.Violations {
		fmt.Fprintf(w, "  VIOLATION %s\n", v)
	}
}
