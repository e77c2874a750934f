package arango

import "time"

// Fault hooks for a fault injector (package sim/fault), and the record of
// incidents the invariant checker reads. HTTP-level faults (a coordinator
// answering 503, removeServer answering 412) are done by wrapping the
// handler; these change the model.

// CleanOutFault makes clean-out jobs misbehave.
type CleanOutFault int

// The clean-out faults.
const (
	CleanOutNormal CleanOutFault = iota
	// CleanOutFail fails every ToDo or Pending cleanOutServer job at the
	// next Step, as supervision does when it finds no place for a shard.
	CleanOutFail
	// CleanOutStuck leaves cleanOutServer jobs where they are: ToDo jobs
	// are not started and Pending ones move no data.
	CleanOutStuck
)

// Incident records a DB server that went down while it still held shard
// replicas or while a clean-out of it had not Finished: the kill of a
// server before its data was moved off. A shard may still survive it on
// other replicas (so it is not a Loss), but an operator must know.
type Incident struct {
	At                        time.Time
	Server, ShortName, TaskID string
	Replicas                  int    // shard replicas it held
	CleanOut                  string // status of its latest clean-out job ("" if none)
}

// SetCleanOutFault switches the clean-out fault mode.
func (c *Cluster) SetCleanOutFault(f CleanOutFault) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanOutFault = f
}

// SetReportedBad makes /_admin/cluster/health report a GOOD server as BAD
// while on (missed heartbeats: health flapping). The model is unchanged:
// its shards stay in sync.
func (c *Cluster) SetReportedBad(serverID string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if on {
		if c.reportedBad == nil {
			c.reportedBad = map[string]bool{}
		}
		c.reportedBad[serverID] = true
		return
	}
	delete(c.reportedBad, serverID)
}

// Incidents returns the incidents so far, in time order.
func (c *Cluster) Incidents() []Incident {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Incident(nil), c.incidents...)
}

// latestCleanOutLocked returns the status of the newest cleanOutServer job
// of a server ("" if none is retained).
func (c *Cluster) latestCleanOutLocked(serverID string) string {
	for i := len(c.jobs) - 1; i >= 0; i-- {
		if j := c.jobs[i]; j.typ == "cleanOutServer" && j.server == serverID {
			return j.status
		}
	}
	return ""
}

// noteDownLocked records an incident when a DB server going down still
// holds replicas or is being cleaned out. Called before its replicas are
// marked out of sync.
func (c *Cluster) noteDownLocked(s *server, now time.Time) {
	if s.role != DBServer {
		return
	}
	counts, _, _ := c.placementLocked()
	job := c.latestCleanOutLocked(s.id)
	if counts[s.id] == 0 && job != JobToDo && job != JobPending {
		return
	}
	c.incidents = append(c.incidents, Incident{At: now, Server: s.id, ShortName: s.shortName, TaskID: s.taskID,
		Replicas: counts[s.id], CleanOut: job})
}

// RunningCleanOuts returns the servers with a cleanOutServer job in ToDo
// or Pending, in job order.
func (c *Cluster) RunningCleanOuts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, j := range c.active {
		if j.typ == "cleanOutServer" && (j.status == JobToDo || j.status == JobPending) {
			out = append(out, j.server)
		}
	}
	return out
}

// SetClockSkew sets how far ArangoDB's clock is ahead of (positive) or
// behind (negative) the world's. arangod checks a JWT's "exp" against its
// own clock (arangod/Auth/TokenCache.cpp, validateJwtBody: a token whose
// exp is before the server's now is rejected; "iat" is not checked), so a
// controller signing tokens by its clock must leave room for the skew.
func (c *Cluster) SetClockSkew(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.skew = d
}

func (c *Cluster) skewedNow() time.Time {
	c.mu.Lock()
	d := c.skew
	c.mu.Unlock()
	return c.clk.Now().Add(d)
}

// Collections returns the specs of the cluster's collections, in creation
// order: what a checker reads the replication floor from.
func (c *Cluster) Collections() []CollectionSpec {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CollectionSpec, 0, len(c.colls))
	for _, col := range c.colls {
		out = append(out, col.spec)
	}
	return out
}

// ReplicationFloor is the fewest DB servers the cluster's collections
// need: the highest replicationFactor or writeConcern of any collection.
func (c *Cluster) ReplicationFloor() int {
	f := 0
	for _, s := range c.Collections() {
		f = max(f, s.ReplicationFactor, s.WriteConcern)
	}
	return f
}

// Uncleaned takes a server out of cleanedServers, as an operator's PUT
// /_admin/cluster/numberOfServers with the list minus that server does
// (HTTP API: Cluster, 3.11); it reports whether the server was listed.
func (c *Cluster) Uncleaned(serverID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := indexOf(c.cleaned, serverID)
	if i < 0 {
		return false
	}
	c.cleaned = append(c.cleaned[:i:i], c.cleaned[i+1:]...)
	return true
}
