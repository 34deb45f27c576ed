// Package policy is the agent's boundary policy (DESIGN §4, docs/policy.md):
// what a spec may map through its container's isolation boundary (host
// folders, named pipes, host ports, devices, another container's network)
// and which isolation it may run with.
//
// It holds the whole of it, in three steps that keep reading the file, the
// host and the rule apart:
//
//   - Parse and Load decode the policy file, as strictly as spec files (with
//     spec.DecodeFile), validate it and normalise its entries into a Policy;
//     Open loads and compiles the file a command is given in one step.
//   - ResolveMounts asks a Resolver (the hcs driver on Windows) where each
//     mount of an effective config really leads through junctions and
//     links, and records it in the config (driver.Mount.ResolvedPath), so
//     that the driver maps what was checked.
//   - Checker.Check, compiled from a Policy by NewChecker, is a pure
//     function of the spec, its effective config and those leads: it
//     returns every Violation, each naming the field at fault and the
//     policy entry that would allow it.
//
// It denies by default: a nil Policy allows nothing that pierces
// isolation, and some folders and pipes are allowed only when an entry
// names them exactly (see Checker). Following the file as it changes is
// spec.FileWatcher's job, and handing each change to the engine package
// agent's; applying a policy to specs is admission's (package reconcile).
package policy
