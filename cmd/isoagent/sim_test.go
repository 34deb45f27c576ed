package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/testutil"
)

// newSimFolder makes a state folder with a few containers, created at fixed
// times so that listings are stable.
func newSimFolder(t *testing.T) (dir string, d *sim.Driver) {
	t.Helper()
	dir = t.TempDir()
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	d, err := sim.Open(dir, sim.Options{Host: driver.Host{Name: "WEB-01"}, Clock: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, cfg := range []driver.Config{
		{ID: "web-1", Name: "web", Isolation: driver.Process, Image: imageref.MustParse("mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022")},
		{ID: "job-1", Name: "job", Isolation: driver.Process, Image: imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022"), Command: []string{"cmd", "/c", "exit 3"}},
		{ID: "vm-1", Name: "vm", Isolation: driver.HyperV, Image: imageref.MustParse("mcr.microsoft.com/windows/nanoserver:ltsc2022")},
	} {
		if err := d.Create(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Isolation == driver.Process {
			if err := d.Start(ctx, cfg.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir, d
}

func runSimArgs(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = dispatch(append([]string{"sim"}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestSimLsPrintsTable(t *testing.T) {
	dir, d := newSimFolder(t)
	if err := d.Model().AddForeign(driver.Config{ID: "docker-1", Name: "legacy", Owner: "docker", Isolation: driver.Process, Image: imageref.MustParse("example.com/legacy:ltsc2022")}); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runSimArgs(t, "--sim-dir", dir, "ls")
	if code != exitOK {
		t.Fatalf("sim ls exited %d: %s", code, errOut)
	}
	golden := filepath.Join("testdata", "sim-ls.golden")
	testutil.Golden(t, golden, []byte(out), *update)

	out, _, _ = runSimArgs(t, "ls", "--owner", "docker", "--sim-dir", dir)
	if !strings.Contains(out, "legacy") || strings.Contains(out, "web-1") {
		t.Errorf("sim ls --owner docker printed\n%s\nwant only the docker container", out)
	}
}

func TestSimDrillsChangeTheHost(t *testing.T) {
	dir, d := newSimFolder(t)
	ctx := t.Context()
	m := d.Model()
	tests := []struct {
		args  []string
		check func(t *testing.T, out string)
	}{
		{[]string{"kill", "web", "--code", "7"}, func(t *testing.T, out string) {
			cs, _ := d.List(ctx)
			if c := findContainer(cs, "web-1"); c.State != driver.StateExited || c.ExitCode != 7 {
				t.Errorf("web-1 after kill: %s %d, want exited 7", c.State, c.ExitCode)
			}
		}},
		{[]string{"rm", "vm-1"}, func(t *testing.T, out string) {
			cs, _ := d.List(ctx)
			if c := findContainer(cs, "vm-1"); c.ID != "" {
				t.Errorf("vm-1 still there after rm: %+v", c)
			}
		}},
		{[]string{"host", "--set", "10.0.26100", "--sku", "client"}, func(t *testing.T, out string) {
			h, _ := d.Host(ctx)
			if h.OSVersion.Build != 26100 || h.SKU != driver.SKUClient || h.Name != "WEB-01" {
				t.Errorf("host after --set: %+v", h)
			}
			if !strings.Contains(out, "10.0.26100") {
				t.Errorf("host printed %q, want the new version", out)
			}
		}},
		{[]string{"host", "--hyperv", "off", "--unc-mounts", "on"}, func(t *testing.T, out string) {
			h, _ := d.Host(ctx)
			if h.HyperV != driver.Unavailable || !h.UNCMounts {
				t.Errorf("host after --hyperv off --unc-mounts on: %+v", h)
			}
			if !strings.Contains(out, "unavailable") {
				t.Errorf("host printed %q, want Hyper-V unavailable", out)
			}
		}},
		{[]string{"image", "example.com/app:v1", "--build", "17763"}, func(t *testing.T, out string) {
			img, _ := d.Image(ctx, imageref.MustParse("example.com/app:v1"))
			if img.OSVersion.Build != 17763 || !strings.Contains(out, "10.0.17763") {
				t.Errorf("image after --build: %+v, printed %q", img, out)
			}
		}},
		{[]string{"image", "example.com/web:ltsc2022", "--healthcheck", "CMD-SHELL curl -f http://localhost/"}, func(t *testing.T, out string) {
			img, _ := d.Image(ctx, imageref.MustParse("example.com/web:ltsc2022"))
			if img.Healthcheck == nil || !slices.Equal(img.Healthcheck.Test, []string{"CMD-SHELL", "curl -f http://localhost/"}) || !strings.Contains(out, "healthcheck CMD-SHELL curl -f http://localhost/") {
				t.Errorf("image after --healthcheck: %+v, printed %q", img.Healthcheck, out)
			}
		}},
		{[]string{"image", "example.com/web:ltsc2022", "--no-healthcheck"}, func(t *testing.T, out string) {
			if img, _ := d.Image(ctx, imageref.MustParse("example.com/web:ltsc2022")); img.Healthcheck != nil || strings.Contains(out, "healthcheck") {
				t.Errorf("image after --no-healthcheck: %+v, printed %q", img.Healthcheck, out)
			}
		}},
		{[]string{"image", "example.com/app:v1", "--missing"}, func(t *testing.T, out string) {
			if _, err := d.Image(ctx, imageref.MustParse("example.com/app:v1")); !errors.Is(err, driver.ErrNotFound) {
				t.Errorf("Image after --missing = %v, want ErrNotFound", err)
			}
		}},
		{[]string{"missing-path", `D:\Sites`}, func(t *testing.T, out string) {
			if strings.TrimSpace(out) != `d:\sites` {
				t.Errorf("missing-path printed %q", out)
			}
		}},
		{[]string{"port", "9000/udp"}, func(t *testing.T, out string) {
			err := d.Create(ctx, driver.Config{ID: "dns", Isolation: driver.Process, Image: imageref.MustParse("example.com/dns:ltsc2022"), Ports: []driver.Port{{HostPort: 9000, ContainerPort: 53, Protocol: "udp"}}})
			if !errors.Is(err, driver.ErrPortInUse) {
				t.Errorf("Create on a reserved port = %v, want ErrPortInUse", err)
			}
		}},
		{[]string{"fault", "start", "--count", "2", "--error", "unavailable", "--delay", "1s"}, func(t *testing.T, out string) {
			fs, _ := m.Faults()
			if len(fs) != 1 || fs[0].Op != driver.OpStart || fs[0].Count != 2 || !errors.Is(fs[0].Err, driver.ErrUnavailable) || fs[0].Delay != time.Second {
				t.Errorf("faults after fault start: %+v", fs)
			}
		}},
		{[]string{"fault", "--clear"}, func(t *testing.T, out string) {
			if fs, _ := m.Faults(); len(fs) != 0 {
				t.Errorf("faults after --clear: %+v", fs)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errOut, code := runSimArgs(t, append([]string{"--sim-dir", dir}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			tt.check(t, out)
		})
	}
}

func TestSimReportsMistakes(t *testing.T) {
	dir, _ := newSimFolder(t)
	tests := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{[]string{"frobnicate"}, exitUsage, "unknown command"},
		{[]string{"kill"}, exitUsage, "want a container name"},
		{[]string{"kill", "nobody"}, exitProblem, "not found"},
		{[]string{"kill", "vm"}, exitProblem, "invalid state"},
		{[]string{"host", "--set", "ten"}, exitUsage, "OS version"},
		{[]string{"host", "--sku", "desktop"}, exitProblem, "SKU"},
		{[]string{"host", "--hyperv", "maybe"}, exitUsage, "want on or off"},
		{[]string{"fault", "jump", "--error", "unavailable"}, exitUsage, "unknown operation"},
		{[]string{"fault", "start", "--error", "oops"}, exitUsage, "unknown error class"},
		{[]string{"image", "x:1", "--build", "1", "--missing"}, exitUsage, "at most one"},
		{[]string{"image", "x:1", "--healthcheck", "curl -f http://localhost/"}, exitUsage, "write CMD-SHELL LINE"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errOut, code := runSimArgs(t, append([]string{"--sim-dir", dir}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errOut, tt.code, tt.wantErr)
			}
		})
	}
}

func TestDefaultSimDirIsPerUser(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/tmp/cache-of-someone")
	t.Setenv("HOME", "/home/someone")
	want := filepath.Join("/tmp/cache-of-someone", "isoagent", "sim")
	if got := defaultSimDir(); got != want && os.Getenv("LOCALAPPDATA") == "" {
		t.Errorf("defaultSimDir() = %q, want %q", got, want)
	}
}

func findContainer(cs []driver.Container, id string) driver.Container {
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	return driver.Container{}
}
