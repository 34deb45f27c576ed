//go:build race

package monitor

// raceDetector reports whether the tests run under the race detector,
// which slows every memory access several times over: a throughput
// figure then measures the instrumentation, not the monitor.
const raceDetector = true
