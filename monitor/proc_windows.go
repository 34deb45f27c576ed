//go:build windows

package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/windows"
)

// Creation flags of a monitor: out of the agent's job (stopping a service
// ends the processes of its job), without the agent's console, in a
// process group of its own (a console's Ctrl+C to the agent's group does
// not reach it).
const detachFlags = windows.CREATE_BREAKAWAY_FROM_JOB | windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP

func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{CreationFlags: detachFlags} }

// withoutBreakaway returns the attributes to start a monitor with in the
// agent's job, when err says the job forbids breaking away
// (ERROR_ACCESS_DENIED).
func withoutBreakaway(attr *syscall.SysProcAttr, err error) (*syscall.SysProcAttr, bool) {
	if !errors.Is(err, windows.ERROR_ACCESS_DENIED) || attr.CreationFlags&windows.CREATE_BREAKAWAY_FROM_JOB == 0 {
		return nil, false
	}
	return &syscall.SysProcAttr{CreationFlags: attr.CreationFlags &^ windows.CREATE_BREAKAWAY_FROM_JOB}, true
}

// waitPID waits until process pid has exited, or gone reports it gone
// (its PID may have been reused), on the process's handle; ctx ends the
// wait.
func waitPID(ctx context.Context, pid int, gone func() bool) error {
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return nil // gone already
	}
	defer windows.CloseHandle(h)
	if gone() {
		return nil
	}
	ev, err := windows.CreateEvent(nil, 1, 0, nil)
	if err != nil {
		return err
	}
	defer windows.CloseHandle(ev)
	stop := context.AfterFunc(ctx, func() { windows.SetEvent(ev) })
	defer stop()
	r, err := windows.WaitForMultipleObjects([]windows.Handle{h, ev}, false, windows.INFINITE)
	switch {
	case err != nil:
		return err
	case r == windows.WAIT_OBJECT_0:
		return nil
	}
	return ctx.Err()
}

// privateSDDL gives SYSTEM and Administrators full control of a folder
// and what it holds, and no one else anything; inherited entries are cut.
const privateSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// mkdirPrivate makes folder dir and its parents, and gives dir itself an
// ACL of SYSTEM and Administrators only, which what it holds inherits.
func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("run folder: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString(privateSDDL)
	if err != nil {
		return fmt.Errorf("run folder ACL: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("run folder ACL: %w", err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("run folder ACL of %s: %w", dir, err)
	}
	return nil
}
