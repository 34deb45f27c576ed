package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// Prober runs probes against a driver's containers. Its zero value has
// no abilities: every probe fails, saying which ability is missing.
type Prober struct {
	// Exec runs exec probes; nil when the driver has no driver.Execer.
	Exec driver.Execer
	// Addr tells where tcp and http probes go; nil when the driver has no
	// driver.Addresser.
	Addr driver.Addresser
	// Now tells the time of results (time.Now when nil).
	Now func() time.Time
}

// NewProber returns a Prober with the abilities d has.
func NewProber(d driver.Driver, now func() time.Time) Prober {
	p := Prober{Now: now}
	p.Exec, _ = d.(driver.Execer)
	p.Addr, _ = d.(driver.Addresser)
	return p
}

func (p Prober) now() time.Time {
	if p.Now == nil {
		return time.Now()
	}
	return p.Now()
}

// Probe runs c once against container id, within c.Timeout, and returns
// the result; it fails only as a probe fails (never with an error), so
// that a broken probe shows in the container's health.
func (p Prober) Probe(ctx context.Context, id string, c Check) Result {
	r := Result{Start: p.now()}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var err error
	switch c.Kind {
	case KindExec:
		r.ExitCode, r.Output, err = p.exec(ctx, id, c)
	case KindTCP:
		r.Output, err = p.tcp(ctx, id, c)
	case KindHTTP:
		r.Output, err = p.http(ctx, id, c)
	default:
		err = fmt.Errorf("unknown probe kind %q", c.Kind)
	}
	r.End = p.now()
	switch {
	case err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.Output = fmt.Sprintf("probe timed out after %s: %v", c.Timeout, err)
		r.ExitCode = -1
	case err != nil:
		r.Output = err.Error()
		if r.ExitCode == 0 {
			r.ExitCode = 1
		}
	default:
		r.OK = r.ExitCode == 0
	}
	r.Output = truncate(r.Output)
	return r
}

// limitedBuffer keeps the first MaxOutputLen bytes written to it and
// takes the rest without keeping it, so a chatty probe cannot make the
// agent hold its output.
type limitedBuffer struct{ b bytes.Buffer }

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if room := MaxOutputLen - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (p Prober) exec(ctx context.Context, id string, c Check) (int, string, error) {
	if p.Exec == nil {
		return 1, "", errors.New("the driver cannot run processes in containers (no exec ability), so an exec health check cannot run; use a tcp or http check")
	}
	var out limitedBuffer
	code, err := p.Exec.Exec(ctx, id, driver.ExecProcess{Command: c.Command, Stdout: &out, Stderr: &out})
	if err != nil {
		return code, "", fmt.Errorf("exec %s: %w", c.Command[0], err)
	}
	return code, out.b.String(), nil
}

func (p Prober) addr(ctx context.Context, id string, c Check) (string, error) {
	if p.Addr == nil {
		return "", fmt.Errorf("the driver cannot tell the container's address (no address ability), so a %s health check cannot run; use an exec check", c.Kind)
	}
	a, err := p.Addr.Address(ctx, id, c.Port)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}

func (p Prober) tcp(ctx context.Context, id string, c Check) (string, error) {
	addr, err := p.addr(ctx, id, c)
	if err != nil {
		return "", err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("connect to port %d: %w", c.Port, err)
	}
	conn.Close()
	return fmt.Sprintf("connected to port %d (%s)", c.Port, addr), nil
}

func (p Prober) http(ctx context.Context, id string, c Check) (string, error) {
	addr, err := p.addr(ctx, id, c)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+c.Path, nil)
	if err != nil {
		return "", fmt.Errorf("http check: %w", err)
	}
	req.Header.Set("User-Agent", "isoagent-health")
	// A client of its own: no proxy from the environment (the endpoint is
	// the container's, never a proxy's), no keep-alive across probes,
	// and redirects not followed: a 3xx is healthy as it is.
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s on port %d: %w", c.Path, c.Port, unwrapURL(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxOutputLen))
	out := resp.Status + "\n" + string(body)
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return "", fmt.Errorf("GET %s on port %d: %s", c.Path, c.Port, truncate(out))
	}
	return out, nil
}

// unwrapURL drops the *url.Error around a client error, whose message
// repeats the URL with the container's address.
func unwrapURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
