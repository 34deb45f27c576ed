//go:build windows

package hcs

import (
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// TestStatsReadHCSAndHNS reads the statistics of running containers
// through hcsshim from the fake HCS, which answers with the sim's numbers:
// each counter the driver reports lies between the sim's readings just
// before and just after, the limits are the config's, and the network
// numbers come from the container's own HNS endpoint.
func TestStatsReadHCSAndHNS(t *testing.T) {
	for _, iso := range []driver.Isolation{driver.Process, driver.HyperV} {
		t.Run(string(iso), func(t *testing.T) {
			h := newFakeHost(t)
			d := h.client(t, testOwner)
			web := config("web", iso)
			web.Resources = driver.Resources{CPUCount: 2, CPUMaximumPercent: 50, MemoryMB: 256}
			web.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
			offline := config("offline", iso)
			offline.Network = "none"
			stopped := config("stopped", iso)
			for _, c := range []driver.Config{web, offline, stopped} {
				if err := d.Create(t.Context(), c); err != nil {
					t.Fatal(err)
				}
				if err := d.Start(t.Context(), c.ID); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Stop(t.Context(), "stopped", 5*time.Second); err != nil {
				t.Fatal(err)
			}
			before := simByID(t, h)
			got, err := d.Stats(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			after := simByID(t, h)
			if len(got) != 2 || got[0].ID != "offline" || got[1].ID != "web" {
				t.Fatalf("Stats = %+v, want offline and web, not the stopped one", got)
			}
			for _, s := range got {
				a, b := before[s.ID], after[s.ID]
				within := func(what string, v, lo, hi uint64) {
					if v < lo || v > hi {
						t.Errorf("%s %s = %d, want between the sim's %d and %d", s.ID, what, v, lo, hi)
					}
				}
				within("CPU total", uint64(s.CPU.Total), uint64(a.CPU.Total)/100*100, uint64(b.CPU.Total))
				within("CPU user", uint64(s.CPU.User), uint64(a.CPU.User)/100*100, uint64(b.CPU.User))
				within("commit peak", s.Memory.CommitPeakBytes, a.Memory.CommitPeakBytes, b.Memory.CommitPeakBytes)
				within("storage write bytes", s.Storage.WriteBytes, a.Storage.WriteBytes, b.Storage.WriteBytes)
				within("storage reads", s.Storage.ReadCount, a.Storage.ReadCount, b.Storage.ReadCount)
				if s.Memory.PrivateWorkingSetBytes == 0 || s.Time.Before(a.Time) || s.Time.After(b.Time) {
					t.Errorf("%s: no working set, or taken outside the sim's readings: %+v", s.ID, s)
				}
			}
			w := got[1]
			// With process isolation HCS takes the CPU count only.
			want := web.Resources
			if iso == driver.Process {
				want.CPUMaximumPercent = 0
			}
			if w.Limits != want {
				t.Errorf("web's limits = %+v, want %+v, as HCS was given them", w.Limits, want)
			}
			rec, err := d.getRecord("web")
			if err != nil {
				t.Fatal(err)
			}
			if len(w.Network) != 1 || len(rec.Endpoints) != 1 || !strings.EqualFold(w.Network[0].Endpoint, rec.Endpoints[0]) {
				t.Fatalf("web's network = %+v, want its endpoint %v", w.Network, rec.Endpoints)
			}
			n, a, b := w.Network[0], after["web"].Network[0], before["web"].Network[0]
			if n.TransmitBytes < b.TransmitBytes || n.TransmitBytes > a.TransmitBytes || n.ReceivePackets > a.ReceivePackets {
				t.Errorf("web's endpoint = %+v, want between the sim's %+v and %+v", n, b, a)
			}
			if len(got[0].Network) != 0 {
				t.Errorf("offline has network statistics %+v, want none", got[0].Network)
			}
		})
	}
}

func simByID(t *testing.T, h *fakeHost) map[string]driver.Stats {
	t.Helper()
	all, err := h.model.Stats("")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]driver.Stats{}
	for _, s := range all {
		m[s.ID] = s
	}
	return m
}
