// Package spec is the isoagent container spec format: the Go types of the
// YAML documents, strict decoding with file:line:col errors, defaults,
// validation, and the folder loader that turns a
// spec folder into a Snapshot.
//
// Everything here is pure and cross-platform: Windows paths are parsed by
// package winpath, never by path/filepath, so Linux and Windows agree.
package spec
