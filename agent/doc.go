// Package agent owns the life of a running isoagent: the spec folder's
// watcher feeding the reconcile engine, the follower of the policy file,
// the engine over the driver, the metrics, and the HTTP endpoints
// (/metrics, /healthz, /readyz, /status). cmd/isoagent parses flags into
// a Config and calls New, Run, and, at the end, StopContainers (a system
// shutdown) and Close; the Windows service does the same.
//
// It promises what the agent promises: constructors start nothing; Run
// runs every component together, stops all of them when one stops, and
// returns only once all have; stopping the agent never stops a container
// (only StopContainers does); a policy file that does not load stops New,
// and one that stops loading later keeps the last good policy in force.
//
// Each long-lived part is a Component registered by New on one run group,
// under a name its errors are reported with. A new part (an image puller,
// a per-container monitor, a stats cache) gets its options in Config, is
// built in New and registered there with add; what it serves over HTTP
// goes into the Endpoints New builds. A component that can tell whether
// it keeps up has a Health method, which Agent.Health joins for a
// liveness probe.
package agent
