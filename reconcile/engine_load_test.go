package reconcile

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/spec"
)

// loadWait bounds each wait on the real watcher and engine; generous, as
// the cores are shared.
const loadWait = 20 * time.Second

// TestEngineShowsAFolderThatCannotBeRead runs the real folder watcher over a
// real folder and hands its updates to the engine as the agent does. When
// the folder cannot be read, status shows LoadFailed with the reason while
// the container keeps running untouched; once the folder is back, the
// condition clears.
func TestEngineShowsAFolderThatCannotBeRead(t *testing.T) {
	const web = "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: " + img2022 + "\n"
	tests := []struct {
		name    string
		breakIt func(t *testing.T, dir string)
		cause   string // in the condition's message
	}{
		{"removed", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}, "no such file or directory"},
		{"replaced by a file", func(t *testing.T, dir string) {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dir, []byte("not a folder"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "is not a folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "specs")
			// publish puts the folder in place in one rename.
			publish := func() {
				t.Helper()
				tmp := dir + ".new"
				if err := os.MkdirAll(tmp, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(tmp, "web.yaml"), []byte(web), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(tmp, dir); err != nil {
					t.Fatal(err)
				}
			}
			publish()
			logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
			w := spec.NewWatcher(dir, spec.NewLoader(dir, spec.LoaderOptions{}), spec.WatchOptions{Debounce: 10 * time.Millisecond, Resync: time.Hour, Logger: logger})
			rec := newRecorder()
			drv := openSim(t, "")
			eng := NewEngine(EngineOptions{Driver: drv, Workers: 2, Resync: time.Hour, Observer: rec, Logger: logger})
			ctx, cancel := context.WithCancel(context.Background())
			errs := make(chan error, 2)
			go func() { errs <- w.Run(ctx) }()
			go func() { errs <- eng.Run(ctx) }()
			t.Cleanup(func() {
				cancel()
				for range 2 {
					if err := <-errs; err != nil {
						t.Error(err)
					}
				}
			})

			// next hands the watcher's updates to the engine, as the agent
			// does, until one satisfies want (a change made in several
			// steps may be seen half-way first).
			next := func(what string, want func(spec.Update) bool) {
				t.Helper()
				deadline := time.After(loadWait)
				for {
					select {
					case u := <-w.Updates():
						if u.Snapshot != nil {
							eng.UpdateSeen(u.Snapshot, u.SeenAt)
						}
						eng.SetLoadError(u.Err)
						if want(u) {
							return
						}
					case <-deadline:
						t.Fatalf("no update with %s within %s", what, loadWait)
					}
				}
			}
			hasWeb := func(u spec.Update) bool { return u.Err == nil && u.Snapshot != nil && len(u.Snapshot.Specs) == 1 }
			waitConverged := func(what string) {
				t.Helper()
				wctx, wcancel := context.WithTimeout(ctx, loadWait)
				defer wcancel()
				if err := eng.WaitConverged(wctx); err != nil {
					t.Fatalf("%s: %v; status %+v", what, err, eng.Status())
				}
			}
			loadFailed := func() (string, bool) {
				for _, c := range eng.Status().Conditions {
					if c.Type == CondLoadFailed {
						return c.Message, true
					}
				}
				return "", false
			}

			next("the folder's spec", hasWeb)
			waitConverged("the first snapshot")
			id := eng.Status().Containers[0].ContainerID
			rec.reset()

			tt.breakIt(t, dir)
			next("the failure to read it", func(u spec.Update) bool {
				return u.Err != nil && strings.Contains(u.Err.Error(), tt.cause)
			})
			msg, ok := loadFailed()
			if !ok || !strings.Contains(msg, tt.cause) || !strings.Contains(msg, "the previous desired state stays in force") {
				t.Errorf("condition LoadFailed %v, message %q; want it, naming %q", ok, msg, tt.cause)
			}
			waitConverged("the desired state kept")
			st := (&rig{t: t, eng: eng}).status("web")
			if st.State != StateRunning || st.ContainerID != id {
				t.Errorf("web while the folder cannot be read: %s %s, want running %s", st.State, st.ContainerID, id)
			}

			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			publish()
			next("the repaired folder's spec", hasWeb)
			if msg, ok := loadFailed(); ok {
				t.Errorf("LoadFailed still shown after the folder is back: %q", msg)
			}
			waitConverged("the repaired folder")
			if got := rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
				t.Errorf("actions %s while the folder was away and back; want none", got)
			}
			if st := (&rig{t: t, eng: eng}).status("web"); st.ContainerID != id {
				t.Errorf("web replaced: %s, was %s", st.ContainerID, id)
			}
		})
	}
}
