package hardening

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rockon/rockon/catalog"
	api "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
	"github.com/rockon/rockon/state"
	"github.com/rockon/rockon/unitgen"
)

// TestLoad_50Clients200RockOns: rockond with 200 installed rock-ons (real
// installs through the daemon, left off) serves 50 concurrent clients, each
// on its own bus connection, issuing a mix of list, status, start/stop of
// its own rock-ons and install/uninstall of its own extra rock-on for a
// bounded time. Allowed errors: Busy (documented) only. Afterwards every
// rock-on is in the state its client's last successful operation left it,
// the daemon ran exactly the jobs the clients asked for, the records decode
// and match, and the daemon's memory stayed bounded. Figures are logged
// (ROCKON_LOAD_SECONDS sets the duration, default 20).
func TestLoad_50Clients200RockOns(t *testing.T) {
	const nInstalled, nClients = 200, 50
	seconds := 20
	if s := os.Getenv("ROCKON_LOAD_SECONDS"); s != "" {
		seconds, _ = strconv.Atoi(s)
	}
	files := map[string]string{}
	def := `{"%s": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"%s": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
   "ports": {"8080": {"description": "p", "label": "p", "host_default": %d, "protocol": "tcp"}}}}}}`
	loadName := func(i int) string { return fmt.Sprintf("Load %03d", i) }
	extraName := func(i int) string { return fmt.Sprintf("Extra %02d", i) }
	for i := 0; i < nInstalled; i++ {
		files[fmt.Sprintf("load-%03d.json", i)] = fmt.Sprintf(def, loadName(i), fmt.Sprintf("l%03d", i), 20000+i)
	}
	for i := 0; i < nClients; i++ {
		files[fmt.Sprintf("extra-%02d.json", i)] = fmt.Sprintf(def, extraName(i), fmt.Sprintf("x%02d", i), 21000+i)
	}
	// The 200 rock-ons are installed the way a restarted rockond finds
	// them: records in the state directory (written with the state
	// package, as rockond writes them), whose units rockond generates at
	// start. Installing them one by one through the daemon takes minutes
	// (a systemd reload each); installs under load are part of the mix.
	seed := func(s *sandbox.Sandbox) {
		cfg, err := state.LoadConfig(s.HostPath("/etc/rockon/rockond.toml"))
		if err != nil {
			t.Fatal(err)
		}
		st, err := state.Open(s.HostPath("/var/lib/rockon"))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		now := time.Now().UTC().Truncate(time.Second)
		for i := 0; i < nInstalled; i++ {
			raw := []byte(files[fmt.Sprintf("load-%03d.json", i)])
			defs, err := catalog.Decode("load.json", raw)
			if err != nil {
				t.Fatal(err)
			}
			res, err := unitgen.Compile(defs[0], model.Choices{}, unitgen.Options{Host: cfg.Host()})
			if err != nil {
				t.Fatal(err)
			}
			in := &state.Installed{Name: defs[0].Name, Phase: state.PhaseInstalled, PhaseSince: now, Desired: state.DesiredOff,
				InstalledAt: now, UpdatedAt: now, Definition: state.Definition(raw)}
			for _, f := range res.Units {
				in.Units = append(in.Units, state.GeneratedFile{Name: f.Name, SHA256: state.ContentHash(f.Content)})
			}
			if err := st.Create(in); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := time.Now()
	e := startDaemon(t, files, seed)
	ctx := ctxFor(t, 20*time.Minute)
	if n, err := e.c.RefreshCatalog(ctx); err != nil || n != len(files) {
		t.Fatalf("RefreshCatalog = %d, %v", n, err)
	}
	if l, err := e.c.List(ctx, true); err != nil || len(l) != nInstalled {
		t.Fatalf("installed: %d, %v", len(l), err)
	}
	units, _ := filepath.Glob(e.s.HostPath("/etc/systemd/system/rockon-load-*"))
	if len(units) != 2*nInstalled {
		t.Fatalf("rockond generated %d units for %d records", len(units), nInstalled)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	pid := e.mainPID(t)
	rss := func() int {
		out, err := e.s.Command(ctx, "grep", "VmRSS", "/proc/"+pid+"/status").Output()
		if err != nil {
			return -1
		}
		f := strings.Fields(string(out))
		if len(f) < 2 {
			return -1
		}
		kb, _ := strconv.Atoi(f[1])
		return kb
	}
	rssBefore := rss()

	type sample struct {
		kind string
		d    time.Duration
	}
	type client struct {
		samples []sample
		busy    int
		errs    []error
		on      map[string]bool // desired state of its rock-ons after its last successful op
		extra   bool            // its extra rock-on installed
		jobs    map[string]int  // successful jobs by kind
	}
	clients := make([]*client, nClients)
	loadCtx, stop := context.WithTimeout(ctx, time.Duration(seconds)*time.Second)
	defer stop()
	var rssMax int
	rssDone := make(chan struct{})
	go func() {
		defer close(rssDone)
		for loadCtx.Err() == nil {
			rssMax = max(rssMax, rss())
			time.Sleep(time.Second)
		}
	}()
	for ci := 0; ci < nClients; ci++ {
		cl := &client{on: map[string]bool{}, jobs: map[string]int{}}
		clients[ci] = cl
		c, err := api.Dial(ctx, e.s.SystemBusAddress())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		rng := rand.New(rand.NewPCG(uint64(ci), 7))
		var own []string
		for i := ci; i < nInstalled; i += nClients {
			own = append(own, loadName(i))
		}
		wg.Go(func() {
			// one outstanding toggle at a time: start one, stop it next
			var running string
			for loadCtx.Err() == nil {
				var kind string
				var err error
				t0 := time.Now()
				switch r := rng.IntN(100); {
				case r < 45:
					kind = "list"
					var l []model.Summary
					l, err = c.List(ctx, false)
					if err == nil && len(l) != len(files) {
						err = fmt.Errorf("list: %d entries, want %d", len(l), len(files))
					}
				case r < 88:
					kind = "status"
					_, err = c.Status(ctx, loadName(rng.IntN(nInstalled)))
				case r < 96:
					if running == "" {
						kind = "start"
						name := own[rng.IntN(len(own))]
						if err = c.Start(ctx, name, nil); err == nil {
							running = name
							cl.on[name] = true
						}
					} else {
						kind = "stop"
						if err = c.Stop(ctx, running, nil); err == nil {
							cl.on[running] = false
							running = ""
						}
					}
				default:
					name := extraName(ci)
					if !cl.extra {
						kind = "install"
						if err = c.Install(ctx, name, "", false, nil); err == nil {
							cl.extra = true
						}
					} else {
						kind = "uninstall"
						if err = c.Uninstall(ctx, name, nil); err == nil {
							cl.extra = false
						}
					}
				}
				d := time.Since(t0)
				switch {
				case err == nil:
					cl.samples = append(cl.samples, sample{kind, d})
					if kind != "list" && kind != "status" {
						cl.jobs[kind]++
					}
				case errors.Is(err, model.ErrBusy):
					cl.busy++
				case loadCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded):
				default:
					cl.errs = append(cl.errs, fmt.Errorf("%s: %w", kind, err))
				}
			}
		})
	}
	wg.Wait()
	<-rssDone
	elapsed := time.Duration(seconds) * time.Second

	byKind := map[string][]time.Duration{}
	var total, busy int
	jobs := map[string]int{}
	for ci, cl := range clients {
		for _, s := range cl.samples {
			byKind[s.kind] = append(byKind[s.kind], s.d)
		}
		total += len(cl.samples)
		busy += cl.busy
		for k, n := range cl.jobs {
			jobs[k] += n
		}
		for _, err := range cl.errs {
			t.Errorf("client %d: %v", ci, err)
		}
	}
	t.Logf("%d clients, %s, %d rock-ons installed: %d requests done (%.0f/s), %d busy; rockond VmRSS %d KiB before, max %d KiB during",
		nClients, elapsed, nInstalled, total, float64(total)/elapsed.Seconds(), busy, rssBefore, rssMax)
	kinds := []string{"list", "status", "start", "stop", "install", "uninstall"}
	for _, k := range kinds {
		d := byKind[k]
		if len(d) == 0 {
			// a stop follows its start, which may take the whole window
			// on a loaded machine: only the first of each pair must show
			if k != "stop" && k != "uninstall" {
				t.Errorf("no successful %s: the mix did not run", k)
			}
			continue
		}
		slices.Sort(d)
		pct := func(p float64) time.Duration {
			return d[min(len(d)-1, int(p*float64(len(d))))].Round(100 * time.Microsecond)
		}
		t.Logf("  %-9s n=%5d  p50=%-9s p95=%-9s p99=%-9s max=%s", k, len(d), pct(0.50), pct(0.95), pct(0.99), d[len(d)-1].Round(100*time.Microsecond))
	}
	if rssMax > 300<<10 {
		t.Errorf("rockond used %d MiB under load", rssMax>>10)
	}

	// reads alone: 50 clients listing and asking for status for 5 s
	readCtx, stopReads := context.WithTimeout(ctx, 5*time.Second)
	defer stopReads()
	reads := make([][]time.Duration, nClients)
	var readErrs []error
	for ci := 0; ci < nClients; ci++ {
		c, err := api.Dial(ctx, e.s.SystemBusAddress())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Go(func() {
			for i := 0; readCtx.Err() == nil; i++ {
				t0 := time.Now()
				var err error
				if i%2 == 0 {
					_, err = c.List(ctx, false)
				} else {
					_, err = c.Status(ctx, loadName((ci*7+i)%nInstalled))
				}
				if err != nil {
					mu.Lock()
					readErrs = append(readErrs, err)
					mu.Unlock()
					continue
				}
				reads[ci] = append(reads[ci], time.Since(t0))
			}
		})
	}
	wg.Wait()
	if len(readErrs) > 0 {
		t.Errorf("reads: %d errors, first %v", len(readErrs), readErrs[0])
	}
	all := slices.Concat(reads...)
	slices.Sort(all)
	if len(all) > 0 {
		pct := func(p float64) time.Duration {
			return all[min(len(all)-1, int(p*float64(len(all))))].Round(10 * time.Microsecond)
		}
		t.Logf("reads only (list/status alternating), %d clients, 5s: %d requests (%.0f/s), p50=%s p95=%s p99=%s max=%s",
			nClients, len(all), float64(len(all))/5, pct(0.5), pct(0.95), pct(0.99), all[len(all)-1].Round(10*time.Microsecond))
	}

	// no lost operation: every rock-on is as its client left it
	for ci, cl := range clients {
		for name, on := range cl.on {
			p, err := e.c.Status(ctx, name)
			want := map[bool]string{true: "on", false: "off"}[on]
			if err != nil || p.DesiredState != want {
				t.Errorf("client %d: %s desired %q (%v), want %q", ci, name, p.DesiredState, err, want)
			}
		}
		p, err := e.c.Status(ctx, extraName(ci))
		if err != nil || p.Installed != cl.extra {
			t.Errorf("client %d: %s installed=%v (%v), want %v", ci, extraName(ci), p.Installed, err, cl.extra)
		}
	}
	// no duplicated operation: the daemon ran as many jobs as succeeded
	journal := e.s.Run(t, "journalctl", "--no-pager", "-o", "cat", "-u", "rockon.service", "--since", start.Add(-time.Minute).UTC().Format("2006-01-02 15:04:05 UTC"))
	for _, k := range []string{"start", "stop", "uninstall"} {
		if got := strings.Count(journal, "kind="+k+" "); got != jobs[k] {
			t.Errorf("journal shows %d %s jobs done, clients saw %d succeed", got, k, jobs[k])
		}
	}
	if got := strings.Count(journal, "kind=install "); got != jobs["install"] {
		t.Errorf("journal shows %d install jobs, clients saw %d succeed", got, jobs["install"])
	}
	if f := strings.Count(journal, "job failed"); f > 0 {
		t.Errorf("%d jobs failed", f)
	}

	// records: all decode, one per installed rock-on, none mid-operation
	e.s.Run(t, "systemctl", "stop", "rockon.service")
	st, err := state.Open(e.s.HostPath("/var/lib/rockon"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, errs := st.List()
	if len(errs) > 0 {
		t.Errorf("records: %v", errors.Join(errs...))
	}
	wantRecs := nInstalled
	for _, cl := range clients {
		if cl.extra {
			wantRecs++
		}
	}
	if len(recs) != wantRecs {
		t.Errorf("%d records, want %d", len(recs), wantRecs)
	}
	desired := map[string]bool{}
	for _, cl := range clients {
		for n, on := range cl.on {
			desired[n] = on
		}
	}
	for _, r := range recs {
		if r.Phase != state.PhaseInstalled {
			t.Errorf("%s: phase %s", r.Name, r.Phase)
		}
		if on, ok := desired[r.Name]; ok && (r.Desired == state.DesiredOn) != on {
			t.Errorf("%s: record desired %s, want on=%v", r.Name, r.Desired, on)
		}
	}
}
