package simulate

import (
	"fmt"
	"strings"
	"time"
)

// warmSteps is the warm-up in steps, rounded up to whole intervals.
func (s *setup) warmSteps() int {
	return int((s.opts.Warmup + s.interval - 1) / s.interval)
}

// dropWarmup makes r count only after the warm-up: its samples from then
// on, their times since then, and the actions and direction changes after
// it (warmed: the counts at its end). A flip against the warm-up's last
// action counts: the history is real, only its cost is not.
func (tc traceCase) dropWarmup(r *Result, warmed [2]actionCounter) {
	r.From = tc.from
	if tc.warm == 0 {
		return
	}
	skip := time.Duration(tc.warm) * r.Step
	r.Warmup = skip
	r.Duration -= skip
	r.Samples = r.Samples[tc.warm:]
	for i := range r.Samples {
		r.Samples[i].At -= skip
	}
	r.CoordinatorActions -= warmed[0].actions
	r.DBServerActions -= warmed[1].actions
	r.DirectionChanges -= warmed[0].changes + warmed[1].changes
}

// replayedPart says where the counted part of r lies, for the report: ""
// for a whole trace counted from its start.
func replayedPart(r Result) string {
	var b strings.Builder
	if r.From > 0 {
		fmt.Fprintf(&b, " from %s into the trace", fmtDuration(r.From))
	}
	if r.Warmup > 0 {
		fmt.Fprintf(&b, " after a %s warm-up (replayed, not counted)", fmtDuration(r.Warmup))
	}
	if b.Len() > 0 {
		fmt.Fprintf(&b, ", counted from %s", r.Start.Add(r.Warmup).Format("Mon 2006-01-02 15:04 MST"))
	}
	return b.String()
}
