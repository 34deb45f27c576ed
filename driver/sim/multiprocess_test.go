package sim_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
)

// Environment of the helper process TestHelperCreateAndStart runs as.
const (
	helperDirEnv    = "ISOAGENT_SIM_HELPER_DIR"
	helperPrefixEnv = "ISOAGENT_SIM_HELPER_PREFIX"
	helperCountEnv  = "ISOAGENT_SIM_HELPER_COUNT"
)

// TestHelperCreateAndStart is not a test: it is the second process of
// TestTwoProcessesShareAFolder, run from the test binary.
func TestHelperCreateAndStart(t *testing.T) {
	dir := os.Getenv(helperDirEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	n, err := strconv.Atoi(os.Getenv(helperCountEnv))
	if err != nil {
		t.Fatal(err)
	}
	if err := createAndStart(t.Context(), dir, os.Getenv(helperPrefixEnv), n); err != nil {
		t.Fatal(err)
	}
}

func createAndStart(ctx context.Context, dir, prefix string, n int) error {
	d, err := sim.Open(dir, sim.Options{})
	if err != nil {
		return err
	}
	for i := range n {
		id := fmt.Sprintf("%s-%d", prefix, i)
		cfg := driver.Config{ID: id, Name: id, Isolation: driver.Process, Image: imageref.MustParse(ltsc2022)}
		if i%2 == 1 {
			cfg.Isolation = driver.HyperV
		}
		if err := d.Create(ctx, cfg); err != nil {
			return err
		}
		if err := d.Start(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func TestTwoProcessesShareAFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	const n = 40
	prefixes := []string{"child-a", "child-b"}
	var cmds []*exec.Cmd
	for _, p := range prefixes {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestHelperCreateAndStart$", "-test.count=1")
		cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperPrefixEnv+"="+p, helperCountEnv+"="+strconv.Itoa(n))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	// This process writes at the same time as the two children.
	if err := createAndStart(t.Context(), dir, "parent", n); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}

	d, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := n * (len(prefixes) + 1); len(cs) != want {
		t.Fatalf("the folder holds %d containers, want %d: a write was lost", len(cs), want)
	}
	pids := make(map[int]string)
	for _, c := range cs {
		if c.State != driver.StateRunning {
			t.Errorf("%s is %s, want running", c.ID, c.State)
		}
		pid := c.InitPID
		if c.UtilityVM != nil {
			pid = c.UtilityVM.PID
		}
		if other, ok := pids[pid]; ok || pid == 0 {
			t.Errorf("%s has PID %d, as has %q", c.ID, pid, other)
		}
		pids[pid] = c.ID
	}
}
