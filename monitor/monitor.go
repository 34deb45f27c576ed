// Package monitor holds a container's init process the way conmon (Podman)
// and the containerd shims hold one: a small process of its own per run of
// a container (`isoagent monitor`), started by the agent, that creates the
// init process, owns its stdout and stderr, writes them to the run's CRI
// log (package crilog), and records the exit code and time when it ends.
// It outlives the agent (stopped, upgraded or killed), so a container's
// output and its exit code survive the agent; a new agent finds it again.
//
// The agent and the monitor talk through files in the run's folder
// (Layout), which only administrators may read (on Windows an ACL of
// SYSTEM and Administrators, elsewhere 0700/0600):
//
//	monitor.json   what to run: written by the driver before the start
//	monitor.lock   held by the monitor while it runs: its liveness
//	monitor.log    what the monitor itself has to say
//	started.json   the monitor's and the init process's PIDs, once started
//	exit.json      the exit code and time, written once at the end
//	container.log  the output (CRI format), rotated to container.log.N
//
// and, at start, through the monitor's standard output: one line saying
// whether the init process started (Start returns it), after which the
// monitor keeps to its files.
//
// The monitor always drains the process's output: a writer faster than
// the log file keeps up with loses output (counted, and said so in the
// log) rather than being blocked; rotation bounds the disk. What the
// process is comes from a Runtime: HCS's CreateProcess in a compute system
// (driver/hcs) or the simulated host acting out a command (driver/sim).
package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/isoagent/isoagent/crilog"
	"github.com/isoagent/isoagent/internal/atomicfile"
	"github.com/isoagent/isoagent/internal/safefile"
)

// Files of a run's folder.
const (
	ConfigFile  = "monitor.json"
	lockFile    = "monitor.lock"
	logFile     = "monitor.log"
	StartedFile = "started.json"
	ExitFile    = "exit.json"
	LogFile     = "container.log"
)

// Config is what a monitor runs, written by the driver into the run's
// folder before it starts the monitor.
type Config struct {
	// ID and Name are the container's; Run numbers its runs from 1.
	ID   string `json:"id"`
	Name string `json:"name"`
	Run  int    `json:"run"`
	// Runtime names the Runtime that makes the process ("sim", "hcs");
	// Process is that runtime's description of it.
	Runtime string          `json:"runtime"`
	Process json.RawMessage `json:"process,omitempty"`
	// LogMaxSize and LogMaxFiles bound the log (crilog's defaults when
	// zero).
	LogMaxSize  int64 `json:"logMaxSize,omitempty"`
	LogMaxFiles int   `json:"logMaxFiles,omitempty"`
	// LogBytesBefore is what the container's earlier runs wrote to their
	// logs, set by NewRun, so that the count survives their removal.
	LogBytesBefore int64 `json:"logBytesBefore,omitempty"`
}

// Started is what a monitor says once the init process runs.
type Started struct {
	MonitorPID int       `json:"monitorPid"`
	PID        int       `json:"pid"` // the init process's, as the host numbers it
	At         time.Time `json:"at"`
}

// Exit is how a run ended.
type Exit struct {
	Code int       `json:"code"`
	At   time.Time `json:"at"`
	// Dropped counts the bytes of output the log could not keep up with.
	Dropped int64 `json:"dropped,omitempty"`
	// Error says why the exit code is not known, when it is not (Code is
	// then -1).
	Error string `json:"error,omitempty"`
}

// ExitUnknown is the exit code of a process whose end no one saw.
const ExitUnknown = -1

// Errors.
var (
	// ErrNoExit: the monitor ended without recording an exit (it was
	// killed), or has not ended.
	ErrNoExit = errors.New("the monitor recorded no exit")
	// ErrRunning: another monitor holds the run.
	ErrRunning = errors.New("a monitor runs for this run already")
)

// Layout is where a state folder keeps its containers' runs:
// <dir>/runs/<container id>/<run>/.
type Layout struct{ Dir string }

// Root is the folder of every run.
func (l Layout) Root() string { return filepath.Join(l.Dir, "runs") }

// RunDir is the folder of run n of container id.
func (l Layout) RunDir(id string, n int) string {
	return filepath.Join(l.Root(), id, strconv.Itoa(n))
}

// Runs returns the folders of container id's runs, oldest first.
func (l Layout) Runs(id string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(l.Root(), id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ns []int
	for _, e := range entries {
		if n, err := strconv.Atoi(e.Name()); err == nil && n > 0 && e.IsDir() {
			ns = append(ns, n)
		}
	}
	slices.Sort(ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = l.RunDir(id, n)
	}
	return out, nil
}

// NewRun makes the folder of container id's next run (administrators
// only), deleting all but the keep newest earlier runs, and writes cfg
// into it with its Run and LogBytesBefore set. It returns the folder.
// The earlier runs must have ended.
func (l Layout) NewRun(id string, cfg Config, keep int) (string, error) {
	runs, err := l.Runs(id)
	if err != nil {
		return "", err
	}
	n := 1
	cfg.LogBytesBefore = 0
	if len(runs) > 0 {
		prev := runs[len(runs)-1]
		last, _ := strconv.Atoi(filepath.Base(prev))
		n = last + 1
		if cfg.LogBytesBefore, err = LogBytes(prev); err != nil {
			return "", fmt.Errorf("count the log of %s's last run: %w", id, err)
		}
	}
	for len(runs) > keep {
		if err := os.RemoveAll(runs[0]); err != nil {
			return "", fmt.Errorf("remove an old run of %s: %w", id, err)
		}
		runs = runs[1:]
	}
	if err := mkdirPrivate(l.Root()); err != nil {
		return "", err
	}
	dir := l.RunDir(id, n)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("run folder: %w", err)
	}
	cfg.ID, cfg.Run = id, n
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, ConfigFile), append(b, '\n'), 0o600); err != nil {
		return "", err
	}
	return dir, nil
}

// Remove deletes every run of container id.
func (l Layout) Remove(id string) error {
	if err := os.RemoveAll(filepath.Join(l.Root(), id)); err != nil {
		return fmt.Errorf("remove the runs of %s: %w", id, err)
	}
	return nil
}

// ReadConfig reads the config of the run in dir.
func ReadConfig(dir string) (Config, error) {
	var c Config
	return c, readJSON(filepath.Join(dir, ConfigFile), &c)
}

// ReadStarted reads what the monitor of the run in dir said at start;
// it wraps fs.ErrNotExist before then.
func ReadStarted(dir string) (Started, error) {
	var s Started
	return s, readJSON(filepath.Join(dir, StartedFile), &s)
}

// ReadExit reads how the run in dir ended; it wraps fs.ErrNotExist while
// it has not (or when its monitor died first).
func ReadExit(dir string) (Exit, error) {
	var e Exit
	return e, readJSON(filepath.Join(dir, ExitFile), &e)
}

func readJSON(path string, v any) error {
	b, err := safefile.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o600)
}

// LogPath is the log of the run in dir.
func LogPath(dir string) string { return filepath.Join(dir, LogFile) }

// LogBytes returns how many bytes of log entries the container of the run
// in dir has written, in that run and the runs before it, rotated away or
// not: the counter behind isoagent_container_log_bytes_total.
func LogBytes(dir string) (int64, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return 0, err
	}
	n, err := crilog.Written(LogPath(dir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	return cfg.LogBytesBefore + n, nil
}

// Tail returns the last n lines the run in dir printed.
func Tail(dir string, n int) ([]string, error) {
	lines, err := crilog.Tail(LogPath(dir), n)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return lines, err
}

// Ended reports whether the run in dir has ended: its exit is recorded,
// or its monitor is gone.
func Ended(dir string) bool {
	if _, err := ReadExit(dir); err == nil {
		return true
	}
	return !Alive(dir)
}

// Alive reports whether a monitor holds the run in dir.
func Alive(dir string) bool {
	held, err := lockHeld(filepath.Join(dir, lockFile))
	return err == nil && held
}
