// Command latency measures what a change to the spec folder costs the real
// isoagent binary on the simulated host, as docs/benchmarks.md and issue
// 19 report it: for each folder size and sim store, it starts the agent
// over n generated specs, waits until the host runs them, then edits one
// spec at a time and times, from the write,
//
//   - the raw change notification on the edited file's folder, seen by a
//     watcher of its own (the baseline no agent can beat),
//   - the agent's "spec snapshot" log record (the watcher's read),
//   - the agent's "action done" record for the edited spec (the container
//     recreated and running in the sim),
//
// and the agent's CPU time (user + system, /proc) from the write until the
// host has converged again. It then measures the agent idle (CPU over a
// window that spans resyncs), its resident memory (now and peak), what one
// scrape of /metrics costs it, and what `isoagent wait` costs it while it
// waits on a converged host. Every binary given is run over the same
// folders, interleaved size by size, so that a busy neighbour slows them
// alike; compare them by ratio, not by wall clock.
//
// It runs on Linux (inotify, /proc). Usage:
//
//	go run ./scripts/latency -bin new=./isoagent,old=/tmp/isoagent-old -specs 100,1000,10000 -edits 200
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

func main() {
	bins := flag.String("bin", "", "binaries to compare, name=path,... (default: build this tree's as \"new\")")
	sizes := flag.String("specs", "100,1000,10000", "folder sizes (specs, one file each, 100 per subfolder)")
	stores := flag.String("sim", "memory,folder", "sim stores: memory (--sim-dir '') and folder")
	edits := flag.Int("edits", 200, "edits per folder size")
	idle := flag.Duration("idle", 120*time.Second, "how long to measure the agent idle; 0 skips")
	resync := flag.Duration("resync", 30*time.Second, "the agent's --resync")
	scrapes := flag.Int("scrapes", 20, "scrapes of /metrics to average; 0 skips")
	wait := flag.Bool("wait", true, "measure isoagent wait on a converged host")
	startTimeout := flag.Duration("start-timeout", 15*time.Minute, "how long a cold start may take")
	keep := flag.Bool("keep", false, "keep the temporary folders")
	churn := flag.Duration("churn", 0, "instead of single edits: edit -churn-rate specs per second for this long, then time how long the host takes to converge after it stops (issue 20 point 9)")
	churnRate := flag.Int("churn-rate", 200, "edits per second with -churn")
	simMonitors := flag.Bool("sim-monitors", true, "on the folder-backed sim, a monitor process per container (run's --sim-monitors); false needs a binary with the flag, the others' rows are skipped")
	updateMonitors := flag.String("update-monitor", "", "update.monitor of the generated specs, a comma-separated list measured in turn (as 0s,5s); an empty item leaves the field out (the default)")
	logs := flag.Bool("logs", false, "keep each agent's JSON log as agent.log in its folder (with -keep)")
	flag.Parse()

	work, err := os.MkdirTemp("", "isoagent-latency-")
	check(err)
	if !*keep {
		defer os.RemoveAll(work)
	}
	var agents []agentBin
	if *bins == "" {
		bin := filepath.Join(work, "isoagent")
		out, err := exec.Command("go", "build", "-o", bin, "./cmd/isoagent").CombinedOutput()
		if err != nil {
			fail("go build ./cmd/isoagent: %v\n%s", err, out)
		}
		agents = append(agents, agentBin{"new", bin})
	} else {
		for _, kv := range strings.Split(*bins, ",") {
			name, path, ok := strings.Cut(kv, "=")
			if !ok {
				fail("-bin %q: want name=path", kv)
			}
			abs, err := filepath.Abs(path)
			check(err)
			agents = append(agents, agentBin{name, abs})
		}
	}
	cfg := runConfig{edits: *edits, idle: *idle, resync: *resync, scrapes: *scrapes, wait: *wait, startTimeout: *startTimeout, churn: *churn, churnRate: *churnRate, simMonitors: *simMonitors, logs: *logs}
	var results []result
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(s)
		check(err)
		for _, store := range strings.Split(*stores, ",") {
			for i, um := range strings.Split(*updateMonitors, ",") {
				for _, a := range agents {
					cfg.updateMonitor = um
					if why := a.lacks(store, cfg); why != "" {
						fmt.Fprintf(os.Stderr, "== %s, %d specs, %s sim: skipped, %s\n", a.name, n, store, why)
						continue
					}
					dir := filepath.Join(work, fmt.Sprintf("%s-%d-%s-%d", a.name, n, store, i))
					fmt.Fprintf(os.Stderr, "== %s, %d specs, %s sim, update.monitor %s\n", a.name, n, store, orDefault(um))
					r, err := measure(dir, a, n, store, cfg)
					if err != nil {
						fmt.Fprintf(os.Stderr, "   %v\n", err)
					}
					results = append(results, r)
					printRow(os.Stderr, r)
				}
			}
		}
	}
	fmt.Println()
	printTable(os.Stdout, results)
}

type agentBin struct{ name, path string }

// lacks says why a cannot run a row of cfg on store ("" when it can): a
// binary from before --sim-monitors and update.monitor has neither, and
// would spend the row starting a process per container, or refuse the
// specs.
func (a agentBin) lacks(store string, cfg runConfig) string {
	if (store != "folder" || cfg.simMonitors) && cfg.updateMonitor == "" {
		return ""
	}
	help, _ := exec.Command(a.path, "run", "-h").CombinedOutput()
	if !strings.Contains(string(help), "-sim-monitors") {
		return "the binary has no --sim-monitors nor update.monitor"
	}
	return ""
}

func orDefault(s string) string {
	if s == "" {
		return "default"
	}
	return s
}

type runConfig struct {
	edits, scrapes int
	idle, resync   time.Duration
	wait           bool
	startTimeout   time.Duration
	churn          time.Duration
	churnRate      int
	simMonitors    bool
	// updateMonitor is the specs' update.monitor; "" leaves it out.
	updateMonitor string
	logs          bool
}

// result is one row of the table.
type result struct {
	bin, store  string
	monitor     string // update.monitor, "" for the default
	specs       int
	coldStart   time.Duration
	raw, snap   []time.Duration
	action      []time.Duration
	cpu         []time.Duration
	idleCPU     float64 // share of one core
	idleFor     time.Duration
	rss, peak   int64 // bytes
	scrapeCPU   time.Duration
	waitCPU     float64 // share of one core while isoagent wait waited
	waitFor     time.Duration
	missedEdits int
	// With -churn: the edits written, and how long after the last one
	// the host matched the folder for good.
	churnEdits int
	settled    time.Duration
}

const specYAML = `apiVersion: isoagent/v1
kind: Container
metadata:
  name: web-%05d
spec:
  image: %s
  command: ['C:\app\server.exe']
  env: {GEN: "%d"}
%s`

func specPath(specs string, i int) string {
	return filepath.Join(specs, fmt.Sprintf("sub%03d", i/100), fmt.Sprintf("web-%05d.yaml", i))
}

// images alternate from one generation of a spec to the next, so that
// each edit changes the image, as an image roll-out does.
var images = []string{"mcr.microsoft.com/windows/servercore:ltsc2022", "mcr.microsoft.com/windows/nanoserver:ltsc2022"}

// writeSpec writes generation gen of spec i; update is its update.monitor
// ("" leaves it out).
func writeSpec(specs string, i, gen int, update string) error {
	extra := ""
	if update != "" {
		extra = "  update: {monitor: " + update + "}\n"
	}
	return os.WriteFile(specPath(specs, i), fmt.Appendf(nil, specYAML, i, images[gen%2], gen, extra), 0o644)
}

func measure(dir string, a agentBin, n int, store string, cfg runConfig) (result, error) {
	r := result{bin: a.name, store: store, specs: n, monitor: cfg.updateMonitor}
	specs := filepath.Join(dir, "specs")
	for i := range n {
		if err := os.MkdirAll(filepath.Dir(specPath(specs, i)), 0o755); err != nil {
			return r, err
		}
		if err := writeSpec(specs, i, 0, cfg.updateMonitor); err != nil {
			return r, err
		}
	}
	simDir := ""
	if store == "folder" {
		simDir = filepath.Join(dir, "sim")
	}
	addr, err := freeAddr()
	if err != nil {
		return r, err
	}
	args := []string{"run", "--dir", specs, "--sim-dir", simDir, "--listen", addr,
		"--log-format", "json", "--resync", cfg.resync.String(), "--state-dir", filepath.Join(dir, "state")}
	if store == "folder" && !cfg.simMonitors {
		args = append(args, "--sim-monitors=false")
		r.store = "folder, no monitors"
	}
	logFile := ""
	if cfg.logs {
		logFile = filepath.Join(dir, "agent.log")
	}
	ag, err := startAgent(a.path, logFile, args...)
	if err != nil {
		return r, err
	}
	defer ag.stop()
	begin := time.Now()
	if _, err := ag.waitFor(func(rec logRecord) bool { return rec.Msg == "host matches the spec folder" }, cfg.startTimeout); err != nil {
		return r, fmt.Errorf("cold start: %w", err)
	}
	r.coldStart = time.Since(begin)
	r.rss, r.peak = ag.memory()
	fmt.Fprintf(os.Stderr, "   cold start %v, rss %d MiB, peak %d MiB\n", r.coldStart.Round(time.Millisecond), r.rss>>20, r.peak>>20)
	// Let the start-up's last relist and resync pass.
	time.Sleep(2 * time.Second)

	if cfg.churn > 0 {
		return churn(r, ag, specs, n, cfg)
	}
	raw, err := fsnotify.NewWatcher()
	if err != nil {
		return r, err
	}
	defer raw.Close()
	for i := 0; i < n; i += 100 {
		if err := raw.Add(filepath.Dir(specPath(specs, i))); err != nil {
			return r, err
		}
	}
	for e := range cfg.edits {
		k := (e * 7919) % n // spread over the folder
		name := fmt.Sprintf("web-%05d", k)
		file := specPath(specs, k)
		ag.mark()
		cpu0 := ag.cpu()
		t0 := time.Now()
		if err := writeSpec(specs, k, e+1, cfg.updateMonitor); err != nil {
			return r, err
		}
		rawAt, ok := rawEvent(raw, file, 5*time.Second)
		if ok {
			r.raw = append(r.raw, rawAt.Sub(t0))
		}
		snap, err := ag.waitFor(func(rec logRecord) bool { return rec.Msg == "spec snapshot" }, 30*time.Second)
		if err != nil {
			r.missedEdits++
			continue
		}
		act, err := ag.waitFor(func(rec logRecord) bool { return rec.Msg == "action done" && rec.Spec == name }, 60*time.Second)
		if err != nil {
			r.missedEdits++
			continue
		}
		if _, err := ag.waitFor(func(rec logRecord) bool { return rec.Msg == "host matches the spec folder" }, 60*time.Second); err != nil {
			r.missedEdits++
			continue
		}
		r.snap = append(r.snap, snap.Time.Sub(t0))
		r.action = append(r.action, act.Time.Sub(t0))
		r.cpu = append(r.cpu, ag.cpu()-cpu0)
		// A pause between edits, so each is its own burst (the debounce's
		// quiet period is 100 ms).
		time.Sleep(150 * time.Millisecond)
	}
	if cfg.scrapes > 0 {
		cpu0 := ag.cpu()
		for range cfg.scrapes {
			if err := drain("http://" + addr + "/metrics"); err != nil {
				return r, fmt.Errorf("scrape: %w", err)
			}
		}
		r.scrapeCPU = (ag.cpu() - cpu0) / time.Duration(cfg.scrapes)
	}
	if cfg.wait {
		cpu0, t0 := ag.cpu(), time.Now()
		out, err := exec.Command(a.path, "wait", "--addr", addr, "--timeout", "60s").CombinedOutput()
		if err != nil {
			return r, fmt.Errorf("isoagent wait: %v: %s", err, out)
		}
		r.waitFor = time.Since(t0)
		r.waitCPU = float64(ag.cpu()-cpu0) / float64(r.waitFor)
	}
	if cfg.idle > 0 {
		cpu0, t0 := ag.cpu(), time.Now()
		peak := r.peak
		for time.Since(t0) < cfg.idle {
			time.Sleep(time.Second)
			rss, _ := ag.memory()
			r.rss = max(r.rss, rss)
		}
		r.idleFor = time.Since(t0)
		r.idleCPU = float64(ag.cpu()-cpu0) / float64(r.idleFor)
		_, r.peak = ag.memory()
		r.peak = max(r.peak, peak)
	} else {
		r.rss, r.peak = ag.memory()
	}
	return r, nil
}

// churn edits rate specs a second for cfg.churn, then waits until the
// agent has acted on the last edit and the host has matched the folder,
// with nothing more happening for 5 s: settled is from the last write to
// that match.
func churn(r result, ag *agent, specs string, n int, cfg runConfig) (result, error) {
	gens := make([]int, n)
	every := time.Second / time.Duration(cfg.churnRate)
	tick := time.NewTicker(every)
	ag.mark()
	end := time.Now().Add(cfg.churn)
	for e := 0; time.Now().Before(end); e++ {
		<-tick.C
		k := (e * 7919) % n
		gens[k]++
		if err := writeSpec(specs, k, gens[k], cfg.updateMonitor); err != nil {
			return r, err
		}
		r.churnEdits++
	}
	tick.Stop()
	stop := time.Now()
	var last time.Time
	for {
		rec, err := ag.waitFor(func(rec logRecord) bool {
			return rec.Msg == "host matches the spec folder" || rec.Msg == "action done"
		}, 5*time.Second)
		if err != nil {
			break // quiet for 5 s
		}
		if rec.Msg == "host matches the spec folder" {
			last = rec.Time
		} else {
			last = time.Time{}
		}
		if time.Since(stop) > 5*time.Minute {
			return r, errors.New("the host did not settle within 5 minutes of the churn")
		}
	}
	if last.IsZero() {
		return r, errors.New("the host was not converged once the churn's actions stopped")
	}
	r.settled = last.Sub(stop)
	fmt.Fprintf(os.Stderr, "   churn: %d edits in %v; converged %v after the last\n", r.churnEdits, cfg.churn, r.settled.Round(time.Millisecond))
	r.rss, r.peak = ag.memory()
	return r, nil
}

// rawEvent waits for the first notification naming file.
func rawEvent(w *fsnotify.Watcher, file string, timeout time.Duration) (time.Time, bool) {
	deadline := time.After(timeout)
	for {
		select {
		case ev := <-w.Events:
			if ev.Name == file {
				at := time.Now()
				// Drain the rest of the write's events.
				for {
					select {
					case <-w.Events:
					case <-time.After(20 * time.Millisecond):
						return at, true
					}
				}
			}
		case <-w.Errors:
		case <-deadline:
			return time.Time{}, false
		}
	}
}

func drain(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// logRecord is what the harness reads of the agent's JSON log.
type logRecord struct {
	Time time.Time `json:"time"`
	Msg  string    `json:"msg"`
	Spec string    `json:"spec"`
}

// agent is a running isoagent whose log records the harness follows.
type agent struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	// records are the records since the last mark; cond signals new ones.
	records []logRecord
	cond    *sync.Cond
	done    bool
	tail    []string // the last lines, for errors
}

// startAgent starts bin with args; logFile, when not "", receives a copy
// of its log.
func startAgent(bin, logFile string, args ...string) (*agent, error) {
	a := &agent{cmd: exec.Command(bin, args...)}
	a.cond = sync.NewCond(&a.mu)
	a.cmd.Stdout = os.Stderr
	pipe, err := a.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	var log io.Reader = pipe
	var f *os.File
	if logFile != "" {
		if f, err = os.Create(logFile); err != nil {
			return nil, err
		}
		log = io.TeeReader(pipe, f)
	}
	if err := a.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		sc := bufio.NewScanner(log)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var rec logRecord
			line := sc.Text()
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			a.mu.Lock()
			a.records = append(a.records, rec)
			a.tail = append(a.tail, line)
			if len(a.tail) > 20 {
				a.tail = a.tail[1:]
			}
			a.cond.Broadcast()
			a.mu.Unlock()
		}
		if f != nil {
			f.Close()
		}
		a.mu.Lock()
		a.done = true
		a.cond.Broadcast()
		a.mu.Unlock()
	}()
	return a, nil
}

// mark forgets the records so far: waitFor looks only at later ones.
func (a *agent) mark() {
	a.mu.Lock()
	a.records = nil
	a.mu.Unlock()
}

// waitFor returns the first record since the mark that match accepts,
// consuming the records up to it.
func (a *agent) waitFor(match func(logRecord) bool, timeout time.Duration) (logRecord, error) {
	timer := time.AfterFunc(timeout, func() {
		a.mu.Lock()
		a.cond.Broadcast()
		a.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		for i, rec := range a.records {
			if match(rec) {
				a.records = a.records[i+1:]
				return rec, nil
			}
		}
		a.records = a.records[:0]
		if a.done {
			return logRecord{}, fmt.Errorf("the agent exited: %s", strings.Join(a.tail, "\n"))
		}
		if time.Now().After(deadline) {
			return logRecord{}, errors.New("timed out waiting for the agent's log")
		}
		a.cond.Wait()
	}
}

// cpu is the agent's CPU time so far, in nanoseconds: the sum of its
// threads' run time (schedstat), since /proc/PID/stat counts in ticks of
// 10 ms, coarser than what one change costs.
func (a *agent) cpu() time.Duration {
	task := fmt.Sprintf("/proc/%d/task", a.cmd.Process.Pid)
	ents, err := os.ReadDir(task)
	if err != nil {
		return 0
	}
	var sum time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(task, e.Name(), "schedstat"))
		if err != nil {
			continue // a thread that just exited
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(ns)
		}
	}
	return sum
}

// memory returns the agent's resident set and its peak.
func (a *agent) memory() (rss, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}

func (a *agent) stop() {
	a.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		<-done
	}
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return s[i]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }

func printRow(w io.Writer, r result) {
	fmt.Fprintf(w, "   raw p50 %s ms; snapshot p50/p99 %s/%s ms; action p50/p99 %s/%s ms; CPU/change p50 %s ms; idle %.2f%% of a core; rss %d MiB, peak %d MiB; scrape %s ms CPU; wait %.1f%% of a core for %v; missed %d\n",
		ms(pct(r.raw, 50)), ms(pct(r.snap, 50)), ms(pct(r.snap, 99)), ms(pct(r.action, 50)), ms(pct(r.action, 99)), ms(pct(r.cpu, 50)),
		100*r.idleCPU, r.rss>>20, r.peak>>20, ms(r.scrapeCPU), 100*r.waitCPU, r.waitFor.Round(time.Millisecond), r.missedEdits)
}

func printTable(w io.Writer, rs []result) {
	if len(rs) > 0 && rs[0].churnEdits > 0 {
		fmt.Fprintln(w, "| binary | specs | sim | update.monitor | cold start | edits written | converged after the last | RSS / peak |")
		fmt.Fprintln(w, "|---|---:|---|---|---:|---:|---:|---:|")
		for _, r := range rs {
			fmt.Fprintf(w, "| %s | %d | %s | %s | %.2f s | %d | %s ms | %d / %d MiB |\n", r.bin, r.specs, r.store, orDefault(r.monitor), r.coldStart.Seconds(), r.churnEdits, ms(r.settled), r.rss>>20, r.peak>>20)
		}
		return
	}
	fmt.Fprintln(w, "| binary | specs | sim | cold start | raw event p50 | snapshot p50 / p99 | write → action p50 / p99 | CPU per change p50 | idle CPU | RSS / peak | scrape CPU | wait: agent CPU |")
	fmt.Fprintln(w, "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %s | %.2f s | %s ms | %s / %s ms | %s / %s ms | %s ms | %.2f%% | %d / %d MiB | %s ms | %.1f%% |\n",
			r.bin, r.specs, r.store, r.coldStart.Seconds(), ms(pct(r.raw, 50)), ms(pct(r.snap, 50)), ms(pct(r.snap, 99)),
			ms(pct(r.action, 50)), ms(pct(r.action, 99)), ms(pct(r.cpu, 50)), 100*r.idleCPU, r.rss>>20, r.peak>>20, ms(r.scrapeCPU), 100*r.waitCPU)
	}
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "latency: "+format+"\n", args...)
	os.Exit(1)
}
