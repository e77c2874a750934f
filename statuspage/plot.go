package statuspage

import (
	"fmt"
	"strings"
	"time"
)

// plot is a small SVG chart of one role: instances (current, desired) on
// the left axis, load (highest signal / target) on the right, over the
// history window ending now.
type plot struct {
	W, H        int
	Left, Right int // plot area x
	Top, Bottom int // plot area y
	Current     string
	Desired     string
	Load        string
	TargetY     float64 // y of load = 1 (at target)
	YTicks      []tick  // instances
	LoadTicks   []tick
	XTicks      []tick
	Empty       bool
	LastCur     int
}

type tick struct {
	X, Y  float64
	Label string
}

const loadMax = 2.0 // the load axis ends at twice the target

func newPlot(ss []Sample, now time.Time, window time.Duration, lo, hi int) plot {
	p := plot{W: 560, H: 150, Left: 34, Right: 522, Top: 8, Bottom: 126}
	if len(ss) == 0 {
		p.Empty = true
		return p
	}
	start := now.Add(-window)
	yMax := max(hi, 1)
	for _, s := range ss {
		yMax = max(yMax, s.Current, s.Desired)
	}
	x := func(t time.Time) float64 {
		f := float64(t.Sub(start)) / float64(window)
		return float64(p.Left) + min(max(f, 0), 1)*float64(p.Right-p.Left)
	}
	y := func(v float64, top float64) float64 {
		return float64(p.Bottom) - min(max(v/top, 0), 1)*float64(p.Bottom-p.Top)
	}
	p.Current = steps(ss, x, func(s Sample) float64 { return y(float64(s.Current), float64(yMax)) })
	p.Desired = steps(ss, x, func(s Sample) float64 { return y(float64(s.Desired), float64(yMax)) })
	var load strings.Builder
	for _, s := range ss {
		if s.Load < 0 {
			continue
		}
		fmt.Fprintf(&load, "%.1f,%.1f ", x(s.At), y(s.Load, loadMax))
	}
	p.Load = strings.TrimSpace(load.String())
	p.TargetY = y(1, loadMax)
	p.LastCur = ss[len(ss)-1].Current
	for _, v := range uniqueInts(0, lo, hi, yMax) {
		p.YTicks = append(p.YTicks, tick{X: float64(p.Left - 4), Y: y(float64(v), float64(yMax)), Label: fmt.Sprint(v)})
	}
	for _, v := range []float64{0, 1, 2} {
		p.LoadTicks = append(p.LoadTicks, tick{X: float64(p.Right + 4), Y: y(v, loadMax), Label: fmt.Sprintf("%.0f%%", v*100)})
	}
	for i := 0; i <= 4; i++ {
		t := start.Add(window * time.Duration(i) / 4)
		p.XTicks = append(p.XTicks, tick{X: x(t), Y: float64(p.Bottom + 16), Label: t.UTC().Format("15:04")})
	}
	return p
}

// steps draws counts as a step line: a count holds until the next sample.
func steps(ss []Sample, x func(time.Time) float64, y func(Sample) float64) string {
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			fmt.Fprintf(&b, "%.1f,%.1f ", x(s.At), y(ss[i-1]))
		}
		fmt.Fprintf(&b, "%.1f,%.1f ", x(s.At), y(s))
	}
	return strings.TrimSpace(b.String())
}

func uniqueInts(vs ...int) []int {
	var out []int
	for _, v := range vs {
		dup := false
		for _, o := range out {
			dup = dup || o == v
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}
