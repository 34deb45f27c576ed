package reconcile

import (
	"slices"
	"testing"
	"testing/synctest"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// A plan says what each recreate changes, field by field, from the
// config the driver keeps of the container it replaces.
func TestPlanRunShowsWhatARecreateChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		first := start(t, drv, snapshot(ctr("a", img2022, func(s *spec.Spec) {
			s.Resources.MemoryMB = 2048
			s.Env = map[string]string{"MODE": "fast", "KEEP": "1"}
		}), ctr("b", img2022)))
		first.waitConverged()
		first.stop()

		next := snapshot(ctr("a", img2022, func(s *spec.Spec) {
			s.Resources.MemoryMB = 3072
			s.Env = map[string]string{"KEEP": "1", "NEW": "x"}
		}), ctr("b", img2022))
		plan, err := PlanRun(t.Context(), drv, next, nil, RunPlanOptions{Admit: AdmitOptions{Owner: "isoagent"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Actions) != 1 || plan.Actions[0].Kind != ActionRecreate {
			t.Fatalf("plan %v, want one recreate", plan.Actions)
		}
		var got []string
		for _, c := range plan.Actions[0].Changes {
			got = append(got, c.String())
		}
		want := []string{"env.MODE: fast -> (none)", "env.NEW: (none) -> x", "resources.memoryMB: 2048 -> 3072"}
		if !slices.Equal(got, want) {
			t.Errorf("changes %q, want %q", got, want)
		}
	})
}

func TestConfigChanges(t *testing.T) {
	base := driver.Config{ID: "web-1", Name: "web", Owner: "isoagent", Hash: "h1", Isolation: driver.Process,
		Image:     imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022"),
		Mounts:    []driver.Mount{{HostPath: winpath.MustParse(`D:\a`), ContainerPath: winpath.MustParse(`C:\a`)}},
		SecretEnv: []driver.SecretRef{{Name: "db", Digest: "sha256:1111"}}}
	tests := []struct {
		name string
		edit func(*driver.Config)
		want []string
	}{
		{"names only", func(c *driver.Config) { c.ID, c.Hash, c.Name = "web-2", "h2", "web2" }, nil},
		{"image", func(c *driver.Config) { c.Image = imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2025") },
			[]string{"image: mcr.microsoft.com/windows/servercore:ltsc2022 -> mcr.microsoft.com/windows/servercore:ltsc2025"}},
		{"isolation", func(c *driver.Config) { c.Isolation = driver.HyperV }, []string{"isolation: process -> hyperv"}},
		{"a mount added", func(c *driver.Config) {
			c.Mounts = append(c.Mounts, driver.Mount{HostPath: winpath.MustParse(`D:\b`), ContainerPath: winpath.MustParse(`C:\b`), ReadOnly: true})
		}, []string{`mounts[1].containerPath: (none) -> C:\b`, `mounts[1].hostPath: (none) -> D:\b`, "mounts[1].readOnly: (none) -> true"}},
		{"every mount gone", func(c *driver.Config) { c.Mounts = nil },
			[]string{`mounts[0].containerPath: C:\a -> (none)`, `mounts[0].hostPath: D:\a -> (none)`}},
		{"a secret's content", func(c *driver.Config) { c.SecretEnv = []driver.SecretRef{{Name: "db", Digest: "sha256:2222"}} },
			[]string{"secretEnv[0].digest: (a digest) -> (another digest)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := base
			next.Mounts = slices.Clone(base.Mounts)
			tt.edit(&next)
			var got []string
			for _, c := range configChanges(base, next) {
				got = append(got, c.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("changes %q, want %q", got, tt.want)
			}
		})
	}
}
