package hresult

import (
	"syscall"
	"testing"
)

// TestErrnoIsHowHcsshimHandsCodesBack pins the conversion hcsshim's
// generated syscalls make of a failing HRESULT: facility Win32 becomes the
// plain Win32 error, everything else stays as it is.
func TestErrnoIsHowHcsshimHandsCodesBack(t *testing.T) {
	tests := []struct {
		code Code
		want syscall.Errno
	}{
		{FileNotFound, 2},
		{PathNotFound, 3},
		{NotReady, 21},
		{BadNetPath, 53},
		{InvalidArg, 87},
		{Directory, 267},
		{ServiceDisabled, 1058},
		{DeviceNotConnected, 1167},
		{ElementNotFound, 1168},
		{OSMismatch, 0xC0370101},
		{ProcessAlreadyStopped, 0x8037011F},
		{PortAlreadyExists, 0x803B0013},
		{Fail, 0x80004005},
	}
	for _, tt := range tests {
		if got := tt.code.Errno(); got != tt.want {
			t.Errorf("Code(0x%08x).Errno() = %d, want %d", uint32(tt.code), got, tt.want)
		}
	}
}

func TestTextIsWindowsMessage(t *testing.T) {
	tests := []struct {
		code Code
		want string
	}{
		{OSMismatch, "The container operating system does not match the host operating system."},
		{InvalidArg, "The parameter is incorrect."},
		{Pending, ""}, // never shown: the call completes later
	}
	for _, tt := range tests {
		if got := tt.code.Text(); got != tt.want {
			t.Errorf("Code(0x%08x).Text() = %q, want %q", uint32(tt.code), got, tt.want)
		}
	}
}
