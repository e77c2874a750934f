package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/arangoscale/arangoscale/clock"
	"github.com/arangoscale/arangoscale/controller"
)

// Config is what a Node is built from.
type Config struct {
	// Servers are ZooKeeper's host:port addresses.
	Servers []string
	// Root is the node every path lives under ("/arangoscale"); replicas
	// that share it share the clusters.
	Root string
	// Auth is "user:password" for ZooKeeper's digest scheme ("" for none);
	// the nodes created then carry a digest ACL for that user only.
	Auth string
	// SessionTimeout is the ZooKeeper session timeout (default 10s): how
	// long a replica that stopped answering keeps its clusters.
	SessionTimeout time.Duration
	// ID names this replica in its member node (host and port, task ID).
	ID string
	// Resync is how often the locks held are checked against ZooKeeper
	// beside the watches (default 5s).
	Resync time.Duration
	Clock  clock.Clock
	Logger *slog.Logger
	// Registry receives arangoscale_leader, arangoscale_owned_clusters and
	// arangoscale_zk_connected.
	Registry prometheus.Registerer
}

// Node is one replica's membership, leadership and cluster ownership. It
// implements controller.Fence and controller.FenceHealth.
type Node struct {
	cfg  Config
	log  *slog.Logger
	conn *zk.Conn
	acl  []zk.ACL
	m    nodeMetrics

	connected atomic.Bool
	state     atomic.Value // zk.State, for messages
	wake      chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	cond      *sync.Cond
	clusters  []string
	member    string // this replica's member node name
	memberSID int64  // the session that created it
	members   []string
	leader    bool
	owned     map[string]int64 // cluster → session holding its lock
	releasing map[string]bool
	inflight  map[string]int
	watched   map[string]bool
	baseOK    int64 // the session the base paths were checked in
	authed    bool  // the digest credentials were accepted once
	changed   chan struct{}
}

var _ controller.Fence = (*Node)(nil)
var _ controller.FenceHealth = (*Node)(nil)

// Start connects to ZooKeeper and runs the membership until Close. It
// returns without waiting for a session: until one is established the node
// lets nothing act.
func Start(cfg Config) (*Node, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("ha: no ZooKeeper servers")
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 10 * time.Second
	}
	if cfg.Resync <= 0 {
		cfg.Resync = 5 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	root := path.Clean("/" + strings.TrimPrefix(cfg.Root, "/"))
	cfg.Root = root
	n := &Node{
		cfg:       cfg,
		log:       cfg.Logger.With("zk_root", root),
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		owned:     map[string]int64{},
		releasing: map[string]bool{},
		inflight:  map[string]int{},
		watched:   map[string]bool{},
		changed:   make(chan struct{}),
	}
	n.cond = sync.NewCond(&n.mu)
	n.state.Store(zk.StateDisconnected)
	m, err := newNodeMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	n.m = m
	n.acl = zk.WorldACL(zk.PermAll)
	if cfg.Auth != "" {
		user, pass, ok := strings.Cut(cfg.Auth, ":")
		if !ok || user == "" {
			return nil, errors.New("ha: ZooKeeper auth must be user:password")
		}
		n.acl = zk.DigestACL(zk.PermAll, user, pass)
	}
	conn, _, err := zk.Connect(cfg.Servers, cfg.SessionTimeout,
		zk.WithLogger(zkLogger{n.log}), zk.WithEventCallback(n.event))
	if err != nil {
		return nil, fmt.Errorf("ha: connect to ZooKeeper: %w", err)
	}
	n.conn = conn
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	go n.run(ctx)
	return n, nil
}

type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug("zookeeper client", "msg", fmt.Sprintf(format, args...))
}

// event runs on the client's event loop. A session event closes the gate
// right here, before anything else happens.
func (n *Node) event(ev zk.Event) {
	if ev.Type == zk.EventSession {
		n.state.Store(ev.State)
		live := ev.State == zk.StateHasSession
		was := n.connected.Swap(live)
		n.m.connected.Set(b2f(live))
		if was && !live {
			n.log.Warn("ZooKeeper session not live: acting on no cluster", "zk_state", ev.State.String())
			n.m.leader.Set(0)
		}
		n.notify()
	}
	if ev.Type == zk.EventNotWatching || ev.Path != "" {
		n.mu.Lock()
		if ev.Type == zk.EventNotWatching {
			clear(n.watched)
		} else {
			delete(n.watched, ev.Path)
		}
		n.mu.Unlock()
	}
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Close leaves: the member node and every lock go at once with the
// session, so the other replicas take the clusters over without waiting
// for a timeout. Call it after the controller stopped.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		n.cancel()
		<-n.done
		n.connected.Store(false)
		n.conn.Close()
		n.m.connected.Set(0)
		n.m.leader.Set(0)
		n.m.owned.Set(0)
	})
}

// SetClusters sets the clusters of the policy in force.
func (n *Node) SetClusters(names []string) {
	n.mu.Lock()
	n.clusters = slices.Sorted(slices.Values(names))
	n.clusters = slices.Compact(n.clusters)
	n.mu.Unlock()
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Enter lets a change to cluster through while this replica's session is
// live and holds the cluster's lock; leave must be called after it.
func (n *Node) Enter(cluster string) (func(), error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.mayActLocked(cluster); err != nil {
		return nil, err
	}
	n.inflight[cluster]++
	return func() {
		n.mu.Lock()
		n.inflight[cluster]--
		n.cond.Broadcast()
		n.mu.Unlock()
	}, nil
}

// MayAct reports whether this replica may act on cluster now.
func (n *Node) MayAct(cluster string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mayActLocked(cluster)
}

func (n *Node) mayActLocked(cluster string) error {
	if !n.connected.Load() {
		return fmt.Errorf("%w: ZooKeeper session not live (%s)", controller.ErrStandby, n.state.Load())
	}
	sid, ok := n.owned[cluster]
	if !ok || n.releasing[cluster] || sid != n.conn.SessionID() {
		owner := Owner(cluster, n.members)
		if owner == "" {
			owner = "none yet"
		}
		return fmt.Errorf("%w: owned by another replica (member %s)", controller.ErrStandby, owner)
	}
	return nil
}

// SessionID is the ZooKeeper session of this node (0 before the first).
func (n *Node) SessionID() int64 { return n.conn.SessionID() }

// Healthy is nil while the ZooKeeper session is live.
func (n *Node) Healthy() error {
	if !n.connected.Load() {
		return fmt.Errorf("ZooKeeper session not live (%s)", n.state.Load())
	}
	return nil
}

// Snapshot is what a node knows right now.
type Snapshot struct {
	Connected bool
	Leader    bool
	Member    string
	Members   []string
	Owned     []string
}

// Snapshot returns the node's state.
func (n *Node) Snapshot() Snapshot {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := Snapshot{Connected: n.connected.Load(), Leader: n.leader && n.connected.Load(), Member: n.member, Members: slices.Clone(n.members)}
	sid := n.conn.SessionID()
	for c, owner := range n.owned {
		if owner == sid && s.Connected {
			s.Owned = append(s.Owned, c)
		}
	}
	sort.Strings(s.Owned)
	return s
}

// Changed is closed at the next change of the node's state (tests wait on
// it instead of sleeping).
func (n *Node) Changed() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.changed
}

func (n *Node) notify() {
	n.mu.Lock()
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

func (n *Node) run(ctx context.Context) {
	defer close(n.done)
	tick, stop := clock.NewTicker(n.cfg.Clock, n.cfg.Resync)
	defer stop()
	full := true
	for {
		if err := n.sync(full); err != nil && n.connected.Load() {
			n.log.Warn("ZooKeeper membership sync failed; retrying", "error", err)
		}
		n.notify()
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
			full = false
		case <-tick:
			full = true
		}
	}
}

func (n *Node) membersPath() string { return path.Join(n.cfg.Root, "members") }
func (n *Node) ownersPath() string  { return path.Join(n.cfg.Root, "owners") }

// lockPath is the lock node of a cluster; the name is escaped so any
// policy name is one path element.
func (n *Node) lockPath(cluster string) string {
	return path.Join(n.ownersPath(), url.PathEscape(cluster))
}

// ensure creates path and its parents as persistent nodes.
func (n *Node) ensure(p string) error {
	cur := ""
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if part == "" {
			continue
		}
		cur += "/" + part
		if _, err := n.conn.Create(cur, nil, 0, n.acl); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			return fmt.Errorf("create %s: %w", cur, err)
		}
	}
	return nil
}
