package simulate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/arangoscale/arangoscale/policy"
)

// ErrBadSweep is wrapped by every error of a sweep's spec or setting.
var ErrBadSweep = errors.New("simulate: bad sweep")

// SweepParams lists the parameters a sweep can vary (see applySweep).
func SweepParams() []string { return []string{"target"} }

// Sweep is one parameter and the values a sweep runs the comparison at.
type Sweep struct {
	Param  string
	Values []float64
}

// ParseSweep reads "NAME=FROM:TO:STEP" (FROM, FROM+STEP, … up to TO) or
// "NAME=V1,V2,…", e.g. "target=0.55:0.90:0.05". Errors name the bad part.
func ParseSweep(spec string) (Sweep, error) {
	name, vals, ok := strings.Cut(spec, "=")
	if !ok || name == "" || vals == "" {
		return Sweep{}, fmt.Errorf("%w: %q: want NAME=FROM:TO:STEP or NAME=V1,V2,…", ErrBadSweep, spec)
	}
	if !slices.Contains(SweepParams(), name) {
		return Sweep{}, fmt.Errorf("%w: %q: parameter %q (want one of %s)", ErrBadSweep, spec, name, strings.Join(SweepParams(), ","))
	}
	num := func(part, v string) (float64, error) {
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("%w: %q: %s %q is not a number", ErrBadSweep, spec, part, v)
		}
		return x, nil
	}
	sw := Sweep{Param: name}
	if parts := strings.Split(vals, ":"); len(parts) > 1 {
		if len(parts) != 3 {
			return Sweep{}, fmt.Errorf("%w: %q: range %q: want FROM:TO:STEP", ErrBadSweep, spec, vals)
		}
		var r [3]float64
		for i, part := range []string{"from", "to", "step"} {
			x, err := num(part, parts[i])
			if err != nil {
				return Sweep{}, err
			}
			r[i] = x
		}
		if r[2] <= 0 || r[1] < r[0] {
			return Sweep{}, fmt.Errorf("%w: %q: range %q: want FROM ≤ TO and STEP > 0", ErrBadSweep, spec, vals)
		}
		n := int(math.Floor((r[1]-r[0])/r[2]+1e-9)) + 1
		if n > 100 {
			return Sweep{}, fmt.Errorf("%w: %q: %d values, at most 100", ErrBadSweep, spec, n)
		}
		for i := range n {
			// Rounded so 0.55 + 7 × 0.05 is 0.9, not 0.8999999999999999.
			sw.Values = append(sw.Values, math.Round((r[0]+float64(i)*r[2])*1e9)/1e9)
		}
	} else {
		for _, v := range strings.Split(vals, ",") {
			x, err := num("value", v)
			if err != nil {
				return Sweep{}, err
			}
			sw.Values = append(sw.Values, x)
		}
	}
	for _, v := range sw.Values {
		if err := checkSweepValue(name, v); err != nil {
			return Sweep{}, fmt.Errorf("%q: %w", spec, err)
		}
	}
	return sw, nil
}

// checkSweepValue is the range a parameter's values must lie in.
func checkSweepValue(param string, v float64) error {
	switch param {
	case "target":
		if !(v > 0 && v <= 1) {
			return fmt.Errorf("%w: target %g: a cpu_utilization target lies in (0, 1]", ErrBadSweep, v)
		}
	}
	return nil
}

// applySweep sets param to value in the simulated cluster. Every sweep
// parameter is handled here. "target" sets the target of every
// cpu_utilization target metric of both roles; the hpa baseline, the
// oracle at the target and the rise measure follow (they take the
// policy's utilisation targets), the threshold rule keeps its fixed
// bounds. A requests_per_second target that is lower still wins. A role
// with an slo: gets the value as its max_utilization too, so the policy's
// own operating point moves along the same line as the baselines'.
func applySweep(cfg *policy.Cluster, param string, value float64) error {
	if err := checkSweepValue(param, value); err != nil {
		return err
	}
	switch param {
	case "target":
		n := 0
		for _, r := range policy.Roles() {
			rp := cfg.Roles[r]
			if rp == nil {
				continue
			}
			for i, m := range rp.Metrics {
				if m.Signal == "cpu_utilization" && m.Strategy == policy.StrategyTarget {
					rp.Metrics[i].Target = value
					n++
				}
			}
			if rp.SLO != nil {
				rp.SLO.MaxUtilization = value
			}
		}
		if n == 0 {
			return fmt.Errorf("%w: target: cluster %q has no cpu_utilization target metric to set", ErrBadSweep, cfg.Name)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown parameter %q (want one of %s)", ErrBadSweep, param, strings.Join(SweepParams(), ","))
	}
}

// SweepPoint is the whole comparison at one value of the swept parameter.
type SweepPoint struct {
	Value  float64
	Report *Report
}

// SweepReport is the outcome of RunSweep, one point per value in order.
type SweepReport struct {
	Param  string
	Points []SweepPoint
}

// RunSweep runs the whole comparison of o once per value of sw. Every
// value is applied to the policy before anything runs, so a value the
// policy cannot take fails the sweep before its first run. The load is the
// same at every value: without Options.ScaleRPS each trace's auto scale
// is that of the policy as written (AutoScale follows the coordinators'
// target, which the sweep may change).
func RunSweep(ctx context.Context, o Options, sw Sweep) (*SweepReport, error) {
	if len(sw.Values) == 0 {
		return nil, fmt.Errorf("%w: no values", ErrBadSweep)
	}
	base, err := prepare(o)
	if err != nil {
		return nil, err
	}
	o.fixedScale = map[string]float64{}
	for _, ti := range base.opts.Traces {
		tc, err := base.traceCase(ti)
		if err != nil {
			return nil, fmt.Errorf("trace %s: %w", ti.Name, err)
		}
		o.fixedScale[ti.Name] = tc.scale
	}
	opts := make([]Options, len(sw.Values))
	for i, v := range sw.Values {
		opts[i] = o
		opts[i].adjust = func(pc *policy.Cluster) error { return applySweep(pc, sw.Param, v) }
		s, err := prepare(opts[i])
		if err != nil {
			return nil, err
		}
		for _, ti := range s.opts.Traces {
			if _, err := s.traceCase(ti); err != nil {
				return nil, fmt.Errorf("trace %s: %w", ti.Name, err)
			}
		}
	}
	out := &SweepReport{Param: sw.Param}
	for i, v := range sw.Values {
		rep, err := Run(ctx, opts[i])
		if err != nil {
			return nil, fmt.Errorf("%s=%g: %w", sw.Param, v, err)
		}
		out.Points = append(out.Points, SweepPoint{Value: v, Report: rep})
	}
	return out, nil
}
