package adminonly

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrNotAdminOnly is wrapped by the errors of Check.
var ErrNotAdminOnly = errors.New("not protected for administrators only")

// Check returns an error wrapping ErrNotAdminOnly, saying who else has
// access and how to fix it, unless only administrators may change path
// and, for a file, the folder it is in (whoever may write the folder may
// replace the file); with private, unless only administrators may read
// path too. It is for what the agent trusts from outside the spec folder:
// the keys commit signatures are verified with, the secrets folder.
func Check(path string, private bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return err
	}
	paths := []string{abs}
	if !fi.IsDir() {
		paths = append(paths, filepath.Dir(abs))
	}
	for i, p := range paths {
		others, err := Writers(p)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if len(others) > 0 {
			return fmt.Errorf("%s is %w: %s may change it; %s", p, ErrNotAdminOnly, strings.Join(others, ", "), RestrictFix(p, i > 0 || fi.IsDir()))
		}
	}
	if !private {
		return nil
	}
	others, err := Readers(abs)
	if err != nil {
		return fmt.Errorf("%s: %w", abs, err)
	}
	if len(others) > 0 {
		return fmt.Errorf("%s is %w: %s may read it; %s", abs, ErrNotAdminOnly, strings.Join(others, ", "), PrivateFix(abs, fi.IsDir()))
	}
	return nil
}

// Inside reports whether path is dir or lies under it, both with symbolic
// links resolved as far as they exist, compared case-insensitively on
// Windows. A dir that does not exist holds nothing.
func Inside(path, dir string) bool {
	p, err1 := resolve(path)
	d, err2 := resolve(dir)
	if err1 != nil || err2 != nil {
		return false
	}
	if caseless {
		p, d = strings.ToLower(p), strings.ToLower(d)
	}
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// resolve makes p absolute and resolves links in the longest part of it
// that exists.
func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := abs; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

const caseless = runtime.GOOS == "windows"
