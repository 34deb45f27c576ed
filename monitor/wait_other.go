//go:build !windows && !linux

package monitor

import "context"

func waitPID(ctx context.Context, pid int, gone func() bool) error { return pollPID(ctx, pid, gone) }
