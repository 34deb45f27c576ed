//go:build windows

package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/isoagent/isoagent/internal/adminonly"
)

func protect(t *testing.T, plain []byte) []byte {
	t.Helper()
	in := windows.DataBlob{Size: uint32(len(plain)), Data: &plain[0]}
	var out windows.DataBlob
	if err := windows.CryptProtectData(&in, nil, nil, 0, nil, windows.CRYPTPROTECT_UI_FORBIDDEN, &out); err != nil {
		t.Fatalf("CryptProtectData: %v", err)
	}
	defer windows.LocalFree(windows.Handle(unsafe.Pointer(out.Data)))
	return append([]byte(nil), unsafe.Slice(out.Data, out.Size)...)
}

// underWine reports whether the test runs under Wine, whose files carry
// an access list made from their Unix mode that SetNamedSecurityInfo does
// not change.
func underWine() bool {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `Software\Wine`, registry.QUERY_VALUE)
	if err != nil {
		return false
	}
	k.Close()
	return true
}

// openStore opens the Store of dir, made by secretsDir. Under Wine, where
// such a folder stays readable by Everyone, it checks that Open refuses it
// for that and goes on with the folder unchecked.
func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	st, err := Open(dir)
	if err != nil && underWine() && errors.Is(err, adminonly.ErrNotAdminOnly) && strings.Contains(err.Error(), "Everyone may read it") {
		return &Store{dir: dir}
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// protectDir gives dir an access list of SYSTEM, Administrators and the
// current user only, inherited by what is made in it.
func protectDir(t *testing.T, dir string) {
	t.Helper()
	if underWine() {
		return
	}
	u, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.SecurityDescriptorFromString("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;" + u.User.Sid.String() + ")")
	if err != nil {
		t.Fatal(err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		t.Fatalf("protect %s: %v", dir, err)
	}
}

func TestDPAPIProtectedValue(t *testing.T) {
	blob := protect(t, []byte("hunter2"))
	// Windows' DPAPI blobs start with the header isProtected looks for;
	// Wine's crypt32 makes blobs of its own shape ("Wine Crypt32 ok"),
	// which only unprotect itself can be tested with.
	if got, err := unprotect(blob); err != nil || string(got) != "hunter2" {
		t.Fatalf("unprotect = %q, %v; want the plain text", got, err)
	}
	if !isProtected(blob) {
		t.Logf("CryptProtectData's blob has no Windows DPAPI header (Wine): % x", blob[:min(len(blob), 24)])
		return
	}
	dir := t.TempDir()
	protectDir(t, dir)
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "db", "DB_PASSWORD"), blob, 0o600); err != nil {
		t.Fatal(err)
	}
	sec, err := openStore(t, dir).Get("db")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(sec.Value("DB_PASSWORD")); got != "hunter2" {
		t.Fatalf("value = %q, want the unprotected plain text", got)
	}
}
