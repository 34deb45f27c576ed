package policy

import (
	"testing"

	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"metrics-*", "metrics-web", true},
		{"metrics-*", "METRICS-web", true},
		{"metrics-*", "metrics-", true},
		{"metrics-*", "metrics", false},
		{"metrics-*", "xmetrics-web", false},
		{"*", "", true},
		{"*", "anything at all", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*-web-*", "app-web-01", true},
		{"*-web-*", "app-web", false},
		{"docker.io/*", "docker.io/library/nginx:1.25", true},
		{"docker.io/*", "mcr.microsoft.com/docker.io/x", false},
		{"mcr.microsoft.com/windows/*:ltsc2022", "mcr.microsoft.com/windows/servercore/iis:ltsc2022", true},
		{"naïve", "NAÏVE", true},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXbYbZ", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.pattern, tt.name); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

// TestNewCheckerRefusesUnparsedEntries: a Policy built without Parse must
// not compile into rules that allow more than its entries say. Mount paths
// and pipes are typed, so the spellings once listed here (D:\data\..\x,
// metrics) cannot be held at all (winpath refuses them); what a
// hand-built Policy can hold instead is the zero Path or Pipe.
func TestNewCheckerRefusesUnparsedEntries(t *testing.T) {
	if _, err := winpath.Parse(`D:\data\..\x`); err == nil {
		t.Error(`winpath accepts D:\data\..\x, so a policy could hold it`)
	}
	if _, err := winpath.ParsePipe("metrics"); err == nil {
		t.Error("winpath accepts the pipe metrics, so a policy could hold it")
	}
	bad := []*Policy{
		{Mounts: []MountRule{{ReadOnly: true}}},
		{Pipes: []winpath.Pipe{{}}},
		{Ports: []string{"8080"}},
		{Devices: []string{"gpu"}},
		{Isolation: []spec.Isolation{spec.IsolationDefault}},
	}
	for _, p := range bad {
		if _, err := NewChecker(p); err == nil {
			t.Errorf("NewChecker(%+v) accepted it", p)
		}
	}
}
