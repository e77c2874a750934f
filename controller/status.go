package controller

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// ReloadResult is the /status view of the latest policy reload.
type ReloadResult struct {
	// OK is whether the latest attempt succeeded (unchanged content counts).
	OK bool `json:"ok"`
	// LoadedAt is when the policy in force was loaded.
	LoadedAt time.Time `json:"loaded_at,omitzero"`
	// Errors are the lines of the latest attempt's error (file:line:col).
	Errors []string `json:"errors,omitempty"`
}

func (c *Controller) reloadResult() *ReloadResult {
	if c.cfg.ReloadStatus == nil {
		return nil
	}
	ok, at := c.cfg.ReloadStatus()
	r := &ReloadResult{OK: ok, LoadedAt: at}
	if c.cfg.ReloadError != nil {
		if err := c.cfg.ReloadError(); err != nil {
			for l := range strings.SplitSeq(strings.TrimSpace(err.Error()), "\n") {
				r.Errors = append(r.Errors, l)
			}
		}
	}
	return r
}

// Readiness reports whether every role of every cluster was observed at
// least once since it joined the policy, and if not, why: a controller that
// never saw Marathon must not look ready, or count as the one in charge.
func (c *Controller) Readiness() (bool, string) {
	c.mu.Lock()
	if c.policy == nil {
		c.mu.Unlock()
		return false, "no policy loaded"
	}
	clusters := make([]*cluster, 0, len(c.order))
	for _, name := range c.order {
		clusters = append(clusters, c.clusters[name])
	}
	c.mu.Unlock()
	var why []string
	if h, ok := c.cfg.Fence.(FenceHealth); ok {
		if err := h.Healthy(); err != nil {
			why = append(why, "coordination: "+err.Error()+": no cluster is acted on")
		}
	}
	for _, cl := range clusters {
		for _, rs := range cl.status().Roles {
			if rs.Observed {
				continue
			}
			w := fmt.Sprintf("cluster %s: %s (app %s) not observed yet", cl.name, rs.Role, rs.App)
			if n := len(rs.Errors); n > 0 {
				w += ": " + rs.Errors[n-1]
			}
			why = append(why, w)
		}
	}
	if len(why) > 0 {
		return false, strings.Join(why, "\n")
	}
	var standby []string
	for _, cl := range clusters {
		if s := cl.status().Standby; s != "" {
			standby = append(standby, fmt.Sprintf("cluster %s: standby: %s", cl.name, s))
		}
	}
	return true, strings.Join(standby, "\n")
}

// MarshalJSON writes counts never observed as null, not 0: a 0 in /status
// would read as "no instances", which nobody saw.
func (s RoleStatus) MarshalJSON() ([]byte, error) {
	type plain RoleStatus
	v := struct {
		plain
		Current *int `json:"current"`
		Healthy *int `json:"healthy"`
		Target  *int `json:"target"`
		Desired *int `json:"desired"`
	}{plain: plain(s)}
	if s.Observed {
		v.Current, v.Healthy, v.Target, v.Desired = &s.Current, &s.Healthy, &s.Target, &s.Desired
	}
	return json.Marshal(v)
}
