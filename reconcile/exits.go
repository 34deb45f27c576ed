package reconcile

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/monitor"
)

// ExitReason says how a container's init process ended, as status and
// the isoagent_container_exits_total metric tell it.
type ExitReason string

// Exit reasons.
const (
	ExitCompleted ExitReason = "completed" // exit code 0, by itself
	ExitFailed    ExitReason = "failed"    // another exit code, by itself or killed
	ExitStopped   ExitReason = "stopped"   // the agent stopped it (a change, a prune, a restart)
	ExitUnknown   ExitReason = "unknown"   // its exit code is not known
)

// ExitReasons returns every ExitReason.
func ExitReasons() []ExitReason {
	return []ExitReason{ExitCompleted, ExitFailed, ExitStopped, ExitUnknown, ExitUnhealthy}
}

// crashLines is how many of its last lines of output a crash report
// carries.
const crashLines = 20

// LastExit is how a container's last run ended.
type LastExit struct {
	ContainerID string     `json:"containerID"`
	Code        int        `json:"code"`
	At          time.Time  `json:"at,omitzero"`
	Reason      ExitReason `json:"reason"`
	// LastLines is the end of what the run printed, when the driver keeps
	// output (driver.RunKeeper).
	LastLines []string `json:"lastLines,omitempty"`
}

// ExitObserver is an Observer that is also told of every exit of a
// container's init process, once, for metrics.
type ExitObserver interface {
	Exited(name string, e LastExit)
}

// exits notices the exits of the containers the engine owns, whoever
// learnt of them (a driver's report, a relist, a step of its own), and
// keeps the last one per name. An exit the agent did not cause is a crash
// report: logged with its code and last lines of output.
type exits struct {
	log  *slog.Logger
	obs  Observer
	runs driver.RunKeeper // nil when the driver keeps no output

	mu       sync.Mutex
	last     map[string]LastExit // by name
	stopping map[string]bool     // container IDs the agent stopped, until they run again
	// reasons are why the agent stopped a container, when not a change
	// (ExitUnhealthy), by container ID, as long as stopping has it.
	reasons map[string]ExitReason
}

func newExits(log *slog.Logger, obs Observer, d driver.Driver) *exits {
	x := &exits{log: log, obs: obs, last: make(map[string]LastExit), stopping: make(map[string]bool), reasons: make(map[string]ExitReason)}
	x.runs, _ = d.(driver.RunKeeper)
	return x
}

// expect notes that the agent is about to stop container id: its exit is
// no crash.
func (x *exits) expect(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stopping[id] = true
}

// expectReason is expect for a stop whose exit has reason (such as
// ExitUnhealthy): not a crash, nor a change.
func (x *exits) expectReason(id string, reason ExitReason) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.stopping[id] = true
	x.reasons[id] = reason
}

// written is the host cache's hook: it is called with a name's list
// before and after every write, under the cache's lock, so it only takes
// note; the report is made apart. An exit is reported once: when a
// container the cache had running, or did not have, is exited; a later
// look at the same exit (the driver's code and time after the agent's own
// note of a stop) only corrects what is kept.
func (x *exits) written(name string, old, list []driver.Container) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, o := range old {
		if !slices.ContainsFunc(list, func(c driver.Container) bool { return c.ID == o.ID }) {
			delete(x.stopping, o.ID)
			delete(x.reasons, o.ID)
		}
	}
	for _, c := range list {
		if c.State == driver.StateRunning {
			delete(x.stopping, c.ID)
			delete(x.reasons, c.ID)
			continue
		}
		if c.State != driver.StateExited {
			continue
		}
		i := slices.IndexFunc(old, func(o driver.Container) bool { return o.ID == c.ID })
		e := LastExit{ContainerID: c.ID, Code: c.ExitCode, At: c.FinishedAt, Reason: exitReason(c.ExitCode, x.stopping[c.ID])}
		if r, ok := x.reasons[c.ID]; ok {
			e.Reason = r
		}
		if i >= 0 && old[i].State == driver.StateExited {
			if cur, ok := x.last[name]; ok && cur.ContainerID == c.ID {
				cur.Code, cur.At, cur.Reason = e.Code, e.At, e.Reason
				x.last[name] = cur
			}
			continue
		}
		x.last[name] = e
		go x.report(name, c, e, i >= 0)
	}
}

func exitReason(code int, stopped bool) ExitReason {
	switch {
	case stopped:
		return ExitStopped
	case code == monitor.ExitUnknown:
		return ExitUnknown
	case code == 0:
		return ExitCompleted
	}
	return ExitFailed
}

// report reads the run's last lines, keeps them with the exit, tells the
// observer and, for an exit the agent did not cause, logs a crash report.
func (x *exits) report(name string, c driver.Container, e LastExit, seenRunning bool) {
	if x.runs != nil {
		if runs, err := x.runs.Runs(c.ID); err == nil && len(runs) > 0 {
			e.LastLines, _ = monitor.Tail(runs[len(runs)-1], crashLines)
		}
	}
	x.mu.Lock()
	if cur, ok := x.last[name]; ok && cur.ContainerID == e.ContainerID {
		cur.LastLines = e.LastLines
		x.last[name] = cur
	}
	x.mu.Unlock()
	if o, ok := x.obs.(ExitObserver); ok {
		o.Exited(name, e)
	}
	if e.Reason == ExitStopped {
		return
	}
	msg, level := "container exited", slog.LevelWarn
	if !seenRunning {
		msg = "container found exited"
	}
	if e.Reason == ExitCompleted {
		level = slog.LevelInfo
	}
	attrs := []any{"spec", name, "id", c.ID, "exit_code", e.Code, "reason", e.Reason, "finished_at", e.At}
	if len(e.LastLines) > 0 {
		attrs = append(attrs, "last_lines", strings.Join(e.LastLines, "\n"))
	}
	x.log.Log(context.Background(), level, msg, attrs...)
}

// views returns the last exit of each name.
func (x *exits) views() map[string]LastExit {
	x.mu.Lock()
	defer x.mu.Unlock()
	m := make(map[string]LastExit, len(x.last))
	for k, v := range x.last {
		m[k] = v
	}
	return m
}
