// Package chaos owns arangoscale's fault-injection runs: the real
// controller, built as production builds it (controller.Setup, DC/OS
// token, ArangoDB basic auth or JWT, admin token), against the emulated
// DC/OS + ArangoDB world of package sim in virtual time, with faults from
// package sim/fault scripted by time or drawn from a seed, and an
// invariant checker run after every reconcile.
//
// Invariants (Checker, env.converged):
//
//   - Every role's Marathon target stays within [min, max] and, for DB
//     servers, at or above the replication floor; no scale or kill the
//     controller sends goes above max or below min, the schedule floor
//     or the replication floor.
//   - No DB server goes down while it holds shard replicas or while its
//     clean-out is not Finished (sim/arango's incident record), unless
//     the run crashed it; no shard is lost (World.Losses), except an
//     unreplicated one on a server the run crashed.
//   - At most one scaling request per app in flight; no scale or kill with
//     scale=true is sent while a deployment of the app runs (a request for
//     the count Marathon already has — the retry after a lost answer — is
//     allowed); at most one clean-out per cluster.
//   - Every reconcile returns (a real-time watchdog) and /healthz answers
//     200 after it.
//   - After the faults stop the controller reaches the policy's answer
//     within Settle intervals (DefaultSettle explains the bound): every
//     role at rest (target = desired, no deployment, all tasks healthy,
//     no backoff, saga idle, only within_tolerance/at_min/at_max/
//     replication_floor), coordinators at the count the offered load asks
//     for.
//   - No secret (ArangoDB password, JWT secret, DC/OS token, admin token,
//     their base64 and the basic-auth pair) appears in the logs, /status,
//     /metrics, the reload error or a violation text.
//
// Run is one run; Main is `arangoscale simulate --faults …`.
package chaos
