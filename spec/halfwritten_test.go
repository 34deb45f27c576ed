package spec

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
)

// These tests write spec files the way real tools do, half-written on the
// way, and read the folder between the writes on a fake clock: no read may
// take away a spec that the file declares before and after.

// threeDocs is a file of three specs, each with image tag.
func threeDocs(tag string) string {
	var b strings.Builder
	for i, name := range []string{"web", "api", "db"} {
		if i > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: %s\nspec:\n  image: mcr.microsoft.com/windows/servercore/iis:%s\n  restartPolicy: always\n", name, tag)
	}
	return b.String()
}

// halfHarness reads one folder with a Loader on a fake clock.
type halfHarness struct {
	t     *testing.T
	path  string
	clock *fakeClock
	l     *Loader
	first []*Container // the specs in force after the first read
}

func newHalfHarness(t *testing.T, content string) *halfHarness {
	dir := t.TempDir()
	h := &halfHarness{t: t, path: filepath.Join(dir, "specs.yaml"), clock: newFakeClock()}
	writeFile(t, h.path, content)
	h.l = NewLoader(dir, LoaderOptions{Now: h.clock.Now})
	h.first = mustLoad(t, h.l).Specs
	return h
}

// read reads the folder as an event (Load) or the resync (Reload) does.
func (h *halfHarness) read(resync bool) *Snapshot {
	h.t.Helper()
	load := h.l.Load
	if resync {
		load = h.l.Reload
	}
	s, err := load()
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// write replaces the file's content in place, as a writer that truncates
// and writes does, and moves its modification time.
func (h *halfHarness) write(content string) {
	h.t.Helper()
	rewrite(h.t, h.path, content)
}

// sameAsFirst reports whether s has exactly the specs of the first read.
func (h *halfHarness) sameAsFirst(s *Snapshot) bool {
	return len(s.Specs) == len(h.first) && reflect.DeepEqual(s.Specs, h.first)
}

func TestHalfWrittenFilesKeepTheirSpecs(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"truncated, then written 0.3 s later", func(t *testing.T) {
			h := newHalfHarness(t, threeDocs("v1"))
			h.write("")
			for _, step := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, time.Hour} {
				h.clock.Advance(step)
				for _, resync := range []bool{false, true} {
					if s := h.read(resync); !h.sameAsFirst(s) || !s.Files[0].Pending {
						t.Fatalf("after %v (resync %t) the emptied file gives %s, pending %t; want its last specs, pending",
							step, resync, specNames(s), s.Files[0].Pending)
					}
				}
			}
			h.write(threeDocs("v1"))
			if s := h.read(false); !h.sameAsFirst(s) || s.Files[0].Pending || !s.Files[0].Valid() {
				t.Fatalf("written again: %s, file %+v", specNames(s), s.Files[0])
			}
		}},
		{"the same bytes rewritten in 10 chunks, read between each", func(t *testing.T) {
			content := threeDocs("v1")
			h := newHalfHarness(t, content)
			f, err := os.OpenFile(h.path, os.O_WRONLY|os.O_TRUNC, 0)
			mustDo(t, err)
			defer f.Close()
			chunk := len(content)/10 + 1
			for i := 0; i < len(content); i += chunk {
				_, err := f.WriteString(content[i:min(i+chunk, len(content))])
				mustDo(t, err)
				h.clock.Advance(200 * time.Millisecond)
				for _, resync := range []bool{false, true} {
					if s := h.read(resync); !h.sameAsFirst(s) {
						t.Fatalf("after %d of %d bytes (resync %t): specs %s, want the first ones untouched", i+chunk, len(content), resync, specNames(s))
					}
				}
			}
		}},
		{"a 3-document file rewritten with a new image, cut at line ends", func(t *testing.T) {
			h := newHalfHarness(t, threeDocs("v1"))
			content := threeDocs("v2")
			lines := strings.SplitAfter(content, "\n")
			for n := 1; n < len(lines); n++ {
				h.write(strings.Join(lines[:n], ""))
				h.clock.Advance(300 * time.Millisecond)
				for _, resync := range []bool{false, true} {
					if got := specNames(h.read(resync)); got != "api,db,web" {
						t.Fatalf("with %d of %d lines (resync %t): specs %s, want all three", n, len(lines), resync, got)
					}
				}
			}
			h.write(content)
			s := h.read(false)
			for _, c := range s.Specs {
				if !strings.HasSuffix(c.Spec.Image.String(), ":v2") || s.Files[0].Pending {
					t.Fatalf("written whole: %s has %s, file %+v; want v2 at once", c.Name(), c.Spec.Image.String(), s.Files[0])
				}
			}
		}},
		{"a change that keeps every spec applies at once", func(t *testing.T) {
			h := newHalfHarness(t, threeDocs("v1"))
			h.write(threeDocs("v2"))
			if s := h.read(false); s.Files[0].Pending || s.Specs[0].Spec.Image.String() != image("v2") {
				t.Fatalf("specs %+v, file %+v; want v2 at once", s.Specs[0].Spec, s.Files[0])
			}
		}},
		{"a spec removed from its file goes once the file has settled", func(t *testing.T) {
			h := newHalfHarness(t, threeDocs("v1"))
			h.write(strings.SplitAfter(threeDocs("v1"), "---\n")[0] + "# api and db moved out\n")
			for i, step := range []time.Duration{0, DefaultSettle / 2, DefaultSettle/2 - time.Nanosecond} {
				h.clock.Advance(step)
				s := h.read(i == 1)
				if !h.sameAsFirst(s) || !s.Files[0].Pending || s.SettleAt.IsZero() {
					t.Fatalf("read %d: specs %s, file %+v, settle at %v; want the three, pending", i, specNames(s), s.Files[0], s.SettleAt)
				}
			}
			h.clock.Advance(time.Nanosecond)
			if s := h.read(false); specNames(s) != "web" || s.Files[0].Pending || !s.SettleAt.IsZero() {
				t.Fatalf("settled: specs %s, file %+v; want web alone", specNames(s), s.Files[0])
			}
		}},
		{"a file saved without a final line break applies once settled", func(t *testing.T) {
			h := newHalfHarness(t, threeDocs("v1"))
			h.write(strings.TrimSuffix(threeDocs("v2"), "\n"))
			if s := h.read(false); !h.sameAsFirst(s) || !s.Files[0].Pending {
				t.Fatalf("specs %s, file %+v; want the old ones, pending", specNames(s), s.Files[0])
			}
			h.clock.Advance(DefaultSettle)
			if s := h.read(true); s.Files[0].Pending || s.Specs[0].Spec.Image.String() != image("v2") {
				t.Fatalf("settled: %+v, file %+v; want v2", s.Specs[0].Spec, s.Files[0])
			}
		}},
		{"a removed file's specs go only when two reads, settle apart, miss it", func(t *testing.T) {
			h := newHalfHarness(t, threeDocs("v1"))
			mustDo(t, os.Remove(h.path))
			if s := h.read(true); !h.sameAsFirst(s) || !s.Files[0].Pending {
				t.Fatalf("first read without the file: %s, %+v; want its specs kept, pending", specNames(s), s.Files)
			}
			h.clock.Advance(DefaultSettle)
			if s := h.read(false); len(s.Specs) != 0 || len(s.Files) != 0 {
				t.Fatalf("second read without the file: %s, %+v; want nothing", specNames(s), s.Files)
			}
		}},
		{"a file removed and written again before it settles keeps its specs", func(t *testing.T) {
			h := newHalfHarness(t, threeDocs("v1"))
			mustDo(t, os.Remove(h.path))
			h.read(false)
			writeFile(t, h.path, threeDocs("v1"))
			h.clock.Advance(DefaultSettle)
			if s := h.read(false); !h.sameAsFirst(s) || s.Files[0].Pending {
				t.Fatalf("specs %s, file %+v; want the file's specs, settled", specNames(s), s.Files[0])
			}
		}},
		{"a file whose every spec moved elsewhere goes at once", func(t *testing.T) {
			h := newHalfHarness(t, specYAML("web"))
			writeFile(t, filepath.Join(filepath.Dir(h.path), "moved.yaml"), specYAML("web"))
			mustDo(t, os.Remove(h.path))
			s := h.read(false)
			if specNames(s) != "web" || len(s.Files) != 1 || filepath.Base(s.Files[0].Path) != "moved.yaml" || !s.SettleAt.IsZero() {
				t.Fatalf("specs %s, files %+v, settle at %v; want web from moved.yaml alone", specNames(s), s.Files, s.SettleAt)
			}
		}},
		{"an emptied file keeps its specs until it is removed", func(t *testing.T) {
			h := newHalfHarness(t, threeDocs("v1"))
			h.write("\n  \n")
			h.clock.Advance(24 * time.Hour)
			if s := h.read(true); !h.sameAsFirst(s) || !strings.Contains(s.Files[0].Err.Error(), "empty") {
				t.Fatalf("a day later: %s, %v", specNames(s), s.Files[0].Err)
			}
			mustDo(t, os.Remove(h.path))
			h.read(false)
			h.clock.Advance(DefaultSettle)
			if s := h.read(false); len(s.Specs) != 0 {
				t.Fatalf("removed and settled: %s, want nothing", specNames(s))
			}
		}},
		{"a spec moved to another file is never declared twice nor missing", func(t *testing.T) {
			h := newHalfHarness(t, threeDocs("v1"))
			other := filepath.Join(filepath.Dir(h.path), "moved.yaml")
			parts := strings.SplitAfter(threeDocs("v1"), "---\n")
			writeFile(t, other, strings.TrimSuffix(parts[2], "---\n"))
			mustDo(t, os.Remove(h.path))
			s := h.read(false)
			if got := specNames(s); got != "api,db,web" || len(s.Conflicts) != 0 {
				t.Fatalf("specs %s, conflicts %v; want all three, no conflict", got, s.Conflicts)
			}
			if f := fileByName(t, s, "specs.yaml"); !f.Pending || strings.Join(f.Names, ",") != "web,api" {
				t.Errorf("the removed file = %+v; want it pending with the specs it alone declares", f)
			}
			for _, c := range s.Specs {
				if c.Name() == "db" && c.Source.File != other {
					t.Errorf("db comes from %s, want the file it moved to", c.Source.File)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

// TestWatcherHoldsBackHalfWrittenFiles runs the Watcher's loop over a real
// folder and Loader in a synctest bubble: what a consumer is handed while
// a file is emptied and written again, or removed.
func TestWatcherHoldsBackHalfWrittenFiles(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	tests := []struct {
		name string
		// act changes the folder; event reports a change notification.
		act func(t *testing.T, path string, at func(time.Duration), event func())
		// want are the specs of each update after the first, with its
		// offset from the start.
		want []string
	}{
		{
			name: "truncated, then written 0.3 s later",
			act: func(t *testing.T, path string, at func(time.Duration), event func()) {
				at(time.Second)
				mustDo(t, os.Truncate(path, 0))
				event()
				at(ms(1300))
				writeFile(t, path, threeDocs("v2"))
				event()
				at(5 * time.Second)
			},
			want: []string{"1.1s api,db,web pending", "1.4s api:v2,db:v2,web:v2"},
		},
		{
			name: "a resync overlapping a truncate-then-write",
			act: func(t *testing.T, path string, at func(time.Duration), event func()) {
				at(ms(29950))
				mustDo(t, os.Truncate(path, 0)) // its event not yet seen when the resync reads
				at(ms(30300))
				writeFile(t, path, threeDocs("v2"))
				event()
				at(35 * time.Second)
			},
			want: []string{"30s api,db,web pending", "30.4s api:v2,db:v2,web:v2"},
		},
		{
			name: "a removed file's specs go one settle time after the first read that misses it",
			act: func(t *testing.T, path string, at func(time.Duration), event func()) {
				at(time.Second)
				mustDo(t, os.Remove(path))
				event()
				at(5 * time.Second)
			},
			want: []string{"1.1s api,db,web pending", "2.1s "},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, "specs.yaml")
				writeFile(t, path, threeDocs("v1"))
				w := NewWatcher(dir, NewLoader(dir, LoaderOptions{}), WatchOptions{Resync: 30 * time.Second})
				r := &watchRun{w: w, dir: dir, deb: debouncer{quiet: w.opts.Debounce, maxDelay: w.opts.MaxDelay}}
				events := make(chan fsnotify.Event)
				start := time.Now()
				var got []string
				collect := func() {
					for {
						select {
						case u := <-w.Updates():
							got = append(got, describeUpdate(u, start))
						default:
							return
						}
					}
				}
				at := func(d time.Duration) {
					for time.Now().Before(start.Add(d)) {
						time.Sleep(min(time.Until(start.Add(d)), 10*time.Millisecond))
						synctest.Wait()
						collect()
					}
				}
				event := func() { events <- fsnotify.Event{Name: path, Op: fsnotify.Write} }
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- r.loop(ctx, events, nil) }()
				synctest.Wait()
				collect()
				if len(got) != 1 || !strings.HasPrefix(got[0], "0s api:v1,db:v1,web:v1") {
					t.Fatalf("first update = %q", got)
				}
				tt.act(t, path, at, event)
				cancel()
				<-done
				got = got[1:]
				for i := range got {
					// Keep the specs and the pending mark, not the images
					// of held-back updates: those are the first ones.
					if strings.HasSuffix(got[i], " pending") {
						got[i] = stripImages(got[i])
					}
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("updates = %q, want %q", got, tt.want)
				}
			})
		})
	}
}

// describeUpdate writes an update as "<offset> name:tag,... [pending]".
func describeUpdate(u Update, start time.Time) string {
	var specs []string
	for _, c := range u.Snapshot.Specs {
		specs = append(specs, c.Name()+":"+c.Spec.Image.String()[strings.LastIndex(c.Spec.Image.String(), ":")+1:])
	}
	s := fmt.Sprintf("%v %s", time.Since(start), strings.Join(specs, ","))
	for _, f := range u.Snapshot.Files {
		if f.Pending {
			return s + " pending"
		}
	}
	return s
}

func stripImages(s string) string {
	head, rest, _ := strings.Cut(s, " ")
	rest, _ = strings.CutSuffix(rest, " pending")
	var names []string
	for _, p := range strings.Split(rest, ",") {
		name, tag, _ := strings.Cut(p, ":")
		if tag != "v1" {
			return s // not the first specs: keep it all, so the test shows it
		}
		names = append(names, name)
	}
	return head + " " + strings.Join(names, ",") + " pending"
}
