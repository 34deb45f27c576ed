package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

func TestFromImage(t *testing.T) {
	tests := []struct {
		name string
		in   *driver.ImageHealthcheck
		want Check
		ok   bool
	}{
		{"none", nil, Check{}, false},
		{"NONE", &driver.ImageHealthcheck{Test: []string{"NONE"}}, Check{}, false},
		{"inherit", &driver.ImageHealthcheck{}, Check{}, false},
		{"CMD without a program", &driver.ImageHealthcheck{Test: []string{"CMD"}}, Check{}, false},
		{"CMD runs as it is, with Docker's defaults", &driver.ImageHealthcheck{Test: []string{"CMD", "curl", "-f", "http://localhost/"}},
			Check{Kind: KindExec, Command: []string{"curl", "-f", "http://localhost/"}, Interval: 30 * time.Second, Timeout: 30 * time.Second, Retries: 3, FromImage: true}, true},
		{"CMD-SHELL through cmd /S /C", &driver.ImageHealthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/ || exit 1"}, Interval: 5 * time.Second, Timeout: time.Second, Retries: 2, StartPeriod: time.Minute},
			Check{Kind: KindExec, Command: []string{"cmd", "/S", "/C", "curl -f http://localhost/ || exit 1"}, Interval: 5 * time.Second, Timeout: time.Second, Retries: 2, StartPeriod: time.Minute, FromImage: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FromImage(tt.in)
			if ok != tt.ok || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FromImage = %+v, %v; want %+v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestEffective(t *testing.T) {
	image := &driver.ImageHealthcheck{Test: []string{"CMD", "check.exe"}}
	tests := []struct {
		name     string
		spec     spec.HealthCheck
		wantKind Kind
		ok       bool
	}{
		{"the image's when the spec has none", spec.HealthCheck{}, KindExec, true},
		{"the spec's wins", spec.HealthCheck{HTTP: spec.HTTPCheck{Port: 80}}, KindHTTP, true},
		{"disable turns the image's off", spec.HealthCheck{Disable: true}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := Effective(tt.spec, image)
			if ok != tt.ok || c.Kind != tt.wantKind {
				t.Errorf("Effective = %+v, %v; want kind %q, %v", c, ok, tt.wantKind, tt.ok)
			}
			if tt.wantKind == KindHTTP && (c.Path != "/" || c.Interval != 30*time.Second || c.Retries != 3) {
				t.Errorf("Effective = %+v, want the spec's defaults (path /, 30s, 3 retries)", c)
			}
		})
	}
}

func TestStatusRecord(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	check := Check{Kind: KindTCP, Port: 80, Interval: 10 * time.Second, Timeout: time.Second, Retries: 3, StartPeriod: 30 * time.Second}
	tests := []struct {
		name    string
		results string // at 10s steps from 10s: p pass, f fail
		want    []State
		streaks []int
	}{
		{"passes", "pp", []State{Healthy, Healthy}, []int{0, 0}},
		{"failures in the start period do not count", "ffff", []State{Starting, Starting, Starting, Starting}, []int{0, 0, 1, 2}},
		{"then they do", "fffff", []State{Starting, Starting, Starting, Starting, Unhealthy}, []int{0, 0, 1, 2, 3}},
		{"a pass ends the start period", "pfff", []State{Healthy, Healthy, Healthy, Unhealthy}, []int{0, 1, 2, 3}},
		{"a pass makes it healthy again", "pfffp", []State{Healthy, Healthy, Healthy, Unhealthy, Healthy}, []int{0, 1, 2, 3, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStatus(start)
			for i, r := range tt.results {
				at := start.Add(time.Duration(i+1) * check.Interval)
				s.Record(check, start, Result{Start: at, End: at, OK: r == 'p'})
				if s.State != tt.want[i] || s.FailingStreak != tt.streaks[i] {
					t.Errorf("after %s: %s with streak %d, want %s with %d", tt.results[:i+1], s.State, s.FailingStreak, tt.want[i], tt.streaks[i])
				}
			}
		})
	}
}

func TestStatusKeepsTheLastResultsBounded(t *testing.T) {
	s := NewStatus(time.Time{})
	c := Check{Retries: 3}
	for i := range 12 {
		s.Record(c, time.Time{}, Result{OK: true, Output: fmt.Sprintf("%d:%s", i, strings.Repeat("é", MaxOutputLen))})
	}
	if len(s.Log) != MaxResults {
		t.Fatalf("kept %d results, want %d", len(s.Log), MaxResults)
	}
	if !strings.HasPrefix(s.Log[0].Output, "7:") || !strings.HasPrefix(s.Log[MaxResults-1].Output, "11:") {
		t.Errorf("kept %q ... %q, want results 7 to 11", s.Log[0].Output[:3], s.Log[MaxResults-1].Output[:3])
	}
	for _, r := range s.Log {
		if len(r.Output) > MaxOutputLen || !strings.HasSuffix(r.Output, "é") {
			t.Errorf("an output of %d bytes ending %q, want at most %d ending in a whole é", len(r.Output), r.Output[len(r.Output)-2:], MaxOutputLen)
		}
	}
}

// addresser sends every port of every container to one address.
type addresser struct {
	addr netip.AddrPort
	err  error
}

func (a addresser) Address(context.Context, string, int) (netip.AddrPort, error) {
	return a.addr, a.err
}

// execer answers every exec with code and output.
type execer struct {
	code int
	out  string
	err  error
	got  []string
}

func (e *execer) Exec(_ context.Context, _ string, p driver.ExecProcess) (int, error) {
	e.got = p.Command
	io.WriteString(p.Stdout, e.out)
	return e.code, e.err
}

func listen(t *testing.T) (net.Listener, netip.AddrPort) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln, netip.MustParseAddrPort(ln.Addr().String())
}

// serve answers GETs on a real listener with handler.
func serve(t *testing.T, h http.HandlerFunc) netip.AddrPort {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// closedPort is an address where nothing listens.
func closedPort(t *testing.T) netip.AddrPort {
	ln, addr := listen(t)
	ln.Close()
	return addr
}

func TestProbe(t *testing.T) {
	ok := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "all good")
	})
	failing := serve(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "db down", http.StatusServiceUnavailable) })
	redirect := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://192.0.2.1/elsewhere", http.StatusFound)
	})
	_, open := listen(t)
	closed := closedPort(t)
	timing := Check{Interval: time.Second, Timeout: 10 * time.Second, Retries: 1}
	with := func(c Check, k Kind, port int, path string) Check {
		c.Kind, c.Port, c.Path = k, port, path
		return c
	}
	tests := []struct {
		name    string
		p       Prober
		c       Check
		wantOK  bool
		wantOut string
	}{
		{"http 200", Prober{Addr: addresser{addr: ok}}, with(timing, KindHTTP, 80, "/healthz"), true, "all good"},
		{"http 404", Prober{Addr: addresser{addr: ok}}, with(timing, KindHTTP, 80, "/other"), false, "404 Not Found"},
		{"http 503", Prober{Addr: addresser{addr: failing}}, with(timing, KindHTTP, 80, "/"), false, "db down"},
		{"http 3xx is healthy, not followed", Prober{Addr: addresser{addr: redirect}}, with(timing, KindHTTP, 80, "/"), true, "302 Found"},
		{"http refused", Prober{Addr: addresser{addr: closed}}, with(timing, KindHTTP, 80, "/"), false, "refused"},
		{"tcp open", Prober{Addr: addresser{addr: open}}, with(timing, KindTCP, 1433, ""), true, "connected to port 1433"},
		{"tcp refused", Prober{Addr: addresser{addr: closed}}, with(timing, KindTCP, 1433, ""), false, "connect to port 1433"},
		{"no address", Prober{Addr: addresser{err: fmt.Errorf("address of c1: %w", driver.ErrInvalidState)}}, with(timing, KindTCP, 80, ""), false, "invalid state"},
		{"no address ability", Prober{}, with(timing, KindHTTP, 80, "/"), false, "no address ability"},
		{"exec 0", Prober{Exec: &execer{out: "fine\n"}}, Check{Kind: KindExec, Command: []string{"check.exe"}, Timeout: time.Second}, true, "fine"},
		{"exec 1", Prober{Exec: &execer{code: 1, out: "broken\n"}}, Check{Kind: KindExec, Command: []string{"check.exe"}, Timeout: time.Second}, false, "broken"},
		{"exec fails", Prober{Exec: &execer{err: fmt.Errorf("exec in c1: %w", driver.ErrInvalidState)}}, Check{Kind: KindExec, Command: []string{"check.exe"}, Timeout: time.Second}, false, "exec check.exe: exec in c1"},
		{"no exec ability", Prober{}, Check{Kind: KindExec, Command: []string{"check.exe"}, Timeout: time.Second}, false, "no exec ability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.p.Probe(t.Context(), "c1", tt.c)
			if r.OK != tt.wantOK || !strings.Contains(r.Output, tt.wantOut) {
				t.Errorf("Probe = ok %v, %q; want ok %v, output with %q", r.OK, r.Output, tt.wantOK, tt.wantOut)
			}
			if r.OK != (r.ExitCode == 0) {
				t.Errorf("ok %v with exit code %d", r.OK, r.ExitCode)
			}
			if r.End.Before(r.Start) {
				t.Errorf("ends at %v before its start %v", r.End, r.Start)
			}
		})
	}
}

// A probe that does not answer within its timeout fails, saying so.
func TestProbeTimesOut(t *testing.T) {
	ln, addr := listen(t)
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // read nothing, answer nothing
		}
	}()
	t.Cleanup(func() {
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	})
	r := Prober{Addr: addresser{addr: addr}}.Probe(t.Context(), "c1", Check{Kind: KindHTTP, Port: 80, Path: "/", Timeout: 50 * time.Millisecond})
	if r.OK || !strings.Contains(r.Output, "timed out after 50ms") {
		t.Errorf("Probe = ok %v, %q; want a failure that says it timed out", r.OK, r.Output)
	}
}

// An exec probe's output is kept bounded while it is read.
func TestExecOutputBounded(t *testing.T) {
	e := &execer{out: strings.Repeat("x", 10*MaxOutputLen)}
	r := Prober{Exec: e}.Probe(t.Context(), "c1", Check{Kind: KindExec, Command: []string{"chatty"}, Timeout: time.Second})
	if len(r.Output) != MaxOutputLen {
		t.Errorf("output of %d bytes, want %d", len(r.Output), MaxOutputLen)
	}
}

// fakeClock is a Clock a test moves: After's channels fire once the
// clock has been advanced past their time; armed tells each After.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	armed   chan time.Duration
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(now time.Time) *fakeClock {
	return &fakeClock{now: now, armed: make(chan time.Duration, 16)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	c.armed <- d
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.c <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// Loop probes at the interval, one interval after the start first, and
// reports each status.
func TestLoop(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := newFakeClock(start)
	e := &execer{code: 1, out: "not yet"}
	check := Check{Kind: KindExec, Command: []string{"check.exe"}, Interval: 10 * time.Second, Timeout: time.Second, Retries: 2}
	reports := make(chan Status)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Loop(ctx, clock, Prober{Exec: e, Now: clock.Now}, "c1", check, start, func(s Status, _ Result) { reports <- s })
	}()
	wantStates := []State{Starting, Unhealthy}
	for i, want := range wantStates {
		select {
		case d := <-clock.armed:
			if d != check.Interval {
				t.Fatalf("probe %d: waits %s, want the interval %s", i, d, check.Interval)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Loop does not wait for its next probe")
		}
		clock.Advance(check.Interval)
		s := <-reports
		if s.State != want {
			t.Errorf("after probe %d: %s, want %s", i+1, s.State, want)
		}
		if last, _ := s.Last(); !last.Start.Equal(start.Add(time.Duration(i+1) * check.Interval)) {
			t.Errorf("probe %d ran at %v, want %v", i+1, last.Start, start.Add(time.Duration(i+1)*check.Interval))
		}
	}
	cancel()
	<-done
}
