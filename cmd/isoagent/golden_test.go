package main

import "flag"

// update makes the golden-file tests rewrite their files in testdata (see
// testutil.Golden).
var update = flag.Bool("update", false, "rewrite the golden files in testdata")
