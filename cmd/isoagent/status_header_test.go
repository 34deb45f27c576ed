package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// TestStatusHeaderIsTruthful pins the first lines of `isoagent status`:
// converged says how many specs meant for this host are rejected and
// how many files invalid, the engine-wide conditions come next, before
// the table, and the specs meant for other hosts are left out unless
// asked for.
func TestStatusHeaderIsTruthful(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	policy := &reconcile.Rejection{Reason: reconcile.ReasonPolicy, Field: "spec.ports[0]", Message: "host port 8443/tcp is not allowed"}
	running := reconcile.ContainerStatus{Name: "web", State: reconcile.StateRunning, EffectiveIsolation: "process", Image: "iis:ltsc2022"}
	gpu := reconcile.ContainerStatus{Name: "render-worker", State: reconcile.StateElsewhere, RequestedIsolation: "process",
		Rejection: &reconcile.Rejection{Reason: reconcile.ReasonNotForThisHost, Field: "spec.hosts", Message: `host "VM" matches none of ["GPU-*"]`}}
	tests := []struct {
		name       string
		st         reconcile.Status
		view       statusView
		header     string
		want, lack []string
	}{
		{
			name:   "converged on every spec",
			st:     reconcile.Status{Converged: true, Containers: []reconcile.ContainerStatus{running}},
			header: ": converged",
		},
		{
			name: "converged with rejected specs and an invalid file",
			st: reconcile.Status{Converged: true,
				Containers: []reconcile.ContainerStatus{running,
					{Name: "api", State: reconcile.StateRejected, Source: spec.Source{File: "specs/api.yaml", Line: 1}, Rejection: policy},
					{Name: "old", State: reconcile.StateRejected, Rejection: &reconcile.Rejection{Reason: reconcile.ReasonVersionMismatch, Message: "no"}, ContainerID: "old-1"},
				},
				Files: []reconcile.FileStatus{{Path: "specs/broken.yaml", Errors: []string{"specs/broken.yaml:3:1: bad"}}},
			},
			header: ": converged, 2 rejected, 1 invalid",
		},
		{
			name: "a losing duplicate is rejected too",
			st: reconcile.Status{Converged: true, Containers: []reconcile.ContainerStatus{running},
				Conflicts: []spec.Conflict{{Name: "web", Loser: spec.Source{File: "b.yaml", Line: 1}, Winner: spec.Source{File: "a.yaml", Line: 1}}}},
			header: ": converged, 1 rejected",
		},
		{
			name: "engine-wide conditions first",
			st: reconcile.Status{Converged: true, Containers: []reconcile.ContainerStatus{running},
				Conditions: []reconcile.Condition{{Type: reconcile.CondEmptyIgnored, Message: "the folder declares no specs"}}},
			header: ": converged",
			want:   []string{"\nEmptyFolderIgnored: the folder declares no specs\nNAME "},
		},
		{
			name:   "a spec meant for other hosts is no refusal, and hidden",
			st:     reconcile.Status{Converged: true, Containers: []reconcile.ContainerStatus{running, gpu}},
			header: ": converged",
			want:   []string{"1 spec for other hosts not shown (--all shows them)"},
			lack:   []string{"render-worker", "not-for-this-host"},
		},
		{
			name:   "--all shows it, as elsewhere",
			st:     reconcile.Status{Converged: true, Containers: []reconcile.ContainerStatus{running, gpu}},
			view:   statusView{all: true},
			header: ": converged",
			want:   []string{"render-worker", "elsewhere", "not-for-this-host"},
			lack:   []string{"not shown"},
		},
		{
			name:   "not converged",
			st:     reconcile.Status{Containers: []reconcile.ContainerStatus{{Name: "api", State: reconcile.StateRejected, Rejection: policy}}},
			header: ": NOT converged, 1 rejected",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			printStatusView(&b, tt.st, now, tt.view)
			out := b.String()
			first, _, _ := strings.Cut(out, "\n")
			if !strings.HasSuffix(first, tt.header) {
				t.Errorf("header %q, want it to end in %q", first, tt.header)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("status lacks %q:\n%s", w, out)
				}
			}
			for _, l := range tt.lack {
				if strings.Contains(out, l) {
					t.Errorf("status has %q:\n%s", l, out)
				}
			}
		})
	}
}

// TestBackoffNote pins the NOTE of a container waiting out its crash
// backoff: how it exited and when it is restarted, not a bare condition.
func TestBackoffNote(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	one := 1
	crash := []reconcile.Condition{{Type: reconcile.CondCrashLoop, Message: "restarted 5 times; next restart at ..."}}
	tests := []struct {
		name string
		c    reconcile.ContainerStatus
		want string
	}{
		{"restart due in 40s", reconcile.ContainerStatus{State: reconcile.StateExited, ExitCode: &one, RestartCount: 5, NextRestart: now.Add(40 * time.Second), Conditions: crash},
			"exited 1, restart in 40s (restarted 5 times)"},
		{"restart due now", reconcile.ContainerStatus{State: reconcile.StateExited, ExitCode: &one, RestartCount: 1, NextRestart: now.Add(-time.Second), Conditions: crash},
			"exited 1, restart due now (restarted 1 time)"},
		{"an older agent that does not tell when", reconcile.ContainerStatus{State: reconcile.StateExited, LastExit: &reconcile.LastExit{Code: 3}, Conditions: crash},
			"exited 3, CrashLoopBackOff"},
	}
	for _, tt := range tests {
		if got := note(tt.c, now); got != tt.want {
			t.Errorf("%s: note %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestKeptRunningNote pins that the NOTE of a refused spec whose
// container is kept says which container and whose spec to fix, not
// only the condition's type: for a spec sharing a refused spec's
// network, the fix is to the other spec.
func TestKeptRunningNote(t *testing.T) {
	msg := "container portal-logs-7778 (running) is left as it is, in the network of portal's container portal-fe5d (running), which is kept while portal's spec is rejected (policy); fix portal's spec, not this one"
	c := reconcile.ContainerStatus{Name: "portal-logs", State: reconcile.StateRejected,
		Rejection:  &reconcile.Rejection{Reason: reconcile.ReasonUnsupported, Field: "spec.network.mode", Message: "cannot share the network of portal: its spec is rejected (policy)"},
		Conditions: []reconcile.Condition{{Type: reconcile.CondKeptRunning, Message: msg}}}
	if got := note(c, time.Now()); !strings.HasSuffix(got, "; "+msg) {
		t.Errorf("note %q, want it to end in the KeptRunning message", got)
	}
}

// TestReportConvergence pins what wait prints and exits with once the
// agent converged: 0 with nothing refused; 1 naming each rejected spec
// (name, file, reason, message) and invalid file, unless allowRejected;
// the engine-wide conditions in any case.
func TestReportConvergence(t *testing.T) {
	rejected := reconcile.Refusal{Name: "old", Source: spec.Source{File: "specs/old.yaml", Line: 1}, Reason: reconcile.ReasonVersionMismatch, Field: "spec.image", Message: "build 17763 cannot run here"}
	invalid := reconcile.FileStatus{Path: "specs/bad.yaml", Errors: []string{"specs/bad.yaml:3:1: spec.image: required", "specs/bad.yaml:4:1: x"}}
	empty := reconcile.Condition{Type: reconcile.CondEmptyIgnored, Message: "specs declares no containers"}
	tests := []struct {
		name           string
		c              reconcile.Convergence
		allow          bool
		code           int
		stdout, stderr []string
	}{
		{"clean", reconcile.Convergence{Converged: true, Specs: 2, Revision: "abc"}, false, exitOK,
			[]string{"converged: 2 specs, revision abc\n"}, nil},
		{"a condition is told, not failed on", reconcile.Convergence{Converged: true, Conditions: []reconcile.Condition{empty}}, false, exitOK,
			[]string{"converged: 0 specs, revision -\nEmptyFolderIgnored: specs declares no containers\n"}, nil},
		{"rejected and invalid", reconcile.Convergence{Converged: true, Specs: 2, Rejected: []reconcile.Refusal{rejected}, InvalidFiles: []reconcile.FileStatus{invalid}}, false, exitProblem,
			[]string{"converged: 2 specs, revision -, 1 rejected, 1 invalid\n"},
			[]string{"  rejected old (specs/old.yaml:1): version-mismatch: spec.image: build 17763 cannot run here\n", "  invalid specs/bad.yaml: specs/bad.yaml:3:1: spec.image: required (and 1 more)\n", "--allow-rejected"}},
		{"allowed", reconcile.Convergence{Converged: true, Specs: 2, Rejected: []reconcile.Refusal{rejected}}, true, exitOK,
			[]string{"converged: 2 specs, revision -, 1 rejected\n", "  rejected old (specs/old.yaml:1)"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := reportConvergence(&out, &errOut, tt.c, tt.allow); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
			if tt.stderr == nil && errOut.Len() > 0 {
				t.Errorf("stderr %q, want nothing", errOut.String())
			}
		})
	}
}
