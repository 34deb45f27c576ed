//go:build windows

package adminonly

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// trustedSID reports the accounts that may write the agent's folders:
// LocalSystem, Administrators, TrustedInstaller and CREATOR OWNER (which
// stands for whoever creates an item in the folder, and only an
// administrator can).
func trustedSID(sid string) bool {
	switch sid {
	case "S-1-5-18", // LocalSystem
		"S-1-5-32-544", // BUILTIN\Administrators
		"S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464", // NT SERVICE\TrustedInstaller
		"S-1-3-0": // CREATOR OWNER
		return true
	}
	return false
}

// ACE types and a right x/sys/windows does not name (winnt.h).
const (
	fileDeleteChild            = 0x40 // FILE_DELETE_CHILD
	accessAllowedCallbackAce   = 9    // ACCESS_ALLOWED_CALLBACK_ACE_TYPE
	accessDeniedCallbackAce    = 10   // ACCESS_DENIED_CALLBACK_ACE_TYPE
	systemAuditAce             = 2    // SYSTEM_AUDIT_ACE_TYPE
	systemMandatoryLabelAce    = 0x11 // SYSTEM_MANDATORY_LABEL_ACE_TYPE
	systemResourceAttributeAce = 0x12 // SYSTEM_RESOURCE_ATTRIBUTE_ACE_TYPE
	systemScopedPolicyIDAce    = 0x13 // SYSTEM_SCOPED_POLICY_ID_ACE_TYPE
	systemProcessTrustLabelAce = 0x14 // SYSTEM_PROCESS_TRUST_LABEL_ACE_TYPE
	systemAccessFilterAce      = 0x15 // SYSTEM_ACCESS_FILTER_ACE_TYPE
)

// writeRights are the rights that let a holder change a folder's content,
// its permissions or its owner.
const writeRights = windows.FILE_WRITE_DATA | windows.FILE_APPEND_DATA | fileDeleteChild |
	windows.DELETE | windows.WRITE_DAC | windows.WRITE_OWNER | windows.GENERIC_WRITE | windows.GENERIC_ALL

// Writers returns who, other than administrators, may change path:
// its owner when that is not an administrator (an owner can always change
// the permissions) and every account an allow entry of its DACL gives a
// write right, the entries that only its children inherit included. The
// user running doctor counts as an administrator when it is elevated.
func Writers(path string) ([]string, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, err
	}
	self := ""
	if tok := windows.GetCurrentProcessToken(); tok.IsElevated() {
		if u, err := tok.GetTokenUser(); err == nil {
			self = u.User.Sid.String()
		}
	}
	var others []string
	seen := map[string]bool{}
	add := func(sid *windows.SID, what string) {
		s := sid.String()
		if trustedSID(s) || s == self || seen[s] {
			return
		}
		seen[s] = true
		others = append(others, what+accountName(sid))
	}
	owner, _, err := sd.Owner()
	if err != nil {
		return nil, fmt.Errorf("read the owner: %w", err)
	}
	if owner != nil {
		add(owner, "its owner ")
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return nil, fmt.Errorf("read the permissions: %w", err)
	}
	if dacl == nil {
		return []string{"everyone (it has no permissions list at all)"}, nil
	}
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return nil, fmt.Errorf("read permission entry %d: %w", i, err)
		}
		switch ace.Header.AceType {
		case windows.ACCESS_ALLOWED_ACE_TYPE, accessAllowedCallbackAce:
		case windows.ACCESS_DENIED_ACE_TYPE, accessDeniedCallbackAce, systemAuditAce, systemMandatoryLabelAce,
			systemResourceAttributeAce, systemScopedPolicyIDAce, systemProcessTrustLabelAce, systemAccessFilterAce:
			continue // takes rights away, audits or labels
		default:
			// Object entries have another layout; say so rather than guess.
			others = append(others, fmt.Sprintf("an entry of a kind doctor cannot read (type %d)", ace.Header.AceType))
			continue
		}
		if ace.Mask&writeRights == 0 {
			continue
		}
		add((*windows.SID)(unsafe.Pointer(&ace.SidStart)), "")
	}
	return others, nil
}

// accountName names sid as DOMAIN\account when Windows knows it, else by
// its string form.
func accountName(sid *windows.SID) string {
	account, domain, _, err := sid.LookupAccount("")
	switch {
	case err != nil:
		return sid.String()
	case domain == "":
		return account
	}
	return domain + `\` + account
}

// Wording says who may write the agent's folders, for messages.
const Wording = "writable by administrators only"

// CreateFix is the command that makes folder path, writable by
// administrators only.
func CreateFix(path string) string {
	return fmt.Sprintf(`New-Item -ItemType Directory -Force "%s"; `, path) + RestrictFix(path, true)
}

// RestrictFix is the command that leaves path to administrators.
func RestrictFix(path string, dir bool) string {
	grant := `"SYSTEM:(OI)(CI)F" "Administrators:(OI)(CI)F"`
	if !dir {
		grant = `"SYSTEM:F" "Administrators:F"`
	}
	return fmt.Sprintf(`icacls "%s" /setowner Administrators; icacls "%s" /inheritance:r /grant:r %s`, path, path, grant)
}
