package chaos

import (
	"context"
	"testing"
)

// BenchmarkRun is one 30-minute chaos run with the random plan, seed by
// seed (b.N seeds from 1): the unit of `simulate --faults random --runs K`.
// Profile it with -cpuprofile to see where a batch spends its time.
func BenchmarkRun(b *testing.B) {
	seed := int64(1)
	for b.Loop() {
		r, err := Run(context.Background(), Options{Seed: seed, Faults: FaultsRandom})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(r.Steps), "steps/run")
		seed++
	}
}
