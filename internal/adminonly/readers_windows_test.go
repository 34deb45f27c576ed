//go:build windows

package adminonly

import (
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

func TestReadersOf(t *testing.T) {
	tests := []struct {
		sddl string
		want string // accounts, joined; "" for none
	}{
		{"O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)", ""},
		{"O:BAD:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;BU)", "Users"},
		{"O:BAD:P(A;;FA;;;SY)(A;OICIIO;FR;;;BU)", "Users"},
		{"O:BAD:P(D;;FA;;;BU)(A;;FA;;;BA)", ""},
		{"O:BAD:P(A;;FW;;;BU)(A;;FA;;;BA)", ""}, // writing is Writers' to report
		{"O:BAD:(A;;FA;;;WD)", "Everyone"},
		{"O:BA", "everyone (it has no permissions list at all)"},
	}
	for _, tt := range tests {
		sd, err := windows.SecurityDescriptorFromString(tt.sddl)
		if err != nil {
			t.Fatalf("%s: %v", tt.sddl, err)
		}
		got, err := readersOf(sd, "")
		if err != nil {
			t.Fatalf("%s: %v", tt.sddl, err)
		}
		joined := strings.Join(got, ",")
		if tt.want == "" && joined != "" || tt.want != "" && !strings.Contains(joined, tt.want) {
			t.Errorf("readersOf(%s) = %q, want %q", tt.sddl, joined, tt.want)
		}
	}
}
