package simulate

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// WriteMarkdown writes the report as a Markdown table, one row per trace ×
// contender, followed by the scale factor of each trace and the notes.
func WriteMarkdown(w io.Writer, rep *Report) error {
	var b strings.Builder
	b.WriteString("| trace | contender | coordinator h | DB server h | overload min | actions coord/DB | direction changes | lost shards | rise → capacity mean / max (min) |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range rep.Results {
		rise := "–"
		if r.RiseEpisodes > 0 {
			rise = fmt.Sprintf("%.1f / %.1f (%d)", r.RiseMean.Minutes(), r.RiseMax.Minutes(), r.RiseEpisodes)
		}
		fmt.Fprintf(&b, "| %s | %s | %.1f | %.1f | %.1f | %d/%d | %d | %d | %s |\n",
			r.Trace, r.Contender, r.CoordinatorHours, r.DBServerHours, r.OverloadMinutes,
			r.CoordinatorActions, r.DBServerActions, r.DirectionChanges, r.LostShards, rise)
	}
	b.WriteString("\n")
	seen := map[string]bool{}
	for _, r := range rep.Results {
		if seen[r.Trace] {
			continue
		}
		seen[r.Trace] = true
		fmt.Fprintf(&b, "- %s: %s of virtual time%s, rps × %.4g, %s steps\n", r.Trace, fmtDuration(r.Duration), replayedPart(r), r.ScaleRPS, r.Step)
	}
	fmt.Fprintf(&b, "- overload: a role's utilisation > 1 or p95 latency > %s; rise → capacity: episodes (count) with a role's utilisation above target × (1 + tolerance), for the policy's slo roles above max_utilization\n", rep.SLO)
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "- note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func fmtDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// CSVHeader is the first row WriteCSV writes.
var csvHeader = []string{"trace", "contender", "scale_rps", "duration_hours", "step_seconds",
	"coordinator_hours", "dbserver_hours", "overload_minutes", "coordinator_actions", "dbserver_actions",
	"direction_changes", "lost_shards", "rise_episodes", "rise_mean_minutes", "rise_max_minutes", "from_hours", "warmup_hours"}

// WriteCSV writes one row per trace × contender.
func WriteCSV(w io.Writer, rep *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, r := range rep.Results {
		row := []string{r.Trace, r.Contender, strconv.FormatFloat(r.ScaleRPS, 'g', 6, 64), f(r.Duration.Hours()),
			strconv.Itoa(int(r.Step.Seconds())), f(r.CoordinatorHours), f(r.DBServerHours), f(r.OverloadMinutes),
			strconv.Itoa(r.CoordinatorActions), strconv.Itoa(r.DBServerActions), strconv.Itoa(r.DirectionChanges),
			strconv.Itoa(r.LostShards), strconv.Itoa(r.RiseEpisodes), f(r.RiseMean.Minutes()), f(r.RiseMax.Minutes()),
			f(r.From.Hours()), f(r.Warmup.Hours())}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Traces returns the trace names of the report, in order.
func (rep *Report) Traces() []string {
	var out []string
	for _, r := range rep.Results {
		if len(out) == 0 || out[len(out)-1] != r.Trace {
			out = append(out, r.Trace)
		}
	}
	return out
}

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
