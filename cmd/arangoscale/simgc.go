package main

import (
	"os"
	"runtime/debug"
)

// A replay allocates a few GB per trace-day (every reconcile's HTTP
// answers, decoded) over a live heap of a few MB plus the samples, so the
// collector's default pace (GOGC 100) spent about a third of the CPU.
// Measured on one trace-day with all baselines: GOGC 100 → 1000 took user
// CPU from 40 s to 28 s, peak RSS from 44 to 141 MB. The memory limit keeps
// longer replays bounded (three days of wc98 reached 315 MB without it;
// 87 days keep some 220 MB of samples): near it the collector runs as often
// as it has to.
const (
	simulateGCPercent   = 1000
	simulateMemoryLimit = 300 << 20
)

// tuneSimulateGC sets the collector for a replay unless GOGC or GOMEMLIMIT
// is set, and returns what restores the previous settings.
func tuneSimulateGC() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	pct := debug.SetGCPercent(simulateGCPercent)
	limit := debug.SetMemoryLimit(simulateMemoryLimit)
	return func() {
		debug.SetGCPercent(pct)
		debug.SetMemoryLimit(limit)
	}
}
