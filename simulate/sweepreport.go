package simulate

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Traces are the trace names of the sweep, in order.
func (sr *SweepReport) Traces() []string {
	if len(sr.Points) == 0 {
		return nil
	}
	return sr.Points[0].Report.Traces()
}

// contenders are the contender names of one trace, in report order.
func (sr *SweepReport) contenders(trace string) []string {
	var out []string
	if len(sr.Points) > 0 {
		for _, r := range sr.Points[0].Report.Results {
			if r.Trace == trace {
				out = append(out, r.Contender)
			}
		}
	}
	return out
}

// at is the result of a trace × contender at point i (ok false if none).
func (sr *SweepReport) at(i int, trace, contender string) (Result, bool) {
	for _, r := range sr.Points[i].Report.Results {
		if r.Trace == trace && r.Contender == contender {
			return r, true
		}
	}
	return Result{}, false
}

func fmtValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// WriteSweepCSV writes one row per trace × value × contender.
func WriteSweepCSV(w io.Writer, sr *SweepReport) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"trace", sr.Param, "contender", "coordinator_hours", "dbserver_hours", "total_hours",
		"overload_minutes", "direction_changes", "lost_shards"}); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, trace := range sr.Traces() {
		for i, p := range sr.Points {
			for _, c := range sr.contenders(trace) {
				r, ok := sr.at(i, trace, c)
				if !ok {
					continue
				}
				if err := cw.Write([]string{trace, fmtValue(p.Value), c, f(r.CoordinatorHours), f(r.DBServerHours),
					f(r.CoordinatorHours + r.DBServerHours), f(r.OverloadMinutes), strconv.Itoa(r.DirectionChanges),
					strconv.Itoa(r.LostShards)}); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteSweepMarkdown writes one table per trace: a row per value, a column
// per contender with its total instance-hours and overload minutes.
func WriteSweepMarkdown(w io.Writer, sr *SweepReport) error {
	var b strings.Builder
	for _, trace := range sr.Traces() {
		cs := sr.contenders(trace)
		fmt.Fprintf(&b, "%s: instance-h (coordinator + DB server) / overload min\n\n| %s |", trace, sr.Param)
		for _, c := range cs {
			fmt.Fprintf(&b, " %s |", c)
		}
		b.WriteString("\n|--:|" + strings.Repeat("--:|", len(cs)) + "\n")
		for i, p := range sr.Points {
			fmt.Fprintf(&b, "| %s |", fmtValue(p.Value))
			for _, c := range cs {
				if r, ok := sr.at(i, trace, c); ok {
					fmt.Fprintf(&b, " %.1f / %.1f |", r.CoordinatorHours+r.DBServerHours, r.OverloadMinutes)
				} else {
					b.WriteString(" – |")
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	if len(sr.Points) > 0 {
		rep := sr.Points[0].Report
		seen := map[string]bool{}
		for _, r := range rep.Results {
			if !seen[r.Trace] {
				seen[r.Trace] = true
				fmt.Fprintf(&b, "- %s: %s of virtual time%s, rps × %.4g at every %s, %s steps\n", r.Trace, fmtDuration(r.Duration),
					replayedPart(r), r.ScaleRPS, sr.Param, r.Step)
			}
		}
		fmt.Fprintf(&b, "- overload: a role's utilisation > 1 or p95 latency > %s\n", rep.SLO)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
