//go:build !race

package testutil

// Race reports whether the test binary was built with the race detector,
// whose instrumentation changes how costs grow with input size: a test
// comparing the times of two sizes means nothing under it.
const Race = false
