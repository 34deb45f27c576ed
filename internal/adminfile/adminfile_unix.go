//go:build !windows

package adminfile

import (
	"os"
	"syscall"
)

const caseless = false

func check(path string, private bool) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return refuse(path, "it is owned by user %d, not by root or the agent's user; chown it", st.Uid)
	}
	perm := fi.Mode().Perm()
	switch {
	case perm&0o022 != 0:
		return refuse(path, "its mode %04o lets group or others write it; chmod go-w %s", perm, path)
	case private && perm&0o077 != 0:
		return refuse(path, "its mode %04o lets group or others read it; chmod go-rwx %s", perm, path)
	}
	return nil
}
