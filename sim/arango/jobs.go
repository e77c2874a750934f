package arango

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// newJobLocked registers a job in ToDo, like a write to agency Target/ToDo.
func (c *Cluster) newJobLocked(typ, server string, now time.Time) *job {
	c.jobSeq++
	creator := ""
	if co := c.firstCoordinatorLocked(); co != nil {
		creator = co.id
	}
	j := &job{id: fmt.Sprint(c.jobSeq), typ: typ, server: server, creator: creator, created: now, status: JobToDo}
	c.jobs = append(c.jobs, j)
	c.active = append(c.active, j)
	return j
}

// maxDoneJobs bounds the Finished and Failed jobs kept, like the agency's
// supervision pruning them; older ones answer 404 in queryAgencyJob.
const maxDoneJobs = 500

// compactJobsLocked drops finished jobs from the active list and prunes
// the oldest finished ones beyond maxDoneJobs.
func (c *Cluster) compactJobsLocked() {
	kept := c.active[:0]
	for _, j := range c.active {
		if j.status == JobToDo || j.status == JobPending {
			kept = append(kept, j)
		} else {
			c.nDone++
		}
	}
	clear(c.active[len(kept):])
	c.active = kept
	if c.nDone <= maxDoneJobs+maxDoneJobs/5 {
		return
	}
	drop := c.nDone - maxDoneJobs
	all := c.jobs[:0]
	for _, j := range c.jobs {
		if drop > 0 && (j.status == JobFinished || j.status == JobFailed) {
			drop--
			c.nDone--
			continue
		}
		all = append(all, j)
	}
	clear(c.jobs[len(all):])
	c.jobs = all
}

// CleanOutServer starts a cleanOutServer job for a DB server (ID or short
// name) and returns its job ID. Like ArangoDB, the job is created even for
// a server that cannot be cleaned; it then fails in supervision.
func (c *Cluster) CleanOutServer(idOrName string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := idOrName
	if s := c.resolveLocked(idOrName); s != nil {
		id = s.id
	}
	return c.newJobLocked("cleanOutServer", id, c.clk.Now()).id
}

func (c *Cluster) jobLocked(id string) *job {
	for _, j := range c.jobs {
		if j.id == id {
			return j
		}
	}
	return nil
}

func (j *job) fail(now time.Time, reason string) {
	j.status = JobFailed
	j.reason = reason
	j.done = now
	for _, m := range j.moves {
		m.done = true
	}
}

// startCleanOutLocked plans the moves of a cleanOutServer job: leaders are
// handed to in-sync followers first, then every replica on the server gets
// a target that is GOOD, not cleaned out and does not hold the shard yet,
// the least loaded first.
func (c *Cluster) startCleanOutLocked(j *job, now time.Time) {
	s := c.servers[j.server]
	switch {
	case s == nil:
		j.fail(now, "server "+j.server+" does not exist")
		return
	case s.role != DBServer:
		j.fail(now, "server "+j.server+" is not a DB server")
		return
	case indexOf(c.cleaned, s.id) >= 0:
		j.fail(now, "server "+j.server+" is already cleaned out")
		return
	}
	for _, o := range c.active {
		if o != j && o.typ == "cleanOutServer" && o.server == j.server && o.status == JobPending {
			j.fail(now, "server "+j.server+" is already being cleaned out")
			return
		}
	}
	counts, _, _ := c.placementLocked()
	type plan struct {
		sh *shard
		to string
	}
	var plans []plan
	for _, col := range c.colls {
		for _, sh := range col.shards {
			if indexOf(sh.servers, j.server) < 0 {
				continue
			}
			best := c.pickTargetLocked(sh, j.server, counts, nil)
			if best == "" {
				j.fail(now, fmt.Sprintf("no server left for shard %s of %s/%s (replicationFactor %d)",
					sh.id, col.spec.Database, col.spec.Name, col.spec.ReplicationFactor))
				return
			}
			counts[best]++
			plans = append(plans, plan{sh, best})
		}
	}
	j.status = JobPending
	j.started = now
	for _, p := range plans {
		sh := p.sh
		// Hand leadership over first when an in-sync follower can take it.
		if sh.servers[0] == j.server {
			for i := 1; i < len(sh.servers); i++ {
				if sh.inSync[sh.servers[i]] && c.servers[sh.servers[i]].status == StatusGood {
					sh.servers[0], sh.servers[i] = sh.servers[i], sh.servers[0]
					break
				}
			}
		}
		j.moves = append(j.moves, &move{
			sh: sh, from: j.server, to: p.to, isLeader: sh.servers[0] == j.server,
			left: float64(sh.coll.shardBytes()),
		})
	}
}

// pickTargetLocked returns the least loaded GOOD, not cleaned-out DB
// server other than exclude that neither holds sh nor is the target of a
// running move of sh; "" when there is none. self is the move being
// retargeted, whose own target does not count.
func (c *Cluster) pickTargetLocked(sh *shard, exclude string, counts map[string]int, self *move) string {
	taken := map[string]bool{}
	for _, id := range sh.servers {
		taken[id] = true
	}
	for _, o := range c.active {
		for _, m := range o.moves {
			if m.sh == sh && !m.done && m != self {
				taken[m.to] = true
			}
		}
	}
	best := ""
	for _, t := range c.goodDBServersLocked(exclude) {
		if taken[t.id] {
			continue
		}
		if best == "" || counts[t.id] < counts[best] {
			best = t.id
		}
	}
	return best
}

// startMoveShardLocked validates a moveShard job when it starts.
func (c *Cluster) startMoveShardLocked(j *job, now time.Time) {
	m := j.moves[0]
	from, to := c.servers[m.from], c.servers[m.to]
	switch {
	case indexOf(m.sh.servers, m.from) < 0:
		j.fail(now, "shard "+m.sh.id+" is not on server "+m.from)
	case indexOf(m.sh.servers, m.to) >= 0:
		// A leader change: hand leadership to an in-sync follower at once.
		pos := indexOf(m.sh.servers, m.to)
		if m.sh.servers[0] != m.from || !m.sh.inSync[m.to] || to == nil || to.status != StatusGood {
			j.fail(now, "shard "+m.sh.id+" is already on server "+m.to)
			return
		}
		m.sh.servers[0], m.sh.servers[pos] = m.sh.servers[pos], m.sh.servers[0]
		m.isLeader, m.done = true, true
		j.status, j.started, j.done = JobFinished, now, now
	case from == nil || to == nil || to.status != StatusGood || indexOf(c.cleaned, to.id) >= 0:
		j.fail(now, "server "+m.to+" cannot take shard "+m.sh.id)
	default:
		j.status = JobPending
		j.started = now
		m.isLeader = m.sh.servers[0] == m.from
	}
}

// progressJobsLocked starts ToDo jobs and spends the move bandwidth of dt
// seconds on pending moves, oldest job first.
func (c *Cluster) progressJobsLocked(now time.Time, dt float64) {
	for _, j := range c.active {
		if j.typ != "cleanOutServer" || (j.status != JobToDo && j.status != JobPending) {
			continue
		}
		if c.cleanOutFault == CleanOutFail {
			j.fail(now, "could not find a server for shard replicas of "+j.server)
		}
	}
	for _, j := range c.active {
		if j.status != JobToDo || (j.typ == "cleanOutServer" && c.cleanOutFault == CleanOutStuck) {
			continue
		}
		if j.typ == "cleanOutServer" {
			c.startCleanOutLocked(j, now)
		} else {
			c.startMoveShardLocked(j, now)
		}
	}
	defer c.compactJobsLocked()
	budget := dt * c.p.CleanOutBytesPerSecond
	for _, j := range c.active {
		if j.status != JobPending || (j.typ == "cleanOutServer" && c.cleanOutFault == CleanOutStuck) {
			continue
		}
		for _, m := range j.moves {
			if m.done {
				continue
			}
			if indexOf(m.sh.servers, m.from) < 0 {
				m.done = true // moved away by another job meanwhile
				continue
			}
			if t := c.servers[m.to]; t == nil || t.status != StatusGood || indexOf(m.sh.servers, m.to) >= 0 {
				// The target went away or got the shard by another move:
				// a clean-out picks another target, a moveShard fails.
				var to string
				if j.typ == "cleanOutServer" {
					counts, _, _ := c.placementLocked()
					to = c.pickTargetLocked(m.sh, j.server, counts, m)
				}
				if to == "" {
					j.fail(now, "no target server left for shard "+m.sh.id)
					break
				}
				m.to, m.left = to, float64(m.sh.coll.shardBytes())
			}
			if m.left > budget {
				m.left -= budget
				budget = 0
				break
			}
			budget -= m.left
			m.left = 0
			c.finishMoveLocked(m)
		}
		if j.status != JobPending {
			continue
		}
		all := true
		for _, m := range j.moves {
			all = all && m.done
		}
		if all {
			j.status = JobFinished
			j.done = now
			if j.typ == "cleanOutServer" {
				if indexOf(c.cleaned, j.server) < 0 {
					c.cleaned = append(c.cleaned, j.server)
				}
			}
		}
	}
}

// finishMoveLocked replaces the old replica by the new one in the Plan.
// The new replica is in sync only when the shard still has an in-sync copy
// to copy from (a lost shard stays lost).
func (c *Cluster) finishMoveLocked(m *move) {
	m.done = true
	sh := m.sh
	pos := indexOf(sh.servers, m.from)
	if pos < 0 || indexOf(sh.servers, m.to) >= 0 {
		return
	}
	sh.servers[pos] = m.to
	delete(sh.inSync, m.from)
	sh.inSync[m.to] = !sh.lost
}

// planServersLocked is a shard's Plan as the agency holds it while moves
// run: the supervision's moveShard (arangodb/arangodb arangod/Agency/
// MoveShard.cpp, start) first adds the target server to the Plan and drops
// the old one only once the target is in Current. So a running move shows
// in shardDistribution as a Plan follower missing from Current.
func (c *Cluster) planServersLocked(sh *shard) []string {
	servers := sh.servers
	for _, j := range c.active {
		if j.status != JobPending {
			continue
		}
		for _, m := range j.moves {
			if m.sh == sh && !m.done && indexOf(servers, m.to) < 0 && indexOf(servers, m.from) >= 0 {
				if len(servers) == len(sh.servers) {
					servers = append([]string(nil), servers...)
				}
				servers = append(servers, m.to)
			}
		}
	}
	return servers
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// rebalanceMove is one planned move of POST /_admin/cluster/rebalance.
type rebalanceMove struct {
	Database   string `json:"database"`
	Collection string `json:"collection"`
	Shard      string `json:"shard"`
	From       string `json:"from"`
	To         string `json:"to"`
	IsLeader   bool   `json:"isLeader"`
}

// rebalanceOpts are the knobs of POST /_admin/cluster/rebalance.
type rebalanceOpts struct {
	moveLeaders, moveFollowers, leaderChanges, excludeSystem bool
	maxMoves                                                 int
	excludedDBs                                              []string
}

// planRebalanceLocked evens the number of replicas per GOOD DB server:
// repeatedly move one replica from a fullest server to an emptiest one
// that does not hold that shard yet, until counts differ by at most one.
// With leaderChanges it then evens leaders by handing leadership to an
// in-sync follower (a moveShard whose target already holds the shard).
// A shard gets at most one move per plan.
func (c *Cluster) planRebalanceLocked(o rebalanceOpts) []rebalanceMove {
	good := c.goodDBServersLocked("")
	if len(good) < 2 || o.maxMoves <= 0 {
		return nil
	}
	isGood := map[string]bool{}
	for _, s := range good {
		isGood[s.id] = true
	}
	counts, _, _ := c.placementLocked()
	// Replicas already being moved count at their destination.
	busy := map[*shard]bool{}
	for _, j := range c.active {
		for _, m := range j.moves {
			if !m.done {
				busy[m.sh] = true
				counts[m.from]--
				counts[m.to]++
			}
		}
	}
	eligible := func(col *collection) bool {
		if o.excludeSystem && strings.HasPrefix(col.spec.Name, "_") {
			return false
		}
		return indexOf(o.excludedDBs, col.spec.Database) < 0
	}
	placed := map[*shard][]string{}
	serversOf := func(sh *shard) []string {
		if p, ok := placed[sh]; ok {
			return p
		}
		return sh.servers
	}
	var moves []rebalanceMove
	// tryMove moves one replica of a shard on from to to, if any fits.
	tryMove := func(from, to string) bool {
		for _, col := range c.colls {
			if !eligible(col) {
				continue
			}
			for _, sh := range col.shards {
				srv := serversOf(sh)
				pos := indexOf(srv, from)
				if busy[sh] || sh.lost || pos < 0 || indexOf(srv, to) >= 0 {
					continue
				}
				if (pos == 0 && !o.moveLeaders) || (pos > 0 && !o.moveFollowers) {
					continue
				}
				n := append([]string(nil), srv...)
				n[pos] = to
				placed[sh] = n
				busy[sh] = true
				counts[from]--
				counts[to]++
				moves = append(moves, rebalanceMove{
					Database: col.spec.Database, Collection: col.id, Shard: sh.id,
					From: from, To: to, IsLeader: pos == 0,
				})
				return true
			}
		}
		return false
	}
	for len(moves) < o.maxMoves {
		sort.SliceStable(good, func(a, b int) bool { return counts[good[a].id] > counts[good[b].id] })
		moved := false
		for hi := 0; hi < len(good) && !moved; hi++ {
			for lo := len(good) - 1; lo > hi && !moved; lo-- {
				if counts[good[hi].id]-counts[good[lo].id] <= 1 {
					break
				}
				moved = tryMove(good[hi].id, good[lo].id)
			}
		}
		if !moved {
			break
		}
	}
	if !o.leaderChanges {
		return moves
	}
	leaders := map[string]int{}
	for _, col := range c.colls {
		for _, sh := range col.shards {
			if srv := serversOf(sh); len(srv) > 0 {
				leaders[srv[0]]++
			}
		}
	}
	for len(moves) < o.maxMoves {
		sort.SliceStable(good, func(a, b int) bool { return leaders[good[a].id] > leaders[good[b].id] })
		moved := false
		for hi := 0; hi < len(good) && !moved; hi++ {
			from := good[hi].id
			for _, col := range c.colls {
				if moved || !eligible(col) {
					continue
				}
				for _, sh := range col.shards {
					srv := serversOf(sh)
					if busy[sh] || sh.lost || len(srv) < 2 || srv[0] != from {
						continue
					}
					best := -1
					for i := 1; i < len(srv); i++ {
						f := srv[i]
						if isGood[f] && sh.inSync[f] && leaders[f] <= leaders[from]-2 && (best < 0 || leaders[f] < leaders[srv[best]]) {
							best = i
						}
					}
					if best < 0 {
						continue
					}
					to := srv[best]
					n := append([]string(nil), srv...)
					n[0], n[best] = n[best], n[0]
					placed[sh] = n
					busy[sh] = true
					leaders[from]--
					leaders[to]++
					moves = append(moves, rebalanceMove{
						Database: col.spec.Database, Collection: col.id, Shard: sh.id,
						From: from, To: to, IsLeader: true,
					})
					moved = true
					break
				}
			}
		}
		if !moved {
			break
		}
	}
	return moves
}

// executeMovesLocked creates one moveShard job per move. It returns an
// error naming the first move that does not fit the current Plan.
func (c *Cluster) executeMovesLocked(moves []rebalanceMove, now time.Time) error {
	type resolved struct {
		sh       *shard
		from, to string
	}
	var rs []resolved
	for i, m := range moves {
		db := m.Database
		if db == "" {
			db = "_system"
		}
		col := c.collectionLocked(db, m.Collection)
		if col == nil {
			return fmt.Errorf("moves[%d]: collection %s/%s not found", i, db, m.Collection)
		}
		var sh *shard
		for _, s := range col.shards {
			if s.id == m.Shard {
				sh = s
			}
		}
		if sh == nil {
			return fmt.Errorf("moves[%d]: shard %q not found", i, m.Shard)
		}
		from, to := c.resolveLocked(m.From), c.resolveLocked(m.To)
		if from == nil || to == nil {
			return fmt.Errorf("moves[%d]: server %q or %q not found", i, m.From, m.To)
		}
		rs = append(rs, resolved{sh, from.id, to.id})
	}
	for _, r := range rs {
		j := c.newJobLocked("moveShard", "", now)
		j.moves = []*move{{sh: r.sh, from: r.from, to: r.to, left: float64(r.sh.coll.shardBytes())}}
	}
	return nil
}
