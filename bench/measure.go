package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	godbus "github.com/godbus/dbus/v5"
	api "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
)

func init() {
	addDefinition("toggle.json", "Toggle", container("toggle", 1, 18080))
	addDefinition("trio.json", "Trio", container("trio-a", 1, 18081), container("trio-b", 2, 18082), container("trio-c", 3, 18083))
	addDefinition("crash.json", "Crash", container("crash", 1, 18090))
	addDefinition("seed.json", "Seed Template", container("seed-template", 1, 0))
	for i := 1; i <= bootCount; i++ {
		addDefinition(fmt.Sprintf("boot-%02d.json", i), fmt.Sprintf("Boot %02d", i), container(fmt.Sprintf("boot-%02d", i), 1, bootPort+i))
	}
}

const (
	bootCount = 20
	bootPort  = 18100
)

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func unitsOf(name string, containers ...string) []string {
	slug := model.Slug(name)
	u := []string{"rockon-" + slug + ".target"}
	for _, c := range containers {
		u = append(u, "rockon-"+slug+"-"+c+".service")
	}
	return u
}

// unitTimestamp reads one of a unit's realtime timestamps (systemd and the
// sandbox share the host's clock).
func (e *env) unitTimestamp(unit, prop string) (time.Time, error) {
	obj := e.bus.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
	var path godbus.ObjectPath
	if err := obj.Call("org.freedesktop.systemd1.Manager.LoadUnit", 0, unit).Store(&path); err != nil {
		return time.Time{}, err
	}
	v, err := e.bus.Object("org.freedesktop.systemd1", path).GetProperty("org.freedesktop.systemd1.Unit." + prop)
	if err != nil {
		return time.Time{}, err
	}
	us, ok := v.Value().(uint64)
	if !ok || us == 0 {
		return time.Time{}, fmt.Errorf("%s of %s: %v", prop, unit, v)
	}
	return time.UnixMicro(int64(us)), nil
}

func (e *env) unitText(unit string) (string, error) {
	b, err := os.ReadFile(e.s.HostPath("/etc/systemd/system/" + unit))
	return string(b), err
}

// containerName is the value of --name in a run command.
func containerName(argv []string) string {
	for i, a := range argv {
		if a == "--name" && i+1 < len(argv) {
			return argv[i+1]
		}
		if v, ok := strings.CutPrefix(a, "--name="); ok {
			return v
		}
	}
	return ""
}

func (e *env) rmContainers(ctx context.Context, names ...string) {
	args := append([]string{"rm", "-f"}, names...)
	_, _ = e.run(ctx, e.engine, args...)
}

// measureToggle is measurements 1 and 2 for the env's engine.
func measureToggle(ctx context.Context, e *env, reps int) ([]Row, error) {
	const port = 18080
	if _, err := e.rockon(ctx, "install", "Toggle", "--no-input", "--no-start"); err != nil {
		return nil, err
	}
	units := unitsOf("Toggle", "toggle")
	text, err := e.unitText(units[1])
	if err != nil {
		return nil, err
	}
	base, err := baselineRun(text, e.engine)
	if err != nil {
		return nil, err
	}
	cname := containerName(base)
	logf("%s baseline: %s", e.engine, strings.Join(base, " "))
	var on, onCLI, off, bon, boff, onUnit []float64
	for i := 0; i < reps; i++ {
		_, _ = e.run(ctx, "systemctl", "reset-failed", units[1])
		time.Sleep(time.Second)
		t0 := time.Now()
		wait, err := e.start(ctx, e.bin+"/rockon", "start", "Toggle")
		if err != nil {
			return nil, err
		}
		if err := e.waitPorts(timeout(ctx, time.Minute), port); err != nil {
			return nil, err
		}
		on = append(on, ms(time.Since(t0)))
		if err := wait(); err != nil {
			return nil, err
		}
		onCLI = append(onCLI, ms(time.Since(t0)))
		if ts, err := e.unitTimestamp(units[1], "InactiveExitTimestamp"); err == nil {
			onUnit = append(onUnit, ms(ts.Sub(t0)))
		}
		time.Sleep(time.Second)

		t0 = time.Now()
		wait, err = e.start(ctx, e.bin+"/rockon", "stop", "Toggle")
		if err != nil {
			return nil, err
		}
		if err := e.waitInactive(timeout(ctx, time.Minute), units); err != nil {
			return nil, err
		}
		off = append(off, ms(time.Since(t0)))
		if err := wait(); err != nil {
			return nil, err
		}

		time.Sleep(time.Second)

		t0 = time.Now()
		wait, err = e.start(ctx, base[0], base[1:]...)
		if err != nil {
			return nil, err
		}
		if err := e.waitPorts(timeout(ctx, time.Minute), port); err != nil {
			return nil, err
		}
		bon = append(bon, ms(time.Since(t0)))
		if err := wait(); err != nil {
			return nil, err
		}
		time.Sleep(time.Second)

		t0 = time.Now()
		if _, err := e.run(ctx, e.engine, "stop", cname); err != nil {
			return nil, err
		}
		boff = append(boff, ms(time.Since(t0)))
		e.rmContainers(ctx, cname)
		logf("%s toggle %d/%d: on %.0f (cli %.0f) vs %.0f ms, off %.0f vs %.0f ms", e.engine, i+1, reps, on[i], onCLI[i], bon[i], off[i], boff[i])
	}
	if _, err := e.rockon(ctx, "uninstall", "Toggle"); err != nil {
		return nil, err
	}
	run := e.engine + " run -d"
	return []Row{
		{Name: "1 toggle on (" + e.engine + "): rockon start until the port answers", Unit: "ms", Samples: on,
			Baseline: run, Base: bon, Target: &Target{Ratio: true, Max: 1.15}},
		{Name: "1 toggle on (" + e.engine + "): until `rockon start` returns (the port answers)", Unit: "ms", Samples: onCLI,
			Baseline: run, Base: bon, Target: &Target{Ratio: true, Max: 1.3}},
		{Name: "2 toggle off (" + e.engine + "): rockon stop until units inactive", Unit: "ms", Samples: off,
			Baseline: e.engine + " stop", Base: boff, Target: &Target{Ratio: true, Max: 1.15}},
		{Name: "1 toggle on (" + e.engine + "): from the command to systemd starting the unit (CLI + rockond)", Unit: "ms", Samples: onUnit},
	}, nil
}

func timeout(ctx context.Context, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(ctx, d)
	_ = cancel // released when the deadline passes
	return ctx
}

// measureInstall is measurement 3.
func measureInstall(ctx context.Context, e *env, reps int) ([]Row, error) {
	ports := []int{18081, 18082, 18083}
	containers := []string{"trio-a", "trio-b", "trio-c"}
	var inst, instCLI, base, instUnit []float64
	var script string
	var names []string
	for i := 0; i < reps; i++ {
		time.Sleep(time.Second)
		t0 := time.Now()
		wait, err := e.start(ctx, e.bin+"/rockon", "install", "Trio", "--no-input")
		if err != nil {
			return nil, err
		}
		if err := e.waitPorts(timeout(ctx, 2*time.Minute), ports...); err != nil {
			return nil, err
		}
		inst = append(inst, ms(time.Since(t0)))
		if err := wait(); err != nil {
			return nil, err
		}
		instCLI = append(instCLI, ms(time.Since(t0)))
		if ts, err := e.unitTimestamp(unitsOf("Trio", "trio-a")[1], "InactiveExitTimestamp"); err == nil {
			instUnit = append(instUnit, ms(ts.Sub(t0)))
		}
		if script == "" {
			var lines []string
			for _, u := range unitsOf("Trio", containers...)[1:] {
				text, err := e.unitText(u)
				if err != nil {
					return nil, err
				}
				argv, err := baselineRun(text, e.engine)
				if err != nil {
					return nil, err
				}
				names = append(names, containerName(argv))
				var q []string
				for _, a := range argv {
					q = append(q, shellQuote(a))
				}
				lines = append(lines, strings.Join(q, " "))
			}
			script = "set -e\n" + strings.Join(lines, "\n") + "\n"
			logf("install baseline script:\n%s", script)
		}
		if _, err := e.rockon(ctx, "uninstall", "Trio"); err != nil {
			return nil, err
		}
		time.Sleep(time.Second)
		t0 = time.Now()
		wait, err = e.start(ctx, "sh", "-c", script)
		if err != nil {
			return nil, err
		}
		if err := e.waitPorts(timeout(ctx, 2*time.Minute), ports...); err != nil {
			return nil, err
		}
		base = append(base, ms(time.Since(t0)))
		if err := wait(); err != nil {
			return nil, err
		}
		e.rmContainers(ctx, names...)
		logf("install %d/%d: %.0f (cli %.0f) vs %.0f ms", i+1, reps, inst[i], instCLI[i], base[i])
	}
	return []Row{
		{Name: "3 install, 3 containers, images present: until all answer", Unit: "ms", Samples: inst,
			Baseline: "3 × " + e.engine + " run -d in a script", Base: base, Target: &Target{Ratio: true, Max: 1.3}},
		{Name: "3 install: until `rockon install` returns (the ports answer)", Unit: "ms", Samples: instCLI,
			Baseline: "3 × " + e.engine + " run -d in a script", Base: base, Target: &Target{Ratio: true, Max: 1.3}},
		{Name: "3 install: from the command to systemd starting the first unit (CLI + rockond: record, image and name checks, units, enable)", Unit: "ms", Samples: instUnit},
	}, nil
}

// containerActive reads rockon_container_state{container=c,state="active"}
// from a scrape; -1 when the series is missing.
func containerActive(body []byte, c string) float64 {
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "rockon_container_state{") && strings.Contains(l, `container="`+c+`"`) && strings.Contains(l, `state="active"`) {
			f := strings.Fields(l)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err == nil {
				return v
			}
		}
	}
	return -1
}

// measurePropagation is measurement 6: a container dies (its process
// exits with status 3); how long until rockond's PropertiesChanged signal
// for the rock-on and until the metric says the container is not active.
func measurePropagation(ctx context.Context, e *env, reps int) ([]Row, error) {
	const port = 18090
	if _, err := e.rockon(ctx, "install", "Crash", "--no-input"); err != nil {
		return nil, err
	}
	path := api.RockOnPath(model.Slug("Crash"))
	if err := e.bus.AddMatchSignal(godbus.WithMatchInterface("org.freedesktop.DBus.Properties"), godbus.WithMatchObjectPath(path)); err != nil {
		return nil, err
	}
	// systemd's own signal for the container's unit: the floor rockond's
	// signal stands on.
	unitPath := unitObjectPath(unitsOf("Crash", "crash")[1])
	if err := e.bus.AddMatchSignal(godbus.WithMatchInterface("org.freedesktop.DBus.Properties"), godbus.WithMatchObjectPath(unitPath)); err != nil {
		return nil, err
	}
	if err := e.bus.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").Call("org.freedesktop.systemd1.Manager.Subscribe", 0).Err; err != nil {
		return nil, err
	}
	ch := make(chan *godbus.Signal, 256)
	e.bus.Signal(ch)
	defer e.bus.RemoveSignal(ch)
	var sig, met, sd []float64
	for i := 0; i < reps; i++ {
		if err := e.waitPorts(timeout(ctx, time.Minute), port); err != nil {
			return nil, err
		}
		// Let the restart's own signals and state settle first.
		for {
			_, _, body, err := e.scrape()
			if err == nil && containerActive(body, "crash") == 1 {
				break
			}
			if err := sleepCtx(timeout(ctx, time.Minute), 50*time.Millisecond); err != nil {
				return nil, fmt.Errorf("metric never says the container is active")
			}
		}
		time.Sleep(time.Second)
	drain:
		for {
			select {
			case <-ch:
			default:
				break drain
			}
		}
		metDone := make(chan time.Time, 1)
		stop := make(chan struct{})
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, body, err := e.scrape(); err == nil && containerActive(body, "crash") == 0 {
					metDone <- time.Now()
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
		t0 := time.Now()
		go e.probe.get(port, "/crash", time.Second) //nolint:errcheck // the server dies answering
		var tsig, tsd time.Time
		deadline := time.After(30 * time.Second)
	wait:
		for tsig.IsZero() || tsd.IsZero() {
			select {
			case s := <-ch:
				if s.Name != "org.freedesktop.DBus.Properties.PropertiesChanged" {
					continue
				}
				if s.Path == path && tsig.IsZero() {
					tsig = time.Now()
				}
				if s.Path == unitPath && tsd.IsZero() && len(s.Body) >= 2 {
					if m, ok := s.Body[1].(map[string]godbus.Variant); ok {
						if _, ok := m["ActiveState"]; ok {
							tsd = time.Now()
						}
					}
				}
				continue wait
			case <-deadline:
				close(stop)
				return nil, fmt.Errorf("no PropertiesChanged within 30 s of the crash")
			}
		}
		var tmet time.Time
		select {
		case tmet = <-metDone:
		case <-time.After(30 * time.Second):
			close(stop)
			return nil, fmt.Errorf("metric unchanged 30 s after the crash")
		}
		close(stop)
		sig = append(sig, ms(tsig.Sub(t0)))
		met = append(met, ms(tmet.Sub(t0)))
		sd = append(sd, ms(tsd.Sub(t0)))
		logf("propagation %d/%d: systemd %.1f ms, signal %.1f ms, metric %.1f ms", i+1, reps, sd[i], sig[i], met[i])
	}
	if _, err := e.rockon(ctx, "uninstall", "Crash"); err != nil {
		return nil, err
	}
	return []Row{
		{Name: "6 container dies -> rockond's D-Bus PropertiesChanged (" + e.engine + ")", Unit: "ms", Samples: sig, Target: &Target{Max: 100}},
		{Name: "6 container dies -> systemd's PropertiesChanged (ActiveState) for its unit (" + e.engine + ")", Unit: "ms", Samples: sd},
		{Name: "6 container dies -> metric shows it (scraped every 2 ms) (" + e.engine + ")", Unit: "ms", Samples: met, Target: &Target{Max: 100}},
	}, nil
}

// unitObjectPath is systemd's D-Bus object path of a unit.
func unitObjectPath(unit string) godbus.ObjectPath {
	var b strings.Builder
	for i := 0; i < len(unit); i++ {
		c := unit[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "_%02x", c)
		}
	}
	return godbus.ObjectPath("/org/freedesktop/systemd1/unit/" + b.String())
}

// scrape gets /metrics from rockond inside the sandbox.
func (e *env) scrape() (time.Duration, int, []byte, error) {
	t0 := time.Now()
	code, body, err := e.probe.get(9387, "/metrics", 10*time.Second)
	if err == nil && code != 200 {
		err = fmt.Errorf("/metrics: status %d", code)
	}
	return time.Since(t0), code, body, err
}

// measureBoot is measurement 4: reboot with 20 enabled rock-ons until all
// answer, against a boot unit starting the same containers one after the
// other.
func measureBoot(ctx context.Context, e *env, reps int) ([]Row, error) {
	var names, ports []int
	for i := 1; i <= bootCount; i++ {
		names = append(names, i)
		ports = append(ports, bootPort+i)
	}
	each := func(args func(i int) []string) error {
		var wg sync.WaitGroup
		errs := make([]error, len(names))
		for k, i := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[k] = e.rockon(ctx, args(i)...)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}
	logf("installing %d rock-ons", bootCount)
	if err := each(func(i int) []string { return []string{"install", fmt.Sprintf("Boot %02d", i), "--no-input"} }); err != nil {
		return nil, err
	}
	if err := e.waitPorts(timeout(ctx, 2*time.Minute), ports...); err != nil {
		return nil, err
	}
	reboot := func() (float64, error) {
		if err := e.s.Halt(); err != nil {
			return 0, err
		}
		t0 := time.Now()
		if err := e.s.Boot(); err != nil {
			return 0, err
		}
		if err := e.connect(); err != nil {
			return 0, err
		}
		if err := e.waitPorts(timeout(ctx, 3*time.Minute), ports...); err != nil {
			return 0, err
		}
		return ms(time.Since(t0)), nil
	}
	var rk, base []float64
	for i := 0; i < reps; i++ {
		d, err := reboot()
		if err != nil {
			return nil, err
		}
		rk = append(rk, d)
		logf("boot %d/%d with rockon: %.0f ms", i+1, reps, d)
	}
	// The baseline: the rock-ons off (disabled), a boot unit running the
	// same containers' commands in sequence.
	if err := each(func(i int) []string { return []string{"stop", fmt.Sprintf("Boot %02d", i)} }); err != nil {
		return nil, err
	}
	var lines, cnames []string
	for i := 1; i <= bootCount; i++ {
		text, err := e.unitText(unitsOf(fmt.Sprintf("Boot %02d", i), fmt.Sprintf("boot-%02d", i))[1])
		if err != nil {
			return nil, err
		}
		argv, err := baselineRun(text, e.engine)
		if err != nil {
			return nil, err
		}
		cnames = append(cnames, containerName(argv))
		var q []string
		for _, a := range argv {
			q = append(q, shellQuote(a))
		}
		lines = append(lines, strings.Join(q, " "))
	}
	if err := e.s.WriteFile("/srv/rockon/bench-sequential.sh", "set -e\n"+strings.Join(lines, "\n")+"\n", 0o755); err != nil {
		return nil, err
	}
	if err := e.s.WriteFile("/etc/systemd/system/bench-sequential.service", `[Unit]
Description=start the benchmark containers one after the other
Wants=network-online.target
After=network-online.target
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh /srv/rockon/bench-sequential.sh
[Install]
WantedBy=multi-user.target
`, 0o644); err != nil {
		return nil, err
	}
	for _, c := range [][]string{{"systemctl", "daemon-reload"}, {"systemctl", "enable", "bench-sequential.service"}} {
		if _, err := e.run(ctx, c[0], c[1:]...); err != nil {
			return nil, err
		}
	}
	for i := 0; i < reps; i++ {
		e.rmContainers(ctx, cnames...)
		d, err := reboot()
		if err != nil {
			return nil, err
		}
		base = append(base, d)
		logf("boot %d/%d with the sequential script: %.0f ms", i+1, reps, d)
	}
	if _, err := e.run(ctx, "systemctl", "disable", "bench-sequential.service"); err != nil {
		return nil, err
	}
	e.rmContainers(ctx, cnames...)
	if err := each(func(i int) []string { return []string{"uninstall", fmt.Sprintf("Boot %02d", i)} }); err != nil {
		return nil, err
	}
	return []Row{{Name: fmt.Sprintf("4 boot with %d enabled rock-ons until all answer", bootCount), Unit: "ms", Samples: rk,
		Baseline: "boot + sequential run -d script", Base: base, Target: &Target{Ratio: true, Max: 1}}}, nil
}

// seeder adds installed rock-ons as state records: copies of the record
// rockond wrote for a real install of "Seed Template" (one container on
// the test image, no port, not started), renamed. rockond reads them at
// start-up and compiles and writes their units.
type seeder struct {
	e        *env
	template []byte
	next     int
}

func newSeeder(ctx context.Context, e *env) (*seeder, error) {
	if _, err := e.rockon(ctx, "install", "Seed Template", "--no-input", "--no-start"); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(e.s.HostPath("/var/lib/rockon/seed-template.toml"))
	if err != nil {
		return nil, err
	}
	return &seeder{e: e, template: b, next: 1}, nil
}

// add writes n more records; rockond must be stopped.
func (sd *seeder) add(n int) error {
	dir := sd.e.s.HostPath("/var/lib/rockon")
	for k := 0; k < n; k++ {
		name := fmt.Sprintf("Seed %04d", sd.next)
		slug := model.Slug(name)
		rec := strings.ReplaceAll(string(sd.template), "Seed Template", name)
		rec = strings.ReplaceAll(rec, "seed-template", slug)
		if err := os.WriteFile(filepath.Join(dir, slug+".toml"), []byte(rec), 0o600); err != nil {
			return err
		}
		sd.next++
	}
	return nil
}

func (e *env) installedCount(ctx context.Context) (int, error) {
	l, err := e.c.List(ctx, true)
	return len(l), err
}

// startDaemon starts rockon.service (which returns when rockond is ready)
// and waits until it lists want installed rock-ons; it returns both times.
func (e *env) startDaemon(ctx context.Context, want int) (ready, listed float64, err error) {
	t0 := time.Now()
	if _, err := e.run(ctx, "systemctl", "start", "rockon.service"); err != nil {
		return 0, 0, err
	}
	ready = ms(time.Since(t0))
	for {
		n, err := e.installedCount(ctx)
		if err == nil && n == want {
			break
		}
		if err := sleepCtx(timeout(ctx, 5*time.Minute), 5*time.Millisecond); err != nil {
			return 0, 0, fmt.Errorf("rockond lists %d installed rock-ons, want %d", n, want)
		}
	}
	return ready, ms(time.Since(t0)), nil
}

// measureScale is measurements 7 and 8.
func measureScale(ctx context.Context, e *env, sizes []int, idleSize int, idle time.Duration, reps int) ([]Row, error) {
	sd, err := newSeeder(ctx, e)
	if err != nil {
		return nil, err
	}
	all := slices.Clone(sizes)
	if idleSize > 0 {
		all = append(all, idleSize)
	}
	var rows []Row
	slices.Sort(all)
	all = slices.Compact(all)
	host := e.bin + "/rockon"
	for _, n := range all {
		have, err := e.installedCount(ctx)
		if err != nil {
			return rows, err
		}
		if n < have {
			logf("scale: %d installed already, skipping %d", have, n)
			continue
		}
		if _, err := e.run(ctx, "systemctl", "stop", "rockon.service"); err != nil {
			return rows, err
		}
		if err := sd.add(n - have); err != nil {
			return rows, err
		}
		ready, listed, err := e.startDaemon(ctx, n)
		if err != nil {
			return rows, err
		}
		logf("scale %d: first start-up ready %.0f ms, lists all %.0f ms", n, ready, listed)
		if n == idleSize {
			r, err := measureIdle(ctx, e, n, idle)
			if err != nil {
				return rows, err
			}
			rows = append(rows, r...)
		}
		if !slices.Contains(sizes, n) {
			continue
		}
		var list, status, scrape []float64
		var series int
		for i := 0; i < reps; i++ {
			for _, m := range []struct {
				args []string
				out  *[]float64
			}{{[]string{"list"}, &list}, {[]string{"status"}, &status}} {
				t0 := time.Now()
				out, err := exec.CommandContext(ctx, host, append([]string{"--bus", e.s.SystemBusAddress()}, m.args...)...).CombinedOutput()
				if err != nil {
					return rows, fmt.Errorf("rockon %s: %v\n%s", m.args[0], err, out)
				}
				*m.out = append(*m.out, ms(time.Since(t0)))
			}
			d, _, body, err := e.scrape()
			if err != nil {
				return rows, err
			}
			scrape = append(scrape, ms(d))
			series = strings.Count(string(body), "\nrockon_")
		}
		note := fmt.Sprintf("%d installed", n)
		// the targets are for 1,000 installed
		var under50 *Target
		if n >= 1000 {
			under50 = &Target{Max: 50}
		}
		rows = append(rows,
			Row{Name: "8 rockon list (CLI process)", Note: note, Unit: "ms", Samples: list, Target: under50},
			Row{Name: "8 rockon status, all (CLI process, one D-Bus call)", Note: note, Unit: "ms", Samples: status, Target: under50},
			Row{Name: "8 metrics scrape", Note: fmt.Sprintf("%s, %d rockon_ series", note, series), Unit: "ms", Samples: scrape},
			Row{Name: "8 rockond first start with new records: ready", Note: note + ", writes their units", Unit: "ms", Samples: []float64{ready}},
			Row{Name: "8 rockond first start with new records: lists all", Note: note, Unit: "ms", Samples: []float64{listed}},
		)
		if n == slices.Max(sizes) {
			var rd, ls []float64
			for i := 0; i < min(reps, 3); i++ { // slow: at most three
				if _, err := e.run(ctx, "systemctl", "stop", "rockon.service"); err != nil {
					return rows, err
				}
				r, l, err := e.startDaemon(ctx, n)
				if err != nil {
					return rows, err
				}
				rd, ls = append(rd, r), append(ls, l)
			}
			rows = append(rows,
				Row{Name: "8 rockond start-up (reconcile): ready", Note: note, Unit: "ms", Samples: rd},
				Row{Name: "8 rockond start-up (reconcile): lists all", Note: note, Unit: "ms", Samples: ls})
		}
	}
	return rows, nil
}
