package hardening

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rockon/rockon/sandbox"
)

// Flood parameters: the red-team pass's 64 parallel Install calls with
// 6 MB of choices each, twice per connection.
const (
	floodConns  = 64
	floodRounds = 2
	floodSize   = 6 << 20
)

// resourceLines are rockon.service's resource bounds, for the test's own
// unit of rockond: the flood runs against the limits the package ships.
func resourceLines(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join(moduleRoot(t), "rockon.service"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for line := range strings.Lines(string(data)) {
		for _, k := range []string{"MemoryHigh=", "MemoryMax=", "TasksMax=", "Environment=GOMEMLIMIT="} {
			if strings.HasPrefix(line, k) {
				out = append(out, strings.TrimSpace(line))
			}
		}
	}
	if len(out) != 4 {
		t.Fatalf("rockon.service resource lines: %q", out)
	}
	return strings.Join(out, "\n") + "\n"
}

// testUnprivilegedFlood: an unprivileged user sends 64 parallel Install
// calls with 6 MB of choices each (twice). Every one is refused (by
// rockond: too big, before any bus round trip; or by the bus when the
// caller exceeds its limits); rockond
// keeps its PID, its memory stays bounded, root's calls are answered all
// along (their latency, before and during the flood, is logged for the
// README: no timing assertion).
func testUnprivilegedFlood(t *testing.T, e *daemonEnv) {
	dir := filepath.Join(sandbox.SharedDir(), fmt.Sprintf("flood-%d", os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "flood")
	build := exec.Command("go", "build", "-o", bin, "./testdata/flood")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the flood client: %v\n%s", err, out)
	}
	pid := e.mainPID(t)
	status := func() (rss, hwm int) {
		out, _ := os.ReadFile(e.s.HostPath("/proc/" + pid + "/status"))
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) >= 2 && f[0] == "VmRSS:" {
				rss, _ = strconv.Atoi(f[1])
			}
			if len(f) >= 2 && f[0] == "VmHWM:" {
				hwm, _ = strconv.Atoi(f[1])
			}
		}
		return rss / 1024, hwm / 1024
	}
	list := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		_, err := e.c.List(ctx, false)
		return time.Since(start), err
	}
	var before []time.Duration
	for range 20 {
		d, err := list()
		if err != nil {
			t.Fatalf("root's List before the flood: %v", err)
		}
		before = append(before, d)
	}
	rss0, _ := status()

	var floodOut string
	var floodErr error
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		out, err := e.s.Command(ctx, "setpriv", "--reuid=mallory", "--regid=mallory", "--clear-groups",
			bin, "-n", strconv.Itoa(floodConns), "-rounds", strconv.Itoa(floodRounds), "-size", strconv.Itoa(floodSize)).CombinedOutput()
		floodOut, floodErr = string(out), err
	}()
	var during []time.Duration
	var mu sync.Mutex
	peakRSS := 0
loop:
	for {
		select {
		case <-done:
			break loop
		case <-time.After(100 * time.Millisecond):
		}
		d, err := list()
		if err != nil {
			t.Errorf("root's List during the flood: %v", err)
			continue
		}
		mu.Lock()
		during = append(during, d)
		mu.Unlock()
		if r, _ := status(); r > peakRSS {
			peakRSS = r
		}
	}
	floodTime := time.Since(start)
	if floodErr != nil {
		t.Fatalf("flood client: %v\n%s", floodErr, floodOut)
	}
	var ends map[string]int
	if err := json.Unmarshal([]byte(floodOut[strings.LastIndexByte(strings.TrimSpace(floodOut), '\n')+1:]), &ends); err != nil {
		t.Fatalf("flood client output: %v\n%s", err, floodOut)
	}
	total, denied := 0, 0
	for end, n := range ends {
		total += n
		// denied by rockond, or refused by the bus itself when the
		// caller's queued messages exceed its per-connection limits
		refused := strings.HasSuffix(end, ".AccessDenied") || strings.HasSuffix(end, ".InvalidArgs")
		if !refused && end != "org.freedesktop.DBus.Error.LimitsExceeded" {
			t.Errorf("%d flood calls ended %q, want a refusal by rockond (too big, or AccessDenied) or the bus's LimitsExceeded", n, end)
		}
		if refused {
			denied += n
		}
	}
	if denied == 0 {
		t.Error("no flood call reached rockond")
	}
	if total != floodConns*floodRounds {
		t.Errorf("flood calls ended: %v, want %d", ends, floodConns*floodRounds)
	}
	if got := e.mainPID(t); got != pid {
		t.Errorf("rockond restarted (OOM or crash): pid %s -> %s", pid, got)
	}
	// Go returns freed memory to the system gradually: give it a moment.
	time.Sleep(5 * time.Second)
	rss1, hwm := status()
	if rss1 > 300 {
		t.Errorf("rockond's VmRSS after the flood: %d MiB (before: %d MiB)", rss1, rss0)
	}
	if p := e.waitState(t, "Secret App", "running"); p.State != "running" {
		t.Errorf("Secret App %s after the flood", p.State)
	}
	if len(during) == 0 {
		t.Error("no root call completed during the flood")
	}
	t.Logf("flood: %d calls x %d MiB in %s, ends %v", total, floodSize>>20, floodTime.Round(time.Millisecond), ends)
	t.Logf("rockond VmRSS: %d MiB before, %d MiB peak sampled, %d MiB after; VmHWM %d MiB", rss0, peakRSS, rss1, hwm)
	t.Logf("root's ListRockOns before: %s", quantiles(before))
	t.Logf("root's ListRockOns during: %s", quantiles(during))
}

func quantiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	q := func(p float64) time.Duration { return s[int(p*float64(len(s)-1))].Round(time.Millisecond) }
	return fmt.Sprintf("n=%d p50=%s p95=%s max=%s", len(s), q(0.5), q(0.95), s[len(s)-1].Round(time.Millisecond))
}
