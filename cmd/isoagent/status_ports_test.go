package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// PORTS shows what a spec publishes: the first port and how many more in
// 120 columns, every one with --wide.
func TestStatusTablePorts(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	st := reconcile.Status{Converged: true, Containers: []reconcile.ContainerStatus{
		{Name: "portal", State: reconcile.StateRunning, EffectiveIsolation: "process", Image: "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
			ContainerID: "portal-1", InitPID: 4104, Since: now.Add(-time.Hour),
			Ports: []spec.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 8443, ContainerPort: 443}, {HostPort: 5353, ContainerPort: 53, Protocol: "udp"}}},
		{Name: "batch", State: reconcile.StateRunning, EffectiveIsolation: "process", Image: "mcr.microsoft.com/windows/nanoserver:ltsc2022", ContainerID: "batch-1", Since: now},
	}}
	row := func(out, name string) []string {
		for line := range strings.Lines(out) {
			if f := strings.Fields(line); len(f) > 0 && f[0] == name {
				return f
			}
		}
		t.Fatalf("no row of %s in:\n%s", name, out)
		return nil
	}
	var narrow, wide bytes.Buffer
	printStatus(&narrow, st, now, false)
	printStatus(&wide, st, now, true)
	for line := range strings.Lines(narrow.String()) {
		if n := len([]rune(strings.TrimSuffix(line, "\n"))); n > 120 {
			t.Errorf("%d columns: %q", n, line)
		}
	}
	if !strings.Contains(narrow.String(), "PORTS") || !strings.Contains(strings.Join(row(narrow.String(), "portal"), " "), "8080->80/tcp +2") {
		t.Errorf("narrow table lacks portal's first port and the count of the others:\n%s", narrow.String())
	}
	if !strings.Contains(strings.Join(row(wide.String(), "portal"), " "), "8080->80/tcp,8443->443/tcp,5353->53/udp") {
		t.Errorf("wide table lacks portal's ports:\n%s", wide.String())
	}
	if f := row(narrow.String(), "batch"); f[len(f)-1] != "-" {
		t.Errorf("batch publishes nothing, its row ends %q:\n%s", f[len(f)-1], narrow.String())
	}
}
