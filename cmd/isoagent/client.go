package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/prometheus/common/config"
)

// clientFlags say how status, wait and prune reach the agent: its address
// and, for an endpoint behind a --web.config.file, the TLS and basic-auth
// set-up in the format of Prometheus' HTTP client configuration (what
// promtool's --http.config.file takes: tls_config, basic_auth).
type clientFlags struct {
	addr       string
	httpConfig string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", defaultAddr, "address the agent's --listen serves: host:port for plain HTTP, or https://host:port")
	fs.StringVar(&c.httpConfig, "http.config.file", "", "`file` with the TLS (tls_config: ca_file, cert_file, key_file, server_name) and credentials (basic_auth: username, password_file) to reach an agent run with --web.config.file, in Prometheus' HTTP client format")
}

// agentClient talks to a running agent's HTTP endpoint.
type agentClient struct {
	base string // scheme://host:port
	addr string // as --addr gave it, for messages
	http *http.Client
}

// open returns the client of the flags.
func (c *clientFlags) open() (*agentClient, error) {
	base := c.addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("--addr %q: want host:port or https://host:port", c.addr)
	}
	hc := http.DefaultClient
	if c.httpConfig != "" {
		cfg, _, err := config.LoadHTTPConfigFile(c.httpConfig)
		if err != nil {
			return nil, fmt.Errorf("--http.config.file: %w", err)
		}
		if hc, err = config.NewClientFromConfig(*cfg, "isoagent"); err != nil {
			return nil, fmt.Errorf("--http.config.file %s: %w", c.httpConfig, err)
		}
	}
	return &agentClient{base: u.Scheme + "://" + u.Host, addr: c.addr, http: hc}, nil
}

// errUnauthorized is the agent asking for credentials it did not get.
var errUnauthorized = errors.New("the agent asks for credentials: give --http.config.file with basic_auth (username, password_file) of a user in its --web.config.file")

// do sends a request to path and returns the answer's body and status
// code; only failures to get an answer are errors.
func (a *agentClient) do(ctx context.Context, method, path string, body []byte) ([]byte, int, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	var untrusted *tls.CertificateVerificationError
	if errors.As(err, &untrusted) {
		return nil, 0, fmt.Errorf("the certificate of the agent at %s is not trusted: give --http.config.file with tls_config.ca_file, the certificate that signed it: %w", a.addr, err)
	}
	if err != nil {
		host := strings.TrimPrefix(strings.TrimPrefix(a.base, "https://"), "http://")
		return nil, 0, fmt.Errorf("no agent answers at %s (is `isoagent run` running with --listen %s?): %w", a.addr, host, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("read %s%s: %w", a.base, path, err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return nil, resp.StatusCode, errUnauthorized
	case resp.StatusCode == http.StatusBadRequest && resp.TLS == nil && bytes.Contains(b, []byte("HTTPS server")):
		return nil, resp.StatusCode, fmt.Errorf("the agent at %s serves TLS: use --addr https://%s", a.addr, strings.TrimPrefix(a.base, "http://"))
	}
	return b, resp.StatusCode, nil
}
