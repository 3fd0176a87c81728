package sandbox

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// WaitUntil asks ok again and again until it says yes, and fails the test
// when d has passed first: for what a sandbox reaches in its own time (a
// unit's state, a container, a record the daemon writes).
func WaitUntil(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// HTTPGet asks the sandbox's curl for a URL on its loopback (the sandbox has
// its own network namespace), retrying while the server comes up.
func (s *Sandbox) HTTPGet(t testing.TB, url string) string {
	t.Helper()
	return s.Run(t, "curl", "-sS", "--fail", "--max-time", "5", "--retry", "30", "--retry-delay", "1",
		"--retry-connrefused", "--retry-all-errors", url)
}

// ExecArgv reads an Exec*= property of a service over D-Bus with busctl:
// systemd's own parse of the unit file, one argv per command.
func (s *Sandbox) ExecArgv(t testing.TB, unit, prop string) [][]string {
	t.Helper()
	var obj struct {
		Data []string `json:"data"`
	}
	out := s.Run(t, "busctl", "--json=short", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
		"org.freedesktop.systemd1.Manager", "LoadUnit", "s", unit)
	if err := json.Unmarshal([]byte(out), &obj); err != nil || len(obj.Data) != 1 {
		t.Fatalf("LoadUnit %s: %v: %s", unit, err, out)
	}
	out = s.Run(t, "busctl", "--json=short", "get-property", "org.freedesktop.systemd1", obj.Data[0],
		"org.freedesktop.systemd1.Service", prop)
	var v struct {
		Data [][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%s %s: %v: %s", unit, prop, err, out)
	}
	var cmds [][]string
	for _, c := range v.Data {
		var argv []string
		if len(c) < 2 || json.Unmarshal(c[1], &argv) != nil || len(argv) == 0 {
			t.Fatalf("%s %s: unexpected shape: %s", unit, prop, out)
		}
		cmds = append(cmds, argv)
	}
	return cmds
}

// StartPolkit installs the polkit policy file at policyFile (a host path),
// a rules file holding rules (JavaScript, as polkit reads from rules.d) and a
// unit for Debian's polkitd, then starts it on the sandbox's system bus.
func (s *Sandbox) StartPolkit(t testing.TB, policyFile, rules string) {
	t.Helper()
	policy, err := os.ReadFile(policyFile)
	if err != nil {
		t.Fatal(err)
	}
	write := func(p, content string) {
		p = s.HostPath(p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("/usr/share/polkit-1/actions/"+filepath.Base(policyFile), string(policy))
	write("/etc/polkit-1/rules.d/50-test.rules", rules)
	write("/etc/systemd/system/polkit.service", `[Unit]
Description=Authorization Manager (test)
[Service]
Type=dbus
BusName=org.freedesktop.PolicyKit1
ExecStart=/usr/lib/polkit-1/polkitd --no-debug
`)
	s.Run(t, "systemctl", "daemon-reload")
	s.Run(t, "systemctl", "start", "polkit.service")
}
