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
//     what to do: create, recreate, start, stop, remove. PlanRun does all
//     of a run's part for `isoagent plan`: admission, the rule for an
//     empty, partly unknown or unreadable folder that the engine follows
//     too, and Plan.
//   - Engine runs Plan key by key (one key per container name) and reports
//     Status.
//
// The engine is cut along controller-runtime's seams. A Reconciler
// reconciles one name and returns a Result (done, or look again after a
// delay) or an error, terminal when TerminalError wraps it; the engine's
// reconciler takes the steps planKey gives, holding back restarts in
// crash-loop backoff. One worker loop (the controller) alone takes names
// off the work queue and decides from that return what comes next: nothing,
// a requeue after the delay, a retry after a per-key exponential backoff
// (a rate limiter, as in client-go's workqueue), or, for a terminal error,
// no retry. Desired state comes in with a generation number (a new
// snapshot or policy bumps it), is admitted into the desired state in
// force, and the host's containers are cached from relists and from the
// workers' own steps through one write that never lets an older look
// overwrite a newer one. The engine has converged when every name has
// settled since the current generation was admitted; WaitConverged blocks
// until then. Status is built from all of this by a pure function.
//
// The engine is careful with bad input: a file that turns invalid keeps its
// last-known-good specs, a missing or empty folder prunes nothing unless
// allowed, and containers of other owners are never touched.
package reconcile
