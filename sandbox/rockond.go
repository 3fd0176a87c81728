package sandbox

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// Rockond is how a test boots rockond as rockon.service in the sandbox: every test package
// that talks to the daemon goes through it, so the unit, the D-Bus policy and the order of the
// steps are the same everywhere.
type Rockond struct {
	// Config is /etc/rockon/rockond.toml.
	Config string
	// Unit is /etc/systemd/system/rockon.service; empty means TestUnit of the freshly built
	// rockond with no extra lines.
	Unit string
	// Definitions are files (name -> JSON) for /etc/rockon/rockons.d.
	Definitions map[string]string
}

// ModuleRoot is the repository's directory, found from the working directory.
func ModuleRoot() (string, error) { return moduleRoot() }

// WriteFile writes content to path inside the sandbox with mode, making its directories.
func (s *Sandbox) WriteFile(path, content string, mode os.FileMode) error {
	return writeFile(s.HostPath(path), content, mode)
}

func writeFile(hostPath, content string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(hostPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(hostPath, []byte(content), mode); err != nil {
		return err
	}
	// the mode asked for, whatever the umask or an earlier file's mode
	return os.Chmod(hostPath, mode)
}

// Write is WriteFile failing the test on error.
func (s *Sandbox) Write(t testing.TB, path, content string, mode os.FileMode) {
	t.Helper()
	WriteHost(t, s.HostPath(path), content, mode)
}

// WriteHost writes content to hostPath (a path on the host, such as one from HostPath),
// making its directories, failing the test on error.
func WriteHost(t testing.TB, hostPath, content string, mode os.FileMode) {
	t.Helper()
	if err := writeFile(hostPath, content, mode); err != nil {
		t.Fatal(err)
	}
}

// TestUnit is a rockon.service running rockond (a path inside the sandbox) as the tests
// want it: ready when it says so, restarted when it fails, enabled at boot. service holds
// more [Service] lines (a watchdog, resource bounds).
func TestUnit(rockond, service string) string {
	if service != "" && !strings.HasSuffix(service, "\n") {
		service += "\n"
	}
	return fmt.Sprintf(`[Unit]
Description=rockon daemon (test)
After=docker.service test-catalog.service
StartLimitIntervalSec=0
[Service]
Type=notify
NotifyAccess=main
BusName=org.rockon.rockon1
ExecStart=%s --config /etc/rockon/rockond.toml
Restart=on-failure
RestartSec=1s
%s[Install]
WantedBy=multi-user.target
`, rockond, service)
}

// ShippedUnit is the repository's rockon.service with its ExecStart= running command instead
// of the installed binary; nothing else changes: the confinement as shipped.
func ShippedUnit(command string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "rockon.service"))
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(b), "\n")
	n := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "ExecStart=") {
			lines[i] = "ExecStart=" + command
			n++
		}
	}
	if n != 1 {
		return "", fmt.Errorf("rockon.service has %d ExecStart= lines, want 1", n)
	}
	return strings.Join(lines, "\n"), nil
}

// InstallRockond writes r's definitions, configuration and unit and the packaged D-Bus policy,
// and has the bus and systemd read them again; it does not start rockond.
func (s *Sandbox) InstallRockond(ctx context.Context, r Rockond) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	policy, err := os.ReadFile(filepath.Join(root, "packaging/dbus/org.rockon.rockon1.conf"))
	if err != nil {
		return err
	}
	files := [][2]string{
		{"/etc/rockon/rockond.toml", r.Config},
		{"/etc/dbus-1/system.d/org.rockon.rockon1.conf", string(policy)},
		{"/etc/systemd/system/rockon.service", r.Unit},
	}
	for name, def := range r.Definitions {
		files = append(files, [2]string{"/etc/rockon/rockons.d/" + name, def})
	}
	for _, f := range files {
		if err := s.WriteFile(f[0], f[1], 0o644); err != nil {
			return err
		}
	}
	for _, c := range [][]string{
		{"busctl", "call", "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "ReloadConfig"},
		{"systemctl", "daemon-reload"},
	} {
		if out, err := s.Command(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("in sandbox: %s: %v\n%s", strings.Join(c, " "), err, out)
		}
	}
	return nil
}

// BootRockond installs rockond as r says (InstallRockond) and starts it, enabled at boot; it
// returns once rockond is ready (the unit is Type=notify).
func (s *Sandbox) BootRockond(t testing.TB, r Rockond) {
	t.Helper()
	s.InstallRockondForTest(t, r)
	s.Run(t, "systemctl", "enable", "--now", "rockon.service")
}

// InstallRockondForTest is InstallRockond failing the test on error, for tests that prepare
// more before rockond starts; an empty Unit is TestUnit of Binaries' rockond.
func (s *Sandbox) InstallRockondForTest(t testing.TB, r Rockond) {
	t.Helper()
	if r.Unit == "" {
		r.Unit = TestUnit(filepath.Join(Binaries(t), "rockond"), "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.InstallRockond(ctx, r); err != nil {
		t.Fatal(err)
	}
}

// ServeCatalog runs a catalog server (python's http.server, as test-catalog.service) on
// 127.0.0.1:port inside the sandbox, serving dir, and returns once it answers.
func (s *Sandbox) ServeCatalog(t testing.TB, dir, port string) {
	t.Helper()
	s.Write(t, "/etc/systemd/system/test-catalog.service", fmt.Sprintf(`[Unit]
Description=test catalog server
Before=rockon.service
[Service]
WorkingDirectory=%s
ExecStart=/usr/bin/python3 -m http.server --bind 127.0.0.1 %s
Restart=always
[Install]
WantedBy=multi-user.target
`, dir, port), 0o644)
	s.Run(t, "mkdir", "-p", dir)
	s.Run(t, "systemctl", "daemon-reload")
	s.Run(t, "systemctl", "enable", "--now", "test-catalog.service")
	for deadline := time.Now().Add(30 * time.Second); ; {
		err := s.Command(context.Background(), "curl", "-sfo", "/dev/null", "http://127.0.0.1:"+port+"/").Run()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the catalog server on port %s does not answer: %v", port, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Settings are rockond.toml's keys by table.
type Settings map[string]map[string]any

// Config is a rockond.toml for the tests: engine, definitions from /etc/rockon/rockons.d only
// (no remote catalog), no metrics, volumes under /srv/rockon, 60 s to start and to stop; set
// adds or replaces keys.
func Config(engine string, set Settings) string {
	c := Settings{
		"engine":    {"name": engine},
		"metastore": {"remote_url": "", "local_dir": "/etc/rockon/rockons.d"},
		"volumes":   {"allowed_roots": []string{"/srv/rockon"}},
		"metrics":   {"listen": ""},
		"timeouts":  {"start": "60s", "stop": "60s"},
	}
	for table, keys := range set {
		if c[table] == nil {
			c[table] = map[string]any{}
		}
		maps.Copy(c[table], keys)
	}
	b, err := toml.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("encoding the test configuration: %v", err)) // only plain values above
	}
	return string(b)
}

// RemoteCatalog are the settings of a catalog served on 127.0.0.1:port (ServeCatalog).
func RemoteCatalog(port string) map[string]any {
	return map[string]any{"remote_url": "http://127.0.0.1:" + port + "/", "root_file": "root.json", "local_dir": ""}
}
