package sandbox

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"
)

// PrivateBus starts a dbus-daemon of the test's own on the host (no
// systemd sandbox) and returns its address; it is stopped when the test
// ends. Without dbus-daemon the test is skipped.
func PrivateBus(t testing.TB) string {
	t.Helper()
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address", "--address=unix:tmpdir="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Skipf("dbus-daemon: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(addr)
}
