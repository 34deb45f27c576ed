package gitverify

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/spec"
)

func specDoc(name, image string) string {
	return "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: " + name + "}\nspec: {image: '" + image + "'}\n"
}

const (
	imageA = "mcr.microsoft.com/windows/nanoserver:ltsc2022"
	imageB = "mcr.microsoft.com/windows/servercore:ltsc2022"
)

// gitSync publishes commit hash of r the way git-sync v4 does: a linked
// worktree <root>/.worktrees/<hash> and a symbolic link <root>/<link>
// swapped over to it with a rename.
func gitSync(t *testing.T, r *testRepo, hash, link string) {
	t.Helper()
	wt := filepath.Join(r.dir, ".worktrees", hash)
	if _, err := os.Stat(wt); err != nil {
		r.git("worktree", "add", "-q", "--detach", wt, hash)
	}
	tmp := link + ".tmp"
	os.Remove(tmp)
	if err := os.Symlink(wt, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
}

func image(t *testing.T, snap *spec.Snapshot, name string) string {
	t.Helper()
	for _, c := range snap.Specs {
		if c.Name() == name {
			return c.Spec.Image.String()
		}
	}
	return ""
}

func TestLoaderGitSync(t *testing.T) {
	r := newRepo(t)
	trusted, pub := sshKeyPair(t, "ops")
	intruder, _ := sshKeyPair(t, "intruder")
	keys, err := ParseKeyring("keys", []byte(pub+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(filepath.Dir(r.dir), "current")
	dir := filepath.Join(link, "hosts", "prod")

	r.write("hosts/prod/web.yaml", specDoc("web", imageA))
	good := r.commitSSH("web on nanoserver", trusted)
	r.write("hosts/prod/web.yaml", specDoc("web", imageB))
	unsigned := r.commit("web on servercore, unsigned")
	r.write("hosts/prod/web.yaml", specDoc("web", imageB)+"---\n"+specDoc("api", imageA))
	foreign := r.commitSSH("api, signed by someone else", intruder)
	r.write("hosts/prod/web.yaml", specDoc("web", imageB))
	next := r.commitSSH("web on servercore, signed", trusted)

	var refusals []*RefusalError
	l := NewLoader(dir, LoaderOptions{Keys: keys, OnRefused: func(e *RefusalError) { refusals = append(refusals, e) }})

	// Before any verified revision, a refused one is an error and
	// nothing is handed on.
	gitSync(t, r, unsigned, link)
	if snap, err := l.Load(); err == nil || snap != nil {
		t.Fatalf("Load of an unsigned first revision = %v, %v; want an error", snap, err)
	}
	if len(refusals) != 1 || refusals[0].Reason != ReasonUnsigned {
		t.Fatalf("refusals = %v, want one unsigned", refusals)
	}

	gitSync(t, r, good, link)
	first, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if first.Revision != good || image(t, first, "web") != imageA {
		t.Fatalf("snapshot %s web=%s, want %s on %s", first.Revision, image(t, first, "web"), good, imageA)
	}
	if len(refusals) != 2 || refusals[1] != nil {
		t.Fatalf("refusals = %v, want the refusal cleared", refusals)
	}
	if want := filepath.Join(dir, "web.yaml"); first.Files[0].Path != want {
		t.Errorf("file path %s, want %s", first.Files[0].Path, want)
	}

	// Unsigned, then signed by a key not on the list: the verified
	// revision stays, and each refusal is reported once however often the
	// folder is read.
	for _, rc := range []struct {
		hash   string
		reason Reason
	}{{unsigned, ReasonUnsigned}, {foreign, ReasonUntrusted}} {
		gitSync(t, r, rc.hash, link)
		before := len(refusals)
		for range 3 {
			snap, err := l.Reload()
			if err != nil || snap != first {
				t.Fatalf("Load at a refused revision = %v, %v; want the last verified snapshot", snap, err)
			}
		}
		if len(refusals) != before+1 || refusals[before].Reason != rc.reason || refusals[before].Revision != rc.hash {
			t.Fatalf("refusals = %v, want one %s of %s", refusals[before:], rc.reason, rc.hash)
		}
		if got := l.Refusal(); got == nil || got.Revision != rc.hash {
			t.Fatalf("Refusal = %v", got)
		}
	}

	gitSync(t, r, next, link)
	snap, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if snap.Revision != next || image(t, snap, "web") != imageB || image(t, snap, "api") != "" {
		t.Fatalf("snapshot %s web=%s api=%s", snap.Revision, image(t, snap, "web"), image(t, snap, "api"))
	}
	if l.Refusal() != nil || refusals[len(refusals)-1] != nil {
		t.Fatal("the refusal was not cleared")
	}
}

func TestLoaderReadsTheCommitNotTheWorkingTree(t *testing.T) {
	r := newRepo(t)
	trusted, pub := sshKeyPair(t, "ops")
	keys, err := ParseKeyring("keys", []byte(pub+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r.write("web.yaml", specDoc("web", imageA))
	r.write("gone.yaml", specDoc("gone", imageA))
	head := r.commitSSH("two specs", trusted)
	// Uncommitted: web's image changed, a new file, a removed one, and a
	// file git ignores.
	r.write("web.yaml", specDoc("web", imageB))
	r.write("new.yaml", specDoc("new", imageA))
	if err := os.Remove(filepath.Join(r.dir, "gone.yaml")); err != nil {
		t.Fatal(err)
	}
	l := NewLoader(r.dir, LoaderOptions{Keys: keys})
	snap, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range snap.Specs {
		names = append(names, c.Name())
	}
	if snap.Revision != head || strings.Join(names, ",") != "gone,web" || image(t, snap, "web") != imageA {
		t.Fatalf("snapshot %s %v web=%s; want the commit's content", snap.Revision, names, image(t, snap, "web"))
	}
}

func TestLoaderNotACheckout(t *testing.T) {
	keys, err := ParseKeyring("keys", []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = NewLoader(t.TempDir(), LoaderOptions{Keys: keys}).Load()
	if !errors.Is(err, ErrNotACheckout) {
		t.Fatalf("Load = %v, want ErrNotACheckout", err)
	}
}

func TestLoadKeyringRefusesTheSpecFolder(t *testing.T) {
	r := newRepo(t)
	_, pub := sshKeyPair(t, "ops")
	r.write("keys", pub+"\n")
	if err := os.Chmod(filepath.Join(r.dir, "keys"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyring(filepath.Join(r.dir, "keys"), filepath.Join(r.dir, "specs"), r.dir); !errors.Is(err, ErrInsideSpecFolder) {
		t.Fatalf("LoadKeyring = %v, want ErrInsideSpecFolder", err)
	}
	outside := writeKeys(t, pub+"\n")
	if _, err := LoadKeyring(outside, r.dir); err != nil {
		t.Fatalf("LoadKeyring outside = %v", err)
	}
}
