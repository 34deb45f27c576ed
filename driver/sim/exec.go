package sim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.Execer = (*Driver)(nil)

// Exec implements driver.Execer: it acts out p.Command as scriptOf knows
// it, printing its lines when they are due, and also
//
//	cmd (without /c), with a stdin  runs each line read as `cmd /c LINE`,
//	                                until exit or the end of its input
//	more                            copies its stdin to its stdout
//	hostname                        prints the container's host name
//	curl [-f] http://localhost[:P]/ answers as the container's simserve
//	                                does (see servingOf), a probe
//
// A command that runs until stopped runs until ctx ends or the container
// stops; it is then terminated (exit code 1, as HCS ends a container's
// processes).
func (d *Driver) Exec(ctx context.Context, id string, p driver.ExecProcess) (int, error) {
	cfg, ok := d.model.config(d.owner, id)
	if !ok {
		return 0, fmt.Errorf("exec in %s: %w", id, driver.ErrNotFound)
	}
	ri, _, err := d.model.runOf(id)
	if err != nil {
		return 0, err
	}
	if ri.State != driver.StateRunning {
		return 0, fmt.Errorf("exec in %s: the container is %s, not running: %w", id, ri.State, driver.ErrInvalidState)
	}
	if len(p.Command) == 0 {
		return 0, fmt.Errorf("exec in %s: no command: %w", id, driver.ErrInvalidConfig)
	}
	running := func() bool {
		r, ok, err := d.model.runOf(id)
		return err == nil && ok && r.State == driver.StateRunning && r.StartedAt.Equal(ri.StartedAt)
	}
	stdout, stderr := p.Stdout, p.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || p.TTY {
		stderr = stdout
	}
	if code, ok := d.probeExec(id, ri, p.Command, stdout, stderr); ok {
		return code, nil
	}
	h := cfg.HostName
	if h == "" {
		h = cfg.Name
	}
	return ActExec(ctx, p, h, running)
}

// ActExec acts out p.Command as Exec does, in a container of host name
// hostName that runs while running reports true. The fake HCS of
// driver/hcs acts out the processes it creates in a running container
// with it.
func ActExec(ctx context.Context, p driver.ExecProcess, hostName string, running func() bool) (int, error) {
	if len(p.Command) == 0 {
		return 0, fmt.Errorf("exec: no command: %w", driver.ErrInvalidConfig)
	}
	stdout, stderr := p.Stdout, p.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil || p.TTY {
		stderr = stdout // a console has one output
	}
	switch name := program(p.Command[0]); {
	case name == "hostname":
		fmt.Fprintln(stdout, strings.ToUpper(hostName))
		return 0, nil
	case name == "more":
		if p.Stdin != nil {
			io.Copy(stdout, p.Stdin)
		}
		return 0, nil
	case name == "cmd" && !hasSwitch(p.Command[1:], "/c", "/k") && p.Stdin != nil:
		sc := bufio.NewScanner(p.Stdin)
		for sc.Scan() {
			s := cmdLine(sc.Text())
			code, err := play(ctx, s, stdout, stderr, running)
			if err != nil || strings.HasPrefix(strings.ToLower(strings.TrimSpace(sc.Text())), "exit") {
				return code, err
			}
		}
		return 0, nil
	}
	return play(ctx, scriptOf(p.Command), stdout, stderr, running)
}

func hasSwitch(args []string, names ...string) bool {
	for _, a := range args {
		for _, n := range names {
			if strings.EqualFold(a, n) {
				return true
			}
		}
	}
	return false
}

// play prints s's lines as they are due and returns its exit code once it
// exits, or 1 once running reports false or ctx ends.
func play(ctx context.Context, s script, stdout, stderr io.Writer, running func() bool) (int, error) {
	start := time.Now()
	from := time.Duration(0)
	for {
		now := time.Since(start)
		end := now + 1
		if s.exits && s.after < end {
			end = s.after + 1
		}
		for _, l := range s.between(from, end) {
			w := stdout
			if l.Stderr {
				w = stderr
			}
			io.WriteString(w, l.Text+"\n")
		}
		from = end
		if s.exits && s.after < from {
			return s.code, nil
		}
		wait := poll
		if next, ok := s.next(now); ok {
			wait = min(wait, max(0, next-now))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 1, ctx.Err()
		case <-t.C:
		}
		if !running() {
			return 1, nil
		}
	}
}
