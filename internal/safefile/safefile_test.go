package safefile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// within bounds every call that must not block; a blocked open shows as a
// failure instead of a hung test binary.
const within10s = 10 * time.Second

// bounded runs f and fails the test if it has not returned in time.
func bounded[T any](t *testing.T, what string, f func() (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-time.After(within10s):
		t.Fatalf("%s blocked for %v", what, within10s)
	}
	panic("unreachable")
}

// needSymlinks skips the test where symbolic links cannot be made or do
// not resolve (Windows without the privilege; Wine makes links it cannot
// follow).
func needSymlinks(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "target"), "x")
	link := filepath.Join(dir, "link")
	if err := os.Symlink("target", link); err != nil {
		t.Skipf("cannot create symbolic links here: %v", err)
	}
	if _, err := os.Stat(link); err != nil {
		t.Skipf("symbolic links do not resolve here: %v", err)
	}
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// outcome classifies an open's result.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrOutside):
		return "outside"
	case errors.Is(err, ErrNotRegular):
		return "not regular"
	case errors.Is(err, fs.ErrNotExist):
		return "missing"
	}
	return "error: " + err.Error()
}

// TestRootOpen opens every kind of entry a folder can hold, directly and
// through every kind of link, and checks which are opened: regular files
// inside the folder only, never anything a link leads to outside it.
func TestRootOpen(t *testing.T) {
	needSymlinks(t)
	base := t.TempDir()
	dir := filepath.Join(base, "specs")
	outside := filepath.Join(base, "outside")
	mustWrite(t, filepath.Join(dir, "sub", "regular.yaml"), "inside\n")
	mustWrite(t, filepath.Join(outside, "regular.yaml"), "SECRET\n")
	if err := os.Mkdir(filepath.Join(dir, "folder.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}

	// targets are what a name can be, each created in both places: the
	// kinds this platform can make, beyond the regular file and folder.
	type target struct {
		kind string
		want string // outcome when opened inside the folder
	}
	targets := []target{{"sub/regular.yaml", "ok"}, {"folder.yaml", "not regular"}, {"nothing.yaml", "missing"}}
	for _, k := range specialKinds(t, dir, outside) {
		targets = append(targets, target{k, "not regular"})
	}

	type tc struct {
		name string
		want string
	}
	var cases []tc
	link := func(name, to string) {
		if err := os.Symlink(to, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tg := range targets {
		cases = append(cases, tc{tg.kind, tg.want})
		// Every way a link can lead to the target inside the folder...
		inside := map[string]string{
			"rel-" + filepath.Base(tg.kind):   filepath.FromSlash(tg.kind),
			"abs-" + filepath.Base(tg.kind):   filepath.Join(dir, tg.kind),
			"chain-" + filepath.Base(tg.kind): "rel-" + filepath.Base(tg.kind),
		}
		// ...and out of it, to the same kind of thing.
		out := map[string]string{
			"out-rel-" + filepath.Base(tg.kind):   filepath.Join("..", "outside", filepath.Base(tg.kind)),
			"out-abs-" + filepath.Base(tg.kind):   filepath.Join(outside, filepath.Base(tg.kind)),
			"out-chain-" + filepath.Base(tg.kind): "out-rel-" + filepath.Base(tg.kind),
		}
		for name, to := range inside {
			link(name, to)
			cases = append(cases, tc{name, tg.want})
		}
		for name, to := range out {
			link(name, to)
			want := "outside"
			if filepath.Base(tg.kind) == "nothing.yaml" {
				want = "not opened" // a dangling link out: missing or outside, never opened
			}
			cases = append(cases, tc{name, want})
		}
	}
	// A linked folder inside, and one outside, on the way to a file.
	link("linked-sub", "sub")
	link("linked-out", filepath.Join("..", "outside"))
	cases = append(cases, tc{filepath.Join("linked-sub", "regular.yaml"), "ok"}, tc{filepath.Join("linked-out", "regular.yaml"), "outside"})

	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, c := range cases {
		t.Run(filepath.ToSlash(c.name), func(t *testing.T) {
			f, err := bounded(t, "Root.Open", func() (*os.File, error) { return r.Open(c.name) })
			got := outcome(err)
			if c.want == "not opened" && got != "ok" {
				got = "not opened"
			}
			if got != c.want {
				t.Fatalf("Open = %s (%v), want %s", got, err, c.want)
			}
			if err != nil {
				if pe := (*fs.PathError)(nil); !errors.As(err, &pe) || pe.Path != filepath.Join(dir, c.name) {
					t.Errorf("error %v does not name the path as given", err)
				}
				return
			}
			defer f.Close()
			b, _, err := ReadAll(f, 1<<10, time.Second)
			if err != nil || string(b) != "inside\n" {
				t.Errorf("read %q, %v; want the file inside", b, err)
			}
		})
	}
}

func TestRootReadDirAndStat(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "specs")
	mustWrite(t, filepath.Join(dir, "sub", "a.yaml"), "a\n")
	mustWrite(t, filepath.Join(base, "outside", "b.yaml"), "b\n")
	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	entries, err := r.ReadDir(".")
	if err != nil || len(entries) != 1 || entries[0].Name() != "sub" || !entries[0].IsDir() {
		t.Fatalf("ReadDir(.) = %v, %v; want sub", entries, err)
	}
	if entries, err = r.ReadDir("sub"); err != nil || len(entries) != 1 || entries[0].Name() != "a.yaml" {
		t.Fatalf("ReadDir(sub) = %v, %v; want a.yaml", entries, err)
	}
	if _, err := r.ReadDir("sub/a.yaml"); err == nil {
		t.Error("ReadDir of a file succeeded")
	}
	if fi, err := r.Stat("sub/a.yaml"); err != nil || fi.Size() != 2 {
		t.Errorf("Stat = %v, %v", fi, err)
	}
	needSymlinks(t)
	if err := os.Symlink(filepath.Join("..", "outside"), filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadDir("out"); !errors.Is(err, ErrOutside) {
		t.Errorf("ReadDir through a link out = %v, want ErrOutside", err)
	}
	if _, err := r.Stat("out/b.yaml"); !errors.Is(err, ErrOutside) {
		t.Errorf("Stat through a link out = %v, want ErrOutside", err)
	}
}

// TestRootOpenRoot opens a subfolder as a Root of its own: a link out of
// it is ErrOutside there, and the folder's Root still answers for it.
func TestRootOpenRoot(t *testing.T) {
	needSymlinks(t)
	base := t.TempDir()
	dir := filepath.Join(base, "specs")
	mustWrite(t, filepath.Join(dir, "shared", "a.yaml"), "inside\n")
	mustWrite(t, filepath.Join(dir, "sub", "plain.yaml"), "inside\n")
	mustWrite(t, filepath.Join(base, "outside.yaml"), "SECRET\n")
	for name, to := range map[string]string{"up.yaml": filepath.Join("..", "shared", "a.yaml"), "out.yaml": filepath.Join("..", "..", "outside.yaml")} {
		if err := os.Symlink(to, filepath.Join(dir, "sub", name)); err != nil {
			t.Fatal(err)
		}
	}
	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sub, err := r.OpenRoot("sub")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if sub.Name() != filepath.Join(dir, "sub") {
		t.Errorf("Name = %q", sub.Name())
	}
	tests := []struct{ name, sub, root string }{
		{"plain.yaml", "ok", "ok"},
		{"up.yaml", "outside", "ok"},
		{"out.yaml", "outside", "outside"},
	}
	for _, tt := range tests {
		f, err := sub.Open(tt.name)
		if got := outcome(err); got != tt.sub && !(runtime.GOOS == "windows" && got == tt.root) {
			t.Errorf("sub.Open(%s) = %s (%v), want %s", tt.name, got, err, tt.sub)
		}
		if err == nil {
			f.Close()
		}
		f, err = r.Open(filepath.Join("sub", tt.name))
		if got := outcome(err); got != tt.root {
			t.Errorf("Open(sub/%s) = %s (%v), want %s", tt.name, got, err, tt.root)
		}
		if err == nil {
			f.Close()
		}
	}
	if _, err := r.OpenRoot("shared/a.yaml"); err == nil {
		t.Error("OpenRoot of a file succeeded")
	}
}

func TestOpenRootRefusesWhatIsNotAFolder(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	mustWrite(t, file, "x")
	paths := []string{file, filepath.Join(dir, "missing"), ""}
	for _, k := range specialKinds(t, dir, t.TempDir()) {
		paths = append(paths, filepath.Join(dir, k))
	}
	for _, p := range paths {
		r, err := bounded(t, "OpenRoot", func() (*Root, error) { return OpenRoot(p) })
		if err == nil {
			r.Close()
			t.Errorf("OpenRoot(%q) succeeded", p)
		}
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "regular"), "x\n")
	cases := map[string]string{"regular": "ok", ".": "not regular", "missing": "missing"}
	if os.Symlink("regular", filepath.Join(dir, "link")) == nil {
		if _, err := os.Stat(filepath.Join(dir, "link")); err == nil {
			cases["link"] = "ok" // Open follows links: it is for files the agent is pointed at
		}
	}
	for _, k := range specialKinds(t, dir, t.TempDir()) {
		cases[k] = "not regular"
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			f, err := bounded(t, "Open", func() (*os.File, error) { return Open(filepath.Join(dir, name)) })
			if got := outcome(err); got != want {
				t.Fatalf("Open = %s (%v), want %s", got, err, want)
			}
			if err == nil {
				f.Close()
			}
		})
	}
}

// TestReplaceAnOpenFile pins what editors, git and Docker need on Windows:
// removing, renaming away and replacing a file while the agent has it
// open. Windows allows the first two only to handles opened with
// FILE_SHARE_DELETE; a replace needs that and the renamer's POSIX
// semantics too (see replace).
func TestReplaceAnOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	opens := map[string]func() (*os.File, error){
		"Open":      func() (*os.File, error) { return Open(path) },
		"Root.Open": func() (*os.File, error) { return r.Open("policy.yaml") },
	}
	changes := map[string]func(t *testing.T) string{
		"remove": func(t *testing.T) string {
			if err := os.Remove(path); err != nil {
				t.Fatalf("remove: %v", err)
			}
			return ""
		},
		"rename away": func(t *testing.T) string {
			if err := os.Rename(path, path+".bak"); err != nil {
				t.Fatalf("rename away: %v", err)
			}
			return ""
		},
		"replace": func(t *testing.T) string {
			mustWrite(t, path+".tmp", "new\n")
			replace(t, path+".tmp", path)
			return "new\n"
		},
	}
	for oname, open := range opens {
		for cname, change := range changes {
			t.Run(oname+"/"+cname, func(t *testing.T) {
				mustWrite(t, path, "old\n")
				f, err := open()
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				want := change(t)
				if b, err := io.ReadAll(f); err != nil || string(b) != "old\n" {
					t.Errorf("the open file reads %q, %v; want the old content", b, err)
				}
				// Without POSIX semantics Windows keeps a removed
				// file's name until its last handle closes.
				f.Close()
				b, err := os.ReadFile(path)
				if want == "" && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("the path still reads %q, %v", b, err)
				}
				if want != "" && string(b) != want {
					t.Errorf("the path reads %q, %v; want the new content", b, err)
				}
				os.Remove(path + ".bak")
			})
		}
	}
}

func TestReadAll(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	mustWrite(t, path, "0123456789")
	for _, tt := range []struct {
		limit int64
		want  string
	}{{10, "0123456789"}, {100, "0123456789"}, {9, "too large: 10"}} {
		f, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		b, fi, err := ReadAll(f, tt.limit, time.Second)
		if err == nil && fi.Size() != 10 {
			t.Errorf("ReadAll(limit %d) says the file is %d bytes, want 10", tt.limit, fi.Size())
		}
		f.Close()
		got := string(b)
		if tl := (*TooLargeError)(nil); errors.As(err, &tl) {
			got = "too large: " + strconv.FormatInt(tl.Size, 10)
		} else if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("ReadAll(limit %d) = %q, want %q", tt.limit, got, tt.want)
		}
	}
}
