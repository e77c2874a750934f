package chaos

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestChaosSeeds runs the random fault plan over a fixed set of seeds.
// CHAOS_RUNS=K (and CHAOS_SEED=N) run K seeds from N instead.
//
// A run whose violations all follow from a spurious manual pin (the known
// controller bug of TestControllerBug_*: not converging because of
// manual_override, or a pinned count below the schedule floor) is
// reported and skipped, not failed; any other violation fails.
func TestChaosSeeds(t *testing.T) {
	runs, seed := 8, int64(1)
	if raceSeeds > 0 {
		runs = raceSeeds
	}
	if v, err := strconv.Atoi(os.Getenv("CHAOS_RUNS")); err == nil && v > 0 {
		runs = v
	}
	if v, err := strconv.ParseInt(os.Getenv("CHAOS_SEED"), 10, 64); err == nil {
		seed = v
	}
	if testing.Short() {
		runs = 2
	}
	start := time.Now()
	results := make([]Result, runs)
	errs := make([]error, runs)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i], errs[i] = Run(context.Background(), Options{Seed: seed + int64(i), Faults: FaultsRandom})
			}
		}()
	}
	for i := range runs {
		next <- i
	}
	close(next)
	wg.Wait()

	var known []string
	failed, worst, steps := 0, 0, 0
	for i, r := range results {
		if errs[i] != nil {
			t.Errorf("seed %d: %v", seed+int64(i), errs[i])
			continue
		}
		steps += r.Steps
		worst = max(worst, r.ConvergedAfter)
		if len(r.Violations) == 0 {
			continue
		}
		if explainedByPin(r) {
			known = append(known, r.String()+"\n  "+strings.Join(r.SpuriousPins, "\n  ")+"\n  "+strings.Join(r.Violations, "\n  "))
			continue
		}
		failed++
		t.Errorf("%s\n  faults:\n    %s\n  violations:\n    %s", r, strings.Join(r.Faults, "\n    "), strings.Join(r.Violations, "\n    "))
	}
	t.Logf("%d runs from seed %d: %d failed, %d explained by the known controller bug, %d steps, slowest convergence %d intervals, %s",
		runs, seed, failed, len(known), steps, worst, time.Since(start).Round(time.Millisecond))
	if failed == 0 && len(known) > 0 {
		t.Errorf("controller bug (spurious manual pin) in %d runs:\n%s", len(known), strings.Join(known, "\n"))
	}
}

func explainedByPin(r Result) bool {
	if len(r.SpuriousPins) == 0 {
		return false
	}
	for _, v := range r.Violations {
		if !strings.Contains(v, "manual_override") && !strings.Contains(v, "below the schedule floor") {
			return false
		}
	}
	return true
}
