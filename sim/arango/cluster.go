package arango

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"time"

	"github.com/arangoscale/arangoscale/clock"
)

// Role is a server role as ArangoDB spells it in metric labels.
type Role string

// The two server roles the emulator models (agents are static).
const (
	Coordinator Role = "COORDINATOR"
	DBServer    Role = "DBSERVER"
)

// Server statuses as in /_admin/cluster/health.
const (
	StatusGood   = "GOOD"
	StatusBad    = "BAD"
	StatusFailed = "FAILED"
)

// Job statuses as in /_admin/cluster/queryAgencyJob.
const (
	JobToDo     = "ToDo"
	JobPending  = "Pending"
	JobFinished = "Finished"
	JobFailed   = "Failed"
)

// Errors returned by the Go API; the HTTP layer maps them to ArangoDB bodies.
var (
	ErrNotEnoughServers  = errors.New("not enough GOOD DB servers for the replication factor")
	ErrDuplicate         = errors.New("collection already exists")
	ErrBadSpec           = errors.New("invalid collection spec")
	ErrUnknownServer     = errors.New("unknown server")
	ErrServerNotFailed   = errors.New("server is not FAILED")
	ErrServerResponsible = errors.New("server still holds shards")
)

// Params configure a Cluster. Zero values take the defaults of DefaultParams.
type Params struct {
	// Username and Password enable basic auth when Username != "".
	Username, Password string
	// JWTSecret enables HS256 superuser JWTs signed with it.
	JWTSecret string
	// CleanOutBytesPerSecond is the data moved per second by all running
	// clean-out and rebalance moves together.
	CleanOutBytesPerSecond float64
	// DiskBytesPerDBServer is the disk capacity of each DB server.
	DiskBytesPerDBServer int64
	// FailAfter is how long a server whose task is gone stays BAD before it
	// turns FAILED (ArangoDB's supervision grace period).
	FailAfter time.Duration
	// Version is the reported ArangoDB version.
	Version string
	// CPUs is the number of cores of each server (arangodb_server_statistics_cpu_cores).
	CPUs float64
	// PhysicalMemoryBytes is each server's memory limit
	// (arangodb_server_statistics_physical_memory).
	PhysicalMemoryBytes int64
	// Agents is the number of static, always GOOD agent entries
	// (AGNT-…, Role "Agent") listed in /_admin/cluster/health; they are not
	// servers of the model (no metrics, not in Servers).
	Agents int
}

// DefaultParams returns the defaults: no auth, 50 MiB/s moves, 100 GiB disks,
// 15 s FailAfter, version 3.11.10, 1 CPU and 4 GiB per server, 3 agents in
// the health list. (A zero Params gets the same except Agents: 0.)
func DefaultParams() Params {
	return Params{
		CleanOutBytesPerSecond: 50 << 20,
		DiskBytesPerDBServer:   100 << 30,
		FailAfter:              15 * time.Second,
		Version:                "3.11.10",
		CPUs:                   1,
		PhysicalMemoryBytes:    4 << 30,
		Agents:                 3,
	}
}

func (p Params) withDefaults() Params {
	d := DefaultParams()
	if p.CleanOutBytesPerSecond <= 0 {
		p.CleanOutBytesPerSecond = d.CleanOutBytesPerSecond
	}
	if p.DiskBytesPerDBServer <= 0 {
		p.DiskBytesPerDBServer = d.DiskBytesPerDBServer
	}
	if p.FailAfter <= 0 {
		p.FailAfter = d.FailAfter
	}
	if p.Version == "" {
		p.Version = d.Version
	}
	if p.CPUs <= 0 {
		p.CPUs = d.CPUs
	}
	if p.PhysicalMemoryBytes <= 0 {
		p.PhysicalMemoryBytes = d.PhysicalMemoryBytes
	}
	return p
}

// CollectionSpec describes a collection to create. Database defaults to
// "_system", NumberOfShards and ReplicationFactor to 1, WriteConcern to 1.
type CollectionSpec struct {
	Database, Name                                  string
	NumberOfShards, ReplicationFactor, WriteConcern int
	SizeBytes                                       int64
}

// Load is the instantaneous load of one server, set by the world every step.
type Load struct {
	RequestsPerSecond float64 // requests this server handles per second
	CPUFraction       float64 // 0..1+ of its cpu limit
	LatencySeconds    float64 // mean request latency now
	QueueLength       float64 // scheduler queue length now
	MemRSSBytes       int64
}

// ServerInfo is a snapshot of one server.
type ServerInfo struct {
	ID, ShortName, Endpoint       string
	Role                          Role
	Status                        string // GOOD|BAD|FAILED
	TaskID                        string
	Shards, Leaders               int
	DiskUsedBytes, DiskTotalBytes int64
	CleanedOut                    bool
}

// Loss records a shard that lost its last in-sync replica.
type Loss struct {
	At                                  time.Time
	Database, Collection, Shard, Server string
	Cause                               string
}

// requestTimeBounds are the upper bounds of
// arangodb_client_connection_statistics_request_time as real servers emit
// them (fixtures/arangodb/datadog_metrics_v2_single.prom).
var requestTimeBounds = [...]float64{0.01, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0, 15.0, 30.0}

type server struct {
	id, shortName, endpoint, taskID string
	role                            Role
	status                          string
	downAt                          time.Time
	load                            Load

	// integrated over virtual time
	requests   float64
	buckets    [len(requestTimeBounds) + 1]float64 // per bucket (not cumulative), last is +Inf
	latencySum float64
	userTime   float64
	sysTime    float64
}

type shard struct {
	id      string
	servers []string        // Plan: leader first
	inSync  map[string]bool // replica on server is in sync
	lost    bool
	coll    *collection
}

type collection struct {
	id     string
	spec   CollectionSpec
	shards []*shard
}

func (c *collection) shardBytes() int64 {
	if len(c.shards) == 0 {
		return 0
	}
	return c.spec.SizeBytes / int64(len(c.shards))
}

type move struct {
	sh       *shard
	from, to string
	isLeader bool
	left     float64 // bytes still to copy
	done     bool
}

type job struct {
	id, typ, server, creator string
	created, started, done   time.Time
	status                   string
	reason                   string
	moves                    []*move // moveShard: exactly one; cleanOutServer: planned when started
}

// Cluster emulates one ArangoDB cluster. It is safe for concurrent use.
type Cluster struct {
	mu     sync.Mutex
	bufs   sync.Pool // *[]byte: metrics answers, rendered then written
	docs   docStore  // documents.go: the document API, own lock
	name   string
	clk    clock.Clock
	p      Params
	id     string
	start  time.Time
	last   time.Time
	seq    uint64 // server ID counter
	nCrdn  int
	nDB    int
	jobSeq int64
	shSeq  int
	colSeq int

	servers map[string]*server
	colls   []*collection // creation order
	jobs    []*job        // retained jobs, creation order
	active  []*job        // ToDo and Pending jobs, creation order
	nDone   int           // Finished and Failed jobs in jobs
	losses  []Loss

	incidents     []Incident
	cleanOutFault CleanOutFault
	reportedBad   map[string]bool // servers health reports BAD (a fault)
	skew          time.Duration   // ArangoDB's clock minus the world's (a fault)

	// agency Target/CleanedServers: servers that get no new replicas
	cleaned []string
	// agency Target/NumberOfCoordinators and NumberOfDBServers; nil = unset
	desiredCrdn, desiredDB *int
}

// NewCluster returns an empty cluster (no servers, no collections) named
// name, reading time from clk.
func NewCluster(name string, clk clock.Clock, p Params) *Cluster {
	now := clk.Now()
	return &Cluster{
		name:    name,
		clk:     clk,
		p:       p.withDefaults(),
		id:      uuidFrom(name, "cluster", 0),
		start:   now,
		last:    now,
		servers: map[string]*server{},
		jobSeq:  1000000,
		shSeq:   10000,
		colSeq:  100000,
	}
}

// uuidFrom derives a UUID-shaped string from the inputs (deterministic, no
// crypto/rand: virtual-time runs must be reproducible).
func uuidFrom(name, kind string, n uint64) string {
	var b [16]byte
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%d", name, kind, n)
	copy(b[:8], h.Sum(nil))
	fmt.Fprintf(h, "/second")
	copy(b[8:], h.Sum(nil))
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ServerUp reports that a task became healthy. A server with this endpoint
// that exists already comes back GOOD (keeping its ID and its replicas);
// otherwise a new, empty server joins GOOD. It returns the server ID.
func (c *Cluster) ServerUp(role Role, taskID, endpoint string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.servers {
		if s.endpoint == endpoint && s.role == role {
			s.status = StatusGood
			s.taskID = taskID
			s.downAt = time.Time{}
			c.resyncLocked()
			return s.id
		}
	}
	c.seq++
	s := &server{endpoint: endpoint, taskID: taskID, role: role, status: StatusGood}
	if role == Coordinator {
		c.nCrdn++
		s.id = "CRDN-" + uuidFrom(c.name, "server", c.seq)
		s.shortName = fmt.Sprintf("Coordinator%04d", c.nCrdn)
	} else {
		s.role = DBServer
		c.nDB++
		s.id = "PRMR-" + uuidFrom(c.name, "server", c.seq)
		s.shortName = fmt.Sprintf("DBServer%04d", c.nDB)
	}
	c.servers[s.id] = s
	return s.id
}

// ServerDown reports that the server's task is gone: it turns BAD at once
// (FAILED after FailAfter), its replicas fall out of sync, leaders fail
// over to in-sync followers, and shards left without any in-sync replica
// are recorded as lost.
func (c *Cluster) ServerDown(taskID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.clk.Now()
	for _, s := range c.servers {
		if s.taskID != taskID || s.status != StatusGood {
			continue
		}
		c.noteDownLocked(s, now)
		s.status = StatusBad
		s.downAt = now
		for _, col := range c.colls {
			for _, sh := range col.shards {
				if sh.inSync[s.id] {
					sh.inSync[s.id] = false
					c.checkShardLocked(sh, now, s.id, "server "+s.shortName+" down")
				}
			}
		}
	}
}

// checkShardLocked fails the leader over if needed and records a loss when
// no in-sync replica is left.
func (c *Cluster) checkShardLocked(sh *shard, now time.Time, server, cause string) {
	if sh.lost {
		return
	}
	if len(sh.servers) > 0 && !sh.inSync[sh.servers[0]] {
		for i, id := range sh.servers[1:] {
			if sh.inSync[id] && c.servers[id] != nil && c.servers[id].status == StatusGood {
				sh.servers[0], sh.servers[i+1] = sh.servers[i+1], sh.servers[0]
				break
			}
		}
	}
	for _, id := range sh.servers {
		if sh.inSync[id] {
			return
		}
	}
	sh.lost = true
	c.losses = append(c.losses, Loss{
		At: now, Database: sh.coll.spec.Database, Collection: sh.coll.spec.Name,
		Shard: sh.id, Server: server, Cause: cause,
	})
}

// resyncLocked brings every replica on a GOOD server of a shard that is
// not lost back in sync.
func (c *Cluster) resyncLocked() {
	for _, col := range c.colls {
		for _, sh := range col.shards {
			if sh.lost {
				continue
			}
			for _, id := range sh.servers {
				if s := c.servers[id]; s != nil && s.status == StatusGood {
					sh.inSync[id] = true
				}
			}
		}
	}
}

// SetLoad sets the current load of a server; unknown IDs are ignored.
func (c *Cluster) SetLoad(serverID string, l Load) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.servers[serverID]; s != nil {
		s.load = l
	}
}

// goodDBServersLocked returns GOOD, not cleaned-out DB servers sorted by ID.
func (c *Cluster) goodDBServersLocked(exclude string) []*server {
	var out []*server
	for _, s := range c.servers {
		if s.role == DBServer && s.status == StatusGood && indexOf(c.cleaned, s.id) < 0 && s.id != exclude && !c.beingCleanedLocked(s.id) {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func (c *Cluster) beingCleanedLocked(id string) bool {
	for _, j := range c.active {
		if j.typ == "cleanOutServer" && j.server == id {
			return true
		}
	}
	return false
}

// AddCollection creates a collection, placing its shards round-robin over
// the GOOD DB servers with leaders spread.
func (c *Cluster) AddCollection(spec CollectionSpec) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if spec.Database == "" {
		spec.Database = "_system"
	}
	if spec.NumberOfShards == 0 {
		spec.NumberOfShards = 1
	}
	if spec.ReplicationFactor == 0 {
		spec.ReplicationFactor = 1
	}
	if spec.WriteConcern == 0 {
		spec.WriteConcern = 1
	}
	if spec.Name == "" || spec.NumberOfShards < 0 || spec.ReplicationFactor < 0 || spec.SizeBytes < 0 ||
		spec.WriteConcern < 0 || spec.WriteConcern > spec.ReplicationFactor {
		return fmt.Errorf("add collection %q: %w", spec.Name, ErrBadSpec)
	}
	if c.collectionLocked(spec.Database, spec.Name) != nil {
		return fmt.Errorf("add collection %s/%s: %w", spec.Database, spec.Name, ErrDuplicate)
	}
	good := c.goodDBServersLocked("")
	if len(good) < spec.ReplicationFactor {
		return fmt.Errorf("add collection %s/%s: replicationFactor %d, %d DB servers: %w",
			spec.Database, spec.Name, spec.ReplicationFactor, len(good), ErrNotEnoughServers)
	}
	c.colSeq++
	col := &collection{id: fmt.Sprint(c.colSeq), spec: spec}
	// Start where the previous collection stopped so leaders spread
	// across collections too.
	offset := c.shSeq
	for i := 0; i < spec.NumberOfShards; i++ {
		c.shSeq++
		sh := &shard{id: fmt.Sprintf("s%d", c.shSeq), inSync: map[string]bool{}, coll: col}
		for r := 0; r < spec.ReplicationFactor; r++ {
			id := good[(offset+i+r)%len(good)].id
			sh.servers = append(sh.servers, id)
			sh.inSync[id] = true
		}
		col.shards = append(col.shards, sh)
	}
	c.colls = append(c.colls, col)
	return nil
}

// SystemCollections are the collections arangod creates in _system when a
// cluster bootstraps (arangodb/arangodb arangod/VocBase/Methods/
// UpgradeTasks.cpp createSystemCollections): _users first, every other one
// distributeShardsLike it, so all sit on _users' servers. Each has one
// shard and replicationFactor --cluster.system-replication-factor, default
// 2 (docs-hugo site/data/3.11/arangod.json). Their sizes are the
// emulator's assumption: small, like a fresh cluster's. Deviation: later
// clean-outs and rebalances move each of them on its own, where arangod
// moves a distributeShardsLike group together.
var SystemCollections = []string{
	"_users", "_graphs", "_statistics", "_statistics15", "_statisticsRaw",
	"_analyzers", "_aqlfunctions", "_queues", "_jobs", "_apps", "_appbundles", "_frontend",
}

const (
	systemReplicationFactor = 2
	systemCollectionBytes   = 1 << 20
)

// AddSystemCollections creates SystemCollections in _system on the GOOD DB
// servers. With fewer DB servers than the replication factor the plan
// holds what there is (bootstrap does not enforce the factor), and the
// collections count as not fully replicated. Without DB servers it does
// nothing: a cluster cannot bootstrap then.
func (c *Cluster) AddSystemCollections() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	good := c.goodDBServersLocked("")
	if len(good) == 0 {
		return nil
	}
	var servers []string
	for r := 0; r < min(systemReplicationFactor, len(good)); r++ {
		servers = append(servers, good[(c.shSeq+r)%len(good)].id)
	}
	for _, name := range SystemCollections {
		if c.collectionLocked("_system", name) != nil {
			return fmt.Errorf("add system collection %s: %w", name, ErrDuplicate)
		}
		c.colSeq++
		col := &collection{id: fmt.Sprint(c.colSeq), spec: CollectionSpec{Database: "_system", Name: name,
			NumberOfShards: 1, ReplicationFactor: systemReplicationFactor, WriteConcern: 1, SizeBytes: systemCollectionBytes}}
		c.shSeq++
		sh := &shard{id: fmt.Sprintf("s%d", c.shSeq), inSync: map[string]bool{}, coll: col}
		for _, id := range servers {
			sh.servers = append(sh.servers, id)
			sh.inSync[id] = true
		}
		col.shards = append(col.shards, sh)
		c.colls = append(c.colls, col)
	}
	return nil
}

func (c *Cluster) collectionLocked(db, name string) *collection {
	for _, col := range c.colls {
		if col.spec.Database == db && (col.spec.Name == name || col.id == name) {
			return col
		}
	}
	return nil
}

// Step advances the model to now: integrates metrics from the loads over
// the elapsed time, turns BAD servers FAILED after FailAfter, progresses
// jobs and resyncs followers. A now before the last step only runs the
// state changes.
func (c *Cluster) Step(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dt := now.Sub(c.last).Seconds()
	if dt < 0 {
		dt = 0
	} else {
		c.last = now
	}
	for _, s := range c.servers {
		if s.status == StatusBad && now.Sub(s.downAt) >= c.p.FailAfter {
			s.status = StatusFailed
		}
		if s.status != StatusGood || dt == 0 {
			continue
		}
		s.integrate(dt, c.p.CPUs)
	}
	c.resyncLocked()
	c.progressJobsLocked(now, dt)
	c.resyncLocked()
}

func (s *server) integrate(dt, cpus float64) {
	l := s.load
	n := l.RequestsPerSecond * dt
	if n < 0 {
		n = 0
	}
	s.requests += n
	idx := len(requestTimeBounds)
	for i, b := range requestTimeBounds {
		if l.LatencySeconds <= b {
			idx = i
			break
		}
	}
	s.buckets[idx] += n
	s.latencySum += n * l.LatencySeconds
	cpu := l.CPUFraction * cpus * dt
	if cpu > 0 {
		// Roughly how arangod splits its time; only the sum matters to
		// arangoscale's cpu_utilization fallback.
		s.userTime += cpu * 0.8
		s.sysTime += cpu * 0.2
	}
}

// Servers returns a snapshot of all servers sorted by ID.
func (c *Cluster) Servers() []ServerInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.serversLocked()
}

func (c *Cluster) serversLocked() []ServerInfo {
	counts, leaders, used := c.placementLocked()
	out := make([]ServerInfo, 0, len(c.servers))
	for _, s := range c.servers {
		si := ServerInfo{
			ID: s.id, ShortName: s.shortName, Endpoint: s.endpoint, Role: s.role, Status: s.status,
			TaskID: s.taskID, CleanedOut: indexOf(c.cleaned, s.id) >= 0,
		}
		if s.role == DBServer {
			si.Shards, si.Leaders = counts[s.id], leaders[s.id]
			si.DiskUsedBytes, si.DiskTotalBytes = used[s.id], c.p.DiskBytesPerDBServer
		}
		out = append(out, si)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// placementLocked counts replicas, leaders and bytes per server.
func (c *Cluster) placementLocked() (counts, leaders map[string]int, used map[string]int64) {
	counts, leaders, used = map[string]int{}, map[string]int{}, map[string]int64{}
	for _, col := range c.colls {
		b := col.shardBytes()
		for _, sh := range col.shards {
			for i, id := range sh.servers {
				counts[id]++
				used[id] += b
				if i == 0 {
					leaders[id]++
				}
			}
		}
	}
	return counts, leaders, used
}

// Losses returns the shards lost so far, in the order they were lost.
func (c *Cluster) Losses() []Loss {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Loss(nil), c.losses...)
}

// ShardCounts returns DB server ID -> shard replicas held, for every DB
// server (zero included).
func (c *Cluster) ShardCounts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	counts, _, _ := c.placementLocked()
	out := map[string]int{}
	for _, s := range c.servers {
		if s.role == DBServer {
			out[s.id] = counts[s.id]
		}
	}
	return out
}

// DesiredNumbers returns what PUT /_admin/cluster/numberOfServers stored
// (agency Target/NumberOfCoordinators and NumberOfDBServers); set is false
// while neither is set. An unset one reads as 0.
func (c *Cluster) DesiredNumbers() (coords, dbs int, set bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.desiredCrdn != nil {
		coords, set = *c.desiredCrdn, true
	}
	if c.desiredDB != nil {
		dbs, set = *c.desiredDB, true
	}
	return coords, dbs, set
}

// ClusterID returns the cluster's ID as in /_admin/cluster/health.
func (c *Cluster) ClusterID() string { return c.id }

// resolveLocked finds a server by ID or short name.
func (c *Cluster) resolveLocked(idOrName string) *server {
	if s := c.servers[idOrName]; s != nil {
		return s
	}
	for _, s := range c.servers {
		if s.shortName == idOrName {
			return s
		}
	}
	return nil
}

// RemoveServer removes a FAILED server that holds no replica, like
// POST /_admin/cluster/removeServer.
func (c *Cluster) RemoveServer(idOrName string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.removeServerLocked(idOrName)
}

func (c *Cluster) removeServerLocked(idOrName string) error {
	s := c.resolveLocked(idOrName)
	if s == nil {
		return fmt.Errorf("remove server %q: %w", idOrName, ErrUnknownServer)
	}
	if s.status != StatusFailed {
		return fmt.Errorf("remove server %s (%s): %w", s.id, s.status, ErrServerNotFailed)
	}
	counts, _, _ := c.placementLocked()
	if counts[s.id] > 0 {
		return fmt.Errorf("remove server %s: %d replicas: %w", s.id, counts[s.id], ErrServerResponsible)
	}
	delete(c.servers, s.id)
	return nil
}
