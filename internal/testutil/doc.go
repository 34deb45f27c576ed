// Package testutil holds the helpers isoagent's tests share, so that each
// exists once: a free loopback address, whether a Windows test binary runs
// under Wine, golden files rewritten with -update, building the isoagent
// binary, and programs a test starts and owns until it ends.
//
// It is for tests only; production code never imports it. Every helper
// takes the test it works for and reports its own failures through it.
package testutil
