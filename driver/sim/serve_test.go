package sim_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
)

// probe is one look at a simulated container, at a time after its start:
// a GET, a bare connect, or curl run inside it.
type probe struct {
	at   time.Duration
	kind string // http, tcp, curl
	port int
	want string // for http the status ("200"), for tcp "open" or "refused", for curl the exit code
}

// A container running simserve answers real probes on a real loopback
// listener, as its command says, by the sim's clock.
func TestSimserveAnswersProbes(t *testing.T) {
	tests := []struct {
		name    string
		command []string
		probes  []probe
	}{
		{"healthy forever", []string{"simserve", "80"}, []probe{
			{0, "http", 80, "200"}, {0, "tcp", 80, "open"}, {time.Hour, "http", 80, "200"}, {time.Hour, "curl", 80, "0"},
		}},
		{"a port it does not listen on", []string{"simserve", "80"}, []probe{
			{0, "tcp", 81, "refused"}, {0, "curl", 81, "7"},
		}},
		{"unhealthy after 30s answers 503", []string{"simserve", "80", "-unhealthy-after", "30s"}, []probe{
			{29 * time.Second, "http", 80, "200"}, {30 * time.Second, "http", 80, "503"}, {31 * time.Second, "tcp", 80, "open"}, {32 * time.Second, "curl", 80, "22"},
		}},
		{"unhealthy after 30s stops listening", []string{"cmd", "/c", "simserve 80 -unhealthy-after 30s -refuse"}, []probe{
			{0, "http", 80, "200"}, {30 * time.Second, "tcp", 80, "refused"}, {30 * time.Second, "curl", 80, "7"},
		}},
		{"fails the first two probes", []string{"simserve", "8080", "-fail-first", "2"}, []probe{
			{0, "http", 8080, "503"}, {time.Second, "curl", 8080, "22"}, {2 * time.Second, "http", 8080, "200"}, {3 * time.Second, "curl", 8080, "0"},
		}},
		{"IIS serves port 80", []string{`C:\ServiceMonitor.exe`, "w3svc"}, []probe{
			{0, "http", 80, "200"}, {0, "tcp", 443, "refused"},
		}},
		{"not a server", []string{"ping", "-t", "localhost"}, []probe{
			{0, "tcp", 80, "refused"}, {0, "curl", 80, "7"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			d := newDriver(t, sim.Options{Clock: clock.Now})
			t.Cleanup(func() { d.Close() })
			ctx := t.Context()
			cfg := driver.Config{ID: "c1", Name: "c1", Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Command: tt.command}
			if err := d.Create(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			if err := d.Start(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
			start := clock.Now()
			for i, p := range tt.probes {
				clock.Advance(start.Add(p.at).Sub(clock.Now()))
				var got string
				switch p.kind {
				case "curl":
					var out bytes.Buffer
					code, err := d.Exec(ctx, "c1", driver.ExecProcess{Command: []string{"cmd", "/S", "/C", "curl -f http://localhost:" + strconv.Itoa(p.port) + "/"}, Stdout: &out, Stderr: &out})
					if err != nil {
						t.Fatalf("probe %d: exec: %v", i, err)
					}
					got = strconv.Itoa(code)
				default:
					addr, err := d.Address(ctx, "c1", p.port)
					if err != nil {
						t.Fatalf("probe %d: Address: %v", i, err)
					}
					if !addr.Addr().IsLoopback() {
						t.Errorf("probe %d: address %s is not a loopback address", i, addr)
					}
					if p.kind == "tcp" {
						conn, err := net.DialTimeout("tcp", addr.String(), 5*time.Second)
						got = "refused"
						if err == nil {
							conn.Close()
							got = "open"
						}
						break
					}
					resp, err := http.Get("http://" + addr.String() + "/")
					if err != nil {
						t.Fatalf("probe %d: GET: %v", i, err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					got = strconv.Itoa(resp.StatusCode)
				}
				if got != p.want {
					t.Errorf("probe %d (%s :%d at %s) = %s, want %s", i, p.kind, p.port, p.at, got, p.want)
				}
			}
		})
	}
}

func TestAddressRefusesWhatDoesNotRun(t *testing.T) {
	d := newDriver(t, sim.Options{})
	t.Cleanup(func() { d.Close() })
	ctx := t.Context()
	img := imageref.MustParse(ltsc2022)
	for _, cfg := range []driver.Config{
		{ID: "created", Name: "created", Isolation: driver.Process, Image: img},
		{ID: "nonet", Name: "nonet", Isolation: driver.Process, Image: img, Network: "none", Command: []string{"simserve"}},
	} {
		if err := d.Create(ctx, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Start(ctx, "nonet"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		id   string
		want error
	}{{"absent", driver.ErrNotFound}, {"created", driver.ErrInvalidState}, {"nonet", driver.ErrInvalidState}} {
		if _, err := d.Address(ctx, tt.id, 80); !errors.Is(err, tt.want) {
			t.Errorf("Address(%s) = %v, want %v", tt.id, err, tt.want)
		}
	}
}

// The image's HEALTHCHECK, as the sim is told it, is in what Image says.
func TestImageHealthcheck(t *testing.T) {
	d := newDriver(t, sim.Options{})
	h := &driver.ImageHealthcheck{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second}
	if err := d.Model().SetImageHealthcheck("web:ltsc2022", h); err != nil {
		t.Fatal(err)
	}
	img, err := d.Image(t.Context(), imageref.MustParse("web:ltsc2022"))
	if err != nil {
		t.Fatal(err)
	}
	if img.Healthcheck == nil || strings.Join(img.Healthcheck.Test, " ") != "CMD-SHELL curl -f http://localhost/" || img.Healthcheck.Interval != 5*time.Second {
		t.Errorf("Healthcheck = %+v, want %+v", img.Healthcheck, h)
	}
	if err := d.Model().SetImage("web:ltsc2022", driver.OSVersion{Major: 10, Build: 17763}); err != nil {
		t.Fatal(err)
	}
	if img, _ := d.Image(t.Context(), imageref.MustParse("web:ltsc2022")); img.Healthcheck == nil || img.OSVersion.Build != 17763 {
		t.Errorf("after SetImage: %+v, want both the build and the healthcheck", img)
	}
	if img, _ := d.Image(t.Context(), imageref.MustParse("other:ltsc2022")); img.Healthcheck != nil {
		t.Errorf("an image without one: Healthcheck = %+v", img.Healthcheck)
	}
}
