package simulate

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/arangoscale/arangoscale/policy"
	"github.com/arangoscale/arangoscale/sim"
)

func readTrace(t testing.TB, path string) sim.Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := sim.ReadTrace(f)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func testPolicy(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stepOptions replay testdata/step.csv unscaled against testdata/policy.yaml.
func stepOptions(t testing.TB, baselines ...string) Options {
	return Options{
		Traces:     []TraceInput{{Name: "step", Trace: readTrace(t, "testdata/step.csv")}},
		PolicyName: "testdata/policy.yaml", Policy: testPolicy(t),
		Baselines: baselines, ScaleRPS: 1,
	}
}

func run(t testing.TB, o Options) *Report {
	t.Helper()
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func result(t testing.TB, rep *Report, trace, contender string) Result {
	t.Helper()
	for _, r := range rep.Results {
		if r.Trace == trace && r.Contender == contender {
			return r
		}
	}
	t.Fatalf("no result for %s × %s", trace, contender)
	return Result{}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestTargetsFromPolicy(t *testing.T) {
	s, err := prepare(stepOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	if !near(s.targets.coord, 0.5) || !near(s.targets.db, 0.5) || !near(s.targets.coordBand, 0.55) || !near(s.targets.dbBand, 0.55) {
		t.Fatalf("targets %+v, want 0.5 / 0.55 for both roles", s.targets)
	}
	if len(s.notes) != 1 {
		t.Fatalf("notes %q: want one about the ignored promql metric", s.notes)
	}
	// cpu 0.65 with 2 % idle cpu is utilisation 0.6429; a threshold's
	// upper bound counts, and the lowest wins.
	rp := &policy.RolePolicy{Metrics: []policy.Metric{
		{Strategy: policy.StrategyTarget, Signal: "cpu_utilization", Target: 0.65},
		{Strategy: policy.StrategyThreshold, Signal: "cpu_utilization", Upper: 0.8, Lower: 0.3},
		{Strategy: policy.StrategyTarget, Signal: "disk_utilization", Target: 0.1},
	}}
	if u := utilTarget(rp, 1000, 0.02); math.Abs(u-0.63/0.98) > 1e-9 {
		t.Fatalf("utilTarget = %v, want %v", u, 0.63/0.98)
	}
	if u := utilTarget(&policy.RolePolicy{}, 1000, 0.02); u != 0.7 {
		t.Fatalf("utilTarget without usable metric = %v, want 0.7", u)
	}
}

// The oracle on step.csv runs both roles at the threshold rule's line
// (cpu 0.8 = utilisation 0.78/0.98, above the test policy's band 0.55):
// 1,000 rps needs 2 coordinators and 3 DB servers (the replication floor),
// 4,000 rps needs ceil(5.03) = 6 and ceil(3.35) = 4, started 2 steps (30 s)
// ahead. The load is 4,000 at sample times 600 s … 1,785 s: samples 39 …
// 118, so 6 and 4 are allocated at samples 37 … 118 (82 of 240).
func TestOracleArithmetic(t *testing.T) {
	r := result(t, run(t, stepOptions(t, Oracle)), "step", Oracle)
	if len(r.Samples) != 240 {
		t.Fatalf("%d samples, want 240 (1 h at 15 s)", len(r.Samples))
	}
	if want := float64(82*6+158*2) / 240; !near(r.CoordinatorHours, want) {
		t.Errorf("coordinator hours %v, want %v", r.CoordinatorHours, want)
	}
	if want := float64(82*4+158*3) / 240; !near(r.DBServerHours, want) {
		t.Errorf("DB server hours %v, want %v", r.DBServerHours, want)
	}
	if r.Samples[36].Coordinators != 2 || r.Samples[37].Coordinators != 6 || r.Samples[118].Coordinators != 6 || r.Samples[119].Coordinators != 2 {
		t.Errorf("oracle coordinators around the step: %d %d … %d %d", r.Samples[36].Coordinators, r.Samples[37].Coordinators,
			r.Samples[118].Coordinators, r.Samples[119].Coordinators)
	}
	if r.CoordinatorActions != 2 || r.DBServerActions != 2 || r.DirectionChanges != 2 || r.OverloadMinutes != 0 || r.RiseEpisodes != 0 {
		t.Errorf("oracle actions %d/%d, direction changes %d, overload %v, rise episodes %d; want 2/2, 2, 0, 0",
			r.CoordinatorActions, r.DBServerActions, r.DirectionChanges, r.OverloadMinutes, r.RiseEpisodes)
	}
}

// The oracle at the policy's own targets (0.5) and min: 4,000 rps needs
// ceil(4000/500) = 8 coordinators and ceil(4000/750) = 6 DB servers;
// 1,000 rps needs 2 coordinators (min 2) and 3 DB servers (min 3), with the
// same lead as the loose oracle.
func TestOracleTargetArithmetic(t *testing.T) {
	rep := run(t, stepOptions(t, Oracle, OracleTarget))
	r := result(t, rep, "step", OracleTarget)
	if want := float64(82*8+158*2) / 240; !near(r.CoordinatorHours, want) {
		t.Errorf("coordinator hours %v, want %v", r.CoordinatorHours, want)
	}
	if want := float64(82*6+158*3) / 240; !near(r.DBServerHours, want) {
		t.Errorf("DB server hours %v, want %v", r.DBServerHours, want)
	}
	if r.RiseEpisodes != 0 || r.OverloadMinutes != 0 {
		t.Errorf("rise episodes %d, overload %v; want none", r.RiseEpisodes, r.OverloadMinutes)
	}
	assertOracleLowest(t, rep)
}

// Static provisions for the peak at the target: ceil(4000/500) = 8
// coordinators and ceil(4000/750) = 6 DB servers, for the whole hour.
func TestStaticArithmetic(t *testing.T) {
	r := result(t, run(t, stepOptions(t, Static)), "step", Static)
	if !near(r.CoordinatorHours, 8) || !near(r.DBServerHours, 6) {
		t.Errorf("static hours %v / %v, want 8 / 6", r.CoordinatorHours, r.DBServerHours)
	}
	if r.CoordinatorActions+r.DBServerActions != 0 || r.OverloadMinutes != 0 || r.LostShards != 0 {
		t.Errorf("static: %+v", r)
	}
}

// firstChange is the first sample index from which role() differs from its
// value at sample from.
func firstChange(ss []Sample, from int, role func(Sample) int) int {
	for i := from + 1; i < len(ss); i++ {
		if role(ss[i]) != role(ss[from]) {
			return i
		}
	}
	return -1
}

func coords(s Sample) int { return s.Coordinators }

// HPA on step.csv (cpu target 0.02 + 0.98 × 0.5 = 0.51), run by the real
// controller: the load rises at 600 s; the Mesos cpu of [600 s, 615 s)
// reads 1 at 615 s on 2 coordinators: ceil(2 × 1/0.51) = 4, visible from
// sample 41. While the two new ones start the HPA keeps 4 (they count as
// idle); at 660 s all 4 read 1: ceil(4 × 1.96) = 8 (within max(+100 %,
// +4)), visible from sample 44. After the drop at 1,800 s the 5-minute
// down window holds 8 until 2,115 s; then 3, and later min 2.
func TestHPAArithmetic(t *testing.T) {
	r := result(t, run(t, stepOptions(t, HPA)), "step", HPA)
	ss := r.Samples
	if ss[39].Offered != 4000 || ss[38].Offered != 1000 {
		t.Fatalf("load step not at sample 39: %v %v", ss[38].Offered, ss[39].Offered)
	}
	check := func(i, want int) {
		t.Helper()
		if ss[i].Coordinators != want {
			t.Errorf("sample %d (%s): %d coordinators, want %d", i, ss[i].At, ss[i].Coordinators, want)
		}
	}
	check(40, 2)
	check(41, 4)
	check(43, 4)
	check(44, 8)
	check(139, 8)
	check(140, 3)
	check(239, 2)
	// Overloaded: samples 39–41 (2 healthy), 42–44 (4 healthy, latency at
	// its cap): six steps.
	if r.CoordinatorActions != 4 || r.OverloadMinutes != 1.5 {
		t.Errorf("hpa: %d coordinator actions, %v overload minutes; want 4 and 1.5",
			r.CoordinatorActions, r.OverloadMinutes)
	}
	if r.LostShards != 0 {
		t.Errorf("hpa lost %d shards: DB-server removals must go through the clean-out", r.LostShards)
	}
}

// The threshold baseline on step.csv, run by the real controller: the
// Mesos cpu is 1 from the read at 615 s; the cycles at 615, 630 and 645 s
// count, the fourth at 660 s scales 2 → 3, visible from sample 44.
func TestThresholdOnTrace(t *testing.T) {
	r := result(t, run(t, stepOptions(t, Threshold)), "step", Threshold)
	if i := firstChange(r.Samples, 0, coords); i != 44 || r.Samples[44].Coordinators != 3 {
		t.Fatalf("first coordinator change at sample %d (to %d), want 44 (to 3)", i, r.Samples[max(i, 0)].Coordinators)
	}
	if r.OverloadMinutes == 0 {
		t.Fatal("the threshold rule reacts a minute late: it must show overload")
	}
}

// The policy runs the real controller over HTTP: it follows the step up and
// back down (DB servers through the clean-out saga) and loses no shard.
func TestPolicyOnTrace(t *testing.T) {
	o := stepOptions(t)
	rep := run(t, o)
	p := result(t, rep, "step", Policy)
	if p.LostShards != 0 {
		t.Fatalf("the policy lost %d shards", p.LostShards)
	}
	if p.CoordinatorActions < 2 || p.DBServerActions < 2 {
		t.Fatalf("policy actions %d/%d: want it to scale both roles up and down", p.CoordinatorActions, p.DBServerActions)
	}
	last := p.Samples[len(p.Samples)-1]
	if last.Coordinators != 2 || last.DBServers != 3 {
		t.Fatalf("after an hour at 1,000 rps: %d coordinators, %d DB servers; want 2 and 3", last.Coordinators, last.DBServers)
	}
	assertOracleLowest(t, rep)
}

func assertOracleLowest(t *testing.T, rep *Report) {
	t.Helper()
	for _, trace := range rep.Traces() {
		o := result(t, rep, trace, Oracle)
		for _, r := range rep.Results {
			if r.Trace != trace {
				continue
			}
			if o.CoordinatorHours > r.CoordinatorHours+1e-9 || o.DBServerHours > r.DBServerHours+1e-9 {
				t.Errorf("%s: oracle %.3f/%.3f instance-hours above %s's %.3f/%.3f", trace,
					o.CoordinatorHours, o.DBServerHours, r.Contender, r.CoordinatorHours, r.DBServerHours)
			}
		}
	}
}

// The real trace (a World Cup 98 day, 6 hours of it from the evening peak
// on): the oracle is below everyone, the policy loses nothing.
func TestOracleLowestOnRealTrace(t *testing.T) {
	if testing.Short() || underRace {
		t.Skip("replays 6 hours through the controller (run without -short and -race)")
	}
	tr, err := sim.ReadTrace(bytes.NewReader(sim.DemoTrace))
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t, Options{Traces: []TraceInput{{Name: "wc98_day", Trace: tr}}, PolicyName: "policies.example.yaml",
		Policy: examplePolicy(t), Duration: 6 * time.Hour})
	assertOracleLowest(t, rep)
	if p := result(t, rep, "wc98_day", Policy); p.LostShards != 0 || p.OverloadMinutes != 0 {
		t.Fatalf("policy on the demo day: %d lost shards, %v overload minutes", p.LostShards, p.OverloadMinutes)
	}
}

func examplePolicy(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../policies.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Two runs with the same seed give the same bytes: table, CSV and PNG,
// whether the contenders run side by side or one after the other.
func TestDeterministic(t *testing.T) {
	o := stepOptions(t)
	o.Seed = 7
	// A second trace, so traces run side by side as well.
	o.Traces = append(o.Traces, TraceInput{Name: "step2", Trace: o.Traces[0].Trace})
	render := func(parallel int) (md, csv, png []byte) {
		o.Parallel = parallel
		rep := run(t, o)
		var a, b, c bytes.Buffer
		if err := WriteMarkdown(&a, rep); err != nil {
			t.Fatal(err)
		}
		if err := WriteCSV(&b, rep); err != nil {
			t.Fatal(err)
		}
		if err := WritePNG(&c, rep, "step"); err != nil && (Plots || !errors.Is(err, ErrNoPlots)) {
			t.Fatal(err)
		}
		return a.Bytes(), b.Bytes(), c.Bytes()
	}
	md1, csv1, png1 := render(1)
	md2, csv2, png2 := render(0)
	if !bytes.Equal(md1, md2) {
		t.Fatalf("markdown differs:\n%s\n---\n%s", md1, md2)
	}
	if !bytes.Equal(csv1, csv2) {
		t.Fatalf("csv differs:\n%s\n---\n%s", csv1, csv2)
	}
	if Plots && (!bytes.Equal(png1, png2) || len(png1) < 1000 || !bytes.HasPrefix(png1, []byte("\x89PNG"))) {
		t.Fatalf("png differs or is not a PNG (%d, %d bytes)", len(png1), len(png2))
	}
}

// TestRunsLongestFirst: bounded runs start longest first, the policy
// contender of every trace before any baseline, and the results still come
// back by trace in contender order.
func TestRunsLongestFirst(t *testing.T) {
	o := stepOptions(t)
	o.Traces = append(o.Traces, TraceInput{Name: "step2", Trace: o.Traces[0].Trace})
	o.Parallel = 1
	var progress bytes.Buffer
	o.Progress = &progress
	rep := run(t, o)
	var order []string
	for _, l := range strings.Split(strings.TrimSpace(progress.String()), "\n") {
		head, _, _ := strings.Cut(l, ":")
		order = append(order, head)
	}
	names := append([]string{Policy}, Baselines()...)
	if len(order) != 2*len(names) {
		t.Fatalf("progress lines %q", order)
	}
	for i, want := range []string{"step × " + Policy, "step2 × " + Policy} {
		if order[i] != want {
			t.Fatalf("run %d was %q, want %q (all: %q)", i, order[i], want, order)
		}
	}
	for i, r := range rep.Results {
		if trace, c := []string{"step", "step2"}[i/len(names)], names[i%len(names)]; r.Trace != trace || r.Contender != c {
			t.Fatalf("result %d is %s × %s, want %s × %s", i, r.Trace, r.Contender, trace, c)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	good := stepOptions(t)
	for _, c := range []struct {
		name   string
		change func(*Options)
		want   error
	}{
		{"no trace", func(o *Options) { o.Traces = nil }, ErrNoTrace},
		{"unknown baseline", func(o *Options) { o.Baselines = []string{"magic"} }, ErrUnknownSetup},
		{"negative scale", func(o *Options) { o.ScaleRPS = -1 }, ErrBadOptions},
		{"unknown cluster", func(o *Options) { o.Cluster = "nope" }, ErrBadPolicy},
		{"too short", func(o *Options) { o.Duration = time.Second }, ErrBadOptions},
	} {
		o := good
		c.change(&o)
		if _, err := Run(context.Background(), o); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	o := good
	o.Policy = []byte("clusters: [")
	if _, err := Run(context.Background(), o); err == nil {
		t.Error("bad policy YAML: no error")
	}
}

func TestAutoScale(t *testing.T) {
	o := stepOptions(t, Static)
	o.ScaleRPS = 0
	rep := run(t, o)
	r := result(t, rep, "step", Static)
	// 0.8 × 10 coordinators × 1000 rps × 0.5 / 4000 rps = 1.
	if !near(r.ScaleRPS, 1) {
		t.Fatalf("auto scale %v, want 1", r.ScaleRPS)
	}
}

// BenchmarkSimulateDay replays one trace-day (the embedded World Cup 98
// day) through the real controller, policy only.
func BenchmarkSimulateDay(b *testing.B) { benchDay(b, []string{}) }

// BenchmarkSimulateDayAll is BenchmarkSimulateDay with every baseline, the
// day the time goal is about.
func BenchmarkSimulateDayAll(b *testing.B) { benchDay(b, Baselines()) }

func benchDay(b *testing.B, baselines []string) {
	tr, err := sim.ReadTrace(bytes.NewReader(sim.DemoTrace))
	if err != nil {
		b.Fatal(err)
	}
	o := Options{Traces: []TraceInput{{Name: "wc98_day", Trace: tr}}, PolicyName: "policies.example.yaml",
		Policy: examplePolicy(b), Baselines: baselines}
	for b.Loop() {
		run(b, o)
	}
}

// A replay starts at --start, else at the trace's own first timestamp,
// else on DefaultStart; the policy's schedules see that time.
func TestStart(t *testing.T) {
	at := time.Date(2026, 7, 1, 9, 30, 0, 0, time.UTC)
	for _, c := range []struct {
		name         string
		opt, trStart time.Time
		want         time.Time
	}{
		{"default", time.Time{}, time.Time{}, DefaultStart},
		{"trace", time.Time{}, at, at},
		{"option wins", at.Add(time.Hour), at, at.Add(time.Hour)},
	} {
		o := stepOptions(t, Static)
		o.Duration = time.Minute
		o.Start = c.opt
		o.Traces[0].Trace.Start = c.trStart
		for _, r := range run(t, o).Results {
			if !r.Start.Equal(c.want) {
				t.Errorf("%s: %s started at %s, want %s", c.name, r.Contender, r.Start, c.want)
			}
		}
	}
}
