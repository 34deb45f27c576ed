// Package reconcile makes a container host match a folder of specs and keeps
// it matching.
//
// The work is split in pure steps and one long-lived engine:
//
//   - Admit turns specs into decisions: the effective driver.Config a spec
//     runs with on this host (isolation chosen, versions checked, host ports
//     and network sharing resolved, mounts resolved and checked against the
//     boundary policy of package policy), or a Rejection with a Reason from
//     a fixed set.
//   - Hash gives every effective config a canonical, versioned hash, so a
//     container whose config did not change is adopted, never recreated,
//     across agent restarts and upgrades.
//   - Plan compares decisions with the containers the driver lists and says
//     what to do: create, recreate, start, stop, remove.
//   - Engine runs Plan key by key (one key per container name) on a work
//     queue with parallel workers, per-key backoff, restart policies and a
//     periodic resync, and reports Status.
//
// The engine is careful with bad input: a file that turns invalid keeps its
// last-known-good specs, a missing or empty folder prunes nothing unless
// allowed, and containers of other owners are never touched.
package reconcile
