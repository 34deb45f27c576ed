package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/isoagent/isoagent/driver/sim"
)

// simImages lists the images pulled into the simulated host, and with
// --pulled-only says whether the host has only those (a fresh Windows
// host) or every image by its tag (the sim's default).
func simImages(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	only := fs.String("pulled-only", "", "on: the host has only the images pulled into it; off: every image by its tag")
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
			return err
		}
		switch *only {
		case "":
		case "on", "off":
			if err := m.SetPulledOnly(*only == "on"); err != nil {
				return err
			}
		default:
			return usageError(fmt.Sprintf("--pulled-only %q: want on or off", *only))
		}
		po, err := m.PulledOnly()
		if err != nil {
			return err
		}
		imgs, err := m.PulledImages()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "pulled only: %v\n", po)
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DIGEST\tREFS\tOS VERSION\tSIZE\tPULLED\tLAST USED")
		for _, img := range imgs {
			refs := make([]string, len(img.Refs))
			for i, r := range img.Refs {
				refs[i] = r.String()
			}
			last := "-"
			if !img.LastUsed.IsZero() {
				last = img.LastUsed.UTC().Format("2006-01-02T15:04:05Z")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", img.Digest, orDash(strings.Join(refs, ",")), img.OSVersion, size(img.Size), img.PulledAt.UTC().Format("2006-01-02T15:04:05Z"), last)
		}
		return tw.Flush()
	}
}
