// Package health probes containers as their health checks say and keeps
// what the probes found, with Docker's meaning: a container is starting
// until a probe passes, healthy while they pass, and unhealthy after
// Retries failures in a row; failures within StartPeriod of the start do
// not count until a probe has passed.
//
// A Check is the effective health check of a container: its spec's
// (FromSpec), or its image's HEALTHCHECK (FromImage). A Prober runs one
// probe: exec inside the container through the driver's driver.Execer,
// tcp and http from the host to the container's endpoint address as the
// driver's driver.Addresser tells it, never through a host port. Status
// applies results; Loop probes one container run at its interval, timed
// by an injected Clock, until its context ends. The package starts no
// goroutine of its own and holds no global state.
package health

import (
	"fmt"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// State is a container's health.
type State string

// Health states, as Docker names them.
const (
	Starting  State = "starting"
	Healthy   State = "healthy"
	Unhealthy State = "unhealthy"
)

// Kind is how a check probes.
type Kind string

// Probe kinds.
const (
	KindExec Kind = "exec"
	KindTCP  Kind = "tcp"
	KindHTTP Kind = "http"
)

// Kinds returns every Kind, for pre-initialising metric series.
func Kinds() []Kind { return []Kind{KindExec, KindTCP, KindHTTP} }

// Bounds of what a status keeps, Docker's: the last five results, each
// output cut at 4 KiB.
const (
	MaxResults   = 5
	MaxOutputLen = 4096
)

// Check is an effective health check.
type Check struct {
	Kind Kind `json:"kind"`
	// Command is what an exec check runs in the container.
	Command []string `json:"command,omitempty"`
	// Port is what a tcp or http check reaches; Path an http check's
	// path and query.
	Port int    `json:"port,omitempty"`
	Path string `json:"path,omitempty"`
	// Interval, Timeout, Retries and StartPeriod have Docker's meaning;
	// they are never zero but StartPeriod.
	Interval    time.Duration `json:"interval"`
	Timeout     time.Duration `json:"timeout"`
	Retries     int           `json:"retries"`
	StartPeriod time.Duration `json:"startPeriod,omitempty"`
	// FromImage says that the image's HEALTHCHECK gave it.
	FromImage bool `json:"fromImage,omitempty"`
}

// String describes c in a few words: "http :80/healthz every 30s".
func (c Check) String() string {
	var what string
	switch c.Kind {
	case KindExec:
		what = "exec " + strings.Join(c.Command, " ")
	case KindTCP:
		what = fmt.Sprintf("tcp :%d", c.Port)
	case KindHTTP:
		what = fmt.Sprintf("http :%d%s", c.Port, c.Path)
	}
	return fmt.Sprintf("%s every %s", what, c.Interval)
}

// FromSpec returns the check h says, with defaults for what it leaves
// out; ok is false when h has no probe (none written, or disable).
func FromSpec(h spec.HealthCheck) (c Check, ok bool) {
	if h.Disable || !h.HasProbe() {
		return Check{}, false
	}
	h = h.WithDefaults()
	c = Check{Interval: time.Duration(h.Interval), Timeout: time.Duration(h.Timeout), Retries: h.Retries, StartPeriod: time.Duration(h.StartPeriod)}
	switch {
	case len(h.Exec) > 0:
		c.Kind, c.Command = KindExec, h.Exec
	case h.TCP.Port != 0:
		c.Kind, c.Port = KindTCP, h.TCP.Port
	default:
		c.Kind, c.Port, c.Path = KindHTTP, h.HTTP.Port, h.HTTP.Path
	}
	return c, true
}

// FromImage returns the check an image's HEALTHCHECK says, as Docker
// runs it on Windows: CMD as it is, CMD-SHELL through cmd /S /C; ok is
// false for none, NONE, or a test Docker would not run.
func FromImage(h *driver.ImageHealthcheck) (c Check, ok bool) {
	if h == nil || len(h.Test) == 0 {
		return Check{}, false
	}
	var cmd []string
	switch h.Test[0] {
	case "CMD":
		cmd = h.Test[1:]
	case "CMD-SHELL":
		cmd = []string{"cmd", "/S", "/C", strings.Join(h.Test[1:], " ")}
	default: // NONE, and what Docker refuses
		return Check{}, false
	}
	if len(cmd) == 0 {
		return Check{}, false
	}
	c = Check{Kind: KindExec, Command: cmd, Interval: h.Interval, Timeout: h.Timeout, Retries: h.Retries, StartPeriod: h.StartPeriod, FromImage: true}
	if c.Interval <= 0 {
		c.Interval = time.Duration(spec.DefaultHealthInterval)
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Duration(spec.DefaultHealthTimeout)
	}
	if c.Retries <= 0 {
		c.Retries = spec.DefaultHealthRetries
	}
	c.StartPeriod = max(c.StartPeriod, 0)
	return c, true
}

// Effective returns the check a container runs: its spec's, else, unless
// the spec disables it, its image's; ok is false for none.
func Effective(h spec.HealthCheck, image *driver.ImageHealthcheck) (Check, bool) {
	if c, ok := FromSpec(h); ok {
		return c, true
	}
	if h.Disable {
		return Check{}, false
	}
	return FromImage(image)
}

// Result is one probe's outcome.
type Result struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// OK says the probe passed. ExitCode is an exec probe's, or 0 for a
	// pass and 1 for a failure of the others, as Docker reports them.
	OK       bool `json:"ok"`
	ExitCode int  `json:"exitCode"`
	// Output is what the probe printed or found (a status line, an
	// error), at most MaxOutputLen bytes.
	Output string `json:"output"`
}

// Status is what the probes of one container run found.
type Status struct {
	State State `json:"state"`
	// FailingStreak is the failures in a row that count.
	FailingStreak int `json:"failingStreak"`
	// Since is when State last changed (the run's start at first).
	Since time.Time `json:"since"`
	// Log are the last results, oldest first.
	Log []Result `json:"log,omitempty"`
	// passed says a probe has passed in this run, which ends the start
	// period.
	passed bool
}

// NewStatus is the status of a run that started at started.
func NewStatus(started time.Time) Status { return Status{State: Starting, Since: started} }

// Record applies r, a result of check c for a run that started at
// started, and reports whether the state changed.
func (s *Status) Record(c Check, started time.Time, r Result) bool {
	r.Output = truncate(r.Output)
	s.Log = append(s.Log, r)
	if len(s.Log) > MaxResults {
		s.Log = append(s.Log[:0:0], s.Log[len(s.Log)-MaxResults:]...)
	}
	old := s.State
	switch {
	case r.OK:
		s.passed = true
		s.FailingStreak = 0
		s.State = Healthy
	case !s.passed && r.Start.Before(started.Add(c.StartPeriod)):
		// A failure within the start period does not count.
	default:
		s.FailingStreak++
		if s.FailingStreak >= c.Retries {
			s.State = Unhealthy
		}
	}
	if s.State != old {
		s.Since = r.End
		return true
	}
	return false
}

// Last returns the last result; ok is false before the first.
func (s Status) Last() (Result, bool) {
	if len(s.Log) == 0 {
		return Result{}, false
	}
	return s.Log[len(s.Log)-1], true
}

// Clone returns a copy of s that shares nothing with it.
func (s Status) Clone() Status {
	s.Log = append([]Result(nil), s.Log...)
	return s
}

// truncate cuts s to MaxOutputLen bytes, dropping a UTF-8 sequence the
// cut splits.
func truncate(s string) string {
	if len(s) <= MaxOutputLen {
		return s
	}
	return strings.ToValidUTF8(s[:MaxOutputLen], "")
}
