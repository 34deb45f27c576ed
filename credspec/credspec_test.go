package credspec

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const webapp01 = `{"CmsPlugins":["ActiveDirectory"],"DomainJoinConfig":{"Sid":"S-1-5-21-1","MachineAccountName":"webapp01","Guid":"a7d8f3c2-0000-0000-0000-000000000000","DnsTreeName":"corp.example","DnsName":"corp.example","NetBiosName":"CORP"},"ActiveDirectoryConfig":{"GroupManagedServiceAccounts":[{"Name":"webapp01","Scope":"corp.example"}]}}`

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		want string // fragment of the error; "" for a valid name
	}{
		{"webapp01.json", ""},
		{"corp_webapp01.json", ""},
		{"", "empty"},
		{`..\..\Windows\win.ini`, "is a path"},
		{`C:\ProgramData\docker\CredentialSpecs\x.json`, `such as 'x.json'`},
		{"sub/x.json", "is a path"},
		{"..", `".."`},
		{".", `"."`},
		{"x.json:stream", "does not allow"},
		{"nul.json", "reserved device name"},
		{"x.json.", "ends in a dot"},
		{"a*b.json", "does not allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckName(tt.name)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckName(%q) = %v, want nil", tt.name, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("CheckName(%q) = %v, want an error saying %q", tt.name, err, tt.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("webapp01.json", webapp01)
	write("broken.json", `{"CmsPlugins": ["ActiveDirectory"], "DomainJoinConfig": {`)
	write("other.json", `{"Name": "not a credential spec, secret=hunter2"}`)
	write("big.json", `{"CmsPlugins":["ActiveDirectory"],"DomainJoinConfig":{},"Pad":"`+strings.Repeat("x", MaxSize)+`"}`)
	if err := os.Mkdir(filepath.Join(filepath.Dir(dir), "outside"), 0o755); err != nil && !os.IsExist(err) {
		t.Fatal(err)
	}
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(open, "webapp01.json"), []byte(webapp01), 0o644); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" { // Windows' permissions: driver/hcs's tests under Wine
		if _, err := Read(open, "webapp01.json"); !errors.Is(err, ErrNotProtected) || !strings.Contains(err.Error(), "chmod go-w") {
			t.Errorf("Read from a folder everyone may write = %v, want ErrNotProtected with the fix", err)
		}
	}
	tests := []struct {
		name  string
		class error
		want  string
	}{
		{"webapp01.json", nil, ""},
		{"missing.json", ErrNotFound, "New-CredentialSpec"},
		{"broken.json", ErrInvalid, "not JSON"},
		{"other.json", ErrInvalid, "no CmsPlugins"},
		{"big.json", ErrInvalid, "larger than"},
		{`..\outside\x.json`, nil, "is a path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(dir, tt.name)
			if tt.want == "" {
				if err != nil || got != webapp01 {
					t.Fatalf("Read = %q, %v; want the file's content", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.class != nil && !errors.Is(err, tt.class)) {
				t.Errorf("Read = %v, want an error wrapping %v saying %q", err, tt.class, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Read's error quotes the content: %v", err)
			}
		})
	}
}
