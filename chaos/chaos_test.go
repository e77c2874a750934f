package chaos

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestChaosSeeds runs the random fault plan over a fixed set of seeds.
// CHAOS_RUNS=K (and CHAOS_SEED=N) run K seeds from N instead.
func TestChaosSeeds(t *testing.T) {
	runs, seed := 8, int64(1)
	if v, err := strconv.Atoi(os.Getenv("CHAOS_RUNS")); err == nil && v > 0 {
		runs = v
	}
	if v, err := strconv.ParseInt(os.Getenv("CHAOS_SEED"), 10, 64); err == nil {
		seed = v
	}
	if testing.Short() {
		runs = 2
	}
	var out, errb bytes.Buffer
	code := Main([]string{"--faults", "random", "--seed", strconv.FormatInt(seed, 10), "--runs", strconv.Itoa(runs), "--parallel", "2"}, &out, &errb)
	t.Log("\n" + out.String())
	if code == 0 {
		return
	}
	// Runs whose only violation is the known controller bug (see
	// TestControllerBug_RefusedScaleBecomesManualPinAfterRestart) do not
	// fail the sweep; anything else does.
	known := true
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "VIOLATION") && !strings.Contains(line, "manual_override") || strings.Contains(line, ": error:") {
			known = false
		}
	}
	if !known {
		t.Fatalf("violations:\n%s%s", out.String(), errb.String())
	}
	t.Skipf("controller bug: own numberOfServers count taken for a manual pin after a restart or re-add:\n%s", out.String())
}
