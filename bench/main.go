// Command bench measures rockon end to end against the bare container
// engine and against Rockstor's ways (sequential engine commands, one-by-one
// catalog fetches), inside the systemd sandbox, and prints one table:
// medians over repetitions, their spread, the baseline's median, the ratio
// and whether the target holds. Run it as root with `bash bench/run`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rockon/rockon/sandbox"
)

func main() {
	reps := flag.Int("reps", 5, "repetitions of each measurement")
	bootReps := flag.Int("boot-reps", 3, "reboots for each side of the boot measurement")
	engines := flag.String("engines", "podman,docker", "engines for the toggle, propagation and pull measurements (1, 2, 6, 9); the others use the first")
	only := flag.String("only", "1,2,3,4,5,6,7,8,9", "measurements to run (1 and 2 run together, as 7 and 8 do)")
	sizes := flag.String("scale", "10,100,1000", "installed rock-on counts for the scale measurement")
	idleSize := flag.Int("idle-installed", 200, "installed rock-ons during the idle measurement")
	idle := flag.Duration("idle", time.Minute, "idle measurement window")
	registry := flag.String("registry", "", "registry snapshot for the catalog refresh (default: ../shared/registry beside the repository, else /work/shared/registry)")
	md := flag.Bool("markdown", false, "print the table as Markdown")
	flag.BoolVar(&keep, "keep", false, "leave the sandboxes running, for a look at their journals (stop with scripts/sandbox stop DIR)")
	flag.Parse()
	if err := run(*reps, *bootReps, *engines, *only, *sizes, *idleSize, *idle, *registry, *md); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

var keep bool

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func findRegistry(root, flagged string) (string, error) {
	cands := []string{flagged}
	if flagged == "" {
		cands = []string{filepath.Join(root, "..", "shared", "registry"), "/work/shared/registry"}
	}
	for _, c := range cands {
		if _, err := os.Stat(filepath.Join(c, "root.json")); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("no registry snapshot (root.json) in %s", strings.Join(cands, " or "))
}

func run(reps, bootReps int, engines, onlyS, sizesS string, idleSize int, idle time.Duration, registry string, md bool) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root: it boots systemd and runs containers")
	}
	if reps < 1 || bootReps < 1 {
		return fmt.Errorf("repetitions must be at least 1")
	}
	only, err := parseInts(onlyS)
	if err != nil {
		return err
	}
	sizes, err := parseInts(sizesS)
	if err != nil {
		return err
	}
	want := func(n int) bool { return slices.Contains(only, n) }
	var engs []string
	for _, e := range strings.Split(engines, ",") {
		switch e = strings.TrimSpace(e); e {
		case "podman", "docker":
			engs = append(engs, e)
		case "":
		default:
			return fmt.Errorf("unknown engine %q", e)
		}
	}
	if len(engs) == 0 {
		return fmt.Errorf("no engine")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	root, err := sandbox.ModuleRoot()
	if err != nil {
		return err
	}
	started := time.Now()
	var rows []Row
	var failures []string
	fail := func(what string, err error) {
		logf("%s: %v", what, err)
		failures = append(failures, fmt.Sprintf("%s: %v", what, err))
	}
	if want(5) {
		dir, err := findRegistry(root, registry)
		if err != nil {
			fail("5 catalog", err)
		} else {
			logf("5: catalog refresh of %s", dir)
			r, err := measureCatalog(ctx, dir, reps)
			if err != nil {
				fail("5 catalog", err)
			}
			rows = append(rows, r...)
		}
	}
	needSandbox := want(1) || want(2) || want(3) || want(4) || want(6) || want(7) || want(8) || want(9)
	if needSandbox {
		bin, err := buildBinaries(root)
		if err != nil {
			return err
		}
		if !keep {
			defer os.RemoveAll(bin)
		}
		for k, eng := range engs {
			if ctx.Err() != nil {
				break
			}
			first := k == 0
			if !first && !want(1) && !want(2) && !want(6) && !want(9) {
				continue
			}
			logf("booting the sandbox with %s", eng)
			e, err := newEnv(ctx, root, bin, eng)
			if err != nil {
				fail("sandbox with "+eng, err)
				continue
			}
			step := func(n int, what string, f func() ([]Row, error)) {
				if !want(n) || ctx.Err() != nil {
					return
				}
				logf("%d: %s (%s)", n, what, eng)
				r, err := f()
				if err != nil {
					fail(fmt.Sprintf("%d %s (%s)", n, what, eng), err)
				}
				rows = append(rows, r...)
			}
			if want(1) || want(2) {
				step(1, "toggle on/off", func() ([]Row, error) { return measureToggle(ctx, e, reps) })
			}
			step(9, "pull", func() ([]Row, error) { return measurePull(ctx, e, reps) })
			step(6, "status propagation", func() ([]Row, error) { return measurePropagation(ctx, e, reps) })
			if first {
				step(3, "install", func() ([]Row, error) { return measureInstall(ctx, e, reps) })
				step(4, "boot", func() ([]Row, error) { return measureBoot(ctx, e, bootReps) })
				if want(7) || want(8) {
					if !want(8) {
						sizes = nil
					}
					n := idleSize
					if !want(7) {
						n = 0
					}
					step(slices.Max(only), "idle and scale", func() ([]Row, error) { return measureScale(ctx, e, sizes, n, idle, reps) })
				}
			}
			e.close()
		}
	}
	slices.SortStableFunc(rows, func(a, b Row) int { return strings.Compare(a.Name[:1], b.Name[:1]) })
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("rockon bench, %s, %d CPUs, load average at the end %s, %s, %d repetitions (boot %d), took %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "),
		runtime.Version(), reps, bootReps, time.Since(started).Round(time.Second))
	if err := WriteTable(os.Stdout, rows, md); err != nil {
		return err
	}
	if len(failures) > 0 {
		fmt.Println()
		for _, f := range failures {
			fmt.Println("FAILED:", f)
		}
		return fmt.Errorf("%d measurement(s) failed", len(failures))
	}
	return nil
}
