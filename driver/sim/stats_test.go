package sim_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
)

func TestStatsFollowTheClockAndTheCommand(t *testing.T) {
	const mib = 1 << 20
	service := []string{`C:\ServiceMonitor.exe`, "w3svc"}
	tests := []struct {
		name      string
		cfg       driver.Config
		want      driver.Stats // ID, Time and Limits filled in by the test
		wantEmpty bool         // not running after ten minutes
	}{
		{
			name: "a service runs a quarter of a CPU and grows its commit",
			cfg:  driver.Config{Command: service},
			want: driver.Stats{
				CPU:     driver.CPUStats{Total: 150 * time.Second, User: 120 * time.Second, Kernel: 30 * time.Second},
				Memory:  driver.MemoryStats{CommitBytes: 120*mib + 600*64<<10, CommitPeakBytes: 132*mib + 600*64<<10, PrivateWorkingSetBytes: (120*mib + 600*64<<10) * 8 / 10},
				Storage: driver.StorageStats{ReadBytes: 60*mib + 600*32<<10, ReadCount: 1260, WriteBytes: 600 * 96 << 10, WriteCount: 900},
				Network: []driver.NetworkStats{{ReceiveBytes: 600 * 48 << 10, TransmitBytes: 600 * 160 << 10, ReceivePackets: 32768, TransmitPackets: 109226, ReceiveDrops: 3}},
			},
		},
		{
			name: "a CPU maximum of 50% halves the CPU time",
			cfg:  driver.Config{Command: service, Resources: driver.Resources{CPUMaximumPercent: 50}, Network: "none"},
			want: driver.Stats{
				CPU:     driver.CPUStats{Total: 75 * time.Second, User: 60 * time.Second, Kernel: 15 * time.Second},
				Memory:  driver.MemoryStats{CommitBytes: 120*mib + 600*64<<10, CommitPeakBytes: 132*mib + 600*64<<10, PrivateWorkingSetBytes: (120*mib + 600*64<<10) * 8 / 10},
				Storage: driver.StorageStats{ReadBytes: 60*mib + 600*32<<10, ReadCount: 1260, WriteBytes: 600 * 96 << 10, WriteCount: 900},
			},
		},
		{
			name: "a memory limit levels the commit off below it",
			cfg:  driver.Config{Command: service, Resources: driver.Resources{MemoryMB: 128}, Network: "none"},
			want: driver.Stats{
				CPU:     driver.CPUStats{Total: 150 * time.Second, User: 120 * time.Second, Kernel: 30 * time.Second},
				Memory:  driver.MemoryStats{CommitBytes: 114923929, CommitPeakBytes: 127506841, PrivateWorkingSetBytes: 91939143},
				Storage: driver.StorageStats{ReadBytes: 60*mib + 600*32<<10, ReadCount: 1260, WriteBytes: 600 * 96 << 10, WriteCount: 900},
			},
		},
		{
			name: "ping sends an echo a second",
			cfg:  driver.Config{Command: []string{"cmd", "/c", "ping -t localhost"}},
			want: driver.Stats{
				CPU:     driver.CPUStats{Total: 1200 * time.Millisecond, User: 480 * time.Millisecond, Kernel: 720 * time.Millisecond},
				Memory:  driver.MemoryStats{CommitBytes: 6 * mib, CommitPeakBytes: 6*mib + 6*mib/10, PrivateWorkingSetBytes: 6 * mib * 8 / 10},
				Storage: driver.StorageStats{ReadBytes: 2 * mib, ReadCount: 32, WriteBytes: 9600, WriteCount: 1},
				Network: []driver.NetworkStats{{ReceiveBytes: 44400, TransmitBytes: 44400, ReceivePackets: 600, TransmitPackets: 600}},
			},
		},
		{
			name:      "an exited container has none",
			cfg:       driver.Config{Command: []string{"cmd", "/c", "exit 0"}},
			wantEmpty: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			d := newDriver(t, sim.Options{Clock: clock.Now})
			ctx := t.Context()
			cfg := tt.cfg
			cfg.ID, cfg.Name, cfg.Isolation, cfg.Image = "c1", "web", driver.Process, imageref.MustParse(ltsc2022)
			if err := d.Create(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			if err := d.Start(ctx, "c1"); err != nil {
				t.Fatal(err)
			}
			clock.Advance(10 * time.Minute)
			got, err := d.Stats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantEmpty {
				if len(got) != 0 {
					t.Fatalf("Stats = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("Stats = %+v, want one", got)
			}
			want := tt.want
			want.ID, want.Time, want.Limits = "c1", clock.Now(), cfg.Resources
			for i := range want.Network {
				if got[0].Network[i].Endpoint == "" {
					t.Errorf("endpoint %d has no ID", i)
				}
				want.Network[i].Endpoint = got[0].Network[i].Endpoint
			}
			if diff := diffStats(got[0], want); diff != "" {
				t.Errorf("Stats after 10 minutes:\n%s", diff)
			}
		})
	}
}

func diffStats(got, want driver.Stats) string {
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
		return "got  " + g + "\nwant " + w
	}
	return ""
}

func TestStatsGrowAndStartAgainFromZero(t *testing.T) {
	clock := newFakeClock()
	d := newDriver(t, sim.Options{Clock: clock.Now})
	ctx := t.Context()
	cfg := driver.Config{ID: "c1", Name: "web", Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Command: []string{"dotnet", "api.dll"}}
	if err := d.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	sample := func() driver.Stats {
		t.Helper()
		st, err := d.Stats(ctx)
		if err != nil || len(st) != 1 {
			t.Fatalf("Stats = %+v, %v; want one", st, err)
		}
		return st[0]
	}
	clock.Advance(time.Minute)
	a := sample()
	clock.Advance(time.Minute)
	b := sample()
	if b.CPU.Total <= a.CPU.Total || b.Storage.WriteBytes <= a.Storage.WriteBytes || b.Network[0].TransmitBytes <= a.Network[0].TransmitBytes {
		t.Errorf("counters did not grow from %+v to %+v", a, b)
	}
	if err := d.Stop(ctx, "c1", time.Second); err != nil {
		t.Fatal(err)
	}
	if st, err := d.Stats(ctx); err != nil || len(st) != 0 {
		t.Fatalf("Stats of a stopped container = %+v, %v; want none", st, err)
	}
	if err := d.Start(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	c := sample()
	if c.CPU.Total >= a.CPU.Total || c.Network[0].Endpoint == b.Network[0].Endpoint {
		t.Errorf("a new run did not start from zero with a new endpoint: %+v after %+v", c, b)
	}
}
