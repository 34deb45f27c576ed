// Package adminfile checks that a file or folder the agent trusts (the
// keys commit signatures are verified with, the secrets folder) can be
// changed, and for a private one read, by administrators only: a file that
// anyone may write is no more trustworthy than the spec folder it guards.
//
// On Unix the owner must be root or the agent's own user, and the mode
// must grant group and others no write (no access at all for a private
// file). On Windows the owner must be SYSTEM, Administrators,
// TrustedInstaller or the agent's own user, and no access-allowed entry of
// the DACL may grant write rights (any access, for a private file) to
// anyone else; a missing DACL, which grants everyone everything, is
// refused.
//
// Inside reports whether a path lies within a folder, links resolved, for
// files that must live outside the spec folder.
package adminfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrNotAdminOnly is wrapped by the errors of Check.
var ErrNotAdminOnly = errors.New("not protected for administrators only")

// Check returns an error wrapping ErrNotAdminOnly, saying who else has
// access and how to fix it, unless path can be changed (and, when private
// is set, read) by administrators only. A file's folder is checked too,
// since whoever may write the folder may replace the file.
func Check(path string, private bool) error {
	if err := check(path, private); err != nil {
		return err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return nil
	}
	return check(filepath.Dir(abs), false)
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

func refuse(path, format string, args ...any) error {
	return fmt.Errorf("%s is %w: %s", path, ErrNotAdminOnly, fmt.Sprintf(format, args...))
}
