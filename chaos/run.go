package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Faults modes of Options.Faults.
const (
	FaultsRandom = "random"
	FaultsNone   = "none"
)

// DefaultSettle is the bound, in reconcile intervals, within which the
// controller must reach the policy's answer once the faults stop. The
// slowest legitimate path after a fault is: the longest backoff (2 min, 8
// intervals), then two DB-server removals (max 5 → min 3), each a
// cooldown (2 min), a clean-out of ~2.3 GiB at 50 MiB/s (~1 min), the
// kill, FAILED after 15 s and the removal (together ~3.5 min, 14
// intervals), while the coordinators settle in parallel (down 50 % per
// minute). 8 + 2×14 = 36 intervals; 40 leaves one interval of slack per
// step of the saga.
const DefaultSettle = 40

// Options configure a chaos run.
type Options struct {
	Seed int64
	// Faults is FaultsRandom (a fault plan drawn from Seed) or FaultsNone.
	Faults string
	// Duration is the virtual time with faults (default 30m); then the
	// faults stop and the run waits for convergence.
	Duration time.Duration
	// Settle bounds convergence in intervals (default DefaultSettle).
	Settle int
	// SourceTimeout is the controller's per-call timeout (default 300ms):
	// slow-answer faults cost this much real time each.
	SourceTimeout time.Duration
	// RestartAfterLost restarts the controller right after every lost
	// response (the random plan sets it for some seeds).
	RestartAfterLost bool
	// Logs, when set, receives the controllers' JSON logs as well.
	Logs io.Writer
	// Host, when set, runs the operator's policy cluster (see Host) in
	// place of the built-in alpha; Settle 0 takes its bound.
	Host *Hosted

	alphaDBServers int // alpha's DB servers at the start (tests; default 3)
	alphaLoad      float64
}

// Result is the outcome of one run.
type Result struct {
	Seed       int64
	Violations []string
	// Steps is the number of reconcile intervals run.
	Steps int
	// Faults describes the faults injected and the run's notable events.
	Faults []string
	// Hits is the number of requests an HTTP fault hit.
	Hits     int
	Restarts int
	Reloads  int
	// ConvergedAfter is the number of intervals from the end of the
	// faults to convergence (-1: not converged).
	ConvergedAfter int
	// SpuriousPins lists roles the controller pinned as if an operator had
	// set a count in ArangoDB's web UI; no operator acts in a chaos run,
	// so each is the controller mistaking a count it wrote itself.
	SpuriousPins []string
	// Classes counts, per fault class, the episodes planned and those
	// that hit their target.
	Classes map[string]Tally
	// Mutations counts the changes each controller process sent.
	Mutations map[string]int
	Wall      time.Duration
}

// ErrOptions reports invalid Options.
var ErrOptions = errors.New("chaos: invalid options")

func (o *Options) defaults() error {
	if o.Faults == "" {
		o.Faults = FaultsRandom
	}
	if o.Faults != FaultsRandom && o.Faults != FaultsNone {
		return fmt.Errorf("%w: faults %q: want %q or %q", ErrOptions, o.Faults, FaultsRandom, FaultsNone)
	}
	if o.Duration == 0 {
		o.Duration = 30 * time.Minute
	}
	if o.Duration < 0 || o.Settle < 0 || o.SourceTimeout < 0 {
		return fmt.Errorf("%w: negative duration, settle or timeout", ErrOptions)
	}
	if o.Settle == 0 {
		o.Settle = DefaultSettle
		if o.Host != nil {
			o.Settle = o.Host.settle
		}
	}
	if o.SourceTimeout == 0 {
		o.SourceTimeout = 300 * time.Millisecond
	}
	return nil
}

// Run runs the real controller against the emulated world with faults,
// checking the invariants after every step; then stops the faults and
// checks that the controller converges within Settle intervals and that
// no secret showed anywhere.
// A done ctx ends the run early with ctx's error.
func Run(ctx context.Context, o Options) (Result, error) {
	start := time.Now()
	if err := o.defaults(); err != nil {
		return Result{}, err
	}
	e, err := newEnv(ctx, o)
	if err != nil {
		return Result{}, fmt.Errorf("chaos: seed %d: %w", o.Seed, err)
	}
	defer e.close()
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x5eed))
	end := epoch.Add(o.Duration)
	e.end = end
	if o.Faults == FaultsRandom {
		e.plan(rng, end)
	}
	for e.clk.Now().Before(end) && !e.aborted {
		e.step()
	}
	res := Result{Seed: o.Seed, ConvergedAfter: -1}
	if !e.aborted {
		res.ConvergedAfter = e.settle(rng)
	}
	e.checkExposed("at the end")
	e.chk.CheckSecrets(e.sec, "the logs", e.logs.String())
	res.Violations = e.chk.Violations()
	for _, v := range res.Violations {
		e.chk.CheckSecrets(e.sec, "a violation text", v)
	}
	res.Violations = e.chk.Violations()
	res.Steps, res.Restarts, res.Reloads = e.steps, e.restarts, e.reloads
	res.Faults = e.notes
	res.SpuriousPins = e.pins
	res.Hits = len(e.inj.Events())
	res.Classes = e.tallies()
	res.Mutations = e.chk.Mutations()
	res.Wall = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("chaos: seed %d: %w", o.Seed, err)
	}
	return res, nil
}

// settle stops every fault, restores the full policy, holds the load and
// runs until the controller has reached the policy's answer for
// stableFor consecutive intervals, at most Settle intervals. It returns
// the intervals it took, or -1 (a violation) if it did not converge.
func (e *env) settle(rng *rand.Rand) int {
	e.inj.StopAll()
	e.stopArmed()
	e.crashArm = false
	e.timeline = nil
	e.hooks = nil
	e.duringReconcile = nil
	if e.override != nil {
		e.setOverride(nil)
	}
	e.operatorUndo(e.opServer)
	e.chk.loosenDeploy(time.Time{})
	if len(e.controller().Policy().Clusters) != len(e.full.Clusters) {
		e.setClusters(alpha, beta)
	}
	switch {
	case e.o.Host != nil && e.o.Host.trace != nil:
		e.holdLoad = true // at the trace's load when the faults stopped
	case e.o.Faults == FaultsRandom:
		e.setLoad(alpha, loadLevels[rng.IntN(len(loadLevels))])
	}
	e.note("faults stopped; alpha load %.0f rps", e.loadOf(alpha))
	const stableFor = 3
	streak, why := 0, ""
	for i := 1; i <= e.o.Settle+stableFor; i++ {
		e.step()
		if e.aborted {
			return -1
		}
		ok, w := e.converged()
		if !ok {
			streak, why = 0, w
			continue
		}
		streak++
		if streak == stableFor {
			if i-stableFor+1 > e.o.Settle {
				break
			}
			return i - stableFor + 1
		}
	}
	e.chk.Violate("converge", "not converged within %d intervals after the faults stopped: %s", e.o.Settle, why)
	return -1
}

// loadLevels are alpha's offered loads (rps): light, medium, heavy and
// peak, from 2 coordinators / 3 DB servers up to 7 / 5.
var loadLevels = []float64{400, 1500, 3000, 4500}

// String renders a result compactly.
func (r Result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %d steps, %d fault hits, %d restarts, %d reloads, converged after %d intervals, %d violations (%s)",
		r.Seed, r.Steps, r.Hits, r.Restarts, r.Reloads, r.ConvergedAfter, len(r.Violations), r.Wall.Round(time.Millisecond))
	return b.String()
}
