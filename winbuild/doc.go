// Package winbuild is isoagent's knowledge of Windows builds, in one
// place for the spec side and the driver side alike: the Version a host
// or an image reports, which image builds each isolation can run on which
// host build (ProcessCompatible, HyperVCompatible), the release names
// Microsoft puts in image tags (FromTag, ReleaseName), and the builds the
// agent's rules name (LTSC2019, ...).
//
// It is built on hcsshim's osversion constants, which compile on every
// OS, and depends on nothing else of isoagent, so both spec-side packages
// (imageref, admission) and the drivers can use it. Every function is
// pure and gives the same answer on Linux and Windows.
package winbuild
