package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
)

// An agent behind a web config: status, wait and prune reach it with
// Prometheus' HTTP client configuration, and say what is missing without.
func TestClientsReachATLSEndpointWithBasicAuth(t *testing.T) {
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")
	wc := testutil.WriteWebConfig(t, map[string]string{"ops": "correct horse"})
	startAgent(t, "--dir", dir, "--sim-dir", simDir, "--listen", addr, "--web.config.file", wc.File, "--web.public-paths", "/metrics")

	cfgDir := t.TempDir()
	pw := filepath.Join(cfgDir, "password")
	os.WriteFile(pw, []byte("correct horse\n"), 0o600)
	good := filepath.Join(cfgDir, "good.yml")
	os.WriteFile(good, []byte("tls_config:\n  ca_file: "+wc.CAFile+"\nbasic_auth:\n  username: ops\n  password_file: "+pw+"\n"), 0o600)
	noAuth := filepath.Join(cfgDir, "noauth.yml")
	os.WriteFile(noAuth, []byte("tls_config:\n  ca_file: "+wc.CAFile+"\n"), 0o600)
	https := "https://" + addr

	if stdout, stderr, code := runAgentBinary(t, "wait", "--addr", https, "--http.config.file", good, "--timeout", "60s"); code != exitOK {
		t.Fatalf("wait over TLS with credentials exited %d: %s%s", code, stdout, stderr)
	}
	tests := []struct {
		name string
		args []string
		code int
		want string // in stdout for exitOK, else in stderr
	}{
		{"status with credentials", []string{"status", "--addr", https, "--http.config.file", good}, exitOK, "web "},
		{"prune with credentials", []string{"prune", "--addr", https, "--http.config.file", good}, exitOK, "no prune is pending"},
		{"plan with credentials", []string{"plan", "--addr", https, "--http.config.file", good}, exitOK, "no changes"},
		{"plan without credentials", []string{"plan", "--addr", https, "--http.config.file", noAuth}, exitUsage, "asks for credentials"},
		{"status without credentials", []string{"status", "--addr", https, "--http.config.file", noAuth}, exitUsage, "--http.config.file with basic_auth"},
		{"wait without credentials", []string{"wait", "--addr", https, "--http.config.file", noAuth, "--timeout", "30s"}, exitUsage, "asks for credentials"},
		{"plain HTTP", []string{"status", "--addr", addr}, exitUsage, "use --addr https://" + addr},
		{"untrusted certificate", []string{"status", "--addr", https}, exitUsage, "is not trusted: give --http.config.file with tls_config.ca_file"},
		{"bad address", []string{"status", "--addr", "https://" + addr + "/status"}, exitUsage, "want host:port or https://host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := runAgentBinary(t, tt.args...)
			out := stderr
			if tt.code == exitOK {
				out = stdout
			}
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("isoagent %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", strings.Join(tt.args, " "), code, tt.code, tt.want, stdout, stderr)
			}
		})
	}
}

func TestRunRejectsABadWebConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "web.yml")
	os.WriteFile(bad, []byte("basic_auth_users:\n  ops: not-a-hash\n"), 0o600)
	wc := testutil.WriteWebConfig(t, map[string]string{"ops": "pw"})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"password not hashed", []string{"--web.config.file", bad}, "web.yml"},
		{"status made public", []string{"--web.config.file", wc.File, "--web.public-paths", "/metrics,/status"}, `public path "/status"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"run", "--dir", dir, "--sim-dir", t.TempDir(), "--once"}, tt.args...)
			_, stderr, code := runAgentBinary(t, args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, want %d with %q: %s", code, exitUsage, tt.want, stderr)
			}
		})
	}
}
