// Package controller owns the reconcile loop of arangoscale.
//
// One Controller serves many clusters. Every cluster has one worker per
// role (coordinators, DB servers); every interval the cluster is observed
// once (Marathon app state, Mesos capacity and statistics, ArangoDB metrics
// and shard placement), each role's worker asks the pure policy engine for a
// recommendation, and acts through Marathon — or, for a DB-server
// scale-down, through the safe clean-out saga.
//
// The controller keeps no state it cannot rebuild from Marathon and
// ArangoDB: cooldowns are seeded from Marathon's versionInfo.lastScalingAt,
// and the scale-down saga reads where it stands from ArangoDB and
// Marathon's tasks on every reconcile. A coordinator cannot list agency
// jobs (package arangodb explains), so the saga keeps in memory only the
// server it chose and its clean-out job ID, and asks queryAgencyJob about
// that ID. A restart forgets both, safely: a clean-out still running shows
// as shards out of sync, which makes the cluster unsafe to shrink; a
// finished one leaves its server in cleanedServers, reported as not chosen
// by this controller and taken as the victim only of a scale-down the
// policy wants anyway; a server whose task was killed is removed once
// FAILED.
//
// The kill is re-decided at the moment of killing, with the policy in
// force then: only the server this process chose, and only while min,
// schedule floor, replication floor, pause, manual hold and the metrics
// still allow one DB server fewer; otherwise the scale-down is aborted,
// nothing is killed and the server stays. An unreadable Marathon app is
// no verdict: the saga waits. A clean-out job of an aborted scale-down
// cannot be cancelled from a coordinator; no new clean-out starts until
// ArangoDB says it ended. After the kill the saga checks
// Marathon's tasks: a 200 from POST /v2/tasks/delete is not proof, since
// Marathon ignores task ids it does not know. A killed server that another
// task serves again (GOOD, on its endpoint) will never turn FAILED: the
// removal is given up rather than hold the role, and the server, still
// cleaned out, is the first victim of the next scale-down.
//
// # Manual holds
//
// A person's wanted count for a role (from `arangoscale scale` or a change
// of numberOfServers in ArangoDB's web UI) is a hold: count, until when,
// who and why. Holds are kept in the ArangoDB cluster itself, one document
// per role in the collection arangoscale_holds of its _system database,
// and read on every reconcile (both roles in one request). That store was chosen because every process
// that can act on the cluster already reaches and authenticates to it, it
// outlives any controller process and instance (a restart or a Marathon
// replacement reads the same hold), and it needs no second system: the
// ZooKeeper of the HA mode is optional, the controller's memory is lost on
// restart, and a Marathon label would change the app and start a
// deployment. Writes replace or delete only the revision read (If-Match on
// _rev), so a hold set while another ends is never overwritten unseen.
// `scale` only writes the hold; the controller that owns the cluster acts,
// so there is never a second reconcile loop beside it.
//
// # Several replicas
//
// With Config.Fence set (package ha, ARANGOSCALE_ZK) every change — a
// Marathon scale or kill, cleanOutServer, removeServer, numberOfServers, a
// rebalance, a hold written — goes through a decorator of the Marathon,
// ArangoDB and hold clients that asks the fence right before the call. A
// refused call returns ErrStandby, which is neither a source error nor a
// reason to back off. A reconcile that starts without the cluster's
// ownership observes, decides and reports only, marked standby in /status
// and /readyz. A replica that gains a cluster forgets its saga memory and
// re-reads cooldowns from Marathon, as a restarted process does, and
// reconciles it at the next tick.
//
// Time comes from an injected clock. Run drives the loop on that clock's
// ticker (real time in production, virtual time in tests); Step runs one pass and, with wait set, returns only when every due cluster
// is done, so tests and the simulator advance virtual time and call Step.
package controller
