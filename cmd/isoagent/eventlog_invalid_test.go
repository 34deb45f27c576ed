package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/agent"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/internal/testutil"
)

// On the Windows service's path to the Event Log, an invalid spec file is
// one Warning event that names the file and gives its problems as
// validate prints them, once however many resyncs go by.
func TestEventLogNamesAnInvalidFileOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		bad := filepath.Join(dir, "bad.yaml")
		testutil.WriteFile(t, bad, "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: bad\nspec:\n  image: x:1\n  imgae: x\n")
		drv, err := sim.Open("", sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var rec eventRecorder
		a, err := agent.New(t.Context(), agent.Config{Dir: dir, Driver: drv, Resync: 5 * time.Second, Poll: time.Second, Debounce: 10 * time.Millisecond,
			Logger: slog.New(newEventHandler(&rec, slog.LevelInfo))})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		time.Sleep(time.Minute) // a dozen resyncs
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range rec.events {
			if strings.Contains(e, "bad.yaml") {
				got = append(got, e)
			}
		}
		want := `Warning 2: spec file is invalid; it declares nothing until fixed file=` + bad + ` problems="` + bad + `:7:3: spec.imgae: unknown field \"imgae\"; did you mean image?"`
		if len(got) != 1 || got[0] != want {
			t.Errorf("events naming the file:\n%s\nwant one:\n%s", strings.Join(got, "\n"), want)
		}
	})
}
