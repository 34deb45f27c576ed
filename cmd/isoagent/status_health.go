package main

import (
	"fmt"
	"strings"

	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/reconcile"
)

// stateColumn is the STATE of a container, with its health in
// parentheses when it has a health check, as docker ps shows it:
// "running (healthy)".
func stateColumn(c reconcile.ContainerStatus) string {
	if c.Health == nil {
		return string(c.State)
	}
	return fmt.Sprintf("%s (%s)", c.State, c.Health.State)
}

// healthNote says why a container is not healthy: its failing streak and
// the first line of its last probe's output; "" when it is healthy or has
// no check.
func healthNote(c reconcile.ContainerStatus) string {
	h := c.Health
	if h == nil || h.State == health.Healthy || len(h.Log) == 0 {
		return ""
	}
	last := h.Log[len(h.Log)-1]
	if last.OK {
		return ""
	}
	out, _, _ := strings.Cut(strings.TrimSpace(last.Output), "\n")
	return fmt.Sprintf("health check %s failed %d times in a row: %s", h.Check, h.FailingStreak, out)
}
