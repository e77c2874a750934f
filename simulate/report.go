package simulate

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
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
