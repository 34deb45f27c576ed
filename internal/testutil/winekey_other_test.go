//go:build !windows

package testutil

func wineKey() bool { return false }
