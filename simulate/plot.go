//go:build !noplot

package simulate

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Plots says whether this build draws PNG plots (see plot_noplot.go).
const Plots = true

// maxPoints bounds the points of one plotted series; longer series are
// bucketed (the load's maximum, the capacity's minimum and the instances'
// maximum of each bucket, so peaks and dips stay visible).
const maxPoints = 1200

var (
	colLoad     = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	colCapacity = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colCoord    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colDB       = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
)

// WritePNG plots one trace: a row per contender, load and capacity (rps)
// on the left, allocated instances per role on the right, over hours.
func WritePNG(w io.Writer, rep *Report, trace string) error {
	var rows [][]*plot.Plot
	for _, r := range rep.Results {
		if r.Trace != trace {
			continue
		}
		load, capa, coord, db := series(r.Samples)
		left := plot.New()
		left.Title.Text = r.Contender + ": load and capacity"
		left.X.Label.Text = "hours"
		left.Y.Label.Text = "rps"
		left.Y.Tick.Marker = plainTicks{}
		right := plot.New()
		right.Title.Text = fmt.Sprintf("%s: instances (%.0f coordinator-h, %.0f DB server-h, %.0f overload min)",
			r.Contender, r.CoordinatorHours, r.DBServerHours, r.OverloadMinutes)
		right.X.Label.Text = "hours"
		right.Y.Label.Text = "instances"
		right.Y.Min = 0
		right.Y.Tick.Marker = plainTicks{}
		for _, l := range []struct {
			p    *plot.Plot
			xy   plotter.XYs
			c    color.Color
			name string
		}{{left, load, colLoad, "offered load"}, {left, capa, colCapacity, "capacity (healthy)"},
			{right, coord, colCoord, "coordinators"}, {right, db, colDB, "DB servers"}} {
			ln, err := plotter.NewLine(l.xy)
			if err != nil {
				return fmt.Errorf("plot %s %s: %w", trace, r.Contender, err)
			}
			ln.Color = l.c
			ln.Width = vg.Points(0.8)
			l.p.Add(ln)
			l.p.Legend.Add(l.name, ln)
		}
		left.Legend.Top = true
		right.Legend.Top = true
		rows = append(rows, []*plot.Plot{left, right})
	}
	if len(rows) == 0 {
		return fmt.Errorf("plot: no results for trace %q", trace)
	}
	width, rowHeight := 14*vg.Inch, 2.6*vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(width, rowHeight*vg.Length(len(rows))), vgimg.UseDPI(96))
	dc := draw.New(img)
	t := draw.Tiles{Rows: len(rows), Cols: 2, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(rows, t, dc)
	for j := range rows {
		for i := range rows[j] {
			rows[j][i].Draw(canvases[j][i])
		}
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// series turns samples into plot lines, bucketed to at most maxPoints.
func series(ss []Sample) (load, capa, coord, db plotter.XYs) {
	per := max(1, (len(ss)+maxPoints-1)/maxPoints)
	for i := 0; i < len(ss); i += per {
		end := min(i+per, len(ss))
		x := ss[i].At.Hours()
		l, c, nc, nd := 0.0, ss[i].Capacity, 0, 0
		for _, s := range ss[i:end] {
			l = max(l, s.Offered)
			c = min(c, s.Capacity)
			nc = max(nc, s.Coordinators)
			nd = max(nd, s.DBServers)
		}
		load = append(load, plotter.XY{X: x, Y: l})
		capa = append(capa, plotter.XY{X: x, Y: c})
		coord = append(coord, plotter.XY{X: x, Y: float64(nc)})
		db = append(db, plotter.XY{X: x, Y: float64(nd)})
	}
	return load, capa, coord, db
}

// plainTicks are gonum's default ticks labelled without trailing zeros.
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'f', -1, 64)
		}
	}
	return ts
}

// WriteSweepPNG plots one trace's cost–overload curves: per contender a
// line through its points (x overload minutes, y total instance-hours),
// each point labelled with the swept value.
func WriteSweepPNG(w io.Writer, sr *SweepReport, trace string) error {
	cs := sr.contenders(trace)
	if len(cs) == 0 {
		return fmt.Errorf("plot: no sweep results for trace %q", trace)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: cost and overload by %s", trace, sr.Param)
	p.X.Label.Text = "overload minutes"
	p.Y.Label.Text = "instance-hours (coordinators + DB servers)"
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	for k, c := range cs {
		var xys plotter.XYs
		var labels []string
		for i, pt := range sr.Points {
			r, ok := sr.at(i, trace, c)
			if !ok {
				continue
			}
			xy := plotter.XY{X: r.OverloadMinutes, Y: r.CoordinatorHours + r.DBServerHours}
			// Values that land on the same point share one label, so
			// they stay legible (the threshold rule ignores the target).
			if n := len(xys); n > 0 && math.Abs(xys[n-1].X-xy.X) < 1e-9 && math.Abs(xys[n-1].Y-xy.Y) < 1e-9 {
				labels[n-1] += ", " + fmtValue(pt.Value)
				continue
			}
			xys = append(xys, xy)
			labels = append(labels, fmtValue(pt.Value))
		}
		ln, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("plot %s %s: %w", trace, c, err)
		}
		ln.Color = plotutil.Color(k)
		ln.Width = vg.Points(1)
		pts.Color = plotutil.Color(k)
		pts.Shape = plotutil.Shape(k)
		lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
		if err != nil {
			return fmt.Errorf("plot %s %s: %w", trace, c, err)
		}
		for i := range lb.TextStyle {
			lb.TextStyle[i].Color = plotutil.Color(k)
			lb.TextStyle[i].Font.Size = vg.Points(8)
		}
		lb.Offset = vg.Point{X: vg.Points(4), Y: vg.Points(2)}
		p.Add(ln, pts, lb)
		p.Legend.Add(c, ln, pts)
	}
	wt, err := p.WriterTo(9*vg.Inch, 6*vg.Inch, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
