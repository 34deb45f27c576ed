package sim_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winpath"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const ltsc2022 = "mcr.microsoft.com/windows/servercore:ltsc2022"

func newDriver(t *testing.T, opts sim.Options) *sim.Driver {
	t.Helper()
	d, err := sim.Open(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func get(t *testing.T, d *sim.Driver, id string) driver.Container {
	t.Helper()
	cs, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no container %s in %+v", id, cs)
	return driver.Container{}
}

func TestCommandsExitAsTheClockSays(t *testing.T) {
	tests := []struct {
		command  []string
		runsFor  time.Duration // 0: exits at once; -1: until stopped
		exitCode int
	}{
		{[]string{"cmd", "/c", "exit 3"}, 0, 3},
		{[]string{"ping", "-n", "5", "localhost"}, 5 * time.Second, 0},
		{[]string{`C:\Windows\System32\timeout.exe`, "/t", "60"}, time.Minute, 0},
		{nil, -1, 0},
		{[]string{`C:\ServiceMonitor.exe`, "w3svc"}, -1, 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.command, " "), func(t *testing.T) {
			clock := newFakeClock()
			d := newDriver(t, sim.Options{Clock: clock.Now})
			ctx := t.Context()
			cfg := driver.Config{ID: "c1", Name: "c1", Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Command: tt.command}
			if err := d.Create(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			if err := d.Start(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
			started := clock.Now()
			if tt.runsFor != 0 {
				clock.Advance(tt.runsFor - time.Millisecond)
				if tt.runsFor < 0 {
					clock.Advance(1000 * time.Hour)
				}
				if c := get(t, d, "c1"); c.State != driver.StateRunning {
					t.Fatalf("just before its time: %s, want running", c.State)
				}
				if tt.runsFor < 0 {
					return
				}
				clock.Advance(time.Millisecond)
			}
			c := get(t, d, "c1")
			if c.State != driver.StateExited || c.ExitCode != tt.exitCode {
				t.Fatalf("at its time: %s with %d, want exited with %d", c.State, c.ExitCode, tt.exitCode)
			}
			if want := started.Add(max(tt.runsFor, 0)); !c.FinishedAt.Equal(want) {
				t.Errorf("FinishedAt = %v, want %v", c.FinishedAt, want)
			}
			// Later reads agree: the exit is derived, not re-rolled.
			clock.Advance(time.Hour)
			if c2 := get(t, d, "c1"); !c2.FinishedAt.Equal(c.FinishedAt) || c2.ExitCode != c.ExitCode {
				t.Errorf("an hour later: %+v, want %+v", c2, c)
			}
		})
	}
}

func TestHCSRules(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(*sim.Model) error
		cfg     driver.Config
		want    error
		wantMsg string
	}{
		{
			name: "process isolation with an ltsc2019 image",
			setup: func(m *sim.Model) error {
				return m.SetImage("app:ltsc2019", driver.OSVersion{Major: 10, Build: 17763})
			},
			cfg:     driver.Config{Isolation: driver.Process, Image: imageref.MustParse("app:ltsc2019")},
			want:    driver.ErrVersionMismatch,
			wantMsg: "The container operating system does not match the host operating system. (image 10.0.17763, host 10.0.20348, process isolation) (0xc0370101)",
		},
		{
			name: "hyperv with an image newer than the host",
			setup: func(m *sim.Model) error {
				return m.SetImage("app:ltsc2025", driver.OSVersion{Major: 10, Build: 26100})
			},
			cfg:     driver.Config{Isolation: driver.HyperV, Image: imageref.MustParse("app:ltsc2025")},
			want:    driver.ErrVersionMismatch,
			wantMsg: "0xc0370101",
		},
		{
			// A Windows host knows the build of every image it has: one
			// whose tag names none was never pulled here.
			name:    "image of a tag naming no build",
			cfg:     driver.Config{Isolation: driver.Process, Image: imageref.MustParse("example.com/app:latest")},
			want:    driver.ErrNotFound,
			wantMsg: "has not pulled",
		},
		{
			name:  "image the host does not have",
			setup: func(m *sim.Model) error { return m.RemoveImage("example.com/app:v1") },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse("example.com/app:v1")},
			want:  driver.ErrNotFound,
		},
		{
			name: "devices with hyperv",
			cfg:  driver.Config{Isolation: driver.HyperV, Image: imageref.MustParse(ltsc2022), Devices: []string{"5B45201D-F2F2-4F3B-85BB-30FF1F953599"}},
			want: driver.ErrNotSupported,
		},
		{
			name: "devices with process isolation",
			cfg:  driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Devices: []string{"5B45201D-F2F2-4F3B-85BB-30FF1F953599"}},
		},
		{
			name: "network sharing with hyperv",
			cfg:  driver.Config{Isolation: driver.HyperV, Image: imageref.MustParse(ltsc2022), NetworkSharedWith: "base"},
			want: driver.ErrNotSupported,
		},
		{
			name: "network sharing with a running container",
			cfg:  driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), NetworkSharedWith: "base"},
		},
		{
			name: "network sharing with an unknown container",
			cfg:  driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), NetworkSharedWith: "nobody"},
			want: driver.ErrNotFound,
		},
		{
			name:  "network sharing with a stopped container",
			setup: func(m *sim.Model) error { return m.Stop("", "base") },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), NetworkSharedWith: "base"},
			want:  driver.ErrInvalidState,
		},
		{
			name:  "mount of a missing folder",
			setup: func(m *sim.Model) error { return m.SetMissingPath(`D:\Sites`, true) },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Mounts: []driver.Mount{{HostPath: winpath.MustParse(`d:/sites/web/`), ContainerPath: winpath.MustParse(`C:\web`)}}},
			want:  driver.ErrHostPathNotFound,
		},
		{
			name:  "mount next to a missing folder",
			setup: func(m *sim.Model) error { return m.SetMissingPath(`D:\Sites`, true) },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Mounts: []driver.Mount{{HostPath: winpath.MustParse(`D:\Sites2`), ContainerPath: winpath.MustParse(`C:\web`)}}},
		},
		{
			name: "mount of a folder found again",
			setup: func(m *sim.Model) error {
				return errors.Join(m.SetMissingPath(`D:\x`, true), m.SetMissingPath(`d:\X\`, false))
			},
			cfg: driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Mounts: []driver.Mount{{HostPath: winpath.MustParse(`D:\x`), ContainerPath: winpath.MustParse(`C:\x`)}}},
		},
		{
			name:  "missing pipe",
			setup: func(m *sim.Model) error { return m.SetMissingPath(`\\.\pipe\metrics`, true) },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Pipes: []driver.Pipe{{HostPipe: winpath.MustParsePipe(`\\.\pipe\metrics`), ContainerPipe: winpath.MustParsePipe(`\\.\pipe\metrics`)}}},
			want:  driver.ErrHostPathNotFound,
		},
		{
			name: "port held by another container",
			cfg:  driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Ports: []driver.Port{{HostPort: 8080, ContainerPort: 80}}},
			want: driver.ErrPortInUse,
		},
		{
			name:  "port reserved on the host",
			setup: func(m *sim.Model) error { return m.ReservePort(9000, "udp", true) },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Ports: []driver.Port{{HostPort: 9000, ContainerPort: 53, Protocol: "UDP"}}},
			want:  driver.ErrPortInUse,
		},
		{
			name:  "port released by a removed container",
			setup: func(m *sim.Model) error { return errors.Join(m.Stop("", "base"), m.Remove("", "base")) },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Ports: []driver.Port{{HostPort: 8080, ContainerPort: 80}}},
		},
		{
			name:  "port released by a container removed behind the agent's back",
			setup: func(m *sim.Model) error { return m.ForceRemove("base") },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Ports: []driver.Port{{HostPort: 8080, ContainerPort: 80}}},
		},
		{
			name:  "port held by a killed container",
			setup: func(m *sim.Model) error { return m.Kill("base", 1) },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Ports: []driver.Port{{HostPort: 8080, ContainerPort: 80}}},
			want:  driver.ErrPortInUse,
		},
		{
			name: "port of a removed container taken again",
			setup: func(m *sim.Model) error {
				other := driver.Config{ID: "other", Name: "other", Owner: "x", Isolation: driver.Process, Image: imageref.MustParse(ltsc2022),
					Ports: []driver.Port{{HostPort: 8080, ContainerPort: 80}}}
				return errors.Join(m.ForceRemove("base"), m.AddForeign(other))
			},
			cfg:     driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Ports: []driver.Port{{HostPort: 8080, ContainerPort: 80}}},
			want:    driver.ErrPortInUse,
			wantMsg: "held by other",
		},
		{
			name:  "port held by an exited container",
			setup: func(m *sim.Model) error { return m.Stop("", "base") },
			cfg:   driver.Config{Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Ports: []driver.Port{{HostPort: 8080, ContainerPort: 80}}},
			want:  driver.ErrPortInUse,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDriver(t, sim.Options{})
			m := d.Model()
			ctx := t.Context()
			base := driver.Config{ID: "base", Name: "base", Isolation: driver.Process, Image: imageref.MustParse(ltsc2022),
				Ports: []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}}
			if err := d.Create(ctx, base); err != nil {
				t.Fatal(err)
			}
			if err := d.Start(ctx, "base"); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				if err := tt.setup(m); err != nil {
					t.Fatal(err)
				}
			}
			cfg := tt.cfg
			cfg.ID, cfg.Name = "new", "new"
			err := d.Create(ctx, cfg)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Create = %v, want success", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Create = %v, want %q", err, tt.want)
			}
			var hcsErr *sim.HCSError
			if !errors.As(err, &hcsErr) {
				t.Errorf("Create error %T is not a *sim.HCSError", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Create = %q, want it to contain %q", err, tt.wantMsg)
			}
			if cs, _ := m.Containers(""); len(cs) != 1 {
				t.Errorf("a failed Create left %d containers, want only base", len(cs))
			}
		})
	}
}

func TestImageCatalog(t *testing.T) {
	d := newDriver(t, sim.Options{})
	m := d.Model()
	ctx := t.Context()
	if err := m.SetImage("Example.com/App:V1", driver.OSVersion{Major: 10, Build: 17763, Revision: 5}); err != nil {
		t.Fatal(err)
	}
	img, err := d.Image(ctx, imageref.MustParse("example.com/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if img.OSVersion.String() != "10.0.17763.5" || len(img.Command) == 0 {
		t.Errorf("Image = %+v, want 10.0.17763.5 and a default command", img)
	}
	if img, err := d.Image(ctx, imageref.MustParse("example.com/unknown:latest")); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Image of a tag naming no build = %+v, %v; want ErrNotFound (never pulled here)", img, err)
	}
	if err := m.RemoveImage("example.com/app:v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Image(ctx, imageref.MustParse("example.com/app:v1")); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Image of a removed image = %v, want ErrNotFound", err)
	}
	if err := m.SetImage("example.com/app:v1", driver.OSVersion{Major: 10, Build: 20348}); err != nil {
		t.Fatal(err)
	}
	if img, err := d.Image(ctx, imageref.MustParse("example.com/app:v1")); err != nil || img.OSVersion.Build != 20348 {
		t.Errorf("Image after SetImage = %+v, %v; want it back at 20348", img, err)
	}
}

func TestHostIsSetOnceUnlessOverridden(t *testing.T) {
	dir := t.TempDir()
	client := driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: 22631}, SKU: driver.SKUClient, Name: "DEV-1"}
	tests := []struct {
		name     string
		opts     sim.Options
		wantHost driver.Host
	}{
		{"new folder takes the given host", sim.Options{Host: client}, client},
		{"existing folder keeps its host", sim.Options{}, client},
		{"override replaces it", sim.Options{Host: driver.Host{Name: "SRV"}, OverrideHost: true},
			driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: 20348}, SKU: driver.SKUServer, Name: "SRV"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := sim.Open(dir, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			h, err := d.Host(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			// A new host can run Hyper-V isolated containers.
			tt.wantHost.Driver, tt.wantHost.HyperV = driver.NameSim, driver.Available
			if h != tt.wantHost {
				t.Errorf("Host = %+v, want %+v", h, tt.wantHost)
			}
		})
	}
	if _, err := sim.Open(t.TempDir(), sim.Options{Host: driver.Host{SKU: "desktop"}}); err == nil {
		t.Error("Open with SKU desktop succeeded, want an error")
	}
}

func TestDrills(t *testing.T) {
	d := newDriver(t, sim.Options{})
	m := d.Model()
	ctx := t.Context()
	for _, id := range []string{"web-1", "db-1"} {
		cfg := driver.Config{ID: id, Name: strings.TrimSuffix(id, "-1"), Isolation: driver.Process, Image: imageref.MustParse(ltsc2022)}
		if err := d.Create(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		if err := d.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	foreign := driver.Config{ID: "docker-1", Name: "web", Owner: "docker", Isolation: driver.Process, Image: imageref.MustParse(ltsc2022)}
	if err := m.AddForeign(foreign); err != nil {
		t.Fatal(err)
	}
	cs, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Errorf("List = %+v, want only the two own containers", cs)
	}
	if err := m.Kill("web", 1); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("Kill of a name two containers carry = %v, want an ambiguity error", err)
	}
	if err := m.Kill("db", 9); err != nil {
		t.Fatal(err)
	}
	if c := get(t, d, "db-1"); c.State != driver.StateExited || c.ExitCode != 9 {
		t.Errorf("db-1 after Kill: %s %d, want exited 9", c.State, c.ExitCode)
	}
	if err := m.Kill("db", 9); !errors.Is(err, driver.ErrInvalidState) {
		t.Errorf("Kill of an exited container = %v, want ErrInvalidState", err)
	}
	if err := m.ForceRemove("web-1"); err != nil {
		t.Fatal(err)
	}
	if err := m.ForceRemove("nothing"); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("ForceRemove of nothing = %v, want ErrNotFound", err)
	}
	all, err := m.Containers("")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "db-1" || all[1].ID != "docker-1" || all[1].State != driver.StateRunning {
		t.Errorf("host after the drills: %+v, want db-1 and the running docker-1", all)
	}
}

func TestFaults(t *testing.T) {
	t.Run("fail the next calls, seen by a second client", func(t *testing.T) {
		dir := t.TempDir()
		a, err := sim.Open(dir, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := sim.Open(dir, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := t.Context()
		if err := a.Model().InjectFault(sim.Fault{Op: driver.OpList, Count: 2, Err: driver.ErrUnavailable}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.List(ctx); !errors.Is(err, driver.ErrUnavailable) {
			t.Errorf("first List = %v, want ErrUnavailable", err)
		}
		if _, err := a.List(ctx); !errors.Is(err, driver.ErrUnavailable) {
			t.Errorf("second List = %v, want ErrUnavailable", err)
		}
		if _, err := b.List(ctx); err != nil {
			t.Errorf("third List = %v, want the faults used up", err)
		}
		if fs, err := a.Model().Faults(); err != nil || len(fs) != 0 {
			t.Errorf("Faults = %v, %v; want none left", fs, err)
		}
	})
	t.Run("failed create changes nothing", func(t *testing.T) {
		d := newDriver(t, sim.Options{})
		ctx := t.Context()
		if err := d.InjectFault(sim.Fault{Op: driver.OpCreate, Count: 1, Err: driver.ErrPortInUse}); err != nil {
			t.Fatal(err)
		}
		cfg := driver.Config{ID: "c1", Isolation: driver.Process, Image: imageref.MustParse(ltsc2022)}
		if err := d.Create(ctx, cfg); !errors.Is(err, driver.ErrPortInUse) {
			t.Fatalf("Create = %v, want the injected ErrPortInUse", err)
		}
		if cs, _ := d.List(ctx); len(cs) != 0 {
			t.Fatalf("List = %+v after an injected failure, want nothing", cs)
		}
		if err := d.Create(ctx, cfg); err != nil {
			t.Fatalf("Create after the fault = %v", err)
		}
	})
	t.Run("in-memory fault applies to one client only", func(t *testing.T) {
		dir := t.TempDir()
		a, _ := sim.Open(dir, sim.Options{})
		b, _ := sim.Open(dir, sim.Options{})
		if err := a.InjectFault(sim.Fault{Op: driver.OpHost, Count: 1, Err: errors.New("boom")}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Host(t.Context()); err != nil {
			t.Errorf("other client's Host = %v, want nil", err)
		}
		if _, err := a.Host(t.Context()); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("Host = %v, want the injected error", err)
		}
	})
	t.Run("invalid faults are refused", func(t *testing.T) {
		d := newDriver(t, sim.Options{})
		for _, f := range []sim.Fault{
			{Op: "jump", Count: 1, Err: driver.ErrNotFound},
			{Op: driver.OpStart, Count: 0, Err: driver.ErrNotFound},
			{Op: driver.OpStart, Count: 1},
		} {
			if err := d.InjectFault(f); err == nil {
				t.Errorf("InjectFault(%+v) succeeded, want an error", f)
			}
		}
		if err := d.Model().InjectFault(sim.Fault{Op: driver.OpStart, Count: 1, Err: errors.New("not a class")}); err == nil {
			t.Error("persisting a fault with an unclassed error succeeded, want an error")
		}
	})
}

func TestFaultDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := sim.NewModel(sim.MemoryStore(), nil)
		if err := m.InitHost(driver.Host{}, false); err != nil {
			t.Fatal(err)
		}
		d := sim.NewDriver(m, "", nil)
		if err := m.InjectFault(sim.Fault{Op: driver.OpList, Count: 2, Delay: 5 * time.Second}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := d.List(t.Context()); err != nil {
			t.Fatalf("delayed List = %v, want success", err)
		}
		if got := time.Since(start); got != 5*time.Second {
			t.Errorf("delayed List took %s, want 5s", got)
		}

		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start = time.Now()
		if _, err := d.List(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("List with a shorter deadline = %v, want DeadlineExceeded", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("cancelled List returned after %s, want 1s", got)
		}
		start = time.Now()
		if _, err := d.List(t.Context()); err != nil || time.Since(start) != 0 {
			t.Errorf("List after the faults = %v after %s, want at once", err, time.Since(start))
		}
	})
}

func TestImageBuildFromTag(t *testing.T) {
	d := newDriver(t, sim.Options{})
	tests := []struct {
		ref  string
		want uint16
	}{
		{"mcr.microsoft.com/windows/servercore:ltsc2022", 20348},
		{"mcr.microsoft.com/windows/nanoserver:1809", 17763},
		{"mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2025", 26100},
		{"example.com/app:10.0.17763.5206", 17763},
		{"example.com/app:latest", 0}, // never pulled here
		{"example.com/app", 0},
	}
	for _, tt := range tests {
		img, err := d.Image(t.Context(), imageref.MustParse(tt.ref))
		if tt.want == 0 {
			if !errors.Is(err, driver.ErrNotFound) {
				t.Errorf("Image(%s) = %+v, %v; want ErrNotFound", tt.ref, img, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Image(%s): %v", tt.ref, err)
			continue
		}
		if img.OSVersion.Build != tt.want {
			t.Errorf("Image(%s) build = %d, want %d", tt.ref, img.OSVersion.Build, tt.want)
		}
	}
	// The catalog wins over the tag.
	if err := d.Model().SetImage("example.com/app:ltsc2022", driver.OSVersion{Major: 10, Build: 17763}); err != nil {
		t.Fatal(err)
	}
	if img, _ := d.Image(t.Context(), imageref.MustParse("example.com/app:ltsc2022")); img.OSVersion.Build != 17763 {
		t.Errorf("Image of an overridden image = %s, want the catalog's 10.0.17763", img.OSVersion)
	}
	// And a tag alone is enough for the version check.
	err := d.Create(t.Context(), driver.Config{ID: "old", Isolation: driver.Process, Image: imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2019")})
	if !errors.Is(err, driver.ErrVersionMismatch) {
		t.Errorf("Create process-isolated ltsc2019 on 20348 = %v, want ErrVersionMismatch", err)
	}
}

// TestManyCommandsExitEachOnTime pins that every container's command ends
// at its own time, whatever was stopped, killed or restarted in between,
// in memory and through a state folder another client reads afresh.
func TestManyCommandsExitEachOnTime(t *testing.T) {
	for _, store := range []string{"memory", "folder"} {
		t.Run(store, func(t *testing.T) {
			clock := newFakeClock()
			t0 := clock.Now()
			dir := ""
			if store == "folder" {
				dir = t.TempDir()
			}
			d, err := sim.Open(dir, sim.Options{Clock: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			for i, cmd := range [][]string{
				{"ping", "-n", "1", "localhost"},
				{"ping", "-n", "2", "localhost"},
				{"ping", "-n", "3", "localhost"},
				{"ping", "-n", "4", "localhost"},
				{"ping", "-n", "5", "localhost"},
				nil,
			} {
				id := fmt.Sprintf("c%d", i+1)
				cfg := driver.Config{ID: id, Name: id, Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Command: cmd}
				if err := d.Create(ctx, cfg); err != nil {
					t.Fatal(err)
				}
				if err := d.Start(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			at := func(d time.Duration) time.Time { return t0.Add(d) }
			type want struct {
				state    driver.State
				code     int
				finished time.Time
			}
			check := func(step string, wants map[string]want) {
				t.Helper()
				for id, w := range wants {
					c := get(t, d, id)
					if c.State != w.state || c.ExitCode != w.code || !c.FinishedAt.Equal(w.finished) {
						t.Errorf("%s: %s is %s with %d at %v, want %s with %d at %v",
							step, id, c.State, c.ExitCode, c.FinishedAt, w.state, w.code, w.finished)
					}
				}
			}
			running := want{state: driver.StateRunning}

			// The earliest to end is killed and the third stopped, before
			// their time.
			clock.Advance(500 * time.Millisecond)
			if err := d.Model().Kill("c1", 9); err != nil {
				t.Fatal(err)
			}
			if err := d.Stop(ctx, "c3", time.Second); err != nil {
				t.Fatal(err)
			}
			clock.Advance(2 * time.Second) // t0+2.5s
			check("at 2.5s", map[string]want{
				"c1": {driver.StateExited, 9, at(500 * time.Millisecond)},
				"c2": {driver.StateExited, 0, at(2 * time.Second)},
				"c3": {driver.StateExited, 0, at(500 * time.Millisecond)},
				"c4": running, "c5": running, "c6": running,
			})
			if err := d.Start(ctx, "c3"); err != nil { // ends at 5.5s now
				t.Fatal(err)
			}
			if dir != "" {
				// A client that reads the folder afresh sees the same.
				d2, err := sim.Open(dir, sim.Options{Clock: clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				d = d2
			}
			clock.Advance(2500 * time.Millisecond) // t0+5s
			check("at 5s", map[string]want{
				"c3": running,
				"c4": {driver.StateExited, 0, at(4 * time.Second)},
				"c5": {driver.StateExited, 0, at(5 * time.Second)},
				"c6": running,
			})
			clock.Advance(time.Hour)
			check("an hour later", map[string]want{
				"c1": {driver.StateExited, 9, at(500 * time.Millisecond)},
				"c3": {driver.StateExited, 0, at(5500 * time.Millisecond)},
				"c6": running,
			})
		})
	}
}

// TestHostWithoutHyperV acts out a host without the Hyper-V role: it says
// so in Host, and it refuses to start a Hyper-V isolated container as HCS
// does (a required feature is not installed), a permanent refusal; process
// isolation runs as before.
func TestHostWithoutHyperV(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	d, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := d.Model()
	if err := m.SetHyperV(driver.Unavailable, "the Hyper-V role is not installed"); err != nil {
		t.Fatal(err)
	}
	h, err := d.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.HyperV != driver.Unavailable || h.HyperVDetail != "the Hyper-V role is not installed" {
		t.Errorf("Host = %+v, want Hyper-V unavailable with its detail", h)
	}
	img := imageref.MustParse(ltsc2022)
	for _, iso := range []driver.Isolation{driver.HyperV, driver.Process} {
		id := "c-" + string(iso)
		if err := d.Create(ctx, driver.Config{ID: id, Name: id, Isolation: iso, Image: img}); err != nil {
			t.Fatalf("create %s: %v", iso, err)
		}
		err := d.Start(ctx, id)
		switch iso {
		case driver.HyperV:
			var he *sim.HCSError
			if !errors.Is(err, driver.ErrNotSupported) || !driver.IsPermanent(err) || !errors.As(err, &he) || he.Code != 0xc0370102 {
				t.Errorf("start of a Hyper-V container = %v, want HCS's 0xc0370102, not supported", err)
			}
		default:
			if err != nil {
				t.Errorf("start of a process-isolated container: %v", err)
			}
		}
	}
	// Restarting the agent with its host flags keeps what the drill set.
	if _, err := sim.Open(dir, sim.Options{Host: driver.Host{Name: "SRV"}, OverrideHost: true}); err != nil {
		t.Fatal(err)
	}
	if h, err := d.Host(ctx); err != nil || h.HyperV != driver.Unavailable || h.Name != "SRV" {
		t.Errorf("Host after a restart with --sim-host = %+v, %v; want the new name and still no Hyper-V", h, err)
	}
}

// TestUNCMountsAreRefusedUnlessTheHostCan pins that the sim, modelling
// HCS, maps local folders only unless told the host can map shares.
func TestUNCMountsAreRefusedUnlessTheHostCan(t *testing.T) {
	ctx := t.Context()
	img := imageref.MustParse(ltsc2022)
	tests := []struct {
		name    string
		mount   driver.Mount
		allowed bool
		wantErr error
	}{
		{"a local folder", driver.Mount{HostPath: winpath.MustParse(`D:\data`)}, false, nil},
		{"a share", driver.Mount{HostPath: winpath.MustParse(`\\fs01\share\data`)}, false, driver.ErrNotSupported},
		{"a local folder that leads to a share", driver.Mount{HostPath: winpath.MustParse(`D:\link`), ResolvedPath: winpath.MustParse(`\\fs01\share`)}, false, driver.ErrNotSupported},
		{"a share on a host told it can", driver.Mount{HostPath: winpath.MustParse(`\\fs01\share\data`)}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDriver(t, sim.Options{})
			if err := d.Model().SetUNCMounts(tt.allowed); err != nil {
				t.Fatal(err)
			}
			m := tt.mount
			m.ContainerPath = winpath.MustParse(`C:\data`)
			err := d.Create(ctx, driver.Config{ID: "a", Name: "a", Isolation: driver.Process, Image: img, Mounts: []driver.Mount{m}})
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Create = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// TestCredentialSpecsAreReadAsTheHCSDriverReadsThem: the sim reads a
// config's credential spec from its folder at create and at every start,
// and fails as the hcs driver fails.
func TestCredentialSpecsAreReadAsTheHCSDriverReadsThem(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	d, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "CredentialSpecs")
	write := func(content string) {
		t.Helper()
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(folder, "webapp01.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := driver.Config{ID: "web", Name: "web", Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), CredentialSpec: "webapp01.json",
		Command: []string{"cmd", "/c", "exit 0"}}
	if err := d.Create(ctx, cfg); !errors.Is(err, driver.ErrHostPathNotFound) || driver.IsPermanent(err) {
		t.Fatalf("Create without the file = %v, want a retryable ErrHostPathNotFound", err)
	}
	write(`{"CmsPlugins":["ActiveDirectory"],"DomainJoinConfig":{"DnsName":"corp.example"}}`)
	if err := d.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	write(`{"Password": "hunter2"}`)
	err = d.Start(ctx, cfg.ID)
	if !errors.Is(err, driver.ErrInvalidConfig) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Start with a file that is no credential spec = %v, want ErrInvalidConfig that does not quote it", err)
	}
}
