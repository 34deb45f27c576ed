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
	var cf clientFlags
	cf.register(fs)
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
	client, err := cf.open()
	if err != nil {
		fmt.Fprintf(stderr, "isoagent restart: %v\n", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	path := "/restart/" + url.PathEscape(name)
	answer, code, err := client.do(ctx, http.MethodPost, path, nil)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent restart: %v\n", err)
		return exitUsage
	}
	var body struct {
		Error     string `json:"error"`
		Restarted string `json:"restarted"`
	}
	if err := json.Unmarshal(answer, &body); err != nil {
		fmt.Fprintf(stderr, "isoagent restart: %s%s: %d\n", client.base, path, code)
		return exitUsage
	}
	switch code {
	case http.StatusOK:
		fmt.Fprintf(stdout, "restarted %s\n", body.Restarted)
		return exitOK
	case http.StatusConflict:
		fmt.Fprintf(stderr, "isoagent restart: %s\n", body.Error)
		return exitProblem
	}
	fmt.Fprintf(stderr, "isoagent restart: %d: %s\n", code, body.Error)
	return exitUsage
}
