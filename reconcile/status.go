package reconcile

import (
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// Status is what the engine knows and has done, as /status serves it.
type Status struct {
	Host driver.Host `json:"host"`
	// Dir and Revision describe the snapshot in force.
	Dir      string    `json:"dir,omitempty"`
	Revision string    `json:"revision,omitempty"`
	LoadedAt time.Time `json:"loadedAt,omitzero"`
	// RevisionChanges are the spec files that differ from the revision's
	// commit (spec.Snapshot.Changes); the revision ends in -dirty then.
	RevisionChanges []string `json:"revisionChanges,omitempty"`
	// Ready reports that the first full reconcile is done.
	Ready bool `json:"ready"`
	// Converged reports that the host matches the snapshot in force: every
	// admitted spec runs (or has exited and stays so by its restart
	// policy) and nothing is left to prune.
	Converged bool `json:"converged"`
	// LastReconcile is when a key was last reconciled successfully.
	LastReconcile time.Time `json:"lastReconcile,omitzero"`
	// Conditions are engine-wide: pruning suspended, the folder failed to
	// load, the driver is unreachable, ...
	Conditions []Condition       `json:"conditions,omitempty"`
	Containers []ContainerStatus `json:"containers"`
	Files      []FileStatus      `json:"invalidFiles,omitempty"`
	Conflicts  []spec.Conflict   `json:"conflicts,omitempty"`
	// PendingPrune is the prune held back (CondPruneHeld), for
	// 'isoagent prune' to show and confirm.
	PendingPrune *PendingPrune `json:"pendingPrune,omitempty"`
	// PruneBudget is how many containers one change may prune now.
	PruneBudget int `json:"pruneBudget"`
}

// Condition is a named fact about the engine or a container, present while
// it holds.
type Condition struct {
	Type    ConditionType `json:"type"`
	Message string        `json:"message"`
}

// ConditionType names a Condition.
type ConditionType string

// Condition types.
const (
	// CondEmptyIgnored: the folder declares no specs and --allow-empty is
	// off, so the previous desired state stays and nothing is pruned.
	CondEmptyIgnored ConditionType = "EmptyFolderIgnored"
	// CondPruneSuspended: a spec file is invalid and its names are unknown,
	// so containers without a spec are kept.
	CondPruneSuspended ConditionType = "PruneSuspended"
	// CondLoadFailed: the folder could not be read; the previous desired
	// state stays.
	CondLoadFailed ConditionType = "LoadFailed"
	// CondPruneHeld: the latest change would prune more containers than
	// the prune budget allows (or the agent runs on another folder than
	// last time), so nothing is pruned until the prune is confirmed or a
	// change fits. On a container: it is one of those held.
	CondPruneHeld ConditionType = "PruneHeld"
	// CondRevisionRefused: the checkout is at a revision that is not
	// signed by a trusted key; the last verified revision stays in force.
	CondRevisionRefused ConditionType = "RevisionRefused"
	// CondHostNotListed: no List of the driver has succeeded since the
	// engine started, so it does not know what runs and changes nothing.
	CondHostNotListed ConditionType = "HostNotListed"
	// CondDriverUnavailable: listing the host's containers failed.
	CondDriverUnavailable ConditionType = "DriverUnavailable"
	// CondPolicyInvalid: the policy file is unreadable or invalid now; the
	// last good policy stays in force.
	CondPolicyInvalid ConditionType = "PolicyInvalid"
	// CondRegistriesInvalid: the registries file is unreadable, invalid or
	// not protected now; the last good one stays in force.
	CondRegistriesInvalid ConditionType = "RegistriesInvalid"
	// CondInvalid: the spec's file is invalid now; its last-known-good spec
	// stays in force.
	CondInvalid ConditionType = "Invalid"
	// CondConflict: another file declares the same name and lost.
	CondConflict ConditionType = "Conflict"
	// CondCrashLoop: the container keeps exiting; the next restart waits.
	CondCrashLoop ConditionType = "CrashLoopBackOff"
	// CondKeptRunning: the spec is rejected now, but the container it ran
	// before is left alone.
	CondKeptRunning ConditionType = "KeptRunning"
	// CondImagePullFailed: the registry could not be asked about the
	// spec's image, or its pull failed (the message is the registry's);
	// it is tried again with backoff, and a container that runs keeps
	// running meanwhile.
	CondImagePullFailed ConditionType = "ImagePullFailed"
	// CondWaiting: the container is not created (or started) yet because
	// a dependency does not meet its condition; the message names it.
	CondWaiting ConditionType = "WaitingForDependency"
)

// ConditionTypes returns every ConditionType: first the engine-wide ones
// (Status.Conditions), then those of a container.
func ConditionTypes() []ConditionType {
	return append(EngineConditionTypes(), ContainerConditionTypes()...)
}

// EngineConditionTypes returns the ConditionTypes of Status.Conditions,
// which hold for the engine as a whole.
func EngineConditionTypes() []ConditionType {
	return []ConditionType{
		CondEmptyIgnored, CondPruneSuspended, CondLoadFailed, CondHostNotListed, CondDriverUnavailable, CondPolicyInvalid, CondRegistriesInvalid,
		CondPruneHeld, CondRevisionRefused,
	}
}

// ContainerConditionTypes returns the ConditionTypes of
// ContainerStatus.Conditions. CondPruneHeld is one of both: on a
// container, it is one of the containers the held prune would remove.
func ContainerConditionTypes() []ConditionType {
	return []ConditionType{CondInvalid, CondConflict, CondCrashLoop, CondKeptRunning, CondImagePullFailed, CondWaiting, CondRolloutFailed, CondPruneHeld}
}

// State is the state of a container name in status, a metric label value.
type State string

// Container states.
const (
	StatePending State = "pending" // being created, started or replaced
	StatePulling State = "pulling" // its image is being looked up or pulled; what runs keeps running
	StateWaiting State = "waiting" // not created yet: a dependency does not meet its condition
	// StateScheduled: a scheduled spec before its first run.
	StateScheduled State = "scheduled"
	StateRunning   State = "running"  // running on the host
	StateExited    State = "exited"   // exited and left so by its restart policy, or waiting to restart
	StateRejected  State = "rejected" // admission rejected the spec
	StateConflict  State = "conflict" // rejected: a host port is taken by another spec
	StateInvalid   State = "invalid"  // rejected: the spec cannot be a container
	StateOrphaned  State = "orphaned" // no spec, kept because pruning is suspended or held
	// StateOrphanedKept: no spec, kept for good by its isoagent.io/prune
	// annotation.
	StateOrphanedKept State = "orphaned-kept"
	StateRemoving     State = "removing" // no spec (or not for this host), being removed
	// StateElsewhere: a spec meant for other hosts (its hosts or selector
	// leave this host out) with nothing of it here. It is no refusal: a
	// spec repository shared by many hosts declares many of those.
	StateElsewhere State = "elsewhere"
)

// States returns every State.
func States() []State {
	return []State{StatePending, StateWaiting, StateScheduled, StatePulling, StateRunning, StateExited, StateRejected, StateConflict, StateInvalid, StateOrphaned, StateOrphanedKept, StateRemoving, StateElsewhere}
}

// ContainerStatus is the status of one container name.
type ContainerStatus struct {
	Name   string      `json:"name"`
	Source spec.Source `json:"source,omitzero"`
	// RequestedIsolation is the spec's isolation (default when omitted);
	// EffectiveIsolation what admission chose.
	RequestedIsolation string           `json:"requestedIsolation,omitempty"`
	EffectiveIsolation driver.Isolation `json:"effectiveIsolation,omitempty"`
	Image              string           `json:"image,omitempty"`
	ImageOSVersion     driver.OSVersion `json:"imageOSVersion,omitzero"`
	// ImageDigest is the manifest digest of the image the spec runs, when
	// the host or the registry tells it: the registry's answer for the
	// tag under imagePullPolicy Always.
	ImageDigest string `json:"imageDigest,omitempty"`
	// Pull is the pull of the spec's image while one runs or failed.
	Pull *PullState `json:"pull,omitempty"`
	// CredentialSpec names the gMSA credential spec the spec asks for
	// (its name only, never its content).
	CredentialSpec string      `json:"credentialSpec,omitempty"`
	State          State       `json:"state"`
	Conditions     []Condition `json:"conditions,omitempty"`
	Warnings       []string    `json:"warnings,omitempty"`
	Rejection      *Rejection  `json:"rejection,omitempty"`
	LastError      string      `json:"lastError,omitempty"`
	RestartCount   int         `json:"restartCount"`
	ContainerID    string      `json:"containerID,omitempty"`
	// ContainerState is the host's state of the container ContainerID
	// names: while its replacement's image is pulled, the old one's.
	ContainerState driver.State `json:"containerState,omitempty"`
	// ExitCode is set for an exited container.
	ExitCode *int `json:"exitCode,omitempty"`
	// NextRestart is when an exited container waiting out its crash
	// backoff (CondCrashLoop) is restarted; zero otherwise.
	NextRestart time.Time `json:"nextRestart,omitzero"`
	// LastExit is how the container's last run ended, as this agent
	// learnt of it (a crash report: code, time, reason, last lines).
	LastExit *LastExit `json:"lastExit,omitempty"`
	// Health is the running container's health, when it has a health
	// check (health.go).
	Health *HealthView `json:"health,omitempty"`
	// InitPID is the host PID of a process-isolated container's init
	// process; UtilityVM the VM of a Hyper-V one, as the driver sees them.
	InitPID   int               `json:"initPid,omitempty"`
	UtilityVM *driver.UtilityVM `json:"utilityVM,omitempty"`
	// Since is when the container entered its state.
	Since time.Time `json:"since,omitzero"`
	// Usage is what the running container uses, when the agent knows.
	Usage *Usage `json:"usage,omitempty"`
	// Schedule is set for a scheduled spec: its last and next runs.
	Schedule *ScheduleStatus `json:"schedule,omitempty"`
	// Ports are the host ports the spec publishes.
	Ports []spec.Port `json:"ports,omitempty"`
	// Rollout is the rollout of the spec's last change while it runs, or
	// when it failed (condition RolloutFailed).
	Rollout *RolloutStatus `json:"rollout,omitempty"`
}

// ForOtherHosts reports that the name is a spec meant for other hosts
// (its hosts or selector leave this host out) with nothing of it here: not
// this host's container, and no problem on this host, where a shared spec
// repository would otherwise count it as a refusal. A container being
// removed because its spec no longer applies here is still this host's.
func (c ContainerStatus) ForOtherHosts() bool {
	return c.State == StateElsewhere
}

// FileStatus is an invalid spec file.
type FileStatus struct {
	Path   string   `json:"path"`
	Errors []string `json:"errors"`
	// Stale reports that the file's last-known-good specs stay in force.
	Stale bool     `json:"stale,omitempty"`
	Names []string `json:"names,omitempty"`
}

// fileErrors splits a file's error into its parts (a go-multierror list
// gives one per problem).
func fileErrors(err error) []string {
	if m, ok := err.(interface{ WrappedErrors() []error }); ok {
		var out []string
		for _, e := range m.WrappedErrors() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}
