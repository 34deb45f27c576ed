package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/isoagent/isoagent/reconcile"
)

const defaultAddr = "127.0.0.1:9741"

const statusUsage = `usage: isoagent status [--addr ADDR] [--output json|text] [--wide] [--all]

Prints what the running agent at ADDR knows. The header says whether the
host has converged and how many specs meant for it are rejected and how
many files invalid ("converged, 2 rejected, 1 invalid"); the engine-wide
conditions follow (an ignored empty folder, an invalid policy, ...). Then
every container with its requested and effective isolation, state,
restarts, last exit code, age, the host's view of it and a note (its
rejection, last error, conditions), and every invalid spec file; the
specs meant for other hosts (state elsewhere) only with --all. When the
host tells what containers use, CPU (in percent of one processor, over
the agent's last two readings) and MEMORY (private working set, against
the limit) too. The table fits 120 columns, images and notes cut to fit;
--wide shows every column whole, and adds CPU time, commit, storage and
network.
`

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", statusUsage, stderr)
	var cf clientFlags
	cf.register(fs)
	var output string
	registerOutput(fs, &output, "json: the agent's /status document as it is", []string{"json"}, nil)
	wide := fs.Bool("wide", false, "every column (the container ID, CPU time, commit, storage, network too) and images and notes whole, however wide")
	all := fs.Bool("all", false, "the specs meant for other hosts (state elsewhere) too")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "isoagent status: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	client, err := cf.open()
	if err != nil {
		fmt.Fprintf(stderr, "isoagent status: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := client.fetchStatus(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent status: %v\n", err)
		return exitUsage
	}
	if output == outputJSON {
		stdout.Write(body)
		return exitOK
	}
	var st reconcile.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(stderr, "isoagent status: the agent at %s sent a status this version cannot read: %v\n", client.base, err)
		return exitUsage
	}
	printStatusView(stdout, st, time.Now(), statusView{wide: *wide, all: *all})
	return exitOK
}

// fetchStatus GETs the agent's /status document.
func (a *agentClient) fetchStatus(ctx context.Context) ([]byte, error) {
	body, code, err := a.do(ctx, http.MethodGet, "/status", nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("%s/status: %d %s: %s", a.base, code, http.StatusText(code), body)
	}
	return body, nil
}

const waitUsage = `usage: isoagent wait [--addr ADDR] [--timeout D] [--allow-rejected]

Blocks until the agent at ADDR has converged on the spec folder's current
content: every admitted spec runs as declared and nothing is left to
remove. Exits 0 then, unless specs meant for this host are rejected or
spec files are invalid: it exits 1 then and names them (--allow-rejected
exits 0 all the same). Exits 1 on timeout, 2 when no agent answered before
the timeout. For scripts and pipelines: write the specs, then 'isoagent
wait'. It waits on the agent's /converged long poll (an older agent's
/status is read every --interval instead).
`

func runWait(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("wait", waitUsage, stderr)
	var cf clientFlags
	cf.register(fs)
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	settle := fs.Duration("settle", 1500*time.Millisecond, "how long convergence must hold: longer than the agent's debounce cap (1s), or its --poll-interval with --watch=poll, so a change written just before is seen")
	interval := fs.Duration("interval", 250*time.Millisecond, "how often to ask an agent that is starting, or an older one without /converged")
	allowRejected := fs.Bool("allow-rejected", false, "exit 0 once converged even with rejected specs or invalid files")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "isoagent wait: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	client, err := cf.open()
	if err != nil {
		fmt.Fprintf(stderr, "isoagent wait: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	conv, err := awaitAgent(ctx, client, *settle, *interval)
	switch {
	case err == nil:
		return reportConvergence(stdout, stderr, conv, *allowRejected)
	case errors.Is(err, context.DeadlineExceeded):
		if len(conv.NotHealthy) > 0 {
			fmt.Fprintf(stderr, "isoagent wait: not healthy after %s: %s\n", *timeout, strings.Join(conv.NotHealthy, ", "))
		} else {
			fmt.Fprintf(stderr, "isoagent wait: not converged after %s\n", *timeout)
		}
		// What is not converged, read once now.
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if body, err := client.fetchStatus(sctx); err == nil {
			var st reconcile.Status
			if json.Unmarshal(body, &st) == nil {
				printStatus(stderr, st, time.Now(), false)
			}
		}
		return exitProblem
	}
	fmt.Fprintf(stderr, "isoagent wait: %v\n", err)
	return exitUsage
}

// errNoLongPoll is the answer of an agent that has no /converged.
var errNoLongPoll = errors.New("the agent has no /converged")

// awaitAgent waits until the agent at addr has converged for settle:
// on the agent's /converged long poll, which costs the agent nothing
// while it waits, or, from an agent that has none (an older version), by
// reading /status every interval. An agent that does not answer is asked
// again (it may be starting) until ctx ends; if it never answered, the
// error says so rather than reporting a timeout.
func awaitAgent(ctx context.Context, client *agentClient, settle, interval time.Duration) (reconcile.Convergence, error) {
	var (
		last    reconcile.Convergence // the agent's last answer
		lastErr error
	)
	for {
		conv, err := longPoll(ctx, client, settle)
		switch {
		case errors.Is(err, errUnauthorized):
			return reconcile.Convergence{}, err
		case errors.Is(err, context.DeadlineExceeded):
			if lastErr != nil {
				return reconcile.Convergence{}, lastErr
			}
			return last, context.DeadlineExceeded
		case errors.Is(err, errNoLongPoll):
			st, err := waitFor(ctx, client, settle, interval, time.Now)
			if st == nil {
				return reconcile.Convergence{}, err
			}
			c := reconcile.Convergence{Converged: st.Converged, Revision: st.Revision, Specs: len(st.Containers)}
			if st.Converged {
				c.Rejected, c.InvalidFiles, c.Conditions = st.Refused(), st.Files, st.Conditions
			}
			return c, err
		case err == nil && conv.Converged:
			return conv, nil
		case err == nil:
			last, lastErr = conv, nil // answered: not converged within this poll
		case ctx.Err() == nil:
			lastErr = err
			// Not up yet: ask again shortly.
			select {
			case <-ctx.Done():
			case <-time.After(interval):
			}
		}
		if ctx.Err() != nil {
			if lastErr != nil {
				return reconcile.Convergence{}, lastErr
			}
			return last, ctx.Err()
		}
	}
}

// longPoll asks the agent's /converged once, for at most 30 s or what is
// left of ctx.
func longPoll(ctx context.Context, client *agentClient, settle time.Duration) (reconcile.Convergence, error) {
	wait := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		// The agent answers a little before ctx ends, so that its
		// answer, not the deadline, ends the request.
		left := time.Until(dl)
		wait = min(wait, left-min(time.Second, left/10))
		if wait <= 0 {
			// The clock has passed the deadline before ctx's timer
			// has ended it: asking now would send a negative timeout.
			return reconcile.Convergence{}, context.DeadlineExceeded
		}
	}
	path := fmt.Sprintf("/converged?settle=%s&timeout=%s", settle, wait)
	body, code, err := client.do(ctx, http.MethodGet, path, nil)
	switch {
	case err != nil:
		return reconcile.Convergence{}, err
	case code == http.StatusNotFound:
		return reconcile.Convergence{}, errNoLongPoll
	case code != http.StatusOK:
		return reconcile.Convergence{}, fmt.Errorf("%s%s: %d: %s", client.base, path, code, body)
	}
	var c reconcile.Convergence
	if err := json.Unmarshal(body, &c); err != nil {
		return reconcile.Convergence{}, fmt.Errorf("the agent at %s sent an answer this version cannot read: %w", client.addr, err)
	}
	return c, nil
}

// waitFor polls the agent until it has reported convergence continuously
// for settle. It returns the last status it read. An agent that does not
// answer is asked again (it may be starting) until ctx ends; if it never
// answered, the error says so rather than reporting a timeout.
func waitFor(ctx context.Context, client *agentClient, settle, interval time.Duration, now func() time.Time) (*reconcile.Status, error) {
	var (
		last    *reconcile.Status
		since   time.Time // converged continuously since
		lastErr error
	)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		body, err := client.fetchStatus(ctx)
		switch {
		case errors.Is(err, errUnauthorized):
			return nil, err
		case err != nil && ctx.Err() == nil:
			lastErr = err
		case err == nil:
			var st reconcile.Status
			if err := json.Unmarshal(body, &st); err != nil {
				return nil, fmt.Errorf("the agent at %s sent a status this version cannot read: %w", client.base, err)
			}
			last = &st
			switch {
			case !st.Converged:
				since = time.Time{}
			case since.IsZero():
				since = now()
			case now().Sub(since) >= settle:
				return last, nil
			}
		}
		select {
		case <-ctx.Done():
			if last == nil && lastErr != nil {
				return nil, lastErr
			}
			return last, ctx.Err()
		case <-tick.C:
		}
	}
}

// reportConvergence prints a convergence that wait or run --once saw and
// returns the exit code: exitProblem when specs meant for this host are
// rejected or files invalid, unless allowRejected.
func reportConvergence(stdout, stderr io.Writer, c reconcile.Convergence, allowRejected bool) int {
	fmt.Fprintf(stdout, "converged: %d specs, revision %s%s\n", c.Specs, orDash(c.Revision), refusalCounts(len(c.Rejected), len(c.InvalidFiles)))
	for _, cond := range c.Conditions {
		fmt.Fprintf(stdout, "%s: %s\n", cond.Type, cond.Message)
	}
	if c.Clean() {
		return exitOK
	}
	w := stderr
	if allowRejected {
		w = stdout
	}
	fmt.Fprintln(w, "not running as declared:")
	writeRefusals(w, c.Rejected, c.InvalidFiles, false)
	if allowRejected {
		return exitOK
	}
	fmt.Fprintln(stderr, "(--allow-rejected exits 0 all the same)")
	return exitProblem
}
