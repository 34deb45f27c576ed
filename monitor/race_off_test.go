//go:build !race

package monitor

// raceDetector: see race_on_test.go.
const raceDetector = false
