// Package adminonly tells who besides administrators may change a file or
// folder: the agent's spec, policy, state and credential-spec folders must
// be changeable by administrators only, since what is in them is what the
// agent runs with its rights. On Windows it reads the owner and the DACL;
// elsewhere (the simulated host) the owner and the mode, where root and
// the user the process runs as count as administrators. isoagent doctor
// reports what it finds, and the hcs driver refuses credential specs
// others could have written.
//
// Check puts the rule to what the agent trusts from outside the spec
// folder (the keys commit signatures are verified with, the secrets
// folder, which Readers also keeps from others' eyes), and Inside tells
// whether a path lies in a folder, for what must never be in the spec
// folder or its checkout.
package adminonly
