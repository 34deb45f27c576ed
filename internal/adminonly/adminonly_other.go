//go:build !windows

package adminonly

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Writers returns who, other than root and the user doctor runs
// as (the agent's user, for the sim), may change path: an owner that is
// neither, its group when it may write, and everyone when they may.
func Writers(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no owner information", path)
	}
	var others []string
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		others = append(others, "its owner "+userName(st.Uid))
	}
	mode := fi.Mode().Perm()
	if mode&0o020 != 0 {
		others = append(others, "its group "+groupName(st.Gid))
	}
	if mode&0o002 != 0 {
		others = append(others, "everyone")
	}
	return others, nil
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(int(uid))
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.Itoa(int(gid))); err == nil {
		return g.Name
	}
	return "gid " + strconv.Itoa(int(gid))
}

// Wording says who may write the agent's folders, for messages.
const Wording = "writable by root or the agent's user only"

// CreateFix is the command that makes folder path, writable by its owner
// only.
func CreateFix(path string) string { return fmt.Sprintf("mkdir -p -m 0755 '%s'", path) }

// RestrictFix is the command that leaves path to its owner (root or the
// agent's user).
func RestrictFix(path string, dir bool) string {
	return fmt.Sprintf("chmod go-w '%s' (and chown it to root or the agent's user when another user owns it)", path)
}

// Readers returns who, other than root and the user the process runs as,
// may read path: an owner that is neither, its group when it may read,
// and everyone when they may.
func Readers(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, fmt.Errorf("%s: no owner information", path)
	}
	var others []string
	if st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		others = append(others, "its owner "+userName(st.Uid))
	}
	mode := fi.Mode().Perm()
	if mode&0o040 != 0 {
		others = append(others, "its group "+groupName(st.Gid))
	}
	if mode&0o004 != 0 {
		others = append(others, "everyone")
	}
	return others, nil
}

// PrivateFix is the command that leaves path to its owner alone.
func PrivateFix(path string, dir bool) string {
	return fmt.Sprintf("chmod go-rwx '%s'", path)
}
