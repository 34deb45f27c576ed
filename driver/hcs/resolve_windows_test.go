//go:build windows

package hcs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// The policy asks the hcs driver, and only it, where a mount really leads.
var _ policy.Resolver = (*Driver)(nil)

// resolveTree lays out, under a new temporary folder, an allowed folder
// (Allowed\Sub) and a folder outside it (Outside, holding a marker file),
// and returns the temporary folder as Windows resolves it.
func resolveTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Allowed", "Sub", "keep"), "")
	writeFile(t, filepath.Join(dir, "Outside", "marker"), "outside")
	// The temporary folder may be spelled with short names or another
	// case than the file system keeps; the layout below it is ours.
	base, err := (&Driver{}).ResolvePath(winpath.MustParse(dir))
	if err != nil {
		t.Fatal(err)
	}
	return base
}

func TestResolvePath(t *testing.T) {
	base := resolveTree(t)
	free := unusedDrive(t)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a folder resolves to itself", base + `\Allowed\Sub`, base + `\Allowed\Sub`},
		{"case comes from the file system", base + `\allowed\SUB`, base + `\Allowed\Sub`},
		{"a file resolves too", base + `\outside\MARKER`, base + `\Outside\marker`},
		{"slashes and a trailing separator are normalised", strings.ReplaceAll(base, `\`, `/`) + `/allowed/sub/`, base + `\Allowed\Sub`},
		{"the long-path form is normalised", `\\?\` + base + `\allowed\sub`, base + `\Allowed\Sub`},
		{"a tail that does not exist is kept as written", base + `\allowed\New\deeper`, base + `\Allowed\New\deeper`},
		{"a tail under a file is kept as written", base + `\outside\marker\Sub`, base + `\Outside\marker\Sub`},
		{"a drive nothing is mounted on is kept as written", free + `\Sites\web`, free + `\Sites\web`},
		{"a drive root resolves to itself", `c:\`, `C:\`},
	}
	d := &Driver{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := d.ResolvePath(winpath.MustParse(tt.in))
			if err != nil {
				t.Fatalf("ResolvePath(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ResolvePath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestResolvePathRefusesWhatWinpathRefuses: ResolvePath takes a
// winpath.Path, so it can never be asked about a path winpath refuses;
// these once were handed to it as strings and refused there.
func TestResolvePathRefusesWhatWinpathRefuses(t *testing.T) {
	for _, in := range []string{`C:\data\..\Windows`, `C:data`, `\\?\Volume{8a25748f-cf34-4ac6-9ee2-c89400e886db}\data`, `relative\path`} {
		t.Run(in, func(t *testing.T) {
			if p, err := winpath.Parse(in); err == nil {
				t.Errorf("winpath.Parse(%q) = %s, so ResolvePath could be asked about it", in, p)
			}
		})
	}
}

func TestResolvePathFollowsLinks(t *testing.T) {
	for _, kind := range []linkKind{junction, symlink} {
		t.Run(string(kind), func(t *testing.T) {
			base := resolveTree(t)
			makeLink(t, kind, base+`\Allowed\link`, base+`\Outside`)
			d := &Driver{}
			for in, want := range map[string]string{
				base + `\Allowed\link`:            base + `\Outside`,
				base + `\allowed\LINK\marker`:     base + `\Outside\marker`,
				base + `\Allowed\link\New\deeper`: base + `\Outside\New\deeper`,
			} {
				got, err := d.ResolvePath(winpath.MustParse(in))
				if err != nil {
					t.Fatalf("ResolvePath(%q): %v", in, err)
				}
				if got != want {
					t.Errorf("ResolvePath(%q) = %q, want %q", in, got, want)
				}
			}
		})
	}
}

// TestResolvePathRefusesADanglingLink: a link whose target does not exist
// yet would lead wherever its target is created; keeping it "as written"
// would let the policy allow a folder it never saw.
func TestResolvePathRefusesADanglingLink(t *testing.T) {
	base := resolveTree(t)
	link := base + `\Allowed\dangling`
	if err := os.Symlink(base+`\Gone`, link); err != nil {
		t.Skipf("cannot create a symbolic link here: %v", err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Skipf("a dangling link cannot be made or seen here (Wine's CreateSymbolicLinkW does nothing): %v", err)
	}
	got, err := (&Driver{}).ResolvePath(winpath.MustParse(link + `\data`))
	if !errors.Is(err, driver.ErrHostPathNotFound) {
		t.Fatalf("ResolvePath through a dangling link = %q, %v; want an error wrapping ErrHostPathNotFound", got, err)
	}
	if !strings.Contains(err.Error(), link) {
		t.Errorf("error %q does not name the link %s", err, link)
	}
}

// TestPolicyRefusesAMountThroughALink: the policy allows the folder
// Allowed; a mount of Allowed\link, a link to a folder outside it, is
// refused because of where it leads, while Allowed\Sub stays allowed.
func TestPolicyRefusesAMountThroughALink(t *testing.T) {
	base := resolveTree(t)
	makeLink(t, junction, base+`\Allowed\link`, base+`\Outside`)
	pc, err := policy.NewChecker(&policy.Policy{
		File:   "policy.yaml",
		Mounts: []policy.MountRule{{Path: winpath.MustParse(base + `\Allowed`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		hostPath string
		refused  bool
	}{
		{"a folder inside the allowed one", base + `\Allowed\Sub`, false},
		{"a folder to be created inside the allowed one", base + `\Allowed\New`, false},
		{"a link inside the allowed folder to one outside", base + `\Allowed\link`, true},
		{"a folder below such a link", base + `\Allowed\link\New`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &spec.Container{Metadata: spec.Metadata{Name: "web"}}
			cfg := driver.Config{
				Name: "web", Image: imageref.MustParse(testImageRef), Isolation: driver.Process,
				Mounts: []driver.Mount{{HostPath: winpath.MustParse(tt.hostPath), ContainerPath: winpath.MustParse(`C:\data`)}},
			}
			vs := pc.Check(c, cfg, policy.ResolveMounts(&Driver{}, &cfg))
			if !tt.refused {
				if len(vs) > 0 {
					t.Fatalf("mount of %s refused: %v", tt.hostPath, vs)
				}
				return
			}
			if len(vs) != 1 {
				t.Fatalf("mount of %s: violations %v, want one", tt.hostPath, vs)
			}
			if vs[0].Field != "spec.mounts[0].hostPath" || !strings.Contains(vs[0].Message, "through a junction or symbolic link") ||
				!strings.Contains(vs[0].Message, base+`\Outside`) {
				t.Errorf("violation %+v does not say the mount leads to %s through a link", vs[0], base+`\Outside`)
			}
		})
	}
}

// TestCreateMapsTheResolvedFolder: HCS gets the folder the policy checked,
// not the link (hcsshim resolves mapped folders for process isolation
// because HCS mishandles links in them).
func TestCreateMapsTheResolvedFolder(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	base := resolveTree(t)
	makeLink(t, junction, base+`\Allowed\link`, base+`\Outside`)
	cfg := config("web", driver.Process)
	cfg.Mounts = []driver.Mount{
		// As admission records it: the link leads to Outside.
		{HostPath: winpath.MustParse(base + `\allowed\link`), ContainerPath: winpath.MustParse(`C:\data`), ReadOnly: true, ResolvedPath: winpath.MustParse(base + `\Outside`)},
		{HostPath: winpath.MustParse(base + `\allowed\sub`), ContainerPath: winpath.MustParse(`C:\sub`)},
	}
	if err := d.Create(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, doc := range requests(t, h, "HcsCreateComputeSystem") {
		var c v1MappedDirs
		if err := json.Unmarshal(doc, &c); err != nil {
			t.Fatal(err)
		}
		for _, m := range c.MappedDirectories {
			got = append(got, m.HostPath)
		}
	}
	want := []string{base + `\Outside`, base + `\Allowed\Sub`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("mapped host folders sent to HCS = %q, want %q", got, want)
	}
	// The record keeps the config as admitted: the config hash, and what
	// the next admission compares, stay the same.
	rec, err := d.getRecord(cfg.ID)
	if err != nil || rec == nil {
		t.Fatalf("record of web: %v, %v", rec, err)
	}
	if rec.Config.Mounts[0].HostPath != cfg.Mounts[0].HostPath {
		t.Errorf("record's mount = %q, want %q as admitted", rec.Config.Mounts[0].HostPath, cfg.Mounts[0].HostPath)
	}
}

// TestCreateRefusesAMountRedirectedSinceAdmission: a link that leads
// elsewhere at create than when the policy checked it (a junction under
// an allowed folder redirected in between) is refused, and nothing is
// left behind.
func TestCreateRefusesAMountRedirectedSinceAdmission(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	base := resolveTree(t)
	makeLink(t, junction, base+`\Allowed\link`, base+`\Outside`)
	for _, tt := range []struct {
		name     string
		admitted winpath.Path // where the link led at admission; zero for itself
	}{
		{"a link admitted as leading elsewhere", winpath.MustParse(base + `\Allowed\Sub`)},
		{"a plain folder that has become a link", winpath.Path{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config("web", driver.Process)
			cfg.Mounts = []driver.Mount{{HostPath: winpath.MustParse(base + `\Allowed\link`), ContainerPath: winpath.MustParse(`C:\data`), ResolvedPath: tt.admitted}}
			err := d.Create(t.Context(), cfg)
			if !errors.Is(err, driver.ErrHostPathChanged) {
				t.Fatalf("Create = %v, want an error wrapping ErrHostPathChanged", err)
			}
			if !strings.Contains(err.Error(), base+`\Outside`) {
				t.Errorf("error %q does not say where the folder leads now", err)
			}
			cs, err := d.List(t.Context())
			if err != nil || len(cs) != 0 {
				t.Errorf("after the refused create: %v, %v; want no container", cs, err)
			}
		})
	}
}

type v1MappedDirs struct {
	MappedDirectories []struct{ HostPath string }
}

// requests returns the documents of the calls named call that the fake HCS
// of h recorded.
func requests(t *testing.T, h *fakeHost, call string) []json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.hcs, "requests.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var docs []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct {
			Call     string          `json:"call"`
			Document json.RawMessage `json:"document"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("requests.jsonl: %v", err)
		}
		if r.Call == call {
			docs = append(docs, r.Document)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

// unusedDrive returns a drive letter, as "Q:", that nothing is mounted on.
func unusedDrive(t *testing.T) string {
	t.Helper()
	// GetDriveType rather than GetLogicalDrives: under Wine the latter now
	// and then answers 0 with no error set, which x/sys reports as EINVAL.
	for l := 'Z'; l >= 'D'; l-- {
		root := string(l) + `:\`
		if windows.GetDriveType(windows.StringToUTF16Ptr(root)) == windows.DRIVE_NO_ROOT_DIR {
			return string(l) + ":"
		}
	}
	t.Skip("every drive letter is in use")
	return ""
}

type linkKind string

const (
	junction linkKind = "junction"
	symlink  linkKind = "symlink"
)

// makeLink makes link a link of the given kind to the folder target, the
// way an operator would: mklink /J for a junction, CreateSymbolicLink for a
// directory symbolic link. Wine 8 can make neither (its mklink /J fails
// and its CreateSymbolicLinkW succeeds without making anything); there the
// link is a Unix symbolic link, which Wine resolves as Windows resolves
// both kinds, so the resolution path under test is the same. Elsewhere a
// link that cannot be made skips the test.
func makeLink(t *testing.T, kind linkKind, link, target string) {
	t.Helper()
	var err error
	switch kind {
	case junction:
		// cmd's exit status does not tell whether mklink worked; its
		// output does when it did not.
		out, cerr := exec.Command("cmd", "/c", "mklink", "/J", link, target).CombinedOutput()
		err = errors.Join(cerr, errors.New(strings.TrimSpace(string(out))))
	case symlink:
		err = os.Symlink(target, link)
	}
	if linkWorks(link, target) {
		return
	}
	if !testutil.UnderWine() {
		t.Skipf("cannot make a %s here: %v", kind, err)
	}
	os.Remove(link)
	t.Logf("Wine cannot make a %s (%v); using a Unix symbolic link", kind, err)
	ulink := unixPath(t, link)
	if out, err := unix("/bin/ln", "-s", unixPath(t, target), ulink); err != nil {
		t.Fatalf("cannot make a Unix symbolic link under Wine: %v %s", err, out)
	}
	// Wine takes the link for a folder, so the temporary folder's cleanup
	// would empty its target and then fail on it: the link goes first.
	t.Cleanup(func() {
		if out, err := unix("/bin/rm", ulink); err != nil {
			t.Errorf("remove %s: %v %s", ulink, err, out)
		}
		gone := func() bool { _, err := os.Lstat(link); return errors.Is(err, fs.ErrNotExist) }
		if !eventually(gone) {
			t.Errorf("%s is still there after rm", ulink)
		}
	})
	if !eventually(func() bool { return linkWorks(link, target) }) {
		t.Fatalf("the Unix symbolic link %s did not appear", ulink)
	}
}

// unix starts a Unix program from under Wine (start /unix). It cannot
// wait for it: Wine's start gets no handle of a Unix process, so even
// start /wait returns at once, and the caller waits for what the program
// does (see eventually).
func unix(argv ...string) ([]byte, error) {
	return exec.Command("cmd", append([]string{"/c", "start", "/wait", "/unix"}, argv...)...).CombinedOutput()
}

// eventually reports whether cond holds within ten seconds, asking it
// every few milliseconds: what a Unix program started by unix did can only
// be seen, not waited for.
func eventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// linkWorks reports whether the marker file of target is reached through
// link, without asking the code under test.
func linkWorks(link, target string) bool {
	a, err := os.Stat(filepath.Join(link, "marker"))
	if err != nil {
		return false
	}
	b, err := os.Stat(filepath.Join(target, "marker"))
	return err == nil && os.SameFile(a, b)
}

// unixPath is the Unix path Wine maps the Windows path p to.
func unixPath(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("winepath", "-u", p).Output()
	if err != nil {
		t.Fatalf("winepath -u %s: %v", p, err)
	}
	return strings.TrimSpace(string(out))
}

// TestFinalPathForms pins how the forms GetFinalPathNameByHandle returns
// become the paths the policy compares; Wine has neither UNC shares nor
// volumes without a drive letter to produce them for real.
func TestFinalPathForms(t *testing.T) {
	const guid = `\\?\Volume{8a25748f-cf34-4ac6-9ee2-c89400e886db}`
	tests := []struct {
		name  string
		final string
		tail  []string
		want  string
	}{
		{"a drive path loses the long-path prefix", `\\?\D:\Data\Web`, nil, `D:\Data\Web`},
		{"a drive root stays a root", `\\?\D:\`, nil, `D:\`},
		{"a tail is appended to a drive root", `\\?\D:\`, []string{"New", "x"}, `D:\New\x`},
		{"a UNC path becomes \\\\server\\share", `\\?\UNC\fs01\Share\Data`, []string{"new"}, `\\fs01\Share\Data\new`},
		{"a volume without a letter keeps its GUID form", guid + `\Data`, []string{"new"}, guid + `\Data\new`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := joinTail(trimLongPrefix(tt.final), tt.tail); got != tt.want {
				t.Errorf("joinTail(trimLongPrefix(%q), %q) = %q, want %q", tt.final, tt.tail, got, tt.want)
			}
		})
	}
	// What the policy makes of the GUID form: no entry can allow it.
	pc, err := policy.NewChecker(&policy.Policy{File: "policy.yaml", Mounts: []policy.MountRule{{Path: winpath.MustParse(`D:\`)}}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := driver.Config{Name: "web", Image: imageref.MustParse(testImageRef), Isolation: driver.Process,
		Mounts: []driver.Mount{{HostPath: winpath.MustParse(`D:\Data`), ContainerPath: winpath.MustParse(`C:\data`)}}}
	if vs := pc.Check(&spec.Container{}, cfg, policy.ResolveMounts(staticResolver(guid+`\Data`), &cfg)); len(vs) != 1 || vs[0].Field != "spec.mounts[0].hostPath" {
		t.Errorf("a mount that resolves to %s: violations %v, want one on its hostPath", guid, vs)
	}
}

type staticResolver string

func (r staticResolver) ResolvePath(winpath.Path) (string, error) { return string(r), nil }
