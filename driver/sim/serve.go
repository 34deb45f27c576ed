package sim

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// How a simulated container answers health probes.
//
// A container whose init process runs simserve (the sim's own program, see
// servingOf) listens on its ports: the driver serves each one on a real
// loopback listener, the container's endpoint as Address tells it, so a
// probe from the host dials, connects and GETs for real. Its command says
// when it stops doing its work, and then it answers 503 (the process hangs
// but its port is open, as an IIS app pool behind ServiceMonitor does) or
// stops listening. Every probe counts, whatever its kind: a network probe
// when it asks Address, an exec probe (curl in the container) when it
// runs.

// serving is what simserve's arguments say.
type serving struct {
	ports []int
	// unhealthyAfter, when positive, is how long after the start the
	// process stops doing its work.
	unhealthyAfter time.Duration
	// failFirst is how many probes of a run fail first (a slow start).
	failFirst int
	// refuse: while failing, nothing listens, rather than 503 answers.
	refuse bool
}

// servingOf tells how argv answers probes; ok is false when it is not
//
//	simserve [PORT ...] [-unhealthy-after DURATION] [-fail-first N] [-refuse]
//
// (alone or after cmd /c), which listens on PORTs (80 when none) and
// answers 200 OK to every GET until DURATION after its start, failing the
// first N probes of each run; failing, it answers 503, or with -refuse
// does not listen. It runs until stopped. IIS's ServiceMonitor.exe w3svc
// (the IIS images' command) serves port 80 as simserve does.
func servingOf(argv []string) (serving, bool) {
	if len(argv) == 0 {
		return serving{}, false
	}
	args := argv[1:]
	switch program(argv[0]) {
	case "cmd":
		for i, a := range args {
			if strings.EqualFold(a, "/c") || strings.EqualFold(a, "/k") {
				return servingOf(strings.Fields(strings.ReplaceAll(strings.Join(args[i+1:], " "), `"`, "")))
			}
		}
		return serving{}, false
	case "simserve":
	case "servicemonitor":
		if len(args) > 0 && strings.EqualFold(args[0], "w3svc") {
			return serving{ports: []int{80}}, true
		}
		return serving{}, false
	default:
		return serving{}, false
	}
	var s serving
	for i := 0; i < len(args); i++ {
		a := strings.ToLower(args[i])
		value := func() string {
			if i+1 < len(args) {
				i++
				return args[i]
			}
			return ""
		}
		switch a {
		case "-unhealthy-after", "--unhealthy-after":
			if d, err := time.ParseDuration(value()); err == nil && d > 0 {
				s.unhealthyAfter = d
			}
		case "-fail-first", "--fail-first":
			if n, err := strconv.Atoi(value()); err == nil && n > 0 {
				s.failFirst = n
			}
		case "-refuse", "--refuse":
			s.refuse = true
		default:
			if p, err := strconv.Atoi(a); err == nil && p > 0 && p < 65536 {
				s.ports = append(s.ports, p)
			}
		}
	}
	if len(s.ports) == 0 {
		s.ports = []int{80}
	}
	return s, true
}

// failing reports whether probe number n (from 0) of a run that started
// ran ago fails.
func (s serving) failing(ran time.Duration, n int) bool {
	return n < s.failFirst || s.unhealthyAfter > 0 && ran >= s.unhealthyAfter
}

func (s serving) serves(port int) bool {
	for _, p := range s.ports {
		if p == port {
			return true
		}
	}
	return false
}

// endpoints are the listeners the driver serves for its containers' runs,
// by container ID.
type endpoints struct {
	mu   sync.Mutex
	runs map[string]*servedRun
}

type servedRun struct {
	started time.Time
	probes  int
	ports   map[int]*servedPort
}

// servedPort is one port of a run: a loopback address kept for the run,
// listened on while the process listens.
type servedPort struct {
	addr    netip.AddrPort
	ln      net.Listener // nil while nothing listens
	srv     *http.Server
	failing atomic.Bool // answer 503
}

func (p *servedPort) close() {
	if p.srv != nil {
		p.srv.Close()
		p.srv, p.ln = nil, nil
	}
}

func (r *servedRun) close() {
	for _, p := range r.ports {
		p.close()
	}
}

var _ driver.Addresser = (*Driver)(nil)

// Address implements driver.Addresser: the loopback address at which the
// driver serves port of running container id for its current run (see
// servingOf). A port the container does not listen on is an address
// where nothing listens, so a dial is refused as the container's would
// be.
func (d *Driver) Address(ctx context.Context, id string, port int) (netip.AddrPort, error) {
	if err := ctx.Err(); err != nil {
		return netip.AddrPort{}, err
	}
	cfg, ok := d.model.config(d.owner, id)
	if !ok {
		return netip.AddrPort{}, fmt.Errorf("address of %s: %w", id, driver.ErrNotFound)
	}
	ri, _, err := d.model.runOf(id)
	if err != nil {
		return netip.AddrPort{}, err
	}
	if ri.State != driver.StateRunning {
		return netip.AddrPort{}, fmt.Errorf("address of %s: the container is %s, not running: %w", id, ri.State, driver.ErrInvalidState)
	}
	if cfg.Network == "none" {
		return netip.AddrPort{}, fmt.Errorf("address of %s: the container has no network (mode none): %w", id, driver.ErrInvalidState)
	}
	d.sweepEndpoints()
	sv, _ := servingOf(ri.Command)
	now := d.model.clock()
	d.eps.mu.Lock()
	defer d.eps.mu.Unlock()
	run := d.eps.runFor(id, ri.StartedAt)
	failing := sv.failing(now.Sub(ri.StartedAt), run.probes)
	run.probes++
	p := run.ports[port]
	if p == nil {
		p = &servedPort{}
		run.ports[port] = p
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("address of %s: %w", id, err)
		}
		p.addr = netip.MustParseAddrPort(ln.Addr().String())
		ln.Close() // kept only as an address where nothing listens, yet
	}
	if !sv.serves(port) {
		return p.addr, nil
	}
	p.failing.Store(failing)
	if failing && sv.refuse {
		p.close()
		return p.addr, nil
	}
	if p.srv == nil {
		ln, err := net.Listen("tcp", p.addr.String())
		if err != nil {
			// Taken meanwhile by someone else: what answers there is
			// not the container, so say so rather than pretend.
			return netip.AddrPort{}, fmt.Errorf("address of %s: the sim cannot listen on %s for port %d again: %w", id, p.addr, port, err)
		}
		p.ln = ln
		p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
		go p.srv.Serve(ln)
	}
	return p.addr, nil
}

// ServeHTTP answers a GET as simserve does.
func (p *servedPort) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if p.failing.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "simserve: unhealthy\n")
		return
	}
	io.WriteString(w, "OK\n")
}

// runFor returns the served run of container id that started at started,
// closing one of an earlier run, and lets go of the runs of containers
// that no longer run.
func (e *endpoints) runFor(id string, started time.Time) *servedRun {
	if e.runs == nil {
		e.runs = make(map[string]*servedRun)
	}
	r := e.runs[id]
	if r != nil && !r.started.Equal(started) {
		r.close()
		r = nil
	}
	if r == nil {
		r = &servedRun{started: started, ports: make(map[int]*servedPort)}
		e.runs[id] = r
	}
	return r
}

// sweepEndpoints closes the listeners of runs that are over.
func (d *Driver) sweepEndpoints() {
	d.eps.mu.Lock()
	defer d.eps.mu.Unlock()
	for id, r := range d.eps.runs {
		ri, ok, err := d.model.runOf(id)
		if err == nil && (!ok || ri.State != driver.StateRunning || !ri.StartedAt.Equal(r.started)) {
			r.close()
			delete(d.eps.runs, id)
		}
	}
}

// closeEndpoints closes every listener.
func (d *Driver) closeEndpoints() {
	d.eps.mu.Lock()
	defer d.eps.mu.Unlock()
	for id, r := range d.eps.runs {
		r.close()
		delete(d.eps.runs, id)
	}
}

// probeExec acts out curl in container id, whose run is ri, for
// Exec: `curl [-f] [-s] URL` against localhost answers as the container's
// simserve does (a probe, counted); ok is false for another command.
func (d *Driver) probeExec(id string, ri runInfo, argv []string, stdout, stderr io.Writer) (code int, ok bool) {
	argv = unwrapShell(argv)
	if len(argv) == 0 || program(argv[0]) != "curl" {
		return 0, false
	}
	fail, url := false, ""
	for _, a := range argv[1:] {
		switch {
		case a == "-f" || a == "--fail" || strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--") && strings.Contains(a, "f"):
			fail = true
		case !strings.HasPrefix(a, "-"):
			url = a
		}
	}
	port := 80
	host, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://"), "/")
	if h, p, err := net.SplitHostPort(host); err == nil {
		host = h
		if n, err := strconv.Atoi(p); err == nil {
			port = n
		}
	}
	if !strings.EqualFold(host, "localhost") && host != "127.0.0.1" && host != "::1" && host != "[::1]" {
		fmt.Fprintf(stderr, "curl: (6) Could not resolve host: %s\n", host)
		return 6, true
	}
	sv, serves := servingOf(ri.Command)
	now := d.model.clock()
	d.eps.mu.Lock()
	run := d.eps.runFor(id, ri.StartedAt)
	failing := sv.failing(now.Sub(ri.StartedAt), run.probes)
	run.probes++
	d.eps.mu.Unlock()
	switch {
	case !serves || !sv.serves(port) || failing && sv.refuse:
		fmt.Fprintf(stderr, "curl: (7) Failed to connect to %s port %d after 0 ms: Could not connect to server\n", host, port)
		return 7, true
	case failing && fail:
		fmt.Fprintf(stderr, "curl: (22) The requested URL returned error: 503\n")
		return 22, true
	case failing:
		io.WriteString(stdout, "simserve: unhealthy\n")
		return 0, true
	}
	io.WriteString(stdout, "OK\n")
	return 0, true
}

// unwrapShell returns the command a shell line runs: `cmd /S /C curl -f
// URL` gives [curl -f URL]; other commands are returned as they are.
func unwrapShell(argv []string) []string {
	if len(argv) == 0 || program(argv[0]) != "cmd" {
		return argv
	}
	for i, a := range argv[1:] {
		if strings.EqualFold(a, "/c") {
			return strings.Fields(strings.ReplaceAll(strings.Join(argv[i+2:], " "), `"`, ""))
		}
	}
	return argv
}
