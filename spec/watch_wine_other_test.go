//go:build !windows

package spec

// underWine reports whether the test runs under Wine; never, off Windows.
func underWine() bool { return false }
