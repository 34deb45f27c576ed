package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// TestStampTellsEveryRewrite pins what the spec loader relies on to skip
// reading a file: a Stamp taken before a change and one taken after
// differ, unless the first was taken within RacyWindow of the file's last
// change, when Racy says so; and a file left alone keeps its Stamp.
func TestStampTellsEveryRewrite(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, path string)
		same   bool // the Stamp must stay as it was
	}{
		{"left alone", func(*testing.T, string) {}, true},
		{"rewritten with the same size and modification time", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, path, "v2\n")
			if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"replaced by a rename, times copied", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			tmp := path + ".new"
			mustWrite(t, tmp, "v2\n")
			if err := os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
		}, false},
		{"grown", func(t *testing.T, path string) { mustWrite(t, path, "v1 and more\n") }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "web.yaml")
			mustWrite(t, path, "v1\n")
			// An old modification time, as a copy keeping times gives.
			old := time.Now().Add(-time.Hour)
			if err := os.Chtimes(path, old, old); err != nil {
				t.Fatal(err)
			}
			r, err := OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			stamp := func() Stamp {
				t.Helper()
				fi, err := r.Stat("web.yaml")
				if err != nil {
					t.Fatal(err)
				}
				s, err := r.Stamp("web.yaml", fi)
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			readAt := time.Now()
			before := stamp()
			if before.Size != 3 || before.ModTime != old.UnixNano() || before.Ino == 0 {
				t.Errorf("Stamp = %+v, want size 3, the modification time set, an identity", before)
			}
			tt.change(t, path)
			after := stamp()
			switch {
			case tt.same && after != before:
				t.Errorf("Stamp changed with the file left alone: %+v -> %+v", before, after)
			case !tt.same && after == before && !before.Racy(readAt):
				t.Errorf("Stamp %+v did not change with the file, and is not racy at %v", before, readAt)
			}
		})
	}
}

// TestStampOfALinkIsItsTarget: a link is stamped as the file it leads to,
// so a change of the target shows through it, and only a link inside the
// folder is followed.
func TestStampOfALinkIsItsTarget(t *testing.T) {
	needSymlinks(t)
	base := t.TempDir()
	dir := filepath.Join(base, "specs")
	mustWrite(t, filepath.Join(dir, "data", "web.yaml"), "v1\n")
	mustWrite(t, filepath.Join(base, "outside.yaml"), "secret\n")
	if err := os.Symlink(filepath.Join("data", "web.yaml"), filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "outside.yaml"), filepath.Join(dir, "out.yaml")); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	stampOf := func(name string) Stamp {
		t.Helper()
		fi, err := r.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		s, err := r.Stamp(name, fi)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if link, target := stampOf("web.yaml"), stampOf("data/web.yaml"); link != target {
		t.Errorf("the link's Stamp %+v is not its target's %+v", link, target)
	}
	if _, err := r.Stat("out.yaml"); !errors.Is(err, ErrOutside) {
		t.Errorf("Stat of a link out = %v, want ErrOutside", err)
	}
	if runtime.GOOS == "windows" {
		// Stamp opens the file there, and refuses the link itself.
		fi, err := os.Lstat(filepath.Join(dir, "out.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Stamp("out.yaml", fi); !errors.Is(err, ErrOutside) {
			t.Errorf("Stamp of a link out = %v, want ErrOutside", err)
		}
	}
}

func TestStampRacy(t *testing.T) {
	readAt := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	ns := func(d time.Duration) int64 { return readAt.Add(d).UnixNano() }
	tests := []struct {
		name string
		s    Stamp
		want bool
	}{
		{"changed long before the read", Stamp{ModTime: ns(-time.Hour), Change: ns(-time.Minute)}, false},
		{"changed just before the read", Stamp{ModTime: ns(-time.Hour), Change: ns(-time.Second)}, true},
		{"changed after the read, by a clock ahead", Stamp{Change: ns(time.Second)}, true},
		{"no change time: the modification time counts", Stamp{ModTime: ns(-time.Second)}, true},
		{"no change time, modified long before", Stamp{ModTime: ns(-time.Minute)}, false},
	}
	for _, tt := range tests {
		if got := tt.s.Racy(readAt); got != tt.want {
			t.Errorf("%s: Racy = %v, want %v", tt.name, got, tt.want)
		}
	}
}
