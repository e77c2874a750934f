package ha

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/go-zookeeper/zk"
)

// sync brings membership and locks in line with ZooKeeper; full also
// checks that every lock held still exists and belongs to this session.
func (n *Node) sync(full bool) error {
	if !n.connected.Load() {
		n.publish()
		return nil
	}
	sid := n.conn.SessionID()
	n.mu.Lock()
	for c, owner := range n.owned {
		if owner != sid { // an expired session took its locks with it
			delete(n.owned, c)
		}
	}
	base, member, memberSID, authed := n.baseOK, n.member, n.memberSID, n.authed
	n.mu.Unlock()

	if n.cfg.Auth != "" && !authed {
		// Only a session can take them; once accepted the client sends
		// them again on every reconnect.
		if err := n.conn.AddAuth("digest", []byte(n.cfg.Auth)); err != nil {
			return fmt.Errorf("digest auth: %w", err)
		}
		n.mu.Lock()
		n.authed = true
		n.mu.Unlock()
	}

	if base != sid {
		if err := n.ensure(n.membersPath()); err != nil {
			return err
		}
		if err := n.ensure(n.ownersPath()); err != nil {
			return err
		}
		n.mu.Lock()
		n.baseOK = sid
		n.mu.Unlock()
	}
	if member == "" || memberSID != sid {
		// Protected: a create whose answer was lost is found again, not
		// made twice.
		p, err := n.conn.CreateProtectedEphemeralSequential(path.Join(n.membersPath(), "m-"), []byte(n.cfg.ID), n.acl)
		if err != nil {
			return fmt.Errorf("join: %w", err)
		}
		member = path.Base(p)
		n.mu.Lock()
		n.member, n.memberSID = member, sid
		n.mu.Unlock()
		n.log.Info("joined the replicas", "member", member)
	}

	members, err := n.readMembers()
	if err != nil {
		return err
	}
	if !containsString(members, member) {
		// Our node is gone (removed by hand): join again next time.
		n.mu.Lock()
		n.member = ""
		n.mu.Unlock()
		return errors.New("member node vanished; joining again")
	}

	n.mu.Lock()
	n.members = members
	wasLeader := n.leader
	n.leader = members[0] == member
	if n.leader != wasLeader {
		n.log.Info("leadership changed", "leader", n.leader, "member", member)
	}
	clusters := n.clusters
	held := map[string]bool{}
	for c := range n.owned {
		held[c] = true
	}
	n.mu.Unlock()

	if full {
		for c := range held {
			if !n.stillOurs(c, sid) {
				n.log.Warn("lost the lock of a cluster", "cluster", c)
				n.mu.Lock()
				delete(n.owned, c)
				n.mu.Unlock()
				delete(held, c)
			}
		}
	}

	plan := Diff(member, clusters, members, held)
	var errs []error
	for _, c := range plan.Release {
		if err := n.release(c, sid); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range plan.Take {
		if err := n.take(c, member, sid); err != nil {
			errs = append(errs, err)
		}
	}
	n.publish()
	return errors.Join(errs...)
}

// readMembers lists the member nodes in join order, watching for changes.
func (n *Node) readMembers() ([]string, error) {
	p := n.membersPath()
	n.mu.Lock()
	watch := !n.watched[p]
	n.watched[p] = true
	n.mu.Unlock()
	var kids []string
	var err error
	if watch {
		kids, _, _, err = n.conn.ChildrenW(p)
	} else {
		kids, _, err = n.conn.Children(p)
	}
	if err != nil {
		n.unwatch(p)
		return nil, fmt.Errorf("members: %w", err)
	}
	sort.Slice(kids, func(i, j int) bool { return seq(kids[i]) < seq(kids[j]) })
	return kids, nil
}

// seq is the sequence suffix ZooKeeper appended (ten digits); the
// protected prefix before it differs per member and must not order them.
func seq(name string) string {
	if i := strings.LastIndex(name, "m-"); i >= 0 {
		return name[i+2:]
	}
	return name
}

func (n *Node) unwatch(p string) {
	n.mu.Lock()
	delete(n.watched, p)
	n.mu.Unlock()
}

func (n *Node) stillOurs(cluster string, sid int64) bool {
	ok, st, err := n.conn.Exists(n.lockPath(cluster))
	if err != nil {
		return true // unknown: the session events decide
	}
	return ok && st.EphemeralOwner == sid
}

// take creates the cluster's lock, or watches it while another session
// holds it (the previous owner, until it released or expired).
func (n *Node) take(cluster, member string, sid int64) error {
	p := n.lockPath(cluster)
	_, err := n.conn.Create(p, []byte(member), zk.FlagEphemeral, n.acl)
	if err == nil {
		n.own(cluster, sid)
		return nil
	}
	if !errors.Is(err, zk.ErrNodeExists) {
		return fmt.Errorf("lock %s: %w", cluster, err)
	}
	n.mu.Lock()
	watch := !n.watched[p]
	n.watched[p] = true
	n.mu.Unlock()
	var ok bool
	var st *zk.Stat
	if watch {
		ok, st, _, err = n.conn.ExistsW(p)
	} else {
		ok, st, err = n.conn.Exists(p)
	}
	if err != nil {
		n.unwatch(p)
		return fmt.Errorf("lock %s: %w", cluster, err)
	}
	switch {
	case ok && st.EphemeralOwner == sid: // our create went through, its answer was lost
		n.own(cluster, sid)
	case !ok: // released in between: try again at once
		select {
		case n.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

func (n *Node) own(cluster string, sid int64) {
	n.mu.Lock()
	n.owned[cluster] = sid
	n.mu.Unlock()
	n.log.Info("owner of the cluster", "cluster", cluster)
}

// release stops letting changes to the cluster through, waits for those in
// flight, and only then deletes the lock, so the next owner starts after
// the last change of this one.
func (n *Node) release(cluster string, sid int64) error {
	n.mu.Lock()
	n.releasing[cluster] = true
	for n.inflight[cluster] > 0 {
		n.cond.Wait()
	}
	delete(n.owned, cluster)
	delete(n.releasing, cluster)
	delete(n.inflight, cluster)
	n.mu.Unlock()
	p := n.lockPath(cluster)
	ok, st, err := n.conn.Exists(p)
	if err == nil && ok && st.EphemeralOwner == sid {
		err = n.conn.Delete(p, st.Version)
	}
	if err != nil && !errors.Is(err, zk.ErrNoNode) {
		// Not ours any more in memory; the lock goes with the session at
		// the latest, and the next sync tries again meanwhile.
		return fmt.Errorf("release %s: %w", cluster, err)
	}
	n.log.Info("handed the cluster over", "cluster", cluster)
	return nil
}

// publish sets the metrics from the state.
func (n *Node) publish() {
	s := n.Snapshot()
	n.m.connected.Set(b2f(s.Connected))
	n.m.leader.Set(b2f(s.Leader))
	n.m.owned.Set(float64(len(s.Owned)))
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
