package gitstatus_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/gitstatus"
	"github.com/isoagent/isoagent/spec"
)

// gitRepo is a real git repository driven through the git command.
type gitRepo struct {
	t   *testing.T
	git string
	dir string
}

func newGitRepo(t *testing.T, dir string) *gitRepo {
	t.Helper()
	git, err := exec.LookPath("git")
	if err != nil {
		t.Skipf("needs git on PATH: %v", err)
	}
	g := &gitRepo{t: t, git: git, dir: dir}
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

// commit writes files (path → content) and commits.
func (g *gitRepo) commit(msg string, files map[string][]byte) string {
	g.t.Helper()
	for path, content := range files {
		p := filepath.Join(g.dir, filepath.FromSlash(path))
		mustDo(g.t, os.MkdirAll(filepath.Dir(p), 0o755))
		mustDo(g.t, os.WriteFile(p, content, 0o644))
		g.run("add", path)
	}
	g.run("commit", "-q", "--allow-empty", "-m", msg)
	return g.run("rev-parse", "HEAD")
}

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A spec folder in a git checkout with spec files that differ from HEAD
// reports its revision with -dirty and names the files; other files, and
// files outside the folder, do not make it dirty.
func TestRevisionDirty(t *testing.T) {
	repo := newGitRepo(t, t.TempDir())
	webSpec := []byte("apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec: {image: mcr.microsoft.com/windows/nanoserver:ltsc2022}\n")
	apiSpec := []byte("apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: api}\nspec: {image: mcr.microsoft.com/windows/nanoserver:ltsc2022}\n")
	head := repo.commit("specs", map[string][]byte{"specs/web.yaml": webSpec, "specs/team/api.yml": apiSpec, "README.md": []byte("x\n")})
	dir := filepath.Join(repo.dir, "specs")
	l := spec.NewLoader(dir, spec.LoaderOptions{CheckoutChanges: gitstatus.Changes})
	write := func(rel string, b []byte) {
		t.Helper()
		p := filepath.Join(repo.dir, filepath.FromSlash(rel))
		mustDo(t, os.MkdirAll(filepath.Dir(p), 0o755))
		mustDo(t, os.WriteFile(p, b, 0o644))
		// A later second on the clock, as an edit is: the loader tells
		// files unchanged by size and time.
		later := time.Now().Add(time.Duration(len(rel)) * time.Second)
		mustDo(t, os.Chtimes(p, later, later))
	}
	steps := []struct {
		name    string
		do      func()
		dirty   bool
		changes []string
	}{
		{"clean", func() {}, false, nil},
		{"a change outside the folder", func() { write("README.md", []byte("changed\n")) }, false, nil},
		{"a new file that is not a spec", func() { write("specs/notes.txt", []byte("x\n")) }, false, nil},
		{"an ignored spec name", func() { write("specs/.draft.yaml", webSpec) }, false, nil},
		{"a modified spec", func() { write("specs/web.yaml", append(webSpec, "# edited\n"...)) }, true, []string{"web.yaml"}},
		{"and an untracked one", func() {
			write("specs/team/db.yaml", []byte("apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: db}\nspec: {image: mcr.microsoft.com/windows/nanoserver:ltsc2022}\n"))
		}, true, []string{"team/db.yaml", "web.yaml"}},
		{"and a deleted one, staged", func() { repo.run("rm", "-q", "specs/team/api.yml") }, true, []string{"team/api.yml", "team/db.yaml", "web.yaml"}},
		{"committed", func() {
			head = repo.commit("more", map[string][]byte{"specs/web.yaml": append(webSpec, "# edited\n"...), "specs/team/db.yaml": mustRead(t, filepath.Join(dir, "team", "db.yaml"))})
		}, false, nil},
	}
	for _, s := range steps {
		s.do()
		snap, err := l.Load()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		want := head
		if s.dirty {
			want += "-dirty"
		}
		if snap.Revision != want || !slices.Equal(snap.Changes, s.changes) {
			t.Errorf("%s: revision %q, changes %q; want %q, %q", s.name, snap.Revision, snap.Changes, want, s.changes)
		}
	}
}

// Outside a checkout there is no revision and nothing to be dirty.
func TestRevisionOutsideACheckout(t *testing.T) {
	dir := t.TempDir()
	mustDo(t, os.WriteFile(filepath.Join(dir, "web.yaml"), []byte("apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec: {image: mcr.microsoft.com/windows/nanoserver:ltsc2022}\n"), 0o644))
	snap, err := spec.NewLoader(dir, spec.LoaderOptions{CheckoutChanges: gitstatus.Changes}).Load()
	if err != nil || snap.Revision != "" || snap.Changes != nil {
		t.Errorf("revision %q, changes %q, %v", snap.Revision, snap.Changes, err)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	mustDo(t, err)
	return b
}
