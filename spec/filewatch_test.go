package spec_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
)

const (
	policyA = "apiVersion: isoagent/v1\nkind: Policy\nports: ['8080/tcp']\n"
	policyB = "apiVersion: isoagent/v1\nkind: Policy\nports: ['8080/tcp', '9090/tcp']\n"
	// policyAComment says what policyA says.
	policyAComment = "# web ports\napiVersion: isoagent/v1\nkind: Policy\nports: [\"8080/TCP\"]\n"
	policyBad      = "apiVersion: isoagent/v1\nkind: Policy\nports: ['8080']\n"
)

// saveFile replaces path the way editors do: write a temporary file, then
// rename it over the old one.
//
// On Windows a rename over a file that another process has open fails
// with "Access denied" unless the renamer asks for POSIX semantics, which
// os.Rename (MoveFileEx) does not, whatever share mode the reader used;
// Wine refuses it always. Editors and git for Windows retry such a rename
// for a while, and so does this editor: the watcher holds the file open
// only while it reads it, so a retry a few milliseconds later succeeds.
// A rename that keeps failing still fails the test.
func saveFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := os.Rename(tmp, path)
		if err == nil {
			return
		}
		if runtime.GOOS != "windows" || !errors.Is(err, fs.ErrPermission) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The watcher is tested with what it follows in the agent, the boundary
// policy, whose normalisation makes "says the same" meaningful.

// startPolicyWatcher loads path, starts a watcher on it and returns the
// update channel; the watcher stops when the test ends.
func startPolicyWatcher(t *testing.T, path string, opts spec.FileWatchOptions) <-chan spec.FileUpdate[*policy.Policy] {
	t.Helper()
	p, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	w := spec.NewFileWatcher(path, p, policy.Load, opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := w.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return w.Updates()
}

func nextUpdate(t *testing.T, ch <-chan spec.FileUpdate[*policy.Policy]) spec.FileUpdate[*policy.Policy] {
	t.Helper()
	select {
	case u, ok := <-ch:
		if !ok {
			t.Fatal("updates closed")
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no policy update within 10s")
	}
	return spec.FileUpdate[*policy.Policy]{}
}

func ports(p *policy.Policy) string {
	if p == nil {
		return "<nil>"
	}
	return strings.Join(p.Ports, ",")
}

// TestFileWatcherFollowsEdits drives a real file through the edits an
// operator makes, with change notifications only (the interval is an
// hour), and checks each update in order.
func TestFileWatcherFollowsEdits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	saveFile(t, path, policyA)
	ch := startPolicyWatcher(t, path, spec.FileWatchOptions{Interval: time.Hour, Debounce: 10 * time.Millisecond})

	// A change that says the same thing is not reported: the next update
	// is the real change that follows it.
	saveFile(t, path, policyAComment)
	saveFile(t, path, policyB)
	if u := nextUpdate(t, ch); u.Err != nil || ports(u.Value) != "8080/tcp,9090/tcp" {
		t.Fatalf("after a real change got %s, %v", ports(u.Value), u.Err)
	}

	saveFile(t, path, policyBad)
	u := nextUpdate(t, ch)
	if u.Err == nil || !strings.Contains(u.Err.Error(), `ports[0]: "8080" needs its protocol`) {
		t.Fatalf("an invalid edit gave err %v", u.Err)
	}
	if ports(u.Value) != "8080/tcp,9090/tcp" {
		t.Errorf("an invalid edit put %s in force, want the last good policy", ports(u.Value))
	}

	// Repairing it to the last good content is reported, so the error
	// clears, with the same policy.
	saveFile(t, path, policyB)
	if u := nextUpdate(t, ch); u.Err != nil || ports(u.Value) != "8080/tcp,9090/tcp" {
		t.Fatalf("after the repair got %s, %v", ports(u.Value), u.Err)
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if u := nextUpdate(t, ch); u.Err == nil || ports(u.Value) != "8080/tcp,9090/tcp" {
		t.Fatalf("a removed file gave %s, %v; want an error and the last good policy", ports(u.Value), u.Err)
	}
	saveFile(t, path, policyA)
	if u := nextUpdate(t, ch); u.Err != nil || ports(u.Value) != "8080/tcp" {
		t.Fatalf("a re-created file gave %s, %v", ports(u.Value), u.Err)
	}
}

// TestFileWatcherFollowsASymlinkSwap publishes policies the way a
// Kubernetes ConfigMap volume does: policy.yaml links to ..data/policy.yaml
// and ..data is a link swapped to a new folder.
func TestFileWatcherFollowsASymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{"v1": policyA, "v2": policyB} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "policy.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("v1", filepath.Join(dir, "..data")); err != nil {
		t.Skipf("symlinks: %v", err)
	}
	path := filepath.Join(dir, "policy.yaml")
	if err := os.Symlink(filepath.Join("..data", "policy.yaml"), path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadFile(path); err != nil {
		// Wine does not follow a relative link through another link.
		t.Skipf("a link through a link does not resolve here: %v", err)
	}
	ch := startPolicyWatcher(t, path, spec.FileWatchOptions{Interval: time.Hour, Debounce: 10 * time.Millisecond})
	if err := os.Symlink("v2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if u := nextUpdate(t, ch); u.Err != nil || ports(u.Value) != "8080/tcp,9090/tcp" {
		t.Fatalf("after the swap got %s, %v", ports(u.Value), u.Err)
	}
}

// TestFileWatcherPollTiming pins when a polling watcher notices a change
// and that an unchanged or repeatedly invalid file is reported once, in a
// synctest bubble so the interval is exact.
func TestFileWatcherPollTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "policy.yaml")
		saveFile(t, path, policyA)
		ch := startPolicyWatcher(t, path, spec.FileWatchOptions{Poll: true, Interval: 30 * time.Second})
		pending := func() (spec.FileUpdate[*policy.Policy], bool) {
			synctest.Wait()
			select {
			case u := <-ch:
				return u, true
			default:
				return spec.FileUpdate[*policy.Policy]{}, false
			}
		}
		if u, ok := pending(); ok {
			t.Fatalf("an unchanged file was reported at start: %s, %v", ports(u.Value), u.Err)
		}
		saveFile(t, path, policyB)
		time.Sleep(29 * time.Second)
		if u, ok := pending(); ok {
			t.Fatalf("update before the interval: %s, %v", ports(u.Value), u.Err)
		}
		time.Sleep(time.Second)
		if u, ok := pending(); !ok || ports(u.Value) != "8080/tcp,9090/tcp" {
			t.Fatalf("at the interval got %v %s", ok, ports(u.Value))
		}
		time.Sleep(30 * time.Second)
		if _, ok := pending(); ok {
			t.Fatal("an unchanged file was reported again")
		}
		saveFile(t, path, policyBad)
		time.Sleep(30 * time.Second)
		if u, ok := pending(); !ok || u.Err == nil {
			t.Fatalf("invalid file: got %v %v", ok, u.Err)
		}
		time.Sleep(30 * time.Second)
		if _, ok := pending(); ok {
			t.Fatal("the same error was reported twice")
		}
	})
}

// TestFileWatcherSeesAChangeBeforeItStarted covers the gap between the
// agent loading the policy and the watch being set up.
func TestFileWatcherSeesAChangeBeforeItStarted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	saveFile(t, path, policyA)
	p, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	saveFile(t, path, policyB)
	w := spec.NewFileWatcher(path, p, policy.Load, spec.FileWatchOptions{Interval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	if u := nextUpdate(t, w.Updates()); u.Err != nil || ports(u.Value) != "8080/tcp,9090/tcp" {
		t.Errorf("got %s, %v", ports(u.Value), u.Err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
	if _, ok := <-w.Updates(); ok {
		t.Error("updates not closed after Run returned")
	}
}
