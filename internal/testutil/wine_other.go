//go:build !windows

package testutil

// UnderWine reports whether this Windows binary runs under Wine; off
// Windows, never.
func UnderWine() bool { return false }
