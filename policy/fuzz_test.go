package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: Load never panics, every error has a position, and whatever
// loads survives the Effective round trip.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/bad/*.yaml")
	seeds = append(seeds, "../policies.example.yaml")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("clusters: [{name: a, arangodb: {endpoints: ['http://x:1']}, marathon: {coordinators: /a}, roles: {coordinators: {min: 1, max: 2, metrics: [{signal: cpu_utilization, target: 1e-7}]}}}]"))
	f.Add([]byte("a: &x [*x]"))
	f.Add([]byte("clusters:\n  - &c {name: a}\n  - *c\n  - <<: *c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Load("f.yaml", data)
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("error %v is not a non-empty *Errors", err)
			}
			for _, e := range errs.List {
				if e.Line < 1 || e.Col < 1 || e.File != "f.yaml" || e.Msg == "" {
					t.Fatalf("error without a position: %+v", e)
				}
			}
			return
		}
		out, err := cfg.Effective()
		if err != nil {
			t.Fatalf("Effective: %v", err)
		}
		again, err := Load("effective.yaml", out)
		if err != nil {
			t.Fatalf("effective policy does not load: %v\n%s", err, out)
		}
		out2, _ := again.Effective()
		if string(out) != string(out2) {
			t.Fatalf("effective output unstable:\n%s\n---\n%s", out, out2)
		}
		_ = cfg.Summary()
	})
}
