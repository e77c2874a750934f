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
// and the scale-down saga reads where it stands from ArangoDB's agency jobs
// and Marathon's tasks on every reconcile.
//
// Time comes from an injected clock. Run drives the loop in real time;
// Step runs one pass and, with wait set, returns only when every due cluster
// is done, so tests and the simulator advance virtual time and call Step.
package controller
