package controller

import (
	"time"

	"github.com/arangoscale/arangoscale/policy"
)

// staleServerWords is the log message for removing a FAILED server from
// ArangoDB's list. After a coordinator scale-down of ours that is simply
// the instance just scaled away (ArangoDB marks a vanished coordinator
// FAILED), which must not read like an incident.
func (cl *cluster) staleServerWords(r policy.Role, now time.Time) string {
	if w, ok := cl.workers[r]; ok && w.lastDir == policy.Down && !w.lastScale.IsZero() && now.Sub(w.lastScale) <= time.Hour {
		return "removed the server of the instance just scaled away from ArangoDB's list (FAILED once its task ended)"
	}
	return "removed stale FAILED server (no Marathon task runs it)"
}
