package daemon_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rockon/rockon/sandbox"
)

// shippedTimers are the timers the package ships, each with its service.
var shippedTimers = []string{"rockon-catalog-refresh", "rockon-auto-update"}

// installTimers writes the shipped timers and their services into the
// sandbox, the services calling the test's rockon instead of
// /usr/bin/rockon, and a drop-in per timer that makes it elapse a moment
// after it starts instead of on its calendar.
func installTimers(t *testing.T, s *sandbox.Sandbox) {
	t.Helper()
	rockon := filepath.Join(sandbox.Binaries(t), "rockon")
	for _, name := range shippedTimers {
		for _, ext := range []string{".service", ".timer"} {
			b, err := os.ReadFile(filepath.Join(moduleRoot(t), "packaging", "systemd", name+ext))
			if err != nil {
				t.Fatal(err)
			}
			text := string(b)
			if ext == ".service" {
				if !strings.Contains(text, "\nExecStart=/usr/bin/rockon ") {
					t.Fatalf("%s%s does not run /usr/bin/rockon", name, ext)
				}
				text = strings.Replace(text, "\nExecStart=/usr/bin/rockon ", "\nExecStart="+rockon+" ", 1)
			}
			writeFile(t, s.HostPath("/etc/systemd/system/"+name+ext), text, 0o644)
		}
		writeFile(t, s.HostPath("/etc/systemd/system/"+name+".timer.d/test.conf"),
			"[Timer]\nOnCalendar=\nOnActiveSec=1s\nAccuracySec=1us\nRandomizedDelaySec=0\n", 0o644)
	}
	s.Run(t, "systemctl", "daemon-reload")
}

// fireTimer (re)starts NAME.timer, waits until the timer has started
// NAME.service and that run has ended, and returns the run's output.
func fireTimer(t *testing.T, s *sandbox.Sandbox, name string) string {
	t.Helper()
	show := func() map[string]string {
		out := s.Run(t, "systemctl", "show", "-p", "ExecMainExitTimestampMonotonic,ActiveState,InvocationID,Result", name+".service")
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			k, v, _ := strings.Cut(l, "=")
			m[k] = v
		}
		return m
	}
	before := show()["ExecMainExitTimestampMonotonic"]
	// where the journal is now: the run's lines come after it
	cursor := ""
	for _, l := range strings.Split(s.Run(t, "journalctl", "--no-pager", "-n", "1", "--show-cursor", "-o", "cat"), "\n") {
		if c, ok := strings.CutPrefix(l, "-- cursor: "); ok {
			cursor = c
		}
	}
	if cursor == "" {
		t.Fatal("journalctl gave no cursor")
	}
	triggered := s.Run(t, "systemctl", "show", "--value", "-p", "LastTriggerUSecMonotonic", name+".timer")
	s.Run(t, "systemctl", "restart", name+".timer")
	var now map[string]string
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		now = show()
		if exit := now["ExecMainExitTimestampMonotonic"]; exit != before && exit != "0" && (now["ActiveState"] == "inactive" || now["ActiveState"] == "failed") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s.timer did not run %s.service: %v", name, name, now)
		}
	}
	if again := s.Run(t, "systemctl", "show", "--value", "-p", "LastTriggerUSecMonotonic", name+".timer"); again == triggered {
		t.Errorf("%s.service ran, but not started by its timer", name)
	}
	if now["Result"] != "success" {
		t.Errorf("%s.service: result %s", name, now["Result"])
	}
	var out string
	for i := 0; i < 50; i++ {
		s.Run(t, "journalctl", "--sync")
		// the service's own lines (its command's output), not systemd's
		// about it: by invocation, or, as journald may take a short run's
		// output after its cgroup (which names the invocation) is gone, by
		// the command's name after the cursor
		out = s.Run(t, "journalctl", "--no-pager", "-o", "cat", "_SYSTEMD_INVOCATION_ID="+now["InvocationID"])
		if strings.TrimSpace(out) == "" {
			out = s.Run(t, "journalctl", "--no-pager", "-o", "cat", "--after-cursor="+cursor, "SYSLOG_IDENTIFIER=rockon")
		}
		if strings.TrimSpace(out) != "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return out
}
