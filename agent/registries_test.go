package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/registry"
)

// TestAgentFollowsTheRegistriesFile runs the whole agent in process and
// edits its registries file: an invalid edit, and one that lets others
// change the file, are each reported (condition and gauge, never the
// password) while the last good file stays in force, and their repair
// clears the report.
func TestAgentFollowsTheRegistriesFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const password = "s3cret-pw"
		file := filepath.Join(t.TempDir(), "registries.yaml")
		good := "apiVersion: isoagent/v1\nkind: Registries\ndockerConfig: '" + filepath.Join(t.TempDir(), "none.json") + "'\n" +
			"registries:\n  - host: registry.example:5000\n    username: isoagent\n    password: '" + password + "'\n"
		write := func(content string, mode os.FileMode) {
			t.Helper()
			testutil.WriteFile(t, file, content)
			if err := os.Chmod(file, mode); err != nil {
				t.Fatal(err)
			}
		}
		write(good, 0o600)
		cfg, err := registry.LoadConfig(file)
		if err != nil {
			t.Fatal(err)
		}
		a := startAgent(t, Config{Dir: t.TempDir(), Pulls: Pulls{Registries: cfg, RegistriesFile: file, Dir: t.TempDir()}})

		invalid := func() (string, bool) {
			for _, c := range converged(t, a).Conditions {
				if c.Type == reconcile.CondRegistriesInvalid {
					return c.Message, true
				}
			}
			return "", false
		}
		tests := []struct {
			name    string
			content string
			mode    os.FileMode
			want    string // in the condition's message; "" for none
		}{
			{"the file as started", good, 0o600, ""},
			{"an invalid edit", strings.Replace(good, "username: isoagent", "username: isoagent\n    insecure: maybe", 1), 0o600, "insecure"},
			{"the repair", good, 0o600, ""},
			{"others may change it", good, 0o622, "not protected"},
			{"others may read its password", good, 0o644, "not protected"},
			{"administrators alone again", good, 0o600, ""},
			{"a file the agent cannot read", "", 0o600, "registries"},
		}
		for _, tt := range tests {
			if tt.content == "" {
				if err := os.Remove(file); err != nil {
					t.Fatal(err)
				}
			} else {
				write(tt.content, tt.mode)
			}
			msg, ok := invalid()
			gauge := gaugeValue(t, a.registry, "isoagent_registries_valid")
			switch {
			case tt.want == "" && (ok || gauge != 1):
				t.Errorf("%s: condition %v (%q), isoagent_registries_valid %v; want none and 1", tt.name, ok, msg, gauge)
			case tt.want != "" && (!ok || !strings.Contains(msg, tt.want) || gauge != 0):
				t.Errorf("%s: condition %v (%q), isoagent_registries_valid %v; want one naming %q and 0", tt.name, ok, msg, gauge, tt.want)
			}
			if strings.Contains(msg, password) {
				t.Errorf("%s: the condition quotes the password: %q", tt.name, msg)
			}
		}
	})
}
