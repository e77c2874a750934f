package sim

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func synth(t *testing.T, spec string) Trace {
	t.Helper()
	s, err := ParseSynth(spec)
	if err != nil {
		t.Fatal(err)
	}
	return Synthesize(s)
}

func csvOf(t *testing.T, tr Trace) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteTrace(&b, tr); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The same seed gives the same bytes; another seed other bytes; the CSV
// reads back as the same trace.
func TestSynthDeterministic(t *testing.T) {
	a := csvOf(t, synth(t, "synth:mixed?seed=7&days=2"))
	b := csvOf(t, synth(t, "synth:mixed?days=2&seed=7"))
	c := csvOf(t, synth(t, "synth:mixed?seed=8&days=2"))
	if !bytes.Equal(a, b) {
		t.Fatal("same spec, different bytes")
	}
	if bytes.Equal(a, c) {
		t.Fatal("seeds 7 and 8 give the same trace")
	}
	if !bytes.HasPrefix(a, []byte("t_seconds,rps\n0,")) {
		t.Fatalf("CSV starts %q", a[:20])
	}
	back, err := ReadTrace(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	tr := synth(t, "synth:mixed?seed=7&days=2")
	if len(back.T) != 2*24*60 || back.Duration() != 48*time.Hour || !slices.Equal(back.RPS, tr.RPS) {
		t.Fatalf("read back %d rows, %s; want 2880 rows, 48h, the same rates", len(back.T), back.Duration())
	}
}

// Diurnal: a weekday swings ×3.3 from 02:00 to 14:00; weekends are lower.
func TestSynthDiurnalCharacter(t *testing.T) {
	tr := synth(t, "synth:diurnal?days=7")
	day := tr.RPS[:24*60]
	lo, hi := slices.Min(day), slices.Max(day)
	if r := hi / lo; r < 3 || r > 3.7 {
		t.Errorf("weekday peak/trough %.2f, want about 3.3", r)
	}
	if i := slices.Index(day, hi); i < 13*60 || i > 15*60 {
		t.Errorf("peak at minute %d, want around 14:00", i)
	}
	sat := tr.RPS[5*24*60 : 6*24*60]
	if r := slices.Max(sat) / hi; math.Abs(r-0.7) > 0.01 {
		t.Errorf("Saturday peak / weekday peak %.3f, want 0.7 (weekend lull)", r)
	}
}

func TestSynthFlashCrowd(t *testing.T) {
	tr := synth(t, "synth:flash?seed=3&days=1")
	// Without diurnal the level is the base: a crowd is a rise to ×3–×5
	// within 3 minutes that falls back under ×1.5 within two hours.
	at := slices.IndexFunc(tr.RPS, func(v float64) bool { return v > 1000 })
	if at < 60 {
		t.Fatalf("first crowd at minute %d, want after the first hour", at)
	}
	peak := slices.Max(tr.RPS[at : at+3])
	if peak < 3000 || peak > 5000 {
		t.Errorf("crowd peak %.0f within 3 minutes, want ×3–×5 of 1000", peak)
	}
	if at+120 < len(tr.RPS) && tr.RPS[at+120] > 1500 {
		t.Errorf("two hours after the onset %.0f rps, want the crowd mostly gone", tr.RPS[at+120])
	}
}

func TestSynthStep(t *testing.T) {
	tr := synth(t, "synth:step?seed=5&days=3")
	n := len(tr.RPS)
	i := slices.IndexFunc(tr.RPS, func(v float64) bool { return v != 1000 })
	if i < n/3 || i > 2*n/3 {
		t.Fatalf("step at minute %d of %d, want in the middle third", i, n)
	}
	if r := tr.RPS[n-1] / tr.RPS[0]; r < 1.5 || r > 2 {
		t.Errorf("step ×%.2f, want ×1.5–×2", r)
	}
	if v := tr.RPS[i:]; slices.Min(v) != slices.Max(v) {
		t.Error("the step does not last")
	}
}

// Noise: the p99 of the 1-minute ratio max(x[i]/x[i-1], x[i-1]/x[i]) is
// 1.2–1.5, also on top of everything else.
func TestSynthNoise(t *testing.T) {
	for _, spec := range []string{"synth:noise?seed=11&days=2", "synth:mixed?seed=11&days=2"} {
		tr := synth(t, spec)
		var rs []float64
		for i := 1; i < len(tr.RPS); i++ {
			r := tr.RPS[i] / tr.RPS[i-1]
			rs = append(rs, max(r, 1/r))
		}
		slices.Sort(rs)
		if p99 := rs[len(rs)*99/100]; p99 < 1.2 || p99 > 1.5 {
			t.Errorf("%s: p99 1-min ratio %.3f, want 1.2–1.5", spec, p99)
		}
	}
}

func TestParseSynth(t *testing.T) {
	s, err := ParseSynth("synth:step+diurnal+step?seed=9&days=0.5&base=200")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Kinds, []string{SynthDiurnal, SynthStep}) || s.Seed != 9 || s.Days != 0.5 || s.Base != 200 {
		t.Fatalf("parsed %+v", s)
	}
	if s.Name() != "synth_diurnal_step_seed9_0.5d" {
		t.Errorf("name %q", s.Name())
	}
	if m, _ := ParseSynth("synth:mixed"); m.Name() != "synth_mixed_seed1_1d" || len(Synthesize(m).T) != 1440 {
		t.Errorf("mixed: %q", m.Name())
	}
	for _, c := range []struct{ spec, part string }{
		{"diurnal", `"synth:"`},
		{"synth:", "no kind"},
		{"synth:diurnal+storm", `kind "storm"`},
		{"synth:diurnal?seed=-1", `seed="-1"`},
		{"synth:diurnal?days=0", `days="0"`},
		{"synth:diurnal?days=400", "at most 366"},
		{"synth:diurnal?base=x", `base="x"`},
		{"synth:diurnal?sed=1", `parameter "sed"`},
		{"synth:diurnal?days=0.0001", "shorter than a minute"},
	} {
		_, err := ParseSynth(c.spec)
		if !errors.Is(err, ErrBadSynth) || !strings.Contains(err.Error(), c.part) {
			t.Errorf("%q: error %v, want ErrBadSynth naming %s", c.spec, err, c.part)
		}
	}
}

func TestTraceFrom(t *testing.T) {
	tr := Trace{T: []time.Duration{0, 10 * time.Minute, 20 * time.Minute, 30 * time.Minute}, RPS: []float64{1, 4, 4, 1},
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	got, err := tr.From(15 * time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.T, []time.Duration{0, 5 * time.Minute, 15 * time.Minute}) || !slices.Equal(got.RPS, []float64{4, 4, 1}) {
		t.Fatalf("From(15m) = %v %v", got.T, got.RPS)
	}
	if !got.Start.Equal(tr.Start.Add(15*time.Minute)) || got.Duration() != 25*time.Minute {
		t.Errorf("start %s, duration %s", got.Start, got.Duration())
	}
	if _, err := tr.From(40 * time.Minute); !errors.Is(err, ErrBadTrace) {
		t.Errorf("From past the end: %v", err)
	}
}
