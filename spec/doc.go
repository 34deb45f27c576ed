// Package spec is the isoagent container spec format: the Go types of the
// YAML documents, strict decoding with file:line:col errors, defaults,
// validation, the folder loader that turns a spec folder into a Snapshot,
// and the watchers that follow the folder (Watcher) and single files
// loaded as a whole (FileWatcher, used for the boundary policy).
//
// Its strict decoding is an API (DecodeFile, Document, Kind) so that every
// file of the agent's format is read alike; package policy reads the
// policy file with it. Validation parses what a type can carry parsed
// (winpath.Path and Pipe, imageref.Ref) once, into those types, so a
// Container from Parse holds no path or reference that still needs
// parsing.
//
// Decoding and validation are pure and cross-platform: Windows paths are
// parsed by package winpath, never by path/filepath, so Linux and Windows
// agree.
package spec
