package metrics

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/rockon/rockon/model"
)

// bigSnapshot is n installed rock-ons with three containers each, in a mix
// of states.
func bigSnapshot(n int) Snapshot {
	snap := Snapshot{Catalog: CatalogSnapshot{Entries: 89, LastRefresh: t0}}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("RockOn %03d", i)
		r := RockOnSnapshot{Name: name, Version: "1.0", Engine: "podman", State: States[i%len(States)]}
		for j := 0; j < 3; j++ {
			r.Containers = append(r.Containers, ContainerSnapshot{
				Name:        fmt.Sprintf("c%d", j),
				Unit:        fmt.Sprintf("rockon-rockon\\x2d%03d-c%d.service", i, j),
				ActiveState: ActiveStates[(i+j)%len(ActiveStates)],
				SubState:    "running",
				NRestarts:   uint64(i * j),
				StartTime:   t1.Add(time.Duration(i) * time.Second),
			})
		}
		snap.RockOns = append(snap.RockOns, r)
	}
	return snap
}

// BenchmarkScrape200 scrapes /metrics through the handler with 200 rock-ons
// of 3 containers each, and reports the median scrape time besides the
// mean: "prometheus" sends the headers a Prometheus 2 server sends (it
// prefers OpenMetrics, which the handler does not offer, so it gets the
// text format, gzipped), "text" asks for uncompressed text, as curl does.
func BenchmarkScrape200(b *testing.B) {
	b.Run("prometheus", func(b *testing.B) {
		benchmarkScrape(b, 200, map[string]string{
			"Accept":          "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
			"Accept-Encoding": "gzip",
		})
	})
	b.Run("text", func(b *testing.B) {
		benchmarkScrape(b, 200, map[string]string{"Accept": "text/plain;version=0.0.4"})
	})
}

func benchmarkScrape(b *testing.B, n int, header map[string]string) {
	rec := NewRecorder()
	for _, op := range model.OpKinds {
		rec.ObserveOperation(op, ResultSuccess, time.Second)
	}
	h := Handler(NewRegistry(&fakeSource{snap: bigSnapshot(n)}, rec))
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}

	durations := make([]time.Duration, 0, b.N)
	var size int
	b.ReportAllocs()
	cpuStart := processCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		start := time.Now()
		h.ServeHTTP(w, req)
		durations = append(durations, time.Since(start))
		if w.Code != http.StatusOK {
			b.Fatalf("scrape: %d", w.Code)
		}
		size = w.Body.Len()
		io.Copy(io.Discard, w.Body)
	}
	b.StopTimer()
	// CPU time (this process, GC included) per scrape: the work itself,
	// whatever else the machine is doing; the wall-clock median is what a
	// scraper waits.
	b.ReportMetric(float64((processCPU()-cpuStart).Microseconds())/1000/float64(b.N), "cpu-ms/scrape")
	sort.Slice(durations, func(i, j int) bool { return durations[i] < durations[j] })
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(size), "bytes/scrape")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
