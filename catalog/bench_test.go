package catalog

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// benchLatency is added by the server to every request, like a remote
// metastore a few milliseconds away.
const benchLatency = 5 * time.Millisecond

// registryServer serves the whole registry snapshot (root.json and every
// definition) from a loopback server adding benchLatency per request.
func registryServer(b *testing.B) (*metaServer, string) {
	files := map[string][]byte{}
	paths, err := filepath.Glob(filepath.Join(registryDir(b), "*.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files[filepath.Base(p)] = data
	}
	ms := newMetaServer(files)
	ms.delay = benchLatency
	return ms, startMeta(b, ms)
}

// reportRefresh adds the figures the refresh is judged by: the median
// refresh time (robust to the odd slow iteration on a busy machine) in ns
// and in multiples of the per-request latency, requests and body bytes.
func reportRefresh(b *testing.B, res RefreshResult, durations []time.Duration) {
	slices.Sort(durations)
	median := durations[len(durations)/2]
	b.ReportMetric(float64(median.Nanoseconds()), "median-ns/op")
	b.ReportMetric(float64(median)/float64(benchLatency), "median-latencies/op")
	b.ReportMetric(float64(res.Requests), "requests/op")
	b.ReportMetric(float64(res.Bytes), "bodybytes/op")
}

func benchCold(b *testing.B, workers int, disk bool) {
	ms, url := registryServer(b)
	benchRefreshes(b, ms, func() StoreOptions {
		cache := ""
		if disk {
			b.StopTimer()
			cache = filepath.Join(b.TempDir(), "cache")
			b.StartTimer()
		}
		return StoreOptions{RemoteURL: url, Workers: workers, CacheDir: cache}
	})
}

// benchRefreshes times full refreshes of what ms serves, each into a new
// store made with opts() and with no connection left from the one before.
func benchRefreshes(b *testing.B, ms *metaServer, opts func() StoreOptions) {
	var res RefreshResult
	var durations []time.Duration
	for b.Loop() {
		s, err := NewStore(opts())
		if err != nil {
			b.Fatal(err)
		}
		res, err = s.Refresh(context.Background())
		durations = append(durations, res.Duration)
		if err != nil || res.RockOns != len(ms.files)-1 {
			b.Fatalf("%d rock-ons: %v", res.RockOns, err)
		}
		s.CloseIdleConnections()
	}
	reportRefresh(b, res, durations)
}

// BenchmarkRefreshCold32 is the same with 32 requests in flight.
func BenchmarkRefreshCold32(b *testing.B) { benchCold(b, 32, false) }

// BenchmarkRefreshCold fetches the whole registry into an empty store with
// the default concurrency bound.
func BenchmarkRefreshCold(b *testing.B) { benchCold(b, DefaultWorkers, false) }

// BenchmarkRefreshColdDiskCache also writes every file to the disk cache
// (atomically, with fsync), as the daemon does.
func BenchmarkRefreshColdDiskCache(b *testing.B) { benchCold(b, DefaultWorkers, true) }

// BenchmarkRefreshCold8 is the same with 8 requests in flight.
func BenchmarkRefreshCold8(b *testing.B) { benchCold(b, 8, false) }

// BenchmarkRefreshSequential fetches one file after the other, as Rockstor
// does: the baseline.
func BenchmarkRefreshSequential(b *testing.B) { benchCold(b, 1, false) }

// BenchmarkRefreshColdHTTP2 is the cold refresh over HTTPS with HTTP/2, as
// a public metastore serves it: the requests in flight share one
// connection.
func BenchmarkRefreshColdHTTP2(b *testing.B) {
	ms, _ := registryServer(b)
	srv := httptest.NewUnstartedServer(ms)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	b.Cleanup(srv.Close)
	benchRefreshes(b, ms, func() StoreOptions {
		return StoreOptions{RemoteURL: srv.URL + "/rockons", Client: srv.Client()} // trusts the test certificate
	})
}

// BenchmarkRefreshUnchanged refreshes a store that already holds the
// current registry: every request is conditional and answered 304.
func BenchmarkRefreshUnchanged(b *testing.B) {
	ms, url := registryServer(b)
	s, err := NewStore(StoreOptions{RemoteURL: url, CacheDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Refresh(context.Background()); err != nil {
		b.Fatal(err)
	}
	_, _, bodiesBefore, _ := ms.counts()
	var res RefreshResult
	var durations []time.Duration
	for b.Loop() {
		res, err = s.Refresh(context.Background())
		durations = append(durations, res.Duration)
		if err != nil || res.Fetched != 0 || res.Bytes != 0 || res.NotModified != len(ms.files) {
			b.Fatalf("unchanged refresh transferred bodies: %+v %v", res, err)
		}
	}
	if _, _, bodies, _ := ms.counts(); bodies != bodiesBefore {
		b.Fatalf("server sent %d bodies during unchanged refreshes", bodies-bodiesBefore)
	}
	reportRefresh(b, res, durations)
}

// BenchmarkDecodeRegistry decodes every definition of the registry once.
func BenchmarkDecodeRegistry(b *testing.B) {
	var files [][]byte
	paths, _ := filepath.Glob(filepath.Join(registryDir(b), "*.json"))
	for _, p := range paths {
		if filepath.Base(p) == RootFile {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, data)
	}
	for b.Loop() {
		for _, data := range files {
			if _, err := Decode("f.json", data); err != nil {
				b.Fatal(err)
			}
		}
	}
}
