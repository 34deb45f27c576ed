// Command fakehost prepares a host for the fake HCS: the sim state folder
// the fake answers from (host version and SKU, image versions) and a
// Docker image store holding the images, so that isoagent can run with
// --driver hcs under Wine. scripts/hcs-test uses it for the end-to-end run.
//
//	fakehost -state DIR -docker ROOT [-host 10.0.20348] [-sku server] REF=OSVERSION...
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/hcs/internal/dockerfixture"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/winbuild"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fakehost:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("fakehost", flag.ContinueOnError)
	state := fs.String("state", "", "state folder of the fake HCS (FAKEHCS_STATE)")
	docker := fs.String("docker", "", "Docker data root to put the images in")
	hostVersion := fs.String("host", "10.0.20348", "the host's OS version")
	sku := fs.String("sku", "server", "the host's SKU: server or client")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *state == "" || *docker == "" {
		return fmt.Errorf("-state and -docker are required")
	}
	hv, err := winbuild.ParseVersion(*hostVersion)
	if err != nil {
		return err
	}
	store, err := sim.DirStore(*state)
	if err != nil {
		return err
	}
	m := sim.NewModel(store, nil)
	if err := m.InitHost(driver.Host{OSVersion: hv, SKU: driver.SKU(*sku)}, true); err != nil {
		return err
	}
	for _, a := range fs.Args() {
		ref, ver, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("image %q: want REF=OSVERSION", a)
		}
		v, err := winbuild.ParseVersion(ver)
		if err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		// A default command that runs until stopped: the base images'
		// own, cmd.exe, exits at once without a stdin, as on a real host.
		im := dockerfixture.Image{Ref: ref, OSVersion: v.String(), UtilityVM: true,
			Cmd: []string{`C:\ServiceMonitor.exe`, "w3svc"}, Files: []string{`C:\ServiceMonitor.exe`}}
		if _, err := dockerfixture.Write(*docker, im); err != nil {
			return fmt.Errorf("image %s: %w", ref, err)
		}
		if err := m.SetImage(ref, v); err != nil {
			return err
		}
	}
	return nil
}
