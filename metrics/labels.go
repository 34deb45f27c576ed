package metrics

import "slices"

// Label values. Every label except name, image, os_version, build and
// revision takes its values from a fixed set, so that a bug or a new engine
// state cannot mint series without bound. The sets are exported (as
// constants, and as functions returning fresh slices) so the code that feeds
// a Metrics uses exactly the values dashboards and alerts query for.
//
// A value outside its set is recorded under Other rather than dropped: the
// observation still counts in sums such as sum(isoagent_reconcile_total), and
// a series labelled "other" on a dashboard points at the caller that passed
// an unexpected value. Other is not pre-initialised.
const Other = "other"

// Results of a reconcile (isoagent_reconcile_total and
// isoagent_reconcile_duration_seconds) and of an action
// (isoagent_actions_total, which uses only success and error).
const (
	ResultSuccess = "success"
	ResultError   = "error"
	ResultRequeue = "requeue"
)

// Actions the engine takes on a container (isoagent_actions_total). A
// recreate is counted as the stop, remove, create and start it consists of.
const (
	ActionCreate = "create"
	ActionStart  = "start"
	ActionStop   = "stop"
	ActionRemove = "remove"
)

// Driver operations (isoagent_driver_operation_duration_seconds), one per
// method of driver.Driver.
const (
	OpHost   = "host"
	OpImage  = "image"
	OpList   = "list"
	OpCreate = "create"
	OpStart  = "start"
	OpStop   = "stop"
	OpRemove = "remove"
)

// Isolation modes (isoagent_containers_desired, isoagent_containers_running,
// isoagent_container_info). IsolationProcess and IsolationHyperV equal
// driver.Process and driver.HyperV. IsolationDefault is valid only in
// isoagent_container_info, for a refused spec that asked for the host's
// default: admission never chose an isolation for it.
const (
	IsolationProcess = "process"
	IsolationHyperV  = "hyperv"
	IsolationDefault = "default"
)

// Container states (isoagent_containers, isoagent_container_info). They
// are the states the reconcile engine reports in its status.
const (
	StatePending  = "pending"  // being created, started or replaced
	StateRunning  = "running"  // running on the host
	StateExited   = "exited"   // exited, and left so by its restart policy or waiting to restart
	StateRejected = "rejected" // refused by admission; see isoagent_admission_rejections_total
	StateConflict = "conflict" // refused: another spec claims the same name or host port
	StateInvalid  = "invalid"  // refused: the spec cannot be a container
	StateOrphaned = "orphaned" // no spec, kept because pruning is suspended
	StateRemoving = "removing" // no spec (or not for this host), being removed
)

// Reasons for an admission rejection (isoagent_admission_rejections_total).
const (
	ReasonInvalid         = "invalid"
	ReasonUnsupported     = "unsupported"
	ReasonVersionMismatch = "version-mismatch"
	ReasonPolicy          = "policy"
	ReasonConflict        = "conflict"
	ReasonNotForThisHost  = "not-for-this-host"
)

// Triggers of a watch event or a rescan of the spec folder
// (isoagent_watch_events_total, isoagent_rescans_total).
const (
	TriggerEvent    = "event"    // a change notification from the file system
	TriggerResync   = "resync"   // the periodic resync, or a poll with --watch=poll
	TriggerOverflow = "overflow" // the notification queue overflowed
)

// Spec file states (isoagent_spec_files).
const (
	FileValid   = "valid"
	FileInvalid = "invalid"
)

// Host SKUs and drivers (isoagent_host_info). They equal driver.SKUServer,
// driver.SKUClient, driver.NameSim and driver.NameHCS.
const (
	SKUServer = "server"
	SKUClient = "client"
	DriverSim = "sim"
	DriverHCS = "hcs"
)

var (
	reconcileResults = []string{ResultSuccess, ResultError, ResultRequeue}
	actionResults    = []string{ResultSuccess, ResultError}
	actions          = []string{ActionCreate, ActionStart, ActionStop, ActionRemove}
	operations       = []string{OpHost, OpImage, OpList, OpCreate, OpStart, OpStop, OpRemove}
	isolations       = []string{IsolationProcess, IsolationHyperV}
	infoIsolations   = []string{IsolationProcess, IsolationHyperV, IsolationDefault}
	states           = []string{StatePending, StateRunning, StateExited, StateRejected, StateConflict, StateInvalid, StateOrphaned, StateRemoving}
	reasons          = []string{ReasonInvalid, ReasonUnsupported, ReasonVersionMismatch, ReasonPolicy, ReasonConflict, ReasonNotForThisHost}
	triggers         = []string{TriggerEvent, TriggerResync, TriggerOverflow}
	fileStates       = []string{FileValid, FileInvalid}
	skus             = []string{SKUServer, SKUClient}
	drivers          = []string{DriverSim, DriverHCS}
)

// ReconcileResults returns the values of the result label of
// isoagent_reconcile_total.
func ReconcileResults() []string { return slices.Clone(reconcileResults) }

// ActionResults returns the values of the result label of
// isoagent_actions_total.
func ActionResults() []string { return slices.Clone(actionResults) }

// Actions returns the values of the action label.
func Actions() []string { return slices.Clone(actions) }

// Operations returns the values of the operation label.
func Operations() []string { return slices.Clone(operations) }

// Isolations returns the values of the isolation label of
// isoagent_containers_desired and isoagent_containers_running.
func Isolations() []string { return slices.Clone(isolations) }

// States returns the values of the state label of isoagent_containers.
func States() []string { return slices.Clone(states) }

// Reasons returns the values of the reason label.
func Reasons() []string { return slices.Clone(reasons) }

// Triggers returns the values of the trigger label.
func Triggers() []string { return slices.Clone(triggers) }

// known returns v when set holds it and Other otherwise.
func known(set []string, v string) string {
	if slices.Contains(set, v) {
		return v
	}
	return Other
}
