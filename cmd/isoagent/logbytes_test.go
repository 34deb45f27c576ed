package main

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/monitor"
)

// logBytesOf scrapes the agent at addr for isoagent_container_log_bytes_total
// by container name.
func logBytesOf(addr string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := make(map[string]float64)
	if mf := mfs["isoagent_container_log_bytes_total"]; mf != nil {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "name" {
					out[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	return out, nil
}

// onDisk sums the sizes of the log files of name's runs in simDir that
// are still there.
func onDisk(t *testing.T, simDir, name string) (total int64) {
	t.Helper()
	l := monitor.Layout{Dir: simDir}
	ids, _ := os.ReadDir(l.Root())
	for _, id := range ids {
		runs, _ := l.Runs(id.Name())
		for _, r := range runs {
			if cfg, err := monitor.ReadConfig(r); err != nil || cfg.Name != name {
				continue
			}
			files, _ := filepath.Glob(filepath.Join(r, monitor.LogFile+"*"))
			for _, f := range files {
				if filepath.Ext(f) == ".rotated" {
					continue
				}
				if fi, err := os.Stat(f); err == nil {
					total += fi.Size()
				}
			}
		}
	}
	return total
}

// The log-bytes counter, as Prometheus sees it: a finished job's count is
// its log's size; a chatty container's keeps growing through rotations
// that delete its files and restarts that remove its old runs, and
// starts where it was when the agent comes back.
func TestLogBytesMetric(t *testing.T) {
	dir, simDir, addr := t.TempDir(), t.TempDir(), testutil.FreeAddr(t)
	stopMonitors(t, simDir)
	writeJobAndPinger(t, dir)
	testutil.WriteSpec(t, dir, "quiet.yaml", "quiet", "mcr.microsoft.com/windows/servercore:ltsc2022",
		`command: ['C:\app\server.exe']`)
	args := []string{"--dir", dir, "--sim-dir", simDir, "--listen", addr, "--stats-interval", "200ms",
		"--container-log-max-size", "200", "--container-log-max-files", "2"}
	agent := testutil.StartAgent(t, agentBinary(t), append([]string{"run", "--log-format", "json"}, args...)...)
	if _, stderr, code := runAgentBinary(t, "wait", "--addr", addr, "--timeout", "60s", "--allow-rejected"); code != exitOK {
		t.Fatalf("wait exited %d: %s", code, stderr)
	}

	// until polls the counts until ok says they are as wanted.
	until := func(what string, ok func(map[string]float64) bool) map[string]float64 {
		t.Helper()
		var got map[string]float64
		var err error
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got, err = logBytesOf(addr); err == nil && ok(got) {
				return got
			}
		}
		t.Fatalf("%s: log bytes %v, %v", what, got, err)
		return nil
	}
	until("the job's log counted whole", func(m map[string]float64) bool {
		n := onDisk(t, simDir, "job")
		return n > 0 && m["job"] == float64(n)
	})
	if m, err := logBytesOf(addr); err != nil || m["quiet"] != 0 {
		t.Errorf("a container that printed nothing has %v bytes (%v)", m["quiet"], err)
	}

	// pinger rotates its 200-byte log every few replies and keeps two
	// files; two restarts remove its first run.
	var last float64
	for restart := range 3 {
		if restart > 0 {
			if _, stderr, code := runAgentBinary(t, "restart", "pinger", "--addr", addr); code != exitOK {
				t.Fatalf("restart pinger: %s", stderr)
			}
		}
		m := until("pinger's count growing past its files", func(m map[string]float64) bool {
			return m["pinger"] >= last+300 && m["pinger"] > float64(onDisk(t, simDir, "pinger"))+400
		})
		last = m["pinger"]
	}
	if err := agent.Stop(); err != nil {
		t.Fatal(err)
	}
	testutil.StartAgent(t, agentBinary(t), append([]string{"run", "--log-format", "json"}, args...)...)
	until("the count after the agent came back", func(m map[string]float64) bool { return m["pinger"] >= last })
}
