package sim

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrBadSynth is wrapped by every ParseSynth error.
var ErrBadSynth = errors.New("bad synthetic trace spec")

// Components of a synthetic trace, selectable by name in a spec.
const (
	SynthDiurnal = "diurnal" // daily swing (peak ~14:00, trough ~04:00) with a weekend lull
	SynthDrift   = "drift"   // slow trend and a multi-day wave
	SynthFlash   = "flash"   // flash crowds: sudden ×3–×5 rises decaying over tens of minutes
	SynthStep    = "step"    // one lasting step up (×1.5–×2) in the middle third
	SynthNoise   = "noise"   // minute-to-minute noise (p99 1-min ratio about 1.3)
	// SynthMixed selects all components.
	SynthMixed = "mixed"
)

// SynthKinds lists the component names a spec accepts, in spec order.
func SynthKinds() []string {
	return []string{SynthDiurnal, SynthDrift, SynthFlash, SynthStep, SynthNoise}
}

// SynthSpec describes a synthetic trace: which components, how long, how
// high, and the seed that fixes every random choice.
type SynthSpec struct {
	Kinds []string // some of SynthKinds()
	Seed  uint64
	Days  float64
	// Base is the rate (rps) at a weekday's diurnal peak before drift,
	// flash crowds, the step and noise; the level without diurnal.
	Base float64
}

// SynthPrefix starts a synthetic trace spec wherever a trace file is taken.
const SynthPrefix = "synth:"

// ParseSynth reads "synth:KIND[+KIND…][?seed=N&days=D&base=R]", e.g.
// "synth:diurnal+flash?seed=7&days=2" or "synth:mixed?seed=3". Defaults:
// seed 1, days 1, base 1000. Errors name the bad part.
func ParseSynth(spec string) (SynthSpec, error) {
	rest, ok := strings.CutPrefix(spec, SynthPrefix)
	if !ok {
		return SynthSpec{}, fmt.Errorf("%w: %q does not start with %q", ErrBadSynth, spec, SynthPrefix)
	}
	kinds, query, _ := strings.Cut(rest, "?")
	s := SynthSpec{Seed: 1, Days: 1, Base: 1000}
	if kinds == "" {
		return SynthSpec{}, fmt.Errorf("%w: %q: no kind (want some of %s joined by +, or %s)", ErrBadSynth, spec, strings.Join(SynthKinds(), ","), SynthMixed)
	}
	for _, k := range strings.Split(kinds, "+") {
		switch {
		case k == SynthMixed:
			s.Kinds = append(s.Kinds, SynthKinds()...)
		case slices.Contains(SynthKinds(), k):
			s.Kinds = append(s.Kinds, k)
		default:
			return SynthSpec{}, fmt.Errorf("%w: %q: kind %q (want some of %s joined by +, or %s)", ErrBadSynth, spec, k, strings.Join(SynthKinds(), ","), SynthMixed)
		}
	}
	// Spec order, no repeats: the same components give the same trace.
	s.Kinds = slices.DeleteFunc(SynthKinds(), func(k string) bool { return !slices.Contains(s.Kinds, k) })
	if query != "" {
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			v, err := url.QueryUnescape(v)
			if err != nil {
				return SynthSpec{}, fmt.Errorf("%w: %q: %s: %w", ErrBadSynth, spec, kv, err)
			}
			switch k {
			case "seed":
				n, err := strconv.ParseUint(v, 10, 64)
				if err != nil {
					return SynthSpec{}, fmt.Errorf("%w: %q: seed=%q is not a non-negative integer", ErrBadSynth, spec, v)
				}
				s.Seed = n
			case "days", "base":
				x, err := strconv.ParseFloat(v, 64)
				if err != nil || !(x > 0) || math.IsInf(x, 0) {
					return SynthSpec{}, fmt.Errorf("%w: %q: %s=%q is not a positive number", ErrBadSynth, spec, k, v)
				}
				if k == "days" && x > 366 {
					return SynthSpec{}, fmt.Errorf("%w: %q: days=%q: at most 366", ErrBadSynth, spec, v)
				}
				if k == "days" {
					s.Days = x
				} else {
					s.Base = x
				}
			default:
				return SynthSpec{}, fmt.Errorf("%w: %q: parameter %q (want seed, days or base)", ErrBadSynth, spec, k)
			}
		}
	}
	if int(s.Days*24*60) < 1 {
		return SynthSpec{}, fmt.Errorf("%w: %q: days=%g is shorter than a minute", ErrBadSynth, spec, s.Days)
	}
	return s, nil
}

// Name is a file-name-safe label of the spec, e.g. "synth_diurnal_flash_seed7_2d".
func (s SynthSpec) Name() string {
	kinds := strings.Join(s.Kinds, "_")
	if len(s.Kinds) == len(SynthKinds()) {
		kinds = SynthMixed
	}
	return fmt.Sprintf("synth_%s_seed%d_%sd", kinds, s.Seed, strconv.FormatFloat(s.Days, 'f', -1, 64))
}

func (s SynthSpec) has(k string) bool { return slices.Contains(s.Kinds, k) }

// Synthesize generates the per-minute request rates of s. It is a pure
// function of s: the same spec gives the same trace (the random numbers
// come from PCG's specified output, turned into floats here rather than by
// math/rand's helpers, which may change between Go releases).
func Synthesize(s SynthSpec) Trace {
	n := int(s.Days * 24 * 60)
	r := &synthRand{rand.NewPCG(s.Seed, 0x5eed_a7a7_0001)}
	// Every component draws its parameters first, in a fixed order, so
	// adding a component does not shift the others' random numbers.
	driftSlope := r.uniform(-0.15, 0.25) // over the whole trace
	driftAmp, driftPeriod, driftPhase := r.uniform(0.05, 0.15), r.uniform(3, 5)*24*60, r.uniform(0, 2*math.Pi)
	stepAt, stepBy := int(r.uniform(1.0/3, 2.0/3)*float64(n)), r.uniform(1.5, 2)
	crowds := flashCrowds(r, n)
	noise := &synthRand{rand.NewPCG(s.Seed, 0x5eed_a7a7_0002)}

	tr := Trace{T: make([]time.Duration, n), RPS: make([]float64, n)}
	for i := range n {
		v := 1.0
		if s.has(SynthDiurnal) {
			v *= diurnal(i)
		}
		if s.has(SynthDrift) {
			f := float64(i) / float64(n)
			v *= (1 + driftSlope*f) * (1 + driftAmp*math.Sin(2*math.Pi*float64(i)/driftPeriod+driftPhase))
		}
		if s.has(SynthStep) && i >= stepAt {
			v *= stepBy
		}
		if s.has(SynthFlash) {
			v *= crowdFactor(crowds, i)
		}
		if s.has(SynthNoise) {
			// Log-normal, independent per minute: with σ = 0.08 the p99 of
			// |log(x[i]/x[i-1])| is 2.58·√2·σ ≈ 0.29, a ratio of about 1.34.
			v *= math.Exp(0.08*noise.norm() - 0.08*0.08/2)
		}
		tr.T[i] = time.Duration(i) * time.Minute
		tr.RPS[i] = math.Round(v*s.Base*1000) / 1000
	}
	return tr
}

// diurnal is the daily shape at minute i of a trace starting on a Monday
// 00:00: 1 at 14:00, 0.3 at 02:00 (both smooth), 0.7 × that on Saturdays and
// Sundays.
func diurnal(i int) float64 {
	h := math.Mod(float64(i)/60, 24)
	x := (1 - math.Cos(2*math.Pi*(h-2)/24)) / 2 // 0 at 02:00, 1 at 14:00
	v := 0.3 + 0.7*math.Pow(x, 1.5)
	if day := (i / (24 * 60)) % 7; day >= 5 {
		v *= 0.7
	}
	return v
}

// flashCrowd is one sudden rise: from minute at, the rate climbs within
// rise minutes to peak × the level, then decays with time constant tau.
type flashCrowd struct {
	at, rise  int
	peak, tau float64
}

// flashCrowds places about one crowd a day (at least one) at random
// minutes, not in the first or last hour.
func flashCrowds(r *synthRand, n int) []flashCrowd {
	k := max(1, int(math.Round(float64(n)/(24*60)*r.uniform(0.7, 1.5))))
	out := make([]flashCrowd, 0, k)
	for range k {
		at := 60 + int(r.uniform(0, 1)*float64(max(n-120, 1)))
		out = append(out, flashCrowd{at: at, rise: 1 + int(r.uniform(0, 3)), peak: r.uniform(3, 5), tau: r.uniform(10, 40)})
	}
	return out
}

// crowdFactor multiplies the rate at minute i: the largest crowd in effect.
func crowdFactor(cs []flashCrowd, i int) float64 {
	f := 1.0
	for _, c := range cs {
		d := i - c.at
		switch {
		case d < 0:
			continue
		case d < c.rise:
			f = max(f, 1+(c.peak-1)*float64(d+1)/float64(c.rise))
		default:
			f = max(f, 1+(c.peak-1)*math.Exp(-float64(d-c.rise+1)/c.tau))
		}
	}
	return f
}

// synthRand turns a PCG's 64-bit output into floats.
type synthRand struct{ src *rand.PCG }

// float is uniform in [0, 1) from the top 53 bits.
func (r *synthRand) float() float64 { return float64(r.src.Uint64()>>11) / (1 << 53) }

func (r *synthRand) uniform(lo, hi float64) float64 { return lo + (hi-lo)*r.float() }

// norm is a standard normal number (Box–Muller, one of the pair).
func (r *synthRand) norm() float64 {
	u := 1 - r.float() // (0, 1]
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*r.float())
}
