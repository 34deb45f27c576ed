//go:build windows

package adminonly

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// readRights are the rights that let a holder read a file's content or
// list a folder.
const readRights = windows.FILE_READ_DATA | windows.FILE_READ_EA | windows.GENERIC_READ | windows.GENERIC_EXECUTE | windows.GENERIC_ALL

// Readers returns who, other than administrators, may read path: every
// account an allow entry of its DACL gives a read right (entries that
// only its children inherit count for a folder's content too), and
// everyone when it has no DACL. Its owner is Writers' to report.
func Readers(path string) ([]string, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, err
	}
	self := ""
	if tok := windows.GetCurrentProcessToken(); tok.IsElevated() {
		if u, err := tok.GetTokenUser(); err == nil {
			self = u.User.Sid.String()
		}
	}
	return readersOf(sd, self)
}

// readersOf is Readers over the security descriptor sd; self is the SID
// that counts as an administrator besides the well-known ones.
func readersOf(sd *windows.SECURITY_DESCRIPTOR, self string) ([]string, error) {
	dacl, _, err := sd.DACL()
	if err != nil && !errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) {
		return nil, fmt.Errorf("read the permissions: %w", err)
	}
	if dacl == nil { // none at all, or a null one: everyone has every right
		return []string{"everyone (it has no permissions list at all)"}, nil
	}
	var others []string
	seen := map[string]bool{}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return nil, fmt.Errorf("read permission entry %d: %w", i, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE && ace.Header.AceType != accessAllowedCallbackAce {
			continue
		}
		if ace.Mask&readRights == 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if s := sid.String(); !trustedSID(s) && s != self && !seen[s] {
			seen[s] = true
			others = append(others, accountName(sid))
		}
	}
	return others, nil
}

// PrivateFix is the command that leaves path to administrators, readers
// included.
func PrivateFix(path string, dir bool) string { return RestrictFix(path, dir) }
