// Package e2e holds end-to-end tests that build and run the real isoagent
// binary and check the shipped observability examples (the Grafana
// dashboard and the Prometheus alert rules) against a real Prometheus
// server on loopback.
//
// The tests that need Prometheus carry the build tag e2e, so that
// `go test ./...` stays fast and needs nothing outside Go:
//
//	go test -tags e2e ./e2e/...
//
// They need /usr/bin/prometheus and /usr/bin/promtool (Debian package
// prometheus); see README.md.
package e2e
