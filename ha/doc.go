// Package ha owns running several arangoscale replicas against the same
// clusters, coordinated through ZooKeeper (ARANGOSCALE_ZK).
//
// Every replica joins with an ephemeral sequential node under members/.
// The member with the lowest sequence number is the leader, reported as
// arangoscale_leader. The clusters of the policy are spread over the live
// members by rendezvous hashing (each cluster goes to the member with the
// highest hash of cluster and member name), so a join or a leave moves only
// the clusters of that member. The member a cluster hashes to takes an
// ephemeral lock node owners/<cluster>; only the holder of that lock acts
// on the cluster, everyone else observes it as standby. A member that no
// longer hashes to a cluster first stops letting changes through, waits for
// the changes in flight, then deletes its lock, so the next owner never
// acts beside it.
//
// Fencing: Node implements controller.Fence. A change is let through only
// while the session is connected and the cluster's lock belongs to the
// current session. On a disconnect the gate closes at once, from the
// session event, long before the server can expire the session and a
// successor take the lock: the client notices a silent connection after
// two thirds of the session timeout, the server expires it after the whole.
// A change already sent then is bounded by the source timeout, which the
// configuration keeps below the session timeout.
//
// A replica that takes a cluster over resumes a scale-down in flight from
// ArangoDB's and Marathon's state, as a restarted process does.
package ha
