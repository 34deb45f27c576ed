//go:build windows

package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
)

// serviceEvents is an eventWriter, safe for the agent's goroutines, that keeps what the service would write
// to the Event Log (Wine's ReportEvent is a stub: nothing can be read
// back there).
type serviceEvents struct {
	mu     sync.Mutex
	events []serviceEvent
	added  chan struct{}
}

type serviceEvent struct {
	kind string // Information, Warning, Error
	id   uint32
	text string
}

func (r *serviceEvents) add(kind string, id uint32, text string) error {
	r.mu.Lock()
	r.events = append(r.events, serviceEvent{kind, id, text})
	r.mu.Unlock()
	select {
	case r.added <- struct{}{}:
	default:
	}
	return nil
}

func (r *serviceEvents) Info(id uint32, msg string) error    { return r.add("Information", id, msg) }
func (r *serviceEvents) Warning(id uint32, msg string) error { return r.add("Warning", id, msg) }
func (r *serviceEvents) Error(id uint32, msg string) error   { return r.add("Error", id, msg) }

// find returns the first event whose text has every one of parts.
func (r *serviceEvents) find(parts ...string) (serviceEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
next:
	for _, e := range r.events {
		for _, p := range parts {
			if !strings.Contains(e.text, p) {
				continue next
			}
		}
		return e, true
	}
	return serviceEvent{}, false
}

// The crash report of a container that exits unexpectedly reaches the
// Event Log as the service writes it: one Warning event with the
// container, its exit code and reason, and its last lines of output (read
// from the run its monitor kept).
func TestServiceEventLogCarriesTheCrashReport(t *testing.T) {
	specs, simDir := t.TempDir(), t.TempDir()
	t.Cleanup(func() { endSimRuns(t, simDir) })
	testutil.WriteSpec(t, specs, "crasher.yaml", "crasher", "mcr.microsoft.com/windows/servercore:ltsc2022",
		`command: ['powershell', '-c', 'Write-Output starting; Write-Error boom; exit 3']`, "restartPolicy: never")
	fs := newFlagSet("run", runUsage, io.Discard)
	var cfg agentConfig
	cfg.register(fs)
	if err := fs.Parse([]string{"--dir", specs, "--driver", "sim", "--sim-dir", simDir, "--listen="}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.check(fs); err != nil {
		t.Fatal(err)
	}
	events := &serviceEvents{added: make(chan struct{}, 1)}
	// The service's handler, as serviceLogger builds it over the Event Log.
	logger := slog.New(newEventHandler(events, slog.LevelInfo))
	a, err := openAgent(t.Context(), cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	defer func() {
		stop()
		<-done
		a.Close()
	}()

	want := []string{"container exited", "spec=crasher", "exit_code=3", "reason=failed", "last_lines=", "starting", "boom"}
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		if e, ok := events.find(want...); ok {
			if e.kind != "Warning" || e.id != eventIDWarning {
				t.Errorf("the crash report is a %s event %d, want a Warning (%d): %s", e.kind, e.id, eventIDWarning, e.text)
			}
			return
		}
		select {
		case <-events.added:
		case <-deadline.C:
			events.mu.Lock()
			defer events.mu.Unlock()
			t.Fatalf("no Event Log entry has %q; the events:\n%+v", want, events.events)
		}
	}
}
