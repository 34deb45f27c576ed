//go:build !windows

package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestServiceIsWindowsOnlyElsewhere(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		want     string
	}{
		{nil, exitUsage, "isoagent service: this command is Windows-only"},
		{[]string{"install", "--dir", "/srv/specs"}, exitUsage, "isoagent service: this command is Windows-only"},
		{[]string{"status"}, exitUsage, "run `isoagent run` under your init system"},
		{[]string{"-h"}, exitOK, "Windows only"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(append([]string{"service"}, tt.args...), " "), func(t *testing.T) {
			var stderr bytes.Buffer
			code := dispatch(append([]string{"service"}, tt.args...), io.Discard, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not say %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

func TestRunIsNeverAServiceElsewhere(t *testing.T) {
	if handled, code := runAsService(agentConfig{}, logFlags{}); handled || code != 0 {
		t.Errorf("runAsService = %v, %d; want false, 0", handled, code)
	}
}
