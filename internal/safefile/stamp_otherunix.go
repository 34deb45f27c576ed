//go:build unix && !linux

package safefile

import "syscall"

// changeTime is not read where Stat_t names it otherwise; the
// modification time and the file's identity still tell most rewrites.
func changeTime(*syscall.Stat_t) int64 { return 0 }
