package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestServiceInstallArgsBuildTheRunCommand(t *testing.T) {
	abs := func(p string) string {
		t.Helper()
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	tests := []struct {
		name     string
		args     []string
		wantArgs []string
		wantDeps []string
	}{
		{
			name:     "run flags pass through after run",
			args:     []string{"--dir", abs("specs"), "--workers", "8", "--label", "role=web", "--label", "zone=a"},
			wantArgs: []string{"run", "--dir", abs("specs"), "--workers", "8", "--label", "role=web", "--label", "zone=a"},
			wantDeps: []string{"vmcompute", "hns"},
		},
		{
			name:     "relative paths become absolute in every flag form",
			args:     []string{"-dir", "specs", "--log-file=logs/agent.log", "-sim-dir=sim", "--policy", "policy.yaml"},
			wantArgs: []string{"run", "-dir", abs("specs"), "--log-file=" + abs("logs/agent.log"), "--sim-dir=" + abs("sim"), "--policy", abs("policy.yaml")},
			wantDeps: []string{"vmcompute", "hns"},
		},
		{
			name:     "the sim driver needs no HCS services",
			args:     []string{"--dir=" + abs("specs"), "--driver", "sim"},
			wantArgs: []string{"run", "--dir=" + abs("specs"), "--driver", "sim"},
		},
		{
			name:     "the hcs driver depends on vmcompute and hns",
			args:     []string{"--dir=" + abs("specs"), "--driver=hcs", "--log-level", "debug"},
			wantArgs: []string{"run", "--dir=" + abs("specs"), "--driver=hcs", "--log-level", "debug"},
			wantDeps: []string{"vmcompute", "hns"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, deps, err := serviceInstallArgs(tt.args, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(args, tt.wantArgs) {
				t.Errorf("args:\n got %q\nwant %q", args, tt.wantArgs)
			}
			if !reflect.DeepEqual(deps, tt.wantDeps) {
				t.Errorf("dependencies: got %q, want %q", deps, tt.wantDeps)
			}
		})
	}
}

func TestServiceInstallRejectsWhatRunWouldReject(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no spec folder", []string{"--workers", "2"}, "--dir is required"},
		{"once makes no service", []string{"--dir", "specs", "--once"}, "--once"},
		{"bad log level", []string{"--dir", "specs", "--log-level", "loud"}, "--log-level"},
		{"bad log format", []string{"--dir", "specs", "--log-format", "xml"}, "--log-format"},
		{"unknown flag", []string{"--dir", "specs", "--colour"}, "colour"},
		{"stray argument", []string{"--dir", "specs", "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			_, _, err := serviceInstallArgs(tt.args, &stderr)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := err.Error() + stderr.String(); !strings.Contains(got, tt.want) {
				t.Errorf("error %q does not mention %q", got, tt.want)
			}
		})
	}
}

func TestAbsPathFlagsLeavesOtherArgumentsAlone(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	for _, name := range []string{"dir", "log-file", "label", "listen"} {
		fs.String(name, "", "")
	}
	fs.Bool("once", false, "")
	in := []string{"--label", "dir", "--dir", "specs", "--once", "-log-file=", "--listen", "--dir", "--", "--dir", "late"}
	if err := fs.Parse(in); err != nil {
		t.Fatal(err)
	}
	abs := func(p string) (string, error) { return `C:\work\` + p, nil }
	got, err := absPathFlags(fs, in, []string{"dir", "log-file"}, abs)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"--label", "dir", "--dir", `C:\work\specs`, "--once", "--log-file=", "--listen", "--dir", "--", "--dir", "late"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if in[3] != "specs" {
		t.Errorf("the input was changed: %q", in)
	}
}

// fakeServices records what the service subcommands ask of the service
// manager.
type fakeServices struct {
	calls    []string
	spec     serviceSpec
	deadline bool // every timed call had a deadline
	status   serviceStatus
	err      error
}

func (f *fakeServices) record(call string) error {
	f.calls = append(f.calls, call)
	return f.err
}

// timed records a call that waits, and whether it waits with a deadline.
func (f *fakeServices) timed(ctx context.Context, call string) error {
	_, f.deadline = ctx.Deadline()
	return f.record(call)
}

func (f *fakeServices) Install(s serviceSpec) error {
	f.spec = s
	return f.record("install")
}
func (f *fakeServices) Uninstall(ctx context.Context) error { return f.timed(ctx, "uninstall") }
func (f *fakeServices) Start(ctx context.Context) error     { return f.timed(ctx, "start") }
func (f *fakeServices) Stop(ctx context.Context) error      { return f.timed(ctx, "stop") }
func (f *fakeServices) Status() (serviceStatus, error)      { return f.status, f.record("status") }
func (f *fakeServices) Close() error                        { return f.record("close") }

func TestServiceCommandsDriveTheServiceManager(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tests := []struct {
		args      []string
		wantCalls []string
		wantOut   string
	}{
		{[]string{"install", "--dir", dir, "--driver", "sim"}, []string{"install", "close"}, "installed the isoagent service"},
		{[]string{"start"}, []string{"start", "close"}, "isoagent is running"},
		{[]string{"stop", "--timeout", "5s"}, []string{"stop", "close"}, "containers are left running"},
		{[]string{"uninstall"}, []string{"uninstall", "close"}, "uninstalled"},
		{[]string{"status"}, []string{"status", "close"}, "state:      running (pid 42)"},
	}
	for _, tt := range tests {
		t.Run(tt.args[0], func(t *testing.T) {
			f := &fakeServices{status: serviceStatus{State: "running", PID: 42}}
			var stdout, stderr bytes.Buffer
			code := serviceCommand(tt.args, &stdout, &stderr, func(io.Writer) (serviceManager, error) { return f, nil })
			if code != exitOK {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
			}
			if !reflect.DeepEqual(f.calls, tt.wantCalls) {
				t.Errorf("calls %q, want %q", f.calls, tt.wantCalls)
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("stdout does not say %q:\n%s", tt.wantOut, stdout.String())
			}
			switch tt.args[0] {
			case "install":
				want := serviceSpec{Exe: exe, Args: []string{"run", "--dir", dir, "--driver", "sim"}}
				if !reflect.DeepEqual(f.spec, want) {
					t.Errorf("registered %+v, want %+v", f.spec, want)
				}
			case "start", "stop", "uninstall":
				if !f.deadline {
					t.Errorf("%s waits without a deadline", tt.args[0])
				}
			}
		})
	}
}

func TestServiceCommandsReportMistakes(t *testing.T) {
	managerErr := errors.New("access is denied: run this from an elevated PowerShell")
	tests := []struct {
		name     string
		args     []string
		openErr  error
		callErr  error
		wantCode int
		want     string
	}{
		{"no command", nil, nil, nil, exitUsage, "usage: isoagent service"},
		{"help", []string{"-h"}, nil, nil, exitOK, "usage: isoagent service"},
		{"unknown command", []string{"restart"}, nil, nil, exitUsage, `unknown command "restart"`},
		{"bad run flags are caught before the manager", []string{"install", "--workers", "2"}, errors.New("must not be opened"), nil, exitUsage, "--dir is required"},
		{"stray argument", []string{"stop", "now"}, nil, nil, exitUsage, "unexpected arguments"},
		{"manager refuses", []string{"start"}, managerErr, nil, exitUsage, "isoagent service start: access is denied: run this from an elevated PowerShell"},
		{"operation fails", []string{"uninstall"}, nil, errors.New("the isoagent service is not installed"), exitUsage, "isoagent service uninstall: the isoagent service is not installed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeServices{err: tt.callErr}
			var stdout, stderr bytes.Buffer
			code := serviceCommand(tt.args, &stdout, &stderr, func(io.Writer) (serviceManager, error) {
				if tt.openErr != nil {
					return nil, tt.openErr
				}
				return f, nil
			})
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

func TestServiceStatusShowsEveryField(t *testing.T) {
	var b bytes.Buffer
	printServiceStatus(&b, serviceStatus{
		State:        "stopped",
		ExitCode:     2,
		StartType:    "automatic (delayed)",
		Account:      "LocalSystem",
		Command:      `"C:\Program Files\isoagent\isoagent.exe" run --dir C:\ProgramData\isoagent\specs`,
		Dependencies: []string{"vmcompute", "hns"},
	})
	want := `service:    isoagent
state:      stopped (last exit code 2)
start:      automatic (delayed)
account:    LocalSystem
command:    "C:\Program Files\isoagent\isoagent.exe" run --dir C:\ProgramData\isoagent\specs
depends on: vmcompute, hns
on failure: -
logs:       Event Log, Application, source isoagent (Get-WinEvent -ProviderName isoagent -MaxEvents 20)
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestServiceIsListedInUsage(t *testing.T) {
	var stderr bytes.Buffer
	dispatch([]string{"help"}, io.Discard, &stderr)
	if !strings.Contains(stderr.String(), "service ") {
		t.Errorf("usage does not list service:\n%s", stderr.String())
	}
}

// The stop timeout is a flag; a bad one is a usage error, not a hang.
func TestServiceStopTimeoutFlag(t *testing.T) {
	var stderr bytes.Buffer
	code := serviceCommand([]string{"stop", "--timeout", "soon"}, io.Discard, &stderr, func(io.Writer) (serviceManager, error) {
		t.Fatal("manager opened despite a bad flag")
		return nil, nil
	})
	if code != exitUsage || !strings.Contains(stderr.String(), "timeout") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}
