package spec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
)

// These tests change real folders the way operators and tools do and check
// what a Watcher delivers: the final snapshot must be the folder's content,
// and no snapshot on the way may lack a spec that is declared both before
// and after the change, or carry a spec in a form that was never written
// (a half-written file read too early).

// watchWait bounds each wait for a snapshot. Generous, because the two CPU
// cores are shared; a passing test waits for about the debounce.
const watchWait = 15 * time.Second

// watchModes are the ways of noticing changes every scenario runs under.
var watchModes = []struct {
	name string
	opts WatchOptions
}{
	{"notify", WatchOptions{Resync: time.Hour}},
	{"poll", WatchOptions{Resync: time.Hour, Poll: 20 * time.Millisecond}},
}

// newTestLoader is the loader the watcher is tested with: the real one.
func newTestLoader(dir string) SnapshotLoader { return NewLoader(dir, LoaderOptions{}) }

// watchHarness runs a Watcher over a folder for one test.
type watchHarness struct {
	t      *testing.T
	w      *Watcher
	images map[string]map[string]bool // every image written per spec name
	last   *Snapshot
}

func startWatch(t *testing.T, dir string, opts WatchOptions, images map[string]map[string]bool) *watchHarness {
	t.Helper()
	h := &watchHarness{t: t, images: images}
	opts.Logger = watchTestLogger(t)
	w := NewWatcher(dir, newTestLoader(dir), opts)
	h.w = w
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(watchWait):
			t.Error("Run did not return after its context was cancelled")
		}
	})
	return h
}

// waitFor waits for a snapshot that satisfies done, checking every
// snapshot delivered on the way: each must declare every name in keep,
// and only images that were written for its specs.
func (h *watchHarness) waitFor(what string, keep []string, done func(*Snapshot) bool) *Snapshot {
	h.t.Helper()
	deadline := time.NewTimer(watchWait)
	defer deadline.Stop()
	for {
		select {
		case u, ok := <-h.w.Updates():
			if !ok {
				h.t.Fatalf("waiting for %s: updates closed", what)
			}
			if u.Snapshot == nil {
				// A failure to read the folder (it is gone for a while).
				if u.Err == nil {
					h.t.Errorf("waiting for %s: an update with neither a snapshot nor an error", what)
				}
				continue
			}
			s := u.Snapshot
			h.last = s
			got := specImages(s)
			for _, name := range keep {
				if _, ok := got[name]; !ok {
					h.t.Errorf("waiting for %s: a snapshot (%s, revision %q) lacks %q, which is declared before and after: %v",
						what, u.Trigger, s.Revision, name, got)
				}
			}
			for name, image := range got {
				if !h.images[name][image] {
					h.t.Errorf("waiting for %s: a snapshot declares %s with image %q, which was never written (a half-written file?)", what, name, image)
				}
			}
			if u.SeenAt.IsZero() || u.SeenAt.After(time.Now()) {
				h.t.Errorf("waiting for %s: SeenAt %v is not a past time", what, u.SeenAt)
			}
			if done(s) {
				return s
			}
		case <-deadline.C:
			var got map[string]string
			if h.last != nil {
				got = specImages(h.last)
			}
			h.t.Fatalf("no snapshot with %s after %v; last one: %v", what, watchWait, got)
		}
	}
}

// waitImages waits until the folder declares exactly want (name → image).
func (h *watchHarness) waitImages(what string, keep []string, want map[string]string) *Snapshot {
	h.t.Helper()
	return h.waitFor(what, keep, func(s *Snapshot) bool { return maps.Equal(specImages(s), want) })
}

// watchTestLogger shows the watcher's logs in the test's output.
func watchTestLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func specImages(s *Snapshot) map[string]string {
	m := make(map[string]string, len(s.Specs))
	for _, c := range s.Specs {
		m[c.Name()] = c.Spec.Image.String()
	}
	return m
}

// specWriter writes spec files and remembers every image written, so a
// snapshot holding anything else is known to come from a partial read.
type specWriter struct {
	t      *testing.T
	images map[string]map[string]bool
}

func newSpecWriter(t *testing.T) *specWriter {
	return &specWriter{t: t, images: make(map[string]map[string]bool)}
}

func (sw *specWriter) yaml(name, image string) []byte {
	if sw.images[name] == nil {
		sw.images[name] = make(map[string]bool)
	}
	sw.images[name][image] = true
	return []byte(fmt.Sprintf("apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: %s\nspec:\n  image: %s\n  restartPolicy: always\n", name, image))
}

func (sw *specWriter) write(path, name, image string) {
	sw.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		sw.t.Fatal(err)
	}
	if err := os.WriteFile(path, sw.yaml(name, image), 0o644); err != nil {
		sw.t.Fatal(err)
	}
}

func image(tag string) string { return "mcr.microsoft.com/windows/servercore/iis:" + tag }

// needSymlinks skips the test where symlinks cannot be made: under Wine,
// and on Windows without the privilege to create them.
func needSymlinks(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	// The case needs what git-sync and the kubelet do: a symlink to a
	// folder, renamed over another one.
	target := filepath.Join(dir, "target")
	mustDo(t, os.Mkdir(target, 0o755))
	err := os.Symlink("target", filepath.Join(dir, "link"))
	if err == nil {
		err = os.Symlink("target", filepath.Join(dir, "link2"))
	}
	if err == nil {
		err = os.Rename(filepath.Join(dir, "link2"), filepath.Join(dir, "link"))
	}
	if err != nil {
		t.Skipf("this case needs a symlink renamed over another, which cannot be done here (Wine cannot): %v", err)
	}
}

// removeAll removes a folder tree the watcher is watching.
func removeAll(t *testing.T, dir string) {
	t.Helper()
	err := os.RemoveAll(dir)
	if err != nil && testutil.UnderWine() {
		// Windows deletes a folder with POSIX semantics even while a
		// watch handle on it is open (Go asks for them, NTFS has them
		// since 1709). Wine 8 does not: the folder stays pending until
		// the handle closes, and Wine sends no notification that would
		// make the watcher close it, so the parent cannot be removed.
		t.Skipf("Wine cannot delete a folder tree while a subfolder is watched: %v", err)
	}
	mustDo(t, err)
}

func needGit(t *testing.T) string {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skipf("this case needs git on PATH (under Wine there is no git.exe): %v", err)
	}
	return git
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWatchFolder(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, opts WatchOptions)
	}{
		{"editor saves through a temporary file renamed over the spec", testWatchRenameOver},
		{"a slow writer's chunks are read only once the file is complete", testWatchChunkedWrite},
		{"vim swap and backup files come and go around a save", testWatchVimSave},
		{"a spec moved between subfolders is never missing", testWatchMoveBetweenSubfolders},
		{"a subfolder created later is watched", testWatchNewSubfolder},
		{"a folder deleted and recreated is followed", testWatchDeleteRecreate},
		{"a folder missing at start is waited for", testWatchMissingAtStart},
		{"a ConfigMap ..data swap is followed", testWatchConfigMapSwap},
		{"a git-sync symlink swap over several commits is followed", testWatchGitSync},
		{"a git checkout of many files is read once git is done", func(t *testing.T, o WatchOptions) { testWatchGitCheckout(t, o, false) }},
		{"a git checkout slower than MaxDelay is read once git is done", func(t *testing.T, o WatchOptions) { testWatchGitCheckout(t, o, true) }},
	}
	for _, mode := range watchModes {
		t.Run(mode.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.run(t, mode.opts) })
			}
		})
	}
}

func testWatchRenameOver(t *testing.T, opts WatchOptions) {
	dir := t.TempDir()
	sw := newSpecWriter(t)
	sw.write(filepath.Join(dir, "web.yaml"), "web", image("v1"))
	sw.write(filepath.Join(dir, "api.yaml"), "api", image("v1"))
	h := startWatch(t, dir, opts, sw.images)
	h.waitImages("the initial folder", nil, map[string]string{"web": image("v1"), "api": image("v1")})

	tmp := filepath.Join(dir, "web.yaml.tmp")
	mustDo(t, os.WriteFile(tmp, sw.yaml("web", image("v2")), 0o644))
	mustDo(t, os.Rename(tmp, filepath.Join(dir, "web.yaml")))
	h.waitImages("the saved spec", []string{"web", "api"}, map[string]string{"web": image("v2"), "api": image("v1")})
}

func testWatchChunkedWrite(t *testing.T, opts WatchOptions) {
	dir := t.TempDir()
	sw := newSpecWriter(t)
	path := filepath.Join(dir, "web.yaml")
	sw.write(path, "web", image("v1"))
	h := startWatch(t, dir, opts, sw.images)
	h.waitImages("the initial folder", nil, map[string]string{"web": image("v1")})

	// Cut the new content in the middle of the image, so that a read
	// between chunks would decode an image that was never written.
	content := sw.yaml("web", image("v2-longer-tag"))
	cut := strings.Index(string(content), "servercore")
	chunks := [][]byte{content[:cut], content[cut : cut+12], content[cut+12:]}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	mustDo(t, err)
	for i, c := range chunks {
		if i > 0 {
			// Shorter than the debounce: one slow write, not three.
			time.Sleep(opts.Debounce/5 + 20*time.Millisecond)
		}
		_, err := f.Write(c)
		mustDo(t, err)
	}
	mustDo(t, f.Close())
	h.waitImages("the complete file", []string{"web"}, map[string]string{"web": image("v2-longer-tag")})
}

func testWatchVimSave(t *testing.T, opts WatchOptions) {
	dir := t.TempDir()
	sw := newSpecWriter(t)
	path := filepath.Join(dir, "web.yaml")
	sw.write(path, "web", image("v1"))
	h := startWatch(t, dir, opts, sw.images)
	h.waitImages("the initial folder", nil, map[string]string{"web": image("v1")})

	// What vim does by default: a swap file while editing; on :w a
	// writability probe (4913), the original renamed to a backup, the new
	// file written, the backup removed; the swap file removed on quit.
	swap := filepath.Join(dir, ".web.yaml.swp")
	mustDo(t, os.WriteFile(swap, []byte("b0VIM 9.0"), 0o600))
	probe := filepath.Join(dir, "4913")
	mustDo(t, os.WriteFile(probe, nil, 0o644))
	mustDo(t, os.Remove(probe))
	mustDo(t, os.Rename(path, path+"~"))
	mustDo(t, os.WriteFile(path, sw.yaml("web", image("v2")), 0o644))
	mustDo(t, os.Remove(path+"~"))
	mustDo(t, os.WriteFile(swap, []byte("b0VIM 9.0 more"), 0o600))
	mustDo(t, os.Remove(swap))
	h.waitImages("the saved spec", []string{"web"}, map[string]string{"web": image("v2")})
}

func testWatchMoveBetweenSubfolders(t *testing.T, opts WatchOptions) {
	dir := t.TempDir()
	sw := newSpecWriter(t)
	sw.write(filepath.Join(dir, "team-a", "web.yaml"), "web", image("v1"))
	sw.write(filepath.Join(dir, "team-b", "api.yaml"), "api", image("v1"))
	h := startWatch(t, dir, opts, sw.images)
	h.waitImages("the initial folder", nil, map[string]string{"web": image("v1"), "api": image("v1")})

	mustDo(t, os.Rename(filepath.Join(dir, "team-a", "web.yaml"), filepath.Join(dir, "team-b", "web.yaml")))
	h.waitFor("web read from team-b", []string{"web", "api"}, func(s *Snapshot) bool {
		for _, c := range s.Specs {
			if c.Name() == "web" {
				return strings.HasSuffix(filepath.ToSlash(c.Source.File), "team-b/web.yaml")
			}
		}
		return false
	})
	// Both folders are still watched after the move.
	sw.write(filepath.Join(dir, "team-a", "db.yaml"), "db", image("v1"))
	h.waitImages("a new spec in team-a", []string{"web", "api"},
		map[string]string{"web": image("v1"), "api": image("v1"), "db": image("v1")})
}

func testWatchNewSubfolder(t *testing.T, opts WatchOptions) {
	dir := t.TempDir()
	sw := newSpecWriter(t)
	sw.write(filepath.Join(dir, "web.yaml"), "web", image("v1"))
	h := startWatch(t, dir, opts, sw.images)
	h.waitImages("the initial folder", nil, map[string]string{"web": image("v1")})

	sw.write(filepath.Join(dir, "new", "deeper", "api.yaml"), "api", image("v1"))
	h.waitImages("the spec in the new subfolder", []string{"web"}, map[string]string{"web": image("v1"), "api": image("v1")})
	// An edit inside the new subfolder is an event of its own (resync is
	// an hour away), so the subfolder is watched.
	sw.write(filepath.Join(dir, "new", "deeper", "api.yaml"), "api", image("v2"))
	h.waitImages("the edit in the new subfolder", []string{"web", "api"}, map[string]string{"web": image("v1"), "api": image("v2")})
}

func testWatchDeleteRecreate(t *testing.T, opts WatchOptions) {
	dir := filepath.Join(t.TempDir(), "specs")
	sw := newSpecWriter(t)
	sw.write(filepath.Join(dir, "web.yaml"), "web", image("v1"))
	sw.write(filepath.Join(dir, "sub", "api.yaml"), "api", image("v1"))
	h := startWatch(t, dir, opts, sw.images)
	h.waitImages("the initial folder", nil, map[string]string{"web": image("v1"), "api": image("v1")})

	// Gone for longer than the debounce: the watcher must deliver
	// nothing for a missing folder, then follow its re-creation.
	removeAll(t, dir)
	time.Sleep(3 * max(opts.Debounce, DefaultDebounce))
	sw.write(filepath.Join(dir, "web.yaml"), "web", image("v2"))
	sw.write(filepath.Join(dir, "sub", "api.yaml"), "api", image("v2"))
	h.waitImages("the recreated folder", []string{"web", "api"}, map[string]string{"web": image("v2"), "api": image("v2")})
	// The new subfolder is watched.
	sw.write(filepath.Join(dir, "sub", "api.yaml"), "api", image("v3"))
	h.waitImages("an edit in the recreated folder", []string{"web", "api"}, map[string]string{"web": image("v2"), "api": image("v3")})
}

func testWatchMissingAtStart(t *testing.T, opts WatchOptions) {
	dir := filepath.Join(t.TempDir(), "specs")
	sw := newSpecWriter(t)
	h := startWatch(t, dir, opts, sw.images)
	select {
	case u := <-h.w.Updates():
		if u.Snapshot != nil {
			t.Fatalf("a snapshot was delivered for a missing folder: %+v", u.Snapshot)
		}
		if !errors.Is(u.Err, fs.ErrNotExist) {
			t.Fatalf("the failure delivered for a missing folder is %v, want one that wraps fs.ErrNotExist", u.Err)
		}
	case <-time.After(watchWait):
		t.Fatal("the failure to read the missing folder was not delivered")
	}
	sw.write(filepath.Join(dir, "web.yaml"), "web", image("v1"))
	h.waitImages("the created folder", nil, map[string]string{"web": image("v1")})
}

func testWatchConfigMapSwap(t *testing.T, opts WatchOptions) {
	needSymlinks(t)
	dir := t.TempDir()
	sw := newSpecWriter(t)
	// The kubelet's layout: a timestamped folder with the data, ..data
	// pointing at it, and each key a symlink through ..data.
	publish := func(stamp string, files map[string]string) {
		ts := filepath.Join(dir, "..2024_05_01_12_00_"+stamp)
		for file, name := range files {
			sw.write(filepath.Join(ts, file), name, image(stamp))
			link := filepath.Join(dir, file)
			if _, err := os.Lstat(link); err != nil {
				mustDo(t, os.Symlink(filepath.Join("..data", file), link))
			}
		}
		tmp := filepath.Join(dir, "..data_tmp")
		mustDo(t, os.Symlink(filepath.Base(ts), tmp))
		old, _ := os.Readlink(filepath.Join(dir, "..data"))
		mustDo(t, os.Rename(tmp, filepath.Join(dir, "..data")))
		if old != "" {
			mustDo(t, os.RemoveAll(filepath.Join(dir, old)))
		}
	}
	publish("01", map[string]string{"web.yaml": "web"})
	h := startWatch(t, dir, opts, sw.images)
	h.waitImages("the first ConfigMap version", nil, map[string]string{"web": image("01")})

	publish("02", map[string]string{"web.yaml": "web", "api.yaml": "api"})
	h.waitImages("the second ConfigMap version", []string{"web"}, map[string]string{"web": image("02"), "api": image("02")})
}

// gitRepo is a real git repository driven through the git command.
type gitRepo struct {
	t   *testing.T
	git string
	dir string
}

func newGitRepo(t *testing.T, dir string) *gitRepo {
	g := &gitRepo{t: t, git: needGit(t), dir: dir}
	mustDo(t, os.MkdirAll(dir, 0o755))
	g.run("init", "-q", "-b", "main")
	return g
}

func (g *gitRepo) run(args ...string) string {
	g.t.Helper()
	cmd := exec.Command(g.git, append([]string{"-C", g.dir, "-c", "user.name=isoagent test", "-c", "user.email=test@isoagent.invalid", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (path → content; nil content deletes) and commits.
func (g *gitRepo) commit(msg string, files map[string][]byte) string {
	g.t.Helper()
	for path, content := range files {
		p := filepath.Join(g.dir, filepath.FromSlash(path))
		if content == nil {
			g.run("rm", "-q", path)
			continue
		}
		mustDo(g.t, os.MkdirAll(filepath.Dir(p), 0o755))
		mustDo(g.t, os.WriteFile(p, content, 0o644))
		g.run("add", path)
	}
	g.run("commit", "-q", "--allow-empty", "-m", msg)
	return g.run("rev-parse", "HEAD")
}

func testWatchGitSync(t *testing.T, opts WatchOptions) {
	needSymlinks(t)
	base := t.TempDir()
	repo := newGitRepo(t, filepath.Join(base, "repo"))
	root := filepath.Join(base, "git")
	mustDo(t, os.MkdirAll(filepath.Join(root, ".worktrees"), 0o755))
	link := filepath.Join(root, "current")
	sw := newSpecWriter(t)

	// publish does what git-sync does: check the commit out into a new
	// worktree, rename a new symlink over the old one, and clean up old
	// worktrees. The one just replaced is left alone, so the swap itself
	// must be noticed, not the removal of the tree the watcher was in.
	var previous, current string
	publish := func(hash string) {
		wt := filepath.Join(root, ".worktrees", hash)
		repo.run("worktree", "add", "-q", "--detach", wt, hash)
		tmp := filepath.Join(root, "tmp-link")
		mustDo(t, os.Symlink(filepath.Join(".worktrees", hash), tmp))
		mustDo(t, os.Rename(tmp, link))
		if previous != "" {
			repo.run("worktree", "remove", "--force", filepath.Join(root, ".worktrees", previous))
		}
		previous, current = current, hash
	}
	atRevision := func(hash string, want map[string]string) func(*Snapshot) bool {
		return func(s *Snapshot) bool { return s.Revision == hash && maps.Equal(specImages(s), want) }
	}

	c1 := repo.commit("web and api", map[string][]byte{
		"web.yaml":      sw.yaml("web", image("c1")),
		"apps/api.yaml": sw.yaml("api", image("c1")),
	})
	publish(c1)
	h := startWatch(t, link, opts, sw.images)
	h.waitFor("commit 1", nil, atRevision(c1, map[string]string{"web": image("c1"), "api": image("c1")}))

	c2 := repo.commit("new web image", map[string][]byte{"web.yaml": sw.yaml("web", image("c2"))})
	publish(c2)
	h.waitFor("commit 2", []string{"web", "api"}, atRevision(c2, map[string]string{"web": image("c2"), "api": image("c1")}))

	c3 := repo.commit("drop api", map[string][]byte{"apps/api.yaml": nil})
	publish(c3)
	h.waitFor("commit 3 without api", []string{"web"}, atRevision(c3, map[string]string{"web": image("c2")}))

	c4 := repo.commit("break web", map[string][]byte{"web.yaml": []byte("apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web\n")})
	publish(c4)
	s := h.waitFor("commit 4 with web broken", []string{"web"}, func(s *Snapshot) bool { return s.Revision == c4 })
	if got, want := specImages(s), map[string]string{"web": image("c2")}; !maps.Equal(got, want) {
		t.Errorf("with web.yaml broken, specs = %v, want the last-known-good %v", got, want)
	}
	if len(s.Files) != 1 || s.Files[0].Valid() || !s.Files[0].Stale {
		t.Errorf("with web.yaml broken, files = %+v, want web.yaml invalid and stale", s.Files)
	}

	c5 := repo.commit("fix web", map[string][]byte{"web.yaml": sw.yaml("web", image("c5"))})
	publish(c5)
	h.waitFor("commit 5", []string{"web"}, atRevision(c5, map[string]string{"web": image("c5")}))
}

// testWatchGitCheckout switches a checkout between branches. When slow, a
// smudge filter makes git take well over MaxDelay writing the files, so
// only waiting on git's index lock keeps a half-done checkout from being
// read.
func testWatchGitCheckout(t *testing.T, opts WatchOptions, slow bool) {
	dir := filepath.Join(t.TempDir(), "specs")
	repo := newGitRepo(t, dir)
	sw := newSpecWriter(t)
	const n = 60
	name := func(i int) string { return fmt.Sprintf("svc%02d", i) }
	path := func(i int) string { return fmt.Sprintf("team%d/%s.yaml", i%3, name(i)) }

	v1 := map[string][]byte{".gitattributes": []byte("*.yaml filter=slow\n")}
	for i := range n {
		v1[path(i)] = sw.yaml(name(i), image("v1"))
	}
	repo.commit("v1", v1)
	repo.run("checkout", "-q", "-b", "next")
	v2 := map[string][]byte{path(0): nil}
	for i := 1; i < n; i++ {
		v2[path(i)] = sw.yaml(name(i), image("v2"))
	}
	v2[path(n)] = sw.yaml(name(n), image("v2"))
	next := repo.commit("v2", v2)
	// One spec moves to another folder on the new branch.
	repo.run("mv", path(1), "team2/moved.yaml")
	next = repo.commit("move svc01", nil)
	main := repo.run("rev-parse", "main")
	repo.run("checkout", "-q", "main")

	want1 := make(map[string]string)
	for i := range n {
		want1[name(i)] = image("v1")
	}
	h := startWatch(t, dir, opts, sw.images)
	h.waitFor("the main branch", nil, func(s *Snapshot) bool { return s.Revision == main && maps.Equal(specImages(s), want1) })

	keep := make([]string, 0, n)
	want2 := make(map[string]string)
	for i := 1; i <= n; i++ {
		want2[name(i)] = image("v2")
		if i < n {
			keep = append(keep, name(i))
		}
	}
	if slow {
		repo.run("-c", "filter.slow.smudge=sleep 0.04; cat", "checkout", "-q", "next")
	} else {
		repo.run("checkout", "-q", "next")
	}
	h.waitFor("the next branch", keep, func(s *Snapshot) bool { return s.Revision == next && maps.Equal(specImages(s), want2) })
}

// A rewrite that keeps the file's size and modification time (rsync -t,
// tar, cp -p) is invisible to the loader's cache; the periodic resync
// re-reads every file, so it is seen within one resync.
func TestWatchResyncSeesARewriteThatKeptSizeAndTime(t *testing.T) {
	for _, mode := range watchModes {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			sw := newSpecWriter(t)
			path := filepath.Join(dir, "web.yaml")
			sw.write(path, "web", image("ltsc2022"))
			fi, err := os.Stat(path)
			mustDo(t, err)

			opts := mode.opts
			opts.Resync = 300 * time.Millisecond
			h := startWatch(t, dir, opts, sw.images)
			h.waitImages("the first read", nil, map[string]string{"web": image("ltsc2022")})

			// Same length, other content, the old modification time.
			sw.write(path, "web", image("ltsc2025"))
			mustDo(t, os.Chtimes(path, fi.ModTime(), fi.ModTime()))
			if fi2, err := os.Stat(path); err != nil || fi2.Size() != fi.Size() || !fi2.ModTime().Equal(fi.ModTime()) {
				t.Fatalf("the rewrite changed size or time: %v %v", fi2, err)
			}
			h.waitImages("the rewrite", []string{"web"}, map[string]string{"web": image("ltsc2025")})
		})
	}
}
