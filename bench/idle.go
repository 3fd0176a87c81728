package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// hostPID finds the host PID of the sandbox process whose PID inside the
// sandbox is inner (by the NSpid line of /proc/*/status).
func hostPID(inner int, comm string) (int, error) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(d + "/status")
		if err != nil {
			continue
		}
		var name, nspid string
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Name:"); ok {
				name = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "NSpid:"); ok {
				nspid = v
			}
		}
		f := strings.Fields(nspid)
		if name == comm && len(f) > 1 && f[len(f)-1] == strconv.Itoa(inner) {
			return strconv.Atoi(f[0])
		}
	}
	return 0, fmt.Errorf("no %s process with PID %d in the sandbox", comm, inner)
}

// procCounters are a process's counters summed over its threads.
type procCounters struct {
	switches uint64  // voluntary + involuntary context switches
	runs     uint64  // times a thread was put on a CPU (schedstat)
	cpu      float64 // user + system, seconds
	rssKB    uint64
}

func statusField(text, key string) uint64 {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseUint(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

func readCounters(pid int) (procCounters, error) {
	var c procCounters
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return c, err
	}
	c.rssKB = statusField(string(st), "VmRSS")
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", pid))
	for _, t := range tasks {
		if b, err := os.ReadFile(t + "/status"); err == nil {
			c.switches += statusField(string(b), "voluntary_ctxt_switches") + statusField(string(b), "nonvoluntary_ctxt_switches")
		}
		if b, err := os.ReadFile(t + "/schedstat"); err == nil {
			if f := strings.Fields(string(b)); len(f) == 3 {
				n, _ := strconv.ParseUint(f[2], 10, 64)
				c.runs += n
			}
		}
		if b, err := os.ReadFile(t + "/stat"); err == nil {
			s := string(b)
			if i := strings.LastIndexByte(s, ')'); i > 0 {
				f := strings.Fields(s[i+1:])
				if len(f) > 12 {
					u, _ := strconv.ParseUint(f[11], 10, 64)
					k, _ := strconv.ParseUint(f[12], 10, 64)
					c.cpu += float64(u+k) / 100 // USER_HZ
				}
			}
		}
	}
	return c, nil
}

// children lists a process's child processes (rockond's engine event
// follower).
func children(pid int) []int {
	var out []int
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

// readTree is readCounters of a process and its children, summed; rss is
// the process's own.
func readTree(pid int) (own procCounters, all procCounters, err error) {
	own, err = readCounters(pid)
	if err != nil {
		return
	}
	all = own
	all.rssKB = 0
	for _, ch := range children(pid) {
		c, err := readCounters(ch)
		if err != nil {
			continue // ended: counted until now
		}
		all.switches += c.switches
		all.runs += c.runs
		all.cpu += c.cpu
		all.rssKB += c.rssKB
	}
	return own, all, nil
}

// measureIdle is measurement 7: rockond's resident memory and how often its
// threads run while nothing happens.
func measureIdle(ctx context.Context, e *env, n int, window time.Duration) ([]Row, error) {
	out, err := e.run(ctx, "systemctl", "show", "-p", "MainPID", "--value", "rockon.service")
	if err != nil {
		return nil, err
	}
	inner, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return nil, fmt.Errorf("rockon.service MainPID %q", out)
	}
	pid, err := hostPID(inner, "rockond")
	if err != nil {
		return nil, err
	}
	// Settle: the start-up's garbage collections and the bus's replies.
	time.Sleep(10 * time.Second)
	// with its children: the engine event follower's wake-ups are
	// rockond's cost too
	_, a, err := readTree(pid)
	if err != nil {
		return nil, err
	}
	// Sample the counters (reading /proc does not wake the process):
	// a burst is a run of 100 ms intervals in which rockond's threads ran.
	t0 := time.Now()
	prev, bursts, active := a, 0, false
	for time.Since(t0) < window {
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
		_, c, err := readTree(pid)
		if err != nil {
			return nil, err
		}
		ran := c.runs != prev.runs || c.switches != prev.switches
		if ran && !active {
			bursts++
		}
		active, prev = ran, c
	}
	b := prev
	own, _, err := readTree(pid)
	if err != nil {
		return nil, err
	}
	min := time.Since(t0).Minutes()
	note := fmt.Sprintf("%d installed, stopped; over %s; with its engine event follower", n, window)
	logf("idle: rss %d kB (children %d kB), %d bursts, switches %d, runs %d, cpu %.2f s over %s", own.rssKB, b.rssKB, bursts, b.switches-a.switches, b.runs-a.runs, b.cpu-a.cpu, time.Since(t0))
	return []Row{
		{Name: "7 idle rockond: resident memory", Note: fmt.Sprintf("%d installed", n), Unit: "MB", Samples: []float64{float64(own.rssKB) / 1024}, Target: &Target{Max: 30}},
		{Name: "7 idle rockond: resident memory of its engine event follower (child process)", Unit: "MB", Samples: []float64{float64(b.rssKB) / 1024}},
		{Name: "7 idle rockond: wake-ups (bursts of activity; the watchdog ping every 30 s is 2)", Note: note, Unit: "/min", Samples: []float64{float64(bursts) / min}, Target: &Target{Max: 3}},
		{Name: "7 idle rockond: context switches (all threads)", Note: note, Unit: "/min", Samples: []float64{float64(b.switches-a.switches) / min}},
		{Name: "7 idle rockond: times scheduled (schedstat)", Note: note, Unit: "/min", Samples: []float64{float64(b.runs-a.runs) / min}},
		{Name: "7 idle rockond: CPU time", Note: note, Unit: "ms/min", Samples: []float64{(b.cpu - a.cpu) * 1000 / min}},
	}, nil
}
