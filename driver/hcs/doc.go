// Package hcs is the isoagent driver for the Windows Host Compute Service.
//
// It speaks to HCS through hcsshim's public schema-v1 API (the path
// dockerd takes): compute systems are listed by their Owner tag, created
// from read-only image layers and a scratch layer, and started with the
// spec's command as init process, in the working folder, environment and
// as the user the spec and the image give (merged as moby merges them).
// NAT port mappings are HNS endpoints made with HNS's v1 API, as dockerd
// makes them; an endpoint lasts one run of a container, since dockerd,
// HNS and reboots delete endpoints behind the agent's back. HCS errors,
// which hcsshim wraps in types without Unwrap, come back as the driver
// package's sentinel errors. The driver resolves junctions and symbolic
// links in mapped host folders (ResolvePath, which the boundary policy
// checks too) and hands HCS the resolved folder.
//
// HCS v1 keeps an Owner and a Name for a compute system but no labels, and
// forgets a system once it has stopped and its last handle is closed. The
// driver therefore keeps one small JSON record per container in its state
// folder (the spec name, config hash, image layers, the init process's
// command line and settings, isolation, init PID, exit code, endpoint IDs
// and scratch folder); records are what let a new agent process adopt
// running containers (OpenContainer, OpenProcess on the recorded init PID)
// and know which containers it has. HCS cannot open a process that has
// exited, so the exit code of an init process that ended while no agent
// held it would be lost: with Options.Monitor each run's init process is
// created by a monitor process of its own (package monitor, `isoagent
// monitor`, MonitorRuntime here), which holds its stdout and stderr pipes
// and its handle, writes the run's CRI log and records the exit code and
// time; a new agent finds the monitor again through the record's run
// folder and takes the exit it recorded. Without a monitor (or when the
// monitor itself was killed) such an exit is reported as -1, unknown. The
// HCS Name carries the spec name too, so a container whose record is lost
// can still be told apart and pruned. Exec runs further processes in a
// running container (HCS CreateProcess with pipes).
//
// Host says whether Hyper-V isolated containers can run here, as far as
// that is sure (see Driver.hyperV), and that UNC folders cannot be mapped,
// so admission refuses such specs with the fix before HCS does. A config's
// gMSA credential spec is read from the driver's credential-spec folder
// into the document's Credentials each time a compute system is made, and
// its DNS servers go on its HNS endpoint, as moby does both. Preflight and
// Diagnose check what the driver needs of the host (isoagent doctor).
//
// hcsshim logs through logrus's standard logger; RouteLogrus hands its
// warnings and errors to the agent's logger.
//
// The driver itself builds only on Windows. The image store (DockerStore)
// and the record store build everywhere, so their tests run on Linux too.
// The tests of the Windows code run under Wine against a fake HCS
// (driver/hcs/fakehcs); scripts/hcs-test runs them.
package hcs
