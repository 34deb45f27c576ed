package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/reconcile"
)

const pruneUsage = `usage: isoagent prune [--addr ADDR] [--confirm [--id ID]]

Shows the prune the running agent at ADDR holds back: a change that would
remove more containers than --max-prune allows, or the first change after
the agent was started on another spec folder. Nothing of it is removed
until it is confirmed. With --confirm, lets exactly that prune go on (with
--id, only if it is still the prune of that ID). Confirming is done from
the agent's host only. Exit status: 0 nothing pending or confirmed, 1 a
prune is pending (or changed before it could be confirmed), 2 errors.
`

func runPrune(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("prune", pruneUsage, stderr)
	addr := fs.String("addr", defaultAddr, "address the agent's --listen serves")
	confirm := fs.Bool("confirm", false, "let the pending prune go on")
	id := fs.String("id", "", "with --confirm: the ID of the pending prune to confirm (default: the one pending now)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "isoagent prune: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := fetchStatus(ctx, *addr)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent prune: %v\n", err)
		return exitUsage
	}
	var st reconcile.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(stderr, "isoagent prune: the agent at %s sent a status this version cannot read: %v\n", *addr, err)
		return exitUsage
	}
	p := st.PendingPrune
	if p == nil {
		fmt.Fprintf(stdout, "no prune is pending (one change may prune %d containers)\n", st.PruneBudget)
		return exitOK
	}
	printPending(stdout, p)
	if !*confirm {
		fmt.Fprintf(stdout, "run 'isoagent prune --confirm --id %s' to remove them\n", p.ID)
		return exitProblem
	}
	want := p.ID
	if *id != "" {
		want = *id
	}
	got, code, err := postConfirm(ctx, *addr, want)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "isoagent prune: %v\n", err)
		return exitUsage
	case code == http.StatusConflict || code == http.StatusNotFound:
		fmt.Fprintf(stderr, "isoagent prune: not confirmed: %s\n", got)
		return exitProblem
	case code != http.StatusOK:
		fmt.Fprintf(stderr, "isoagent prune: the agent answered %d: %s\n", code, got)
		return exitUsage
	}
	fmt.Fprintf(stdout, "confirmed: the agent removes %s\n", strings.Join(p.Names, ", "))
	return exitOK
}

func printPending(w io.Writer, p *reconcile.PendingPrune) {
	fmt.Fprintf(w, "prune %s is held: %s\n", p.ID, p.Reason)
	fmt.Fprintf(w, "it would remove %d containers: %s\n", len(p.Names), strings.Join(p.Names, ", "))
}

// postConfirm asks the agent to let the prune with id go on; it returns
// the agent's answer and status code.
func postConfirm(ctx context.Context, addr, id string) (string, int, error) {
	b, err := json.Marshal(metrics.ConfirmRequest{ID: id})
	if err != nil {
		return "", 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/prune/confirm", bytes.NewReader(b))
	if err != nil {
		return "", 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("no agent answers at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", 0, err
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error, resp.StatusCode, nil
	}
	return strings.TrimSpace(string(body)), resp.StatusCode, nil
}
