package metrics

import (
	"slices"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/gitverify"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/registry"
	"github.com/isoagent/isoagent/spec"
)

// Label values. Every label except name, image, os_version, build and
// revision takes its values from a fixed set, so that a bug or a new engine
// state cannot mint series without bound. Each set is the exported list of
// the package that owns the values, so the code that feeds a Metrics and
// the series dashboards and alerts query for cannot drift apart:
//
//   - result of isoagent_reconcile_total: reconcile.Outcomes; of
//     isoagent_actions_total: its success and error;
//   - action: reconcile.StepKinds;
//   - reason: reconcile.RefusalReasons;
//   - state: reconcile.States;
//   - trigger: spec.Triggers;
//   - operation: driver.Ops;
//   - isolation: driver.Isolations, and in isoagent_container_info also
//     spec.IsolationDefault (a refused spec that asked for the host's
//     default: admission never chose an isolation for it);
//   - sku and driver of isoagent_host_info: driver.SKUs and driver.Names;
//   - reason of isoagent_image_pull_failures_total: registry.Reasons; result
//     of isoagent_image_pull_duration_seconds: success and error;
//   - state of isoagent_spec_files: FileValid and FileInvalid, the one set
//     this package owns;
//   - reason of isoagent_revision_refusals_total and
//     isoagent_revision_refused_info: gitverify.Reasons;
//   - kind of isoagent_condition: reconcile.EngineConditionTypes; of
//     isoagent_container_conditions: reconcile.ContainerConditionTypes.
//
// A value outside its set is recorded under Other rather than dropped: the
// observation still counts in sums such as sum(isoagent_reconcile_total), and
// a series labelled "other" on a dashboard points at the caller that passed
// an unexpected value. Other is not pre-initialised.
const Other = "other"

// Spec file states (isoagent_spec_files).
const (
	FileValid   = "valid"
	FileInvalid = "invalid"
)

// labelSets holds the fixed sets of label values, taken from their owners
// once per Metrics.
type labelSets struct {
	reconcileResults []string
	actionResults    []string
	actions          []string
	operations       []string
	isolations       []string
	infoIsolations   []string
	states           []string
	reasons          []string
	triggers         []string
	fileStates       []string
	skus             []string
	drivers          []string
	pullReasons      []string
	refusalReasons   []string
	// engineConditions and containerConditions are the kinds of
	// isoagent_condition and isoagent_container_conditions.
	engineConditions    []string
	containerConditions []string
}

func newLabelSets() labelSets {
	isolations := values(driver.Isolations())
	return labelSets{
		reconcileResults: values(reconcile.Outcomes()),
		actionResults:    values([]reconcile.Outcome{reconcile.OutcomeSuccess, reconcile.OutcomeError}),
		actions:          values(reconcile.StepKinds()),
		operations:       values(driver.Ops()),
		isolations:       isolations,
		infoIsolations:   append(slices.Clone(isolations), string(spec.IsolationDefault)),
		states:           values(reconcile.States()),
		reasons:          values(reconcile.RefusalReasons()),
		triggers:         values(spec.Triggers()),
		fileStates:       []string{FileValid, FileInvalid},
		skus:             values(driver.SKUs()),
		drivers:          driver.Names(),
		pullReasons:      registry.Reasons(),
		refusalReasons:   values(gitverify.Reasons()),

		engineConditions:    values(reconcile.EngineConditionTypes()),
		containerConditions: values(reconcile.ContainerConditionTypes()),
	}
}

// values converts a list of typed label values to strings.
func values[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// known returns v when set holds it and Other otherwise.
func known[T ~string](set []string, v T) string {
	if slices.Contains(set, string(v)) {
		return string(v)
	}
	return Other
}
