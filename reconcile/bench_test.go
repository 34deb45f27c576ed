package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/spec"
)

// The figures these benchmarks give are reported in docs/benchmarks.md as
// ratios: admission plus planning per spec against decoding one spec
// (BenchmarkDecodeOneSpec), and converge time against the ideal of
// operations × latency / workers.

const benchSpecYAML = `apiVersion: isoagent/v1
kind: Container
metadata:
  name: web-%d
spec:
  image: mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022
  command: ["C:\\ServiceMonitor.exe", "w3svc"]
  env: {ASPNETCORE_ENVIRONMENT: Production}
  resources: {cpuCount: 2, memoryMB: 2048}
  mounts:
    - {hostPath: 'D:\sites\web', containerPath: 'C:\inetpub\wwwroot', readOnly: true}
  ports:
    - {hostPort: %d, containerPort: 80}
`

func benchSpecs(b *testing.B, n int) []*spec.Container {
	b.Helper()
	var specs []*spec.Container
	for i := range n {
		cs, err := spec.Parse(fmt.Sprintf("web-%05d.yaml", i), fmt.Appendf(nil, benchSpecYAML, i, 10000+i))
		if err != nil {
			b.Fatal(err)
		}
		specs = append(specs, cs...)
	}
	return specs
}

// BenchmarkDecodeOneSpec is the baseline: decoding and validating one spec.
func BenchmarkDecodeOneSpec(b *testing.B) {
	data := fmt.Appendf(nil, benchSpecYAML, 1, 8080)
	for b.Loop() {
		if _, err := spec.Parse("web.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAdmitAndPlan admits n specs and plans them against a host that
// runs half of them; ns/spec is the figure to compare with the baseline.
func BenchmarkAdmitAndPlan(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			specs := benchSpecs(b, n)
			host := server(20348)
			ds := Admit(context.Background(), host, nil, specs, AdmitOptions{Owner: "isoagent"})
			var actual []driver.Container
			for _, d := range ds[:n/2] {
				actual = append(actual, running(d))
			}
			for b.Loop() {
				ds := Admit(context.Background(), host, nil, specs, AdmitOptions{Owner: "isoagent"})
				Plan(ds, actual, PlanOptions{Owner: "isoagent", Prune: true})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/spec")
		})
	}
}

// slowDriver adds a fixed latency to every operation that changes the host.
type slowDriver struct {
	driver.Driver
	latency time.Duration
}

func (s slowDriver) wait(ctx context.Context) error {
	t := time.NewTimer(s.latency)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s slowDriver) Create(ctx context.Context, cfg driver.Config) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Driver.Create(ctx, cfg)
}

func (s slowDriver) Start(ctx context.Context, id string) error {
	if err := s.wait(ctx); err != nil {
		return err
	}
	return s.Driver.Start(ctx, id)
}

// convergeObserver signals the first convergence.
type convergeObserver struct {
	NopObserver
	done chan struct{}
}

func (c *convergeObserver) Converged(time.Duration) {
	select {
	case c.done <- struct{}{}:
	default:
	}
}

// BenchmarkConverge runs an engine from an empty simulated host to converged
// on n specs (two driver operations each: create and start). It reports
// ratio = converge time / (operations × latency / workers) for the latency
// cases.
func BenchmarkConverge(b *testing.B) {
	for _, tc := range []struct {
		n       int
		latency time.Duration
		workers int
	}{
		{10, 0, 4}, {1000, 0, 4}, {10000, 0, 4},
		{10, 50 * time.Millisecond, 10}, {1000, 50 * time.Millisecond, 100}, {10000, 50 * time.Millisecond, 500},
	} {
		b.Run(fmt.Sprintf("specs=%d/latency=%s/workers=%d", tc.n, tc.latency, tc.workers), func(b *testing.B) {
			if testing.Short() && tc.n*int(tc.latency/time.Millisecond) > 100000 {
				b.Skip("long with -short")
			}
			specs := benchSpecs(b, tc.n)
			snap := &spec.Snapshot{Dir: "bench", Specs: specs}
			for b.Loop() {
				base, err := sim.Open("", sim.Options{})
				if err != nil {
					b.Fatal(err)
				}
				var drv driver.Driver = base
				if tc.latency > 0 {
					drv = slowDriver{Driver: base, latency: tc.latency}
				}
				obs := &convergeObserver{done: make(chan struct{}, 1)}
				eng := NewEngine(EngineOptions{
					Driver: drv, Workers: tc.workers, Resync: time.Hour, Observer: obs,
					Logger: slog.New(slog.DiscardHandler),
				})
				eng.Update(snap)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- eng.Run(ctx) }()
				<-obs.done
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
			perRun := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(perRun.Nanoseconds())/float64(tc.n), "ns/spec")
			if tc.latency > 0 {
				ideal := time.Duration(2*tc.n) * tc.latency / time.Duration(tc.workers)
				b.ReportMetric(float64(perRun)/float64(ideal), "x-ideal")
			}
		})
	}
}

// BenchmarkAdmitOneChange is what the engine spends between a snapshot
// with one changed spec and the action: its admissions pass, the desired
// state's comparison and the plan of the keys that changed, at n specs.
// Against BenchmarkAdmitAndPlan it shows that the cost follows the change,
// not the folder.
func BenchmarkAdmitOneChange(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			specs := benchSpecs(b, n)
			edited := benchSpecs(b, 1)[0]
			host := server(20348)
			opts := AdmitOptions{Owner: "isoagent"}
			var a admissions
			snap := &spec.Snapshot{Dir: "bench", Specs: specs}
			r := a.admit(admitPass{ctx: context.Background(), host: host, snap: snap, opts: opts})
			prev := nextAdmitted(nil, snap, r, false, func() []string { return nil }).next
			i := 0
			for b.Loop() {
				next := slices.Clone(snap.Specs)
				k := i % n
				i++
				cp := *edited
				cp.Metadata.Name = specs[k].Name()
				cp.Spec.Ports = specs[k].Spec.Ports
				cp.Spec.Env = map[string]string{"GEN": fmt.Sprint(i)}
				next[k] = &cp
				snap = &spec.Snapshot{Dir: "bench", Specs: next}
				r := a.admit(admitPass{ctx: context.Background(), host: host, snap: snap, opts: opts})
				ch := nextAdmitted(prev, snap, r, false, func() []string { return nil })
				if len(ch.changed) != 1 {
					b.Fatalf("changed %v, want one", ch.changed)
				}
				for _, key := range ch.changed {
					planKey(key, ch.next.decision(key), nil, true)
				}
				prev = ch.next
			}
		})
	}
}
