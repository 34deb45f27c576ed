package spec

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
)

// TestParseManyInvalidDocumentsIsLinear pins that reporting problems costs
// time in proportion to their number: 10,000 small invalid documents took
// 15.7 s, 20,000 took 67 s. A file with more documents than a host runs
// is refused at the cap.
func TestParseManyInvalidDocumentsIsLinear(t *testing.T) {
	invalid := "x: 1\n---\n"
	// timeOf is the time of one parse of n documents, averaged over
	// parses for at least 40 ms (some clocks, Windows' under Wine, tick
	// in milliseconds); the sizes take turns and each keeps its best
	// round, so that other work on the machine does not count.
	timeOf := func(n int) time.Duration {
		data := []byte(strings.Repeat(invalid, n))
		runtime.GC()
		start, runs := time.Now(), 0
		for ; runs < 3 || time.Since(start) < 40*time.Millisecond; runs++ {
			if _, err := Parse("many.yaml", data); err == nil {
				t.Fatalf("%d invalid documents parsed", n)
			}
		}
		return time.Since(start) / time.Duration(runs)
	}
	small, large := time.Duration(1<<63-1), time.Duration(1<<63-1)
	for range 5 {
		small = min(small, timeOf(maxDocumentsPerFile/8))
		large = min(large, timeOf(maxDocumentsPerFile))
	}
	t.Logf("%d documents: %v, %d: %v", maxDocumentsPerFile/8, small, maxDocumentsPerFile, large)
	// Eight times the documents: linear is about 8x, quadratic 64x; the
	// bound sits between them on a log scale, so that a loaded machine
	// (the race run measured 11x for 4x) does not cross it. Under the
	// race detector the growth is the instrumentation's, not the parser's.
	if ratio := float64(large) / float64(small); ratio > 24 && !testutil.Race {
		t.Errorf("%d documents took %v, %d took %v: %.1fx for 8x the documents", maxDocumentsPerFile/8, small, maxDocumentsPerFile, large, ratio)
	}

	// Past the cap: refused there, with the problems before it capped too.
	data := []byte(strings.Repeat(invalid, 20_000))
	start := time.Now()
	_, err := Parse("many.yaml", data)
	took := time.Since(start)
	errs := Errors(err)
	if len(errs) != maxErrorsPerFile+2 {
		t.Errorf("%d problems reported, want %d, a count of the rest, and the cap", len(errs), maxErrorsPerFile)
	}
	if len(errs) < 2 {
		t.FailNow()
	}
	last := errs[len(errs)-1]
	// Document 1,001 begins with the --- on line 2,000.
	if !strings.Contains(last.Message, "more than 1000 documents") || last.Line != 2*maxDocumentsPerFile {
		t.Errorf("last problem = %v, want the document cap at line %d", last, 2*maxDocumentsPerFile)
	}
	if !strings.Contains(errs[len(errs)-2].Message, "more problems") {
		t.Errorf("problem before the cap = %v, want the count of the rest", errs[len(errs)-2])
	}
	if took > 10*large+time.Second {
		t.Errorf("20,000 documents took %v, %d took %v: the cap does not bound the work", took, maxDocumentsPerFile, large)
	}
}

// TestParseBoundsAliasesPerFile spreads merge-key expansions over many
// documents, each of which stops at the per-document budget: without a
// budget for the file, they would add up to a hundred million values.
func TestParseBoundsAliasesPerFile(t *testing.T) {
	var one strings.Builder
	one.WriteString("apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: w\n  labels:\n    l0: &m0 {k: v}\n")
	for i := 1; i <= 5; i++ {
		fmt.Fprintf(&one, "    l%d: &m%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d, ", i-1), 10), ", "))
	}
	one.WriteString("spec:\n  image: a\n  env: *m5\n---\n")
	data := []byte(strings.Repeat(one.String(), maxDocumentsPerFile-1))
	start := time.Now()
	_, err := Parse("aliases.yaml", data)
	took := time.Since(start)
	found := false
	for _, e := range Errors(err) {
		found = found || strings.Contains(e.Message, fmt.Sprintf("more than %d values in all", maxNodesPerFile))
	}
	if !found {
		t.Errorf("no per-file limit among the problems: %v", err)
	}
	t.Logf("%d bytes of aliases parsed in %v", len(data), took)
}
