package simulate

import (
	"bytes"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSweep(t *testing.T) {
	sw, err := ParseSweep("target=0.55:0.90:0.05")
	if err != nil {
		t.Fatal(err)
	}
	if want := []float64{0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9}; sw.Param != "target" || !slices.Equal(sw.Values, want) {
		t.Fatalf("parsed %+v, want target %v", sw, want)
	}
	if sw, _ := ParseSweep("target=0.6,0.8"); !slices.Equal(sw.Values, []float64{0.6, 0.8}) {
		t.Errorf("list: %v", sw.Values)
	}
	for _, c := range []struct{ spec, part string }{
		{"target", "want NAME=FROM:TO:STEP"},
		{"headroom=0.1:0.2:0.1", `parameter "headroom"`},
		{"target=0.5:0.9", `range "0.5:0.9"`},
		{"target=0.5:x:0.1", `to "x"`},
		{"target=0.9:0.5:0.1", "FROM ≤ TO"},
		{"target=0.5:0.9:0", "STEP > 0"},
		{"target=0.6,1.2", "target 1.2"},
		{"target=0:1:0.001", "at most 100"},
	} {
		if _, err := ParseSweep(c.spec); !errors.Is(err, ErrBadSweep) || !strings.Contains(err.Error(), c.part) {
			t.Errorf("%q: error %v, want ErrBadSweep naming %s", c.spec, err, c.part)
		}
	}
}

func cpuOptions(t *testing.T, baselines ...string) Options {
	t.Helper()
	o := stepOptions(t, baselines...)
	b, err := os.ReadFile("testdata/cpu.yaml")
	if err != nil {
		t.Fatal(err)
	}
	o.PolicyName, o.Policy = "testdata/cpu.yaml", b
	return o
}

// The sweep sets the cpu target of both roles; the hpa baseline and the
// oracle at the target follow it. At cpu 0.51 (utilisation 0.5) 4,000 rps
// needs 8 coordinators, at 0.8 (0.78/0.98 = 0.796) ceil(5.03) = 6.
func TestSweepTarget(t *testing.T) {
	sr, err := RunSweep(t.Context(), cpuOptions(t, HPA, OracleTarget), Sweep{Param: "target", Values: []float64{0.51, 0.8}})
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Points) != 2 {
		t.Fatalf("%d points", len(sr.Points))
	}
	peak := func(i int, c string) int {
		r, _ := sr.at(i, "step", c)
		n := 0
		for _, s := range r.Samples {
			n = max(n, s.Coordinators)
		}
		return n
	}
	if a, b := peak(0, OracleTarget), peak(1, OracleTarget); a != 8 || b != 6 {
		t.Errorf("oracle-target peak coordinators %d at 0.51, %d at 0.8; want 8 and 6", a, b)
	}
	lo, _ := sr.at(0, "step", HPA)
	hi, _ := sr.at(1, "step", HPA)
	if hi.CoordinatorHours+hi.DBServerHours >= lo.CoordinatorHours+lo.DBServerHours {
		t.Errorf("hpa at cpu 0.8: %.2f instance-h, not below %.2f at 0.51", hi.CoordinatorHours+hi.DBServerHours,
			lo.CoordinatorHours+lo.DBServerHours)
	}
	var csv, md, png bytes.Buffer
	if err := WriteSweepCSV(&csv, sr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != 1+2*3 || lines[0] != "trace,target,contender,coordinator_hours,dbserver_hours,total_hours,overload_minutes,direction_changes,lost_shards" ||
		!strings.HasPrefix(lines[4], "step,0.8,policy,") {
		t.Errorf("sweep.csv:\n%s", csv.String())
	}
	if err := WriteSweepMarkdown(&md, sr); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| target | policy | hpa | oracle-target |", "| 0.51 |", "| 0.8 |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, md.String())
		}
	}
	if err := WriteSweepPNG(&png, sr, "step"); !Plots {
		if !errors.Is(err, ErrNoPlots) || png.Len() > 0 {
			t.Errorf("noplot build: %v (%d bytes)", err, png.Len())
		}
	} else if err != nil || !bytes.HasPrefix(png.Bytes(), []byte("\x89PNG")) {
		t.Errorf("png: %v (%d bytes)", err, png.Len())
	}
}

// A sweep the policy cannot take fails before anything runs: the test
// policy has no cpu target, and a bad trace option is found up front too.
func TestSweepErrors(t *testing.T) {
	var ran bool
	o := stepOptions(t, Static)
	o.Advance = func(string, string, time.Duration, time.Duration) { ran = true }
	if _, err := RunSweep(t.Context(), o, Sweep{Param: "target", Values: []float64{0.6}}); !errors.Is(err, ErrBadSweep) ||
		!strings.Contains(err.Error(), "no cpu_utilization target") {
		t.Errorf("policy without cpu target: %v", err)
	}
	o = cpuOptions(t, Static)
	o.Advance = func(string, string, time.Duration, time.Duration) { ran = true }
	o.Warmup = 2 * time.Hour
	if _, err := RunSweep(t.Context(), o, Sweep{Param: "target", Values: []float64{0.6, 0.7}}); !errors.Is(err, ErrBadOptions) {
		t.Errorf("warm-up longer than the trace: %v", err)
	}
	if ran {
		t.Error("a failing sweep ran")
	}
}

// The load is the same at every value: the auto scale is that of the
// policy as written (utilisation 0.5; the first minute's peak is 1,000 rps:
// 0.8 × 10 × 1000 × 0.5 / 1000 = 4), though a higher target alone would
// scale the trace up.
func TestSweepHoldsTheLoad(t *testing.T) {
	o := cpuOptions(t, Static)
	o.ScaleRPS, o.Duration = 0, time.Minute
	sr, err := RunSweep(t.Context(), o, Sweep{Param: "target", Values: []float64{0.51, 0.8}})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range sr.Points {
		if r, _ := sr.at(i, "step", Static); !near(r.ScaleRPS, 4) {
			t.Errorf("target %v: scale %v, want 4", p.Value, r.ScaleRPS)
		}
	}
}
