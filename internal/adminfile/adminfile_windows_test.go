//go:build windows

package adminfile

import (
	"errors"
	"testing"

	"golang.org/x/sys/windows"
)

func TestCheckDescriptor(t *testing.T) {
	trusted, err := trustedSIDs()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sddl    string
		private bool
		ok      bool
	}{
		{"SYSTEM and Administrators only", "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)", true, true},
		{"users may read, not private", "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;BU)", false, true},
		{"users may read, private", "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;BU)", true, false},
		{"users may write", "O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FW;;;BU)", false, false},
		{"everyone full control", "O:BAD:(A;;FA;;;WD)", false, false},
		{"inherit-only entry for users", "O:BAD:P(A;;FA;;;SY)(A;OICIIO;FA;;;BU)", true, true},
		{"denial for users", "O:BAD:P(D;;FA;;;BU)(A;;FA;;;BA)", true, true},
		{"owned by users", "O:BUD:P(A;;FA;;;BA)", false, false},
		{"no DACL", "O:BA", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sd, err := windows.SecurityDescriptorFromString(tt.sddl)
			if err != nil {
				t.Fatal(err)
			}
			err = checkDescriptor(`C:\keys`, sd, trusted, tt.private)
			if tt.ok && err != nil {
				t.Fatalf("checkDescriptor = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrNotAdminOnly) {
				t.Fatalf("checkDescriptor = %v, want ErrNotAdminOnly", err)
			}
		})
	}
}
