package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// These tests hand the Loader folders that try to freeze it or to make it
// read, and show, what is not a spec file of the folder.

// secret is the first line of every file outside the spec folder: a
// password hash, as in the shadow file a link once put into /status.
const secret = "root:$6$SECRET-SALT$hash-that-must-never-be-shown:19000:0:99999:7:::"

// loadBounded runs load and fails the test if it does not return in time:
// a frozen reader shows as a failure, not as a hung test binary.
func loadBounded(t *testing.T, what string, load func() (*Snapshot, error)) *Snapshot {
	t.Helper()
	type result struct {
		s   *Snapshot
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := load()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("%s: %v", what, r.err)
		}
		return r.s
	case <-time.After(watchWait):
		t.Fatalf("%s did not return within %v: the reader froze", what, watchWait)
	}
	return nil
}

// shown is everything a snapshot shows of its files: what /status and
// validate print.
func shown(t *testing.T, s *Snapshot) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, f := range s.Files {
		if f.Err != nil {
			errs = append(errs, f.Err.Error())
		}
	}
	return string(b) + strings.Join(errs, "\n")
}

// TestLoadReadsOnlyRegularFilesInside builds every kind of entry a spec
// name can be, inside the folder, and every way a link can lead to it, or
// to the same kind of thing outside the folder: only regular files inside
// are read; everything else is reported as skipped, by name, and nothing
// of what lies outside ever shows.
func TestLoadReadsOnlyRegularFilesInside(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "specs")
	outside := filepath.Join(base, "outside")
	writeFile(t, filepath.Join(dir, ".data", "target.yaml"), specYAML("target"))
	writeFile(t, filepath.Join(outside, "target.yaml"), secret+"\n"+specYAML("stolen"))
	if err := os.MkdirAll(filepath.Join(dir, ".data", "folder.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(outside, "folder.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlinkOrSkip(t, filepath.Join(".data", "target.yaml"), filepath.Join(dir, "probe.yaml"))
	if err := os.Remove(filepath.Join(dir, "probe.yaml")); err != nil {
		t.Fatal(err)
	}

	// kinds: what a link can lead to (by name in .data and in outside),
	// and whether that is a spec when it is inside.
	type want struct{ read bool }
	cases := map[string]want{} // entry name in dir → outcome
	kinds := map[string]bool{"target.yaml": true, "folder.yaml": false}
	specialFiles(t, outside, "")
	for _, k := range specialFiles(t, filepath.Join(dir, ".data"), "") {
		kinds[k] = false
	}
	for _, k := range specialFiles(t, dir, "plain-") {
		cases[k] = want{} // the thing itself, not a link, named as a spec
	}
	link := func(name, target string) {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for kind, spec := range kinds {
		stem := strings.TrimSuffix(kind, ".yaml")
		in := filepath.Join(".data", kind)
		link("in-rel-"+stem+".yaml", in)
		link("in-abs-"+stem+".yaml", filepath.Join(dir, in))
		link("in-chain-"+stem+".yaml", "in-rel-"+stem+".yaml")
		link("out-rel-"+stem+".yaml", filepath.Join("..", "outside", kind))
		link("out-abs-"+stem+".yaml", filepath.Join(outside, kind))
		link("out-chain-"+stem+".yaml", "out-rel-"+stem+".yaml")
		link("out-dots-"+stem+".yaml", filepath.Join(".data", "..", "..", "outside", kind))
		for _, how := range []string{"in-rel-", "in-abs-", "in-chain-"} {
			cases[how+stem+".yaml"] = want{read: spec}
		}
		for _, how := range []string{"out-rel-", "out-abs-", "out-chain-", "out-dots-"} {
			cases[how+stem+".yaml"] = want{}
		}
	}
	// From a subfolder, across its boundary but not the folder's.
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	link(filepath.Join("sub", "up-target.yaml"), filepath.Join("..", ".data", "target.yaml"))
	link(filepath.Join("sub", "up-out-target.yaml"), filepath.Join("..", "..", "outside", "target.yaml"))
	cases["up-target.yaml"] = want{read: true}
	cases["up-out-target.yaml"] = want{}
	link("dangling.yaml", "nothing-here.yaml")
	cases["dangling.yaml"] = want{}
	link("linked-folder", ".data")
	if runtime.GOOS == "linux" {
		if _, err := os.Stat("/proc/kmsg"); err == nil {
			// A read of the kernel's message log waits for the next
			// message: it froze the reader.
			link("kmsg.yaml", "/proc/kmsg")
			cases["kmsg.yaml"] = want{}
		}
	}

	l := NewLoader(dir, LoaderOptions{})
	for _, how := range []string{"Load", "Reload"} {
		s := loadBounded(t, how, map[string]func() (*Snapshot, error){"Load": l.Load, "Reload": l.Reload}[how])
		byName := map[string]File{}
		for _, f := range s.Files {
			byName[filepath.Base(f.Path)] = f
		}
		for name, w := range cases {
			f, ok := byName[name]
			switch {
			case !ok:
				t.Errorf("%s: %s is not reported at all; want it read or reported as skipped", how, name)
			case w.read && (!f.Valid() || len(f.Names) == 0 && !strings.Contains(fmt.Sprint(s.Conflicts), name)):
				t.Errorf("%s: %s = %+v, want it read", how, name, f)
			case !w.read && (f.Valid() || len(f.Names) > 0):
				t.Errorf("%s: %s = %+v, want it skipped", how, name, f)
			case !w.read && name != "dangling.yaml" && !strings.Contains(f.Err.Error(), "skipped"):
				t.Errorf("%s: %s error = %v, want it to say skipped", how, name, f.Err)
			}
		}
		if got := specNames(s); got != "target" {
			t.Errorf("%s: specs = %s, want only the target inside the folder", how, got)
		}
		if out := shown(t, s); strings.Contains(out, "SECRET") || strings.Contains(out, "stolen") {
			t.Errorf("%s: the snapshot shows content from outside the folder:\n%s", how, out)
		}
	}
}

// TestLoadNeverBlocksOnAPipeSwappedIn swaps a spec file between a regular
// file and a named pipe as fast as it can while the folder is read again
// and again: the swap that lands between a check and an open froze the
// reader for good.
func TestLoadNeverBlocksOnAPipeSwappedIn(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "specs")
	writeFile(t, filepath.Join(dir, ".data", "web.yaml"), specYAML("web"))
	writeFile(t, filepath.Join(base, "data", "web.yaml"), specYAML("web"))
	if len(specialFiles(t, filepath.Join(dir, ".data"), "")) == 0 || len(specialFiles(t, filepath.Join(base, "data"), "")) == 0 {
		t.Skip("no named pipes here")
	}
	for _, where := range []string{".data", filepath.Join("..", "data")} {
		t.Run(filepath.ToSlash(where), func(t *testing.T) {
			link := filepath.Join(dir, "web.yaml")
			tmp := filepath.Join(dir, ".web.yaml.link")
			symlinkOrSkip(t, filepath.Join(where, "web.yaml"), link)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					target := filepath.Join(where, "web.yaml")
					if i%2 == 1 {
						target = filepath.Join(where, "fifo.yaml")
					}
					os.Remove(tmp)
					if os.Symlink(target, tmp) == nil {
						os.Rename(tmp, link) // as mv -T does
					}
				}
			}()
			defer func() { close(stop); <-done; os.Remove(link) }()
			l := NewLoader(dir, LoaderOptions{})
			for i := range 2000 {
				load := l.Load
				if i%2 == 1 {
					load = l.Reload
				}
				s := loadBounded(t, fmt.Sprintf("read %d", i), load)
				if out := shown(t, s); strings.Contains(out, "SECRET") {
					t.Fatalf("read %d shows content from outside", i)
				}
			}
		})
	}
}
