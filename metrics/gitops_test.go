package metrics

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isoagent/isoagent/gitverify"
)

func TestRevisionRefusedAndPrune(t *testing.T) {
	m, reg := newTest(t)
	m.SetRevisionRefused("0123456789abcdef0123456789abcdef01234567", gitverify.ReasonUnsigned)
	m.SetPruneSource(func() (int, int) { return 3, 2 })
	want := `
# HELP isoagent_prune_pending_containers Containers a held prune would remove: the latest change prunes more than the prune budget allows (or the agent runs on another folder), so none is removed until 'isoagent prune --confirm' or a change that fits. 0 when nothing is held.
# TYPE isoagent_prune_pending_containers gauge
isoagent_prune_pending_containers 3
# HELP isoagent_revision_refused_info The revision the spec checkout is at while it is refused (not signed by a trusted key), with the reason; absent while the checkout's revision is verified. Always 1.
# TYPE isoagent_revision_refused_info gauge
isoagent_revision_refused_info{reason="unsigned",revision="0123456789abcdef0123456789abcdef01234567"} 1
# HELP isoagent_revision_refusals_total Revisions of the spec checkout refused with --verify-signatures, by reason (unsigned, untrusted, invalid); each revision is counted once.
# TYPE isoagent_revision_refusals_total counter
isoagent_revision_refusals_total{reason="invalid"} 0
isoagent_revision_refusals_total{reason="unsigned"} 1
isoagent_revision_refusals_total{reason="untrusted"} 0
`
	want += `# HELP isoagent_revision_refused 1 while the spec checkout is at a revision refused with --verify-signatures (isoagent_revision_refused_info names it), else 0.
# TYPE isoagent_revision_refused gauge
isoagent_revision_refused 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "isoagent_prune_pending_containers", "isoagent_revision_refused_info", "isoagent_revision_refusals_total", "isoagent_revision_refused"); err != nil {
		t.Fatal(err)
	}
	m.SetRevisionRefused("", "")
	if n, _ := testutil.GatherAndCount(reg, "isoagent_revision_refused_info"); n != 0 {
		t.Fatalf("%d refused series after the revision was verified again", n)
	}
	if v := testutil.ToFloat64(m.guard.refusing); v != 0 {
		t.Fatalf("isoagent_revision_refused = %v after the revision was verified again", v)
	}
	if n, _ := testutil.GatherAndCount(reg, "isoagent_revision_refusals_total"); n != 3 {
		t.Fatalf("the counter lost series: %d", n)
	}
}
