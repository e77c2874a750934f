// Package chaos owns arangoscale's fault-injection runs: the real
// controller, built as production builds it (controller.Setup, DC/OS
// token, ArangoDB basic auth or JWT, admin token), against the emulated
// DC/OS + ArangoDB world of package sim in virtual time, with faults from
// package sim/fault scripted by time or drawn from a seed, and an
// invariant checker run after every reconcile.
//
// A run has one or more controller processes (procs.go), each with its
// own registry, memory and transport; the transport marks every request
// with the process that sent it, so the checker attributes every change.
// The shipped single-instance mode is modelled as Marathon runs it
// (upgradeStrategy 0/0, unreachableStrategy disabled): a replacement
// starts only once the old process is gone. A process may carry a gate
// (the hook for the HA election): it reconciles only while the gate lets
// it.
//
// The random plan draws ~12 fault episodes an hour (±30 %), so a long run
// has as many faults per hour as a short one. Faults aimed at a clean-out
// (crash, failed or stuck job, a reload raising min or pausing, a
// replacement process) are armed: they fire when a clean-out runs in
// alpha, and while one waits the load is steered (peak until alpha has
// more DB servers than min, then light) so a scale-down comes. Each run
// reports, per class, how many episodes hit their target.
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
//     within Settle intervals (DefaultSettle explains the bound), judged
//     by the world, with /status agreeing: every role at rest (target =
//     desired, no deployment, all tasks healthy, no backoff, saga idle,
//     only within_tolerance/at_min/at_max/replication_floor),
//     coordinators at the count the offered load asks for, DB servers as
//     many GOOD, not cleaned-out servers in ArangoDB as Marathon has
//     instances (a cleaned-out one only if reported; a crashed one left
//     FAILED is the operator's), no clean-out running, and at the count
//     the emulated CPU asks for within [max(min, schedule floor,
//     replication floor), max]. A shard lost with a crashed server leaves
//     the cluster unsafe to shrink for good, which is accepted.
//   - No secret (ArangoDB password, JWT secret, DC/OS token, admin token,
//     their base64 and the basic-auth pair, and every credential a
//     controller sent: the derived ArangoDB JWTs included) appears in the
//     logs, /status, /metrics, the reload error or a violation text; a
//     credential sent to DC/OS never goes to ArangoDB or the other way.
//   - Never two controller processes act on one cluster at overlapping
//     times: a change from one while another that changed the cluster
//     still runs is a violation. No controller sends a clean-out of a
//     server already cleaned out (a resumed saga must not start over).
//   - No scale or kill of a paused role; a reload raising min or pausing
//     mid clean-out aborts the scale-down (the checker holds the
//     controller to the reloaded bounds).
//   - An operator's clean-out is reported in /status (foreign_cleaned)
//     within 3 intervals and never taken unless the policy wants a
//     scale-down anyway.
//   - The replication floor is read from the world: the highest
//     replicationFactor or writeConcern of the cluster's collections now.
//   - A crash excuses the incidents and losses of the crashed server
//     within one interval of the crash, not later ones.
//
// With Options.Host (Host; `--policy P.yaml [--cluster C] [--trace T]`)
// alpha is the operator's policy cluster instead of the built-in one:
// every setting as written, only its name, endpoints and app ids pointed
// at the emulators; its load from the trace (each seed at its own offset)
// or the built-in levels; the invariants and the convergence bound from
// its values. What the world cannot host is refused with the setting's
// file:line:col or the flag.
//
// Run is one run; Main is `arangoscale simulate --faults …` (with
// --long-every M --long 6h, every M-th run lasts 6 hours).
package chaos
