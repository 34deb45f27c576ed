//go:build windows

package hcs

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// Two containers of one spec, the old config's and the new one's, as a
// start-first rollout makes them: both run at once, each with its own
// scratch layer, endpoint and record; the next agent (another client,
// once the first has closed) lists and adopts both under the spec's
// name; removing either leaves the other running with what it holds.
func TestTwoContainersOfOneSpec(t *testing.T) {
	for _, keep := range []string{"new", "old"} {
		t.Run("keep "+keep, func(t *testing.T) {
			h := newFakeHost(t)
			d := h.client(t, testOwner)
			old := config("web-0123456789ab", driver.Process)
			old.Name = "web"
			cur := old
			cur.ID, cur.Hash = "web-ba9876543210", "h-new"
			cur.Env = map[string]string{"V": "2"}
			h.run(t, d, old)
			h.run(t, d, cur)
			if err := d.Close(); err != nil { // the agent stops mid-rollout
				t.Fatal(err)
			}

			second := h.client(t, testOwner)
			cs, err := second.List(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 2 || cs[0].Name != "web" || cs[1].Name != "web" || cs[0].State != driver.StateRunning || cs[1].State != driver.StateRunning {
				t.Fatalf("another client lists %+v, want both containers of web running", cs)
			}
			if cs[0].Hash == cs[1].Hash || cs[0].InitPID == cs[1].InitPID {
				t.Errorf("the two containers share a hash or an init process: %+v", cs)
			}
			if eps := h.endpoints(t); !slices.Equal(eps, []string{endpointName(old.ID), endpointName(cur.ID)}) {
				t.Errorf("endpoints %v, want one per container", eps)
			}
			for _, id := range []string{old.ID, cur.ID} {
				if _, err := os.Stat(filepath.Join(h.agent, "layers", id)); err != nil {
					t.Errorf("scratch of %s: %v", id, err)
				}
			}

			gone, kept := cur, old // a failed rollout removes the new one
			if keep == "new" {
				gone, kept = old, cur // a good one the old one
			}
			if err := second.Stop(t.Context(), gone.ID, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := second.Remove(t.Context(), gone.ID); err != nil {
				t.Fatal(err)
			}
			c := waitState(t, second, kept.ID, driver.StateRunning)
			if c.Hash != kept.Hash || c.Name != "web" {
				t.Errorf("kept %+v, want %s of web", c, kept.Hash)
			}
			if eps := h.endpoints(t); !slices.Equal(eps, []string{endpointName(kept.ID)}) {
				t.Errorf("endpoints after removing %s: %v, want only %s's", gone.ID, eps, kept.ID)
			}
			if _, err := os.Stat(filepath.Join(h.agent, "layers", gone.ID)); !os.IsNotExist(err) {
				t.Errorf("scratch of the removed %s: %v, want gone", gone.ID, err)
			}
			if err := second.Stop(t.Context(), kept.ID, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := second.Remove(t.Context(), kept.ID); err != nil {
				t.Fatal(err)
			}
			h.assertClean(t)
		})
	}
}

// TestAgentRollsOut runs the whole agent (isoagent run --once,
// as TestAgentConvergesOnExamples does) over a folder with one spec, then
// again after the spec changed: the second run creates and starts the new
// container while the old one runs, and stops and removes the old one only
// once the new one is ready; a new container that exits at once is
// removed and the old one keeps running, never stopped. A spec that maps
// a host port is rolled out stop-first, and a new container that exits
// at once brings the previous configuration back, under its old ID and
// with its host port.
func TestAgentRollsOut(t *testing.T) {
	bin := os.Getenv("ISOAGENT_E2E_BINARY")
	if bin == "" {
		t.Skip("ISOAGENT_E2E_BINARY is not set (scripts/hcs-test sets it)")
	}
	const exit3, port = `command: ["cmd", "/c", "exit 3"]`, "ports: [{hostPort: 8080, containerPort: 80}]"
	tests := []struct {
		name          string
		both, changed string // lines of both configs, of the new one
		stopFirst     bool
		good          bool
	}{
		{"ready", "", "", false, true},
		{"exits at once", "", exit3, false, false},
		{"host port, ready", port, "", true, true},
		{"host port, exits at once", port, exit3, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			// The agent gives each run a monitor that outlives it; one
			// still writing its run's exit would race the folder's
			// removal at the end.
			h.stopMonitorsAtEnd(t)
			specs := t.TempDir()
			write := func(v string, extra ...string) {
				t.Helper()
				doc := "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: " + testImageRef +
					"\n  isolation: process\n  env: {V: \"" + v + "\"}\n  update: {order: start-first, timeout: 1m}\n"
				for _, l := range extra {
					if l != "" {
						doc += "  " + l + "\n"
					}
				}
				if err := os.WriteFile(filepath.Join(specs, "web.yaml"), []byte(doc), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			runOnce := func() ([]map[string]any, string) {
				t.Helper()
				cmd := exec.CommandContext(t.Context(), bin, "run", "--once", "--timeout", "60s",
					"--dir", specs, "--policy", filepath.Join("..", "..", "examples", "policy.yaml"), "--driver", "hcs", "--listen", "127.0.0.1:0", "--log-format", "json",
					"--hcs-state-dir", h.agent, "--docker-root", h.docker)
				cmd.WaitDelay = 10 * time.Second
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("isoagent run --once: %v\n%s", err, out)
				}
				var lines []map[string]any
				sc := bufio.NewScanner(strings.NewReader(string(out)))
				for sc.Scan() {
					var m map[string]any
					if json.Unmarshal(sc.Bytes(), &m) == nil {
						lines = append(lines, m)
					}
				}
				return lines, string(out)
			}
			write("1", tt.both)
			runOnce()
			before, err := h.model.Containers(testOwner)
			if err != nil || len(before) != 1 || before[0].State != driver.StateRunning {
				t.Fatalf("after the first run: %+v, %v; want web running", before, err)
			}
			oldID := before[0].ID

			write("2", tt.both, tt.changed)
			lines, out := runOnce()
			after, err := h.model.Containers(testOwner)
			if err != nil || len(after) != 1 || after[0].State != driver.StateRunning {
				t.Fatalf("after the change: %+v, %v; want one container of web running\n%s", after, err, out)
			}
			// The order of what the agent did, from its log.
			var steps []string
			var newID string
			for _, l := range lines {
				switch l["msg"] {
				case "action done":
					steps = append(steps, l["action"].(string)+" "+l["id"].(string))
				case "rollout started":
					newID = l["id"].(string)
					steps = append(steps, "rollout started")
				case "rollout done", "rollout failed; the old container keeps running until the spec changes",
					"rollout failed; the previous configuration is brought back until the spec changes":
					steps = append(steps, "rollout "+l["result"].(string))
				}
			}
			var want []string
			kept := newID
			switch {
			case !tt.stopFirst && tt.good:
				want = []string{"rollout started", "create " + newID, "rollout succeeded", "stop " + oldID, "remove " + oldID}
			case !tt.stopFirst:
				want = []string{"rollout started", "create " + newID, "rollout failed", "remove " + newID}
				kept = oldID
				if !after[0].StartedAt.Equal(before[0].StartedAt) {
					t.Errorf("the old container was started again at %v (first at %v), want it never stopped", after[0].StartedAt, before[0].StartedAt)
				}
			case tt.good:
				want = []string{"rollout started", "recreate " + newID, "rollout succeeded"}
			default:
				// The recreate back is of the old ID, from the new one.
				want = []string{"rollout started", "recreate " + newID, "rollout failed", "recreate " + oldID}
				kept = oldID
			}
			if !slices.Equal(steps, want) {
				t.Errorf("the agent's steps: %q, want %q", steps, want)
			}
			if after[0].ID != kept {
				t.Errorf("after the rollout %s runs, want %s", after[0].ID, kept)
			}
			if eps := h.endpoints(t); !slices.Equal(eps, []string{endpointName(kept)}) {
				t.Errorf("endpoints %v, want only %s's", eps, kept)
			}
		})
	}
}
