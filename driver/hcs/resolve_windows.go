//go:build windows

package hcs

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/Microsoft/hcsshim"
	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/winpath"
)

// Flags of GetFinalPathNameByHandle; x/sys/windows does not name them.
const (
	fileNameNormalized = 0x0 // FILE_NAME_NORMALIZED
	fileNameOpened     = 0x8 // FILE_NAME_OPENED
	volumeNameDOS      = 0x0 // VOLUME_NAME_DOS
	volumeNameGUID     = 0x1 // VOLUME_NAME_GUID
)

// ResolvePath returns the folder p really is, with every junction,
// symbolic link and mount point in it resolved, normalised as
// winpath.Parse does (it is the driver's policy.Resolver). It resolves the
// longest part of p that exists and keeps the rest as written, since a
// mapped folder may be created after the spec is admitted; a missing part
// that is itself a link (one whose target does not exist) is an error,
// because the folder it would become cannot be told yet.
//
// A path on a volume that has no drive letter and is not mounted in a
// folder resolves to its \\?\Volume{GUID}\... form, which winpath.Parse
// and so the policy refuse.
func (d *Driver) ResolvePath(p winpath.Path) (string, error) {
	hostPath := p.String()
	vol, elems := p.Volume(), p.Elems()
	for n := len(elems); n >= 0; n-- {
		h, err := openPath(longPath(vol, elems[:n]), windows.FILE_FLAG_BACKUP_SEMANTICS)
		if isNotExist(err) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("resolve %s: open %s: %w", winpath.Quote(hostPath), winpath.Quote(p.Volume()+`\`+strings.Join(elems[:n], `\`)), err)
		}
		real, err := finalPath(h)
		windows.CloseHandle(h)
		if err != nil {
			return "", fmt.Errorf("resolve %s: %w", winpath.Quote(hostPath), err)
		}
		if n < len(elems) {
			if err := notALink(vol, elems[:n+1]); err != nil {
				return "", fmt.Errorf("resolve %s: %w", winpath.Quote(hostPath), err)
			}
		}
		return joinTail(real, elems[n:]), nil
	}
	// Not even the volume exists (a drive letter nothing is mounted on, an
	// unreachable share): there is no link to follow.
	return p.String(), nil
}

// resolveMappedDirs replaces the host folder of each mapped directory of
// doc with the folder it resolves to, so that HCS maps the folder the
// policy checked. hcsshim does the same for process isolation because HCS
// does not resolve links in a mapped path correctly
// (internal/hcsoci/hcsdoc_wcow.go). mounts are the config's mounts, in the
// order of doc's mapped directories: a folder that now leads elsewhere than
// where admission saw it lead (a junction redirected since) is refused with
// driver.ErrHostPathChanged, and the agent admits the spec again.
func (d *Driver) resolveMappedDirs(doc *hcsshim.ContainerConfig, mounts []driver.Mount) error {
	// doc's mapped directories are mounts, in order (containerConfig).
	for i, mnt := range mounts {
		host := winpath.Quote(mnt.HostPath.String())
		real, err := d.ResolvePath(mnt.HostPath)
		if err != nil {
			return fmt.Errorf("mapped folder %s: %w", host, err)
		}
		want := mnt.ResolvedPath
		if want.IsZero() {
			want = mnt.HostPath
		}
		// A real folder winpath cannot parse (a volume without a drive
		// letter) is no folder the policy allowed.
		if p, err := winpath.Parse(real); err != nil || !winpath.Equal(p, want) {
			return fmt.Errorf("mapped folder %s leads to %s now, not to %s as when it was checked against the policy: %w",
				host, winpath.Quote(real), winpath.Quote(want.String()), driver.ErrHostPathChanged)
		}
		doc.MappedDirectories[i].HostPath = real
	}
	return nil
}

// notALink returns an error when the path of vol and elems, which does not
// exist when followed, exists as a link.
func notALink(vol string, elems []string) error {
	h, err := openPath(longPath(vol, elems), windows.FILE_FLAG_BACKUP_SEMANTICS|windows.FILE_FLAG_OPEN_REPARSE_POINT)
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	windows.CloseHandle(h)
	return fmt.Errorf("%s is a junction or symbolic link whose target does not exist: %w",
		winpath.Quote(vol+`\`+strings.Join(elems, `\`)), driver.ErrHostPathNotFound)
}

// longPath is the \\?\ form of the path of vol and elems, which Windows
// takes as written: elems come from winpath.Parse, so they hold no . or
// .. and no trailing dots or spaces for Win32 to strip.
func longPath(vol string, elems []string) string {
	s := `\\?\` + vol
	if strings.HasPrefix(vol, `\\`) {
		s = `\\?\UNC\` + vol[2:]
	}
	return s + `\` + strings.Join(elems, `\`)
}

// openPath opens a file or folder for nothing but asking about it.
// FILE_FLAG_BACKUP_SEMANTICS is what lets CreateFile open a folder.
func openPath(path string, flags uint32) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return windows.InvalidHandle, err
	}
	return windows.CreateFile(p, 0,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, flags, 0)
}

// isNotExist reports whether err says a path, or its volume, is not there.
func isNotExist(err error) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case windows.ERROR_FILE_NOT_FOUND, windows.ERROR_PATH_NOT_FOUND, windows.ERROR_INVALID_DRIVE,
		windows.ERROR_BAD_NETPATH, windows.ERROR_BAD_NET_NAME:
		return true
	}
	return false
}

// finalPath returns the path of the open file h as Windows resolved it:
// with its drive letter (or the folder its volume is mounted on) or its
// UNC share, in the case the file system keeps. A volume with neither
// comes back as \\?\Volume{GUID}\... . Like go-winio's fs.ResolvePath, a
// normalised name that access rights deny (some SMB shares) falls back to
// the name as opened.
func finalPath(h windows.Handle) (string, error) {
	name := fileNameNormalized
	vol := volumeNameDOS
	for {
		s, err := finalPathName(h, uint32(name|vol))
		switch {
		case err == nil:
			return trimLongPrefix(s), nil
		case vol == volumeNameDOS && errors.Is(err, windows.ERROR_PATH_NOT_FOUND):
			// No drive letter or mount folder: say which volume it is.
			vol = volumeNameGUID
		case name == fileNameNormalized && errors.Is(err, windows.ERROR_ACCESS_DENIED):
			name = fileNameOpened
		default:
			return "", fmt.Errorf("GetFinalPathNameByHandle: %w", err)
		}
	}
}

func finalPathName(h windows.Handle, flags uint32) (string, error) {
	buf := make([]uint16, windows.MAX_PATH)
	for {
		n, err := windows.GetFinalPathNameByHandle(h, &buf[0], uint32(len(buf)), flags)
		if err != nil {
			return "", err
		}
		if int(n) < len(buf) {
			return windows.UTF16ToString(buf[:n]), nil
		}
		// n is the size needed, terminating NUL included.
		buf = make([]uint16, n)
	}
}

// trimLongPrefix turns \\?\C:\x into C:\x and \\?\UNC\server\share into
// \\server\share; other \\?\ forms (volume GUID paths) stay as they are.
func trimLongPrefix(s string) string {
	switch {
	case len(s) >= 8 && strings.EqualFold(s[:8], `\\?\UNC\`):
		return `\\` + s[8:]
	case len(s) >= 6 && s[:4] == `\\?\` && s[5] == ':':
		return s[4:]
	}
	return s
}

// joinTail appends the components of tail to the resolved path real and
// normalises the result. A result winpath cannot parse (a volume GUID
// path) is returned as it is, for the policy to refuse.
func joinTail(real string, tail []string) string {
	s := real
	if len(tail) > 0 {
		s = strings.TrimSuffix(real, `\`) + `\` + strings.Join(tail, `\`)
	}
	if p, err := winpath.Parse(s); err == nil {
		return p.String()
	}
	return s
}
