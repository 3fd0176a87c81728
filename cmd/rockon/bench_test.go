package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"sync"
	"testing"
	"time"

	rdbus "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/sandbox"
)

// BenchmarkList200Installed measures `rockon list` (a new process each
// time: start, connect to the bus, one call, print the table) against the
// real rockond with 200 installed rock-ons, and reports the median.
func BenchmarkList200Installed(b *testing.B) {
	const n = 200
	defs := map[string]string{}
	for i := 1; i <= n; i++ {
		defs[fmt.Sprintf("bench-%03d.json", i)] = fmt.Sprintf(`{
  "Bench %03d": {
    "description": "Benchmark rock-on number %d. <p>Based on the <a href='https://example.org'>test image</a>.</p>",
    "version": "1.0",
    "website": "https://example.org/",
    "containers": {
      "bench-%03d": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1}
    }
  }
}`, i, i, i)
	}
	// The benchmark function runs more than once (N=1 first): the
	// sandbox with its 200 installs is made once and stopped by TestMain.
	benchOnce.Do(func() {
		sandbox.RequireRoot(b)
		s, err := sandbox.Start(sandbox.Options{})
		if err != nil {
			b.Fatalf("booting sandbox: %v", err)
		}
		benchSandbox = s
		e := setupDaemon(b, s, defs)
		installAll(b, e, n)
		benchEnv = e
	})
	if benchEnv == nil {
		b.Fatal("setup failed in an earlier run")
	}
	e := benchEnv
	bin := e.bin + "/rockon"
	addr := e.s.SystemBusAddress()
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		out, err := exec.Command(bin, "--bus", addr, "list").Output()
		times = append(times, time.Since(t0))
		if err != nil {
			b.Fatalf("rockon list: %v", err)
		}
		if len(out) < n*20 {
			b.Fatalf("rockon list printed %d bytes", len(out))
		}
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
}

var (
	benchOnce    sync.Once
	benchSandbox *sandbox.Sandbox
	benchEnv     *daemonEnv
)

// stopBenchSandbox is called by TestMain once every test and benchmark
// has run.
func stopBenchSandbox() {
	if benchSandbox != nil {
		if err := benchSandbox.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stopping the benchmark sandbox: %v\n", err)
		}
	}
}

// installAll installs the n bench rock-ons (stopped), four at a time.
func installAll(b *testing.B, e *daemonEnv, n int) {
	ctx := context.Background()
	c, err := rdbus.Dial(ctx, e.s.SystemBusAddress())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 4)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			if err := c.Install(ctx, fmt.Sprintf("Bench %03d", i), "", false, nil); err != nil {
				errs <- fmt.Errorf("installing Bench %03d: %w", i, err)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	l, err := c.List(ctx, true)
	if err != nil || len(l) != n {
		b.Fatalf("installed: %d rock-ons, %v", len(l), err)
	}
	b.Logf("installed %d rock-ons in %s", n, time.Since(start).Round(time.Second))
}
