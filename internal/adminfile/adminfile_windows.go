//go:build windows

package adminfile

import (
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

const caseless = true

// fileDeleteChild lets a folder's holder delete what is in it.
const fileDeleteChild = 0x40

// trustedInstaller is the service SID of Windows Modules Installer, which
// owns and may write system files.
const trustedInstaller = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"

// Rights that change a file or folder, or its protection.
const writeRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | windows.FILE_WRITE_EA |
	windows.FILE_WRITE_ATTRIBUTES | fileDeleteChild | windows.DELETE | windows.WRITE_DAC |
	windows.WRITE_OWNER | windows.GENERIC_WRITE | windows.GENERIC_ALL

// Rights that read a file's content or list a folder.
const readRights = windows.FILE_READ_DATA | windows.FILE_READ_EA | windows.GENERIC_READ |
	windows.GENERIC_EXECUTE | windows.GENERIC_ALL

func check(path string, private bool) error {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("read the protection of %s: %w", path, err)
	}
	trusted, err := trustedSIDs()
	if err != nil {
		return err
	}
	return checkDescriptor(path, sd, trusted, private)
}

// trustedSIDs are the accounts that may own and change what the agent
// trusts: SYSTEM, Administrators, TrustedInstaller, and the agent's user.
func trustedSIDs() ([]*windows.SID, error) {
	var out []*windows.SID
	for _, t := range []windows.WELL_KNOWN_SID_TYPE{windows.WinLocalSystemSid, windows.WinBuiltinAdministratorsSid} {
		s, err := windows.CreateWellKnownSid(t)
		if err != nil {
			return nil, fmt.Errorf("well-known SID %d: %w", t, err)
		}
		out = append(out, s)
	}
	ti, err := windows.StringToSid(trustedInstaller)
	if err != nil {
		return nil, err
	}
	out = append(out, ti)
	if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil {
		if s, err := u.User.Sid.Copy(); err == nil {
			out = append(out, s)
		}
	}
	return out, nil
}

// checkDescriptor applies the rule of the package to sd, the protection
// of path, given the accounts trusted.
func checkDescriptor(path string, sd *windows.SECURITY_DESCRIPTOR, trusted []*windows.SID, private bool) error {
	isTrusted := func(s *windows.SID) bool {
		for _, t := range trusted {
			if windows.EqualSid(s, t) {
				return true
			}
		}
		return false
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return fmt.Errorf("read the owner of %s: %w", path, err)
	}
	if owner != nil && !isTrusted(owner) {
		return refuse(path, "it is owned by %s, not by SYSTEM, Administrators or the agent's user; icacls %q /setowner Administrators", account(owner), path)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		return refuse(path, "it has no access list, which lets everyone change it; icacls %q /inheritance:r /grant:r SYSTEM:F Administrators:F", path)
	}
	var others []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return fmt.Errorf("read the access list of %s: %w", path, err)
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue // denials only take away; inherit-only entries apply to children
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		if isTrusted(sid) {
			continue
		}
		mask := uint32(ace.Mask)
		switch {
		case mask&writeRights != 0:
			others = append(others, account(sid)+" may change it")
		case private && mask&readRights != 0:
			others = append(others, account(sid)+" may read it")
		}
	}
	if len(others) > 0 {
		return refuse(path, "%s; icacls %q /inheritance:r /grant:r SYSTEM:F Administrators:F", strings.Join(others, ", "), path)
	}
	return nil
}

// account names a SID for messages: DOMAIN\name when it can be looked up,
// else its string form.
func account(s *windows.SID) string {
	if name, domain, _, err := s.LookupAccount(""); err == nil {
		if domain != "" {
			return domain + `\` + name
		}
		return name
	}
	return s.String()
}
