package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

const restartUsage = `usage: isoagent restart NAME [--addr ADDR] [--timeout D]

Asks the running agent at ADDR to restart container NAME now: it is stopped
with its spec's stopTimeout and started again, and the agent logs why. To
stop a container for good, change the spec folder (remove the spec, or give
it a command that exits and restartPolicy: never); isoagent offers no stop
or start, the folder being the truth.
`

func runRestart(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("restart", restartUsage, stderr)
	addr := fs.String("addr", defaultAddr, "address the agent's --listen serves")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for the container to run again")
	var name string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	rest := fs.Args()
	if name == "" && len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "" || len(rest) > 0 {
		fmt.Fprintln(stderr, "isoagent restart: want one container name (the spec's metadata.name)")
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	u := "http://" + *addr + "/restart/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent restart: %v\n", err)
		return exitUsage
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent restart: no agent answers at %s (is `isoagent run` running with --listen %s?): %v\n", *addr, *addr, err)
		return exitUsage
	}
	defer resp.Body.Close()
	var body struct {
		Error     string `json:"error"`
		Restarted string `json:"restarted"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil {
		fmt.Fprintf(stderr, "isoagent restart: %s: %s\n", u, resp.Status)
		return exitUsage
	}
	switch resp.StatusCode {
	case http.StatusOK:
		fmt.Fprintf(stdout, "restarted %s\n", body.Restarted)
		return exitOK
	case http.StatusConflict:
		fmt.Fprintf(stderr, "isoagent restart: %s\n", body.Error)
		return exitProblem
	}
	fmt.Fprintf(stderr, "isoagent restart: %s: %s\n", resp.Status, body.Error)
	return exitUsage
}
