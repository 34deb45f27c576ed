package spec

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// specYAML is a valid one-document spec file for name.
func specYAML(name string) string {
	return "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: " + name + "}\nspec: {image: 'mcr.microsoft.com/windows/nanoserver:ltsc2022'}\n"
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rewrite changes a file's content and makes sure its modification time
// moves, however coarse the file system's clock.
func rewrite(t *testing.T, path, content string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, content)
	next := fi.ModTime().Add(2 * time.Second)
	if err := os.Chtimes(path, next, next); err != nil {
		t.Fatal(err)
	}
}

func specNames(s *Snapshot) string {
	var names []string
	for _, c := range s.Specs {
		names = append(names, c.Name())
	}
	return strings.Join(names, ",")
}

func fileByName(t *testing.T, s *Snapshot, base string) File {
	t.Helper()
	for _, f := range s.Files {
		if filepath.Base(f.Path) == base {
			return f
		}
	}
	t.Fatalf("no file %s in snapshot: %+v", base, s.Files)
	return File{}
}

func mustLoad(t *testing.T, l *Loader) *Snapshot {
	t.Helper()
	s, err := l.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

func TestLoadReadsOnlySpecFiles(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"web.yaml":              specYAML("web"),
		"sub/api.yml":           specYAML("api"),
		"sub/deeper/job.YAML":   specYAML("job"),
		".hidden.yaml":          specYAML("hidden"),
		".git/config.yaml":      specYAML("git"),
		"..data/cm.yaml":        specYAML("configmap"),
		"web.yaml~":             specYAML("tilde"),
		"web.yaml.swp":          specYAML("swp"),
		".web.yaml.swx":         specYAML("swx"),
		"x.tmp":                 specYAML("tmp"),
		"web.bak":               specYAML("bak"),
		"#web.yaml#":            specYAML("emacs"),
		"notes.txt":             "not yaml: [",
		"README.md":             "# specs",
		"sub/.cache/other.yaml": specYAML("cache"),
	}
	for name, content := range files {
		writeFile(t, filepath.Join(dir, filepath.FromSlash(name)), content)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := specNames(s); got != "api,job,web" {
		t.Errorf("specs = %s, want api,job,web", got)
	}
	if len(s.Files) != 3 {
		t.Errorf("files = %+v, want 3", s.Files)
	}
	if s.Dir != dir {
		t.Errorf("Dir = %q, want %q as given", s.Dir, dir)
	}
}

func TestIgnored(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{".git", true}, {"..data", true}, {"..2024_01_01", true}, {".web.yaml.swp", true},
		{"web.yaml~", true}, {"web.swp", true}, {"web.SWX", true}, {"x.tmp", true}, {"x.bak", true},
		{"#web.yaml#", true}, {"web.yaml", false}, {"web#1.yaml", false}, {"#", false}, {"data", false},
	}
	for _, tt := range tests {
		if got := Ignored(tt.name); got != tt.want {
			t.Errorf("Ignored(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestLoadOneBadFileDoesNotHideOthers(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.yaml"), "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: a}\nspec: {image: x, shm_size: 1g}\n")
	writeFile(t, filepath.Join(dir, "b.yaml"), "not: [valid")
	writeFile(t, filepath.Join(dir, "c.yaml"), specYAML("c"))
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := specNames(s); got != "c" {
		t.Errorf("specs = %s, want c", got)
	}
	for _, base := range []string{"a.yaml", "b.yaml"} {
		f := fileByName(t, s, base)
		if f.Valid() || f.Stale || len(f.Names) != 0 {
			t.Errorf("%s = %+v, want invalid, not stale, no names", base, f)
		}
	}
	if !strings.Contains(fileByName(t, s, "a.yaml").Err.Error(), "shared memory") {
		t.Errorf("a.yaml error = %v", fileByName(t, s, "a.yaml").Err)
	}
}

func TestLoadSizeLimit(t *testing.T) {
	dir := t.TempDir()
	big := specYAML("big") + "# " + strings.Repeat("x", 2000) + "\n"
	writeFile(t, filepath.Join(dir, "big.yaml"), big)
	writeFile(t, filepath.Join(dir, "small.yaml"), specYAML("small"))
	l := NewLoader(dir, LoaderOptions{MaxFileSize: 1024})
	s := mustLoad(t, l)
	if got := specNames(s); got != "small" {
		t.Errorf("specs = %s, want small", got)
	}
	err := fileByName(t, s, "big.yaml").Err
	if err == nil || !strings.Contains(err.Error(), "larger than the limit of 1 KiB") {
		t.Errorf("big.yaml error = %v, want the size limit", err)
	}
}

// fakeClock is a Loader's clock that moves only when told.
type fakeClock struct{ t time.Time }

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func TestLoaderKeepsLastKnownGood(t *testing.T) {
	dir := t.TempDir()
	web := filepath.Join(dir, "web.yaml")
	writeFile(t, web, specYAML("web")+"---\n"+specYAML("web2"))
	clock := newFakeClock()
	l := NewLoader(dir, LoaderOptions{Now: clock.Now})
	s := mustLoad(t, l)
	if got := specNames(s); got != "web,web2" {
		t.Fatalf("specs = %s", got)
	}

	rewrite(t, web, "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec: {image: x, privileged: true}\n")
	s = mustLoad(t, l)
	f := fileByName(t, s, "web.yaml")
	if got := specNames(s); got != "web,web2" {
		t.Errorf("after breaking: specs = %s, want the last-known-good web,web2", got)
	}
	if !f.Stale || f.Valid() || strings.Join(f.Names, ",") != "web,web2" {
		t.Errorf("after breaking: file = %+v, want stale, invalid, names web,web2", f)
	}

	// Unchanged and still broken: still stale, not parsed again.
	s = mustLoad(t, l)
	if f := fileByName(t, s, "web.yaml"); !f.Stale || specNames(s) != "web,web2" {
		t.Errorf("second load of broken file: %+v", f)
	}
	if st := l.Stats(); st.Parsed != 0 || st.Reused != 1 {
		t.Errorf("Stats = %+v, want reused", st)
	}

	// The fix drops web2: a spec taken away applies once the file has
	// stayed so for the settle time.
	rewrite(t, web, specYAML("web3"))
	s = mustLoad(t, l)
	if f := fileByName(t, s, "web.yaml"); !f.Pending || specNames(s) != "web,web2" {
		t.Errorf("right after fixing without web and web2: specs %s, file %+v; want the last-known-good, pending", specNames(s), f)
	}
	clock.Advance(DefaultSettle)
	s = mustLoad(t, l)
	if got := specNames(s); got != "web3" {
		t.Errorf("after fixing: specs = %s, want web3", got)
	}
	if f := fileByName(t, s, "web.yaml"); f.Stale || !f.Valid() {
		t.Errorf("after fixing: file = %+v", f)
	}

	if err := os.Remove(web); err != nil {
		t.Fatal(err)
	}
	s = mustLoad(t, l)
	if f := fileByName(t, s, "web.yaml"); !f.Pending || specNames(s) != "web3" {
		t.Errorf("right after removing: specs %s, file %+v; want web3 kept, pending", specNames(s), f)
	}
	clock.Advance(DefaultSettle)
	s = mustLoad(t, l)
	if len(s.Specs) != 0 || len(s.Files) != 0 {
		t.Errorf("after removing: %+v, want nothing", s)
	}
	// A file that comes back invalid has no last-known-good any more.
	writeFile(t, web, "bad: [")
	s = mustLoad(t, l)
	if f := fileByName(t, s, "web.yaml"); f.Stale || len(s.Specs) != 0 {
		t.Errorf("re-created invalid file = %+v, specs %s", f, specNames(s))
	}
}

func TestLoaderReusesUnchangedFiles(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a", "b", "c"} {
		writeFile(t, filepath.Join(dir, n+".yaml"), specYAML(n))
	}
	l := NewLoader(dir, LoaderOptions{})
	first := mustLoad(t, l)
	if st := l.Stats(); st != (LoadStats{Parsed: 3}) {
		t.Errorf("first Load stats = %+v, want 3 parsed", st)
	}
	second := mustLoad(t, l)
	if st := l.Stats(); st != (LoadStats{Reused: 3}) {
		t.Errorf("second Load stats = %+v, want 3 reused", st)
	}
	if first.Specs[0] != second.Specs[0] {
		t.Error("an unchanged file's spec was decoded again")
	}
	rewrite(t, filepath.Join(dir, "b.yaml"), specYAML("b2"))
	mustLoad(t, l)
	if st := l.Stats(); st != (LoadStats{Parsed: 1, Reused: 2}) {
		t.Errorf("after one change stats = %+v, want 1 parsed, 2 reused", st)
	}
	if _, err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats(); st != (LoadStats{Parsed: 3}) {
		t.Errorf("Reload stats = %+v, want 3 parsed", st)
	}
}

func TestLoadDuplicateNames(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.yaml"), specYAML("web"))
	writeFile(t, filepath.Join(dir, "a", "z.yaml"), specYAML("web")+"---\n"+specYAML("api")+"---\n"+specYAML("api"))
	writeFile(t, filepath.Join(dir, "c.yaml"), specYAML("web"))
	for range 3 { // the outcome never flaps
		s, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := specNames(s); got != "api,web" {
			t.Fatalf("specs = %s", got)
		}
		winner := filepath.Join(dir, "a", "z.yaml")
		for _, c := range s.Specs {
			if c.Source.File != winner {
				t.Errorf("%s comes from %s, want %s", c.Name(), c.Source.File, winner)
			}
		}
		var got []string
		for _, c := range s.Conflicts {
			rel, _ := filepath.Rel(dir, c.Loser.File)
			got = append(got, c.Name+"@"+filepath.ToSlash(rel)+":"+strconv.Itoa(c.Loser.Line)+" lost to line "+strconv.Itoa(c.Winner.Line))
		}
		want := "api@a/z.yaml:11 lost to line 6|web@b.yaml:1 lost to line 1|web@c.yaml:1 lost to line 1"
		if strings.Join(got, "|") != want {
			t.Errorf("conflicts = %q, want %q", strings.Join(got, "|"), want)
		}
		if n := fileByName(t, s, "b.yaml").Names; len(n) != 0 {
			t.Errorf("b.yaml names = %v, want none: its spec lost", n)
		}
	}
}

func TestLoadMissingFolderIsAnError(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "nope")); err == nil {
		t.Error("Load of a missing folder succeeded")
	}
	file := filepath.Join(dir, "f.yaml")
	writeFile(t, file, specYAML("a"))
	if _, err := Load(file); err == nil {
		t.Error("Load of a file succeeded, want an error: it is not a folder")
	}
	l := NewLoader(dir, LoaderOptions{})
	if s := mustLoad(t, l); len(s.Specs) != 1 {
		t.Fatal("want one spec")
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if s, err := l.Load(); err == nil {
		t.Errorf("Load of a vanished folder = %+v, want an error (callers must not prune)", s)
	}
}

func TestLoadStampsTime(t *testing.T) {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s := mustLoad(t, NewLoader(t.TempDir(), LoaderOptions{Now: func() time.Time { return at }}))
	if !s.LoadedAt.Equal(at) {
		t.Errorf("LoadedAt = %v, want %v", s.LoadedAt, at)
	}
}

// symlinkOrSkip makes a symlink, skipping the test where that is not
// possible (Windows without the privilege, some Wine set-ups).
func symlinkOrSkip(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot create symlinks here (%v)", err)
	}
	if runtime.GOOS == "windows" {
		if _, err := os.Stat(link); err != nil {
			t.Skipf("symlinks do not resolve here (%v)", err)
		}
	}
}

func TestLoadFollowsSymlinkedFolderAndFiles(t *testing.T) {
	root := t.TempDir()
	const commit = "0123456789abcdef0123456789abcdef01234567"
	worktree := filepath.Join(root, ".worktrees", commit)
	writeFile(t, filepath.Join(worktree, "web.yaml"), specYAML("web"))
	writeFile(t, filepath.Join(worktree, ".shared", "api.yaml"), specYAML("api"))
	link := filepath.Join(root, "current")
	symlinkOrSkip(t, worktree, link)
	// A link to a file inside the folder is followed; one out of it is
	// not (TestLoadReadsOnlyRegularFilesInside).
	symlinkOrSkip(t, filepath.Join(".shared", "api.yaml"), filepath.Join(worktree, "api.yaml"))
	// A symlinked subfolder is not followed: links must not make the walk loop.
	symlinkOrSkip(t, worktree, filepath.Join(worktree, "loop"))

	s, err := Load(link)
	if err != nil {
		t.Fatal(err)
	}
	if got := specNames(s); got != "api,web" {
		t.Errorf("specs = %s, want api,web", got)
	}
	if s.Revision != commit {
		t.Errorf("Revision = %q, want the git-sync worktree %s", s.Revision, commit)
	}
	if s.Dir != link {
		t.Errorf("Dir = %q, want %q as given", s.Dir, link)
	}
}

func TestRevisionFromGitSyncLinks(t *testing.T) {
	tests := []struct {
		target string
		sub    string
		want   string
	}{
		{"rev-0123abc", "", "0123abc"},
		{"0123456789abcdef0123456789abcdef01234567", "specs", "0123456789abcdef0123456789abcdef01234567"},
		{"main", "", ""},
		{"rev-xyz", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			root := t.TempDir()
			target := filepath.Join(root, tt.target)
			if err := os.MkdirAll(filepath.Join(target, tt.sub), 0o755); err != nil {
				t.Fatal(err)
			}
			link := filepath.Join(root, "repo")
			symlinkOrSkip(t, target, link)
			if got := gitRevision(filepath.Join(link, tt.sub)); got != tt.want {
				t.Errorf("gitRevision = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRevisionFromGitCheckout(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skip("git is not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(git, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Skipf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q", "-b", "main")
	writeFile(t, filepath.Join(dir, "specs", "web.yaml"), specYAML("web"))
	run("add", ".")
	run("commit", "-q", "-m", "first")
	head := run("rev-parse", "HEAD")

	s, err := Load(filepath.Join(dir, "specs"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Revision != head {
		t.Errorf("Revision (loose ref, subfolder) = %q, want %q", s.Revision, head)
	}
	run("pack-refs", "--all")
	if _, err := os.Stat(filepath.Join(dir, ".git", "refs", "heads", "main")); err == nil {
		t.Fatal("pack-refs left the loose ref")
	}
	if got := gitRevision(dir); got != head {
		t.Errorf("Revision (packed ref) = %q, want %q", got, head)
	}
	run("checkout", "-q", "--detach")
	if got := gitRevision(dir); got != head {
		t.Errorf("Revision (detached) = %q, want %q", got, head)
	}
	wt := filepath.Join(t.TempDir(), "wt")
	run("worktree", "add", "-q", wt, "main")
	if got := gitRevision(wt); got != head {
		t.Errorf("Revision (linked worktree) = %q, want %q", got, head)
	}
}

func TestRevisionEmptyOutsideGit(t *testing.T) {
	if got := gitRevision(t.TempDir()); got != "" {
		t.Errorf("gitRevision of a plain folder = %q, want empty", got)
	}
}
