package metrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/reconcile"
)

// serveWithAccess serves the endpoints with a over TLS on loopback until
// the test ends and returns the base URL and a client trusting the
// server's certificate.
func serveWithAccess(t *testing.T, a Access, caFile string, confirmed *[]string) (string, *http.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer("unused", Handler(Endpoints{
		Status: func(context.Context) (any, error) { return map[string]bool{"converged": true}, nil },
		ConfirmPrune: func(_ context.Context, id string) (any, error) {
			*confirmed = append(*confirmed, id)
			return reconcile.PendingPrune{ID: id}, nil
		},
	}), nil)
	s.Access = a
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return")
		}
	})
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(client.CloseIdleConnections)
	return "https://" + ln.Addr().String(), client
}

func TestAccessGuardsEveryPathButThePublicOnes(t *testing.T) {
	wc := testutil.WriteWebConfig(t, map[string]string{"admin": "s3cret"})
	var confirmed []string
	base, client := serveWithAccess(t, Access{WebConfigFile: wc.File, Public: []string{"/metrics"}}, wc.CAFile, &confirmed)

	tests := []struct {
		method, path string
		user, pass   string
		want         int
	}{
		{"GET", "/metrics", "", "", 200},
		{"GET", "/status", "", "", 401},
		{"GET", "/status", "admin", "wrong", 401},
		{"GET", "/status", "nobody", "s3cret", 401},
		{"GET", "/status", "admin", "s3cret", 200},
		{"GET", "/healthz", "", "", 401},
		{"GET", "/healthz", "admin", "s3cret", 200},
		// A path the mux would clean to a public one is not public.
		{"GET", "/metrics/../status", "", "", 401},
		// Not public, and not a path of the mux: asked for credentials
		// before anything says what exists.
		{"GET", "/logs", "", "", 401},
		{"POST", "/prune/confirm", "", "", 401},
		{"POST", "/prune/confirm", "admin", "wrong", 401},
		{"POST", "/prune/confirm", "admin", "s3cret", 200},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, base+tt.path, strings.NewReader(`{"id": "abc"}`))
		if err != nil {
			t.Fatal(err)
		}
		if tt.user != "" {
			req.SetBasicAuth(tt.user, tt.pass)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s as %q/%q = %d, want %d", tt.method, tt.path, tt.user, tt.pass, resp.StatusCode, tt.want)
		}
		if resp.StatusCode == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Errorf("%s %s: 401 without a Basic challenge", tt.method, tt.path)
		}
	}
	if len(confirmed) != 1 {
		t.Errorf("the engine was asked to confirm %d times, want once (with the credentials)", len(confirmed))
	}

	// Plain HTTP to the TLS endpoint gets nothing of it.
	resp, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/metrics")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP was served /metrics by the TLS endpoint")
		}
	}
}

func TestAccessWithoutUsersIsTLSOnly(t *testing.T) {
	wc := testutil.WriteWebConfig(t, nil)
	var confirmed []string
	base, client := serveWithAccess(t, Access{WebConfigFile: wc.File}, wc.CAFile, &confirmed)
	resp, err := client.Get(base + "/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Errorf("GET /status = %d (TLS %v), want 200 over TLS", resp.StatusCode, resp.TLS != nil)
	}
}

func TestAccessCheckSaysWhatIsWrong(t *testing.T) {
	wc := testutil.WriteWebConfig(t, map[string]string{"admin": "s3cret"})
	dir := t.TempDir()
	plainHash := filepath.Join(dir, "plain.yml")
	os.WriteFile(plainHash, []byte("basic_auth_users:\n  admin: s3cret\n"), 0o600)
	noKey := filepath.Join(dir, "nokey.yml")
	os.WriteFile(noKey, []byte("tls_server_config:\n  cert_file: "+wc.CAFile+"\n"), 0o600)
	typo := filepath.Join(dir, "typo.yml")
	os.WriteFile(typo, []byte("tls_server_confg:\n  cert_file: x\n"), 0o600)

	tests := []struct {
		name string
		a    Access
		want string // "" for no error
	}{
		{"valid", Access{WebConfigFile: wc.File, Public: []string{"/metrics", "/healthz", "/readyz"}}, ""},
		{"no file", Access{}, ""},
		{"status cannot be public", Access{WebConfigFile: wc.File, Public: []string{"/status"}}, `public path "/status"`},
		{"password not hashed", Access{WebConfigFile: plainHash}, "plain.yml"},
		{"key missing", Access{WebConfigFile: noKey}, "key"},
		{"unknown field", Access{WebConfigFile: typo}, "tls_server_confg"},
		{"missing file", Access{WebConfigFile: filepath.Join(dir, "none.yml")}, "none.yml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Check()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// The example beside prometheus.yml is a file the agent reads, with the
// password its comment names.
func TestExampleWebConfigReads(t *testing.T) {
	c, err := readWebConfig(filepath.Join("..", "examples", "prometheus", "web-config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLSConfig.IsEnabled() {
		t.Error("the example serves no TLS")
	}
	g := &guard{verified: make(map[[32]byte]bool)}
	if !g.verify("prometheus", string(c.Users["prometheus"]), "change-me") {
		t.Error(`the example's hash for user prometheus is not of "change-me"`)
	}
}

// http_server_config.http2 decides whether HTTP/2 is offered, as with the
// toolkit.
func TestAccessHTTP2FollowsTheWebConfig(t *testing.T) {
	for _, http2 := range []bool{true, false} {
		wc := testutil.WriteWebConfig(t, nil)
		if !http2 {
			b, err := os.ReadFile(wc.File)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(wc.File, append(b, "http_server_config:\n  http2: false\n"...), 0o600)
		}
		var confirmed []string
		base, client := serveWithAccess(t, Access{WebConfigFile: wc.File}, wc.CAFile, &confirmed)
		client.Transport.(*http.Transport).ForceAttemptHTTP2 = true
		resp, err := client.Get(base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.ProtoMajor == 2; got != http2 {
			t.Errorf("http2: %v in the web config, served %s", http2, resp.Proto)
		}
	}
}
