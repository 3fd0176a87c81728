package sandbox

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

func TestCgroupDirs(t *testing.T) {
	mountinfo := `25 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
35 30 0:31 /nested /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
`
	self := `5:pids:/nested/a
4:memory:/app/x
3:cpu,cpuacct:/
2:name=systemd:/user.slice
1:blkio:/not-mounted
0::/app
`
	got, err := cgroupDirs(mountinfo, self)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/sys/fs/cgroup/pids/a",
		"/sys/fs/cgroup/memory/app/x",
		"/sys/fs/cgroup/cpu,cpuacct",
		"/sys/fs/cgroup/systemd/user.slice",
		"/sys/fs/cgroup/unified/app",
	}
	if !slices.Equal(got, want) {
		t.Errorf("cgroupDirs:\n got %q\nwant %q", got, want)
	}
	if _, err := cgroupDirs(mountinfo, "5:pids:/elsewhere\n"); err == nil {
		t.Error("a cgroup outside the mount's root was accepted")
	}
	if _, err := cgroupDirs("25 1 254:0 / / rw - ext4 /dev/vda rw\n", self); err == nil {
		t.Error("no cgroup mounts: no error")
	}
}

func TestRootfsArchive(t *testing.T) {
	b, err := rootfsArchive([]byte("#!prog"), "2")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	modes := map[string]int64{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		files[h.Name], modes[h.Name] = string(data), h.Mode
	}
	if files["rockon-test"] != "#!prog" || modes["rockon-test"] != 0o755 {
		t.Errorf("program entry: %q mode %o", files["rockon-test"], modes["rockon-test"])
	}
	if files["rockon-test-version"] != "2\n" {
		t.Errorf("version marker: %q", files["rockon-test-version"])
	}
	if modes["tmp/"] != 0o1777 {
		t.Errorf("/tmp mode %o", modes["tmp/"])
	}
	again, _ := rootfsArchive([]byte("#!prog"), "2")
	if !bytes.Equal(b, again) {
		t.Error("archive is not reproducible")
	}
	other, _ := rootfsArchive([]byte("#!prog"), "1")
	if bytes.Equal(b, other) {
		t.Error("versions 1 and 2 have the same archive")
	}
}

func TestCheckOutsidePrivate(t *testing.T) {
	for _, d := range []string{"/tmp", "/tmp/x", "/run/a", "/var/tmp/b"} {
		if checkOutsidePrivate(d) == nil {
			t.Errorf("%s accepted as a sandbox directory", d)
		}
	}
	for _, d := range []string{"/var/lib/rockon-sandbox/x", "/tmpfoo", "/srv/run"} {
		if err := checkOutsidePrivate(d); err != nil {
			t.Errorf("%s refused: %v", d, err)
		}
	}
}

func TestHostPathWhenStopped(t *testing.T) {
	s := &Sandbox{dir: "/var/lib/rockon-sandbox/x"}
	for in, want := range map[string]string{
		"/etc/rockon/rockond.toml":          "/var/lib/rockon-sandbox/x/overlay/etc/upper/rockon/rockond.toml",
		"var/lib/rockon/a":                  "/var/lib/rockon-sandbox/x/overlay/var/upper/lib/rockon/a",
		"/var/lib/containers/storage/x":     "/var/lib/rockon-sandbox/x/storage/containers/storage/x",
		"/var/lib/docker":                   "/var/lib/rockon-sandbox/x/storage/docker",
		"/srv/rockon/../rockon/share/./f":   "/var/lib/rockon-sandbox/x/overlay/srv/upper/rockon/share/f",
		"/var/lib/containersX/not-storage":  "/var/lib/rockon-sandbox/x/overlay/var/upper/lib/containersX/not-storage",
		"/etc/systemd/system/a.service":     "/var/lib/rockon-sandbox/x/overlay/etc/upper/systemd/system/a.service",
		"/../../etc/systemd/system/b.timer": "/var/lib/rockon-sandbox/x/overlay/etc/upper/systemd/system/b.timer",
	} {
		if got := s.HostPath(in); got != want {
			t.Errorf("HostPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// short skips integration tests in -short mode: the test command runs unit tests with
// -short -race first, then everything without -short (where CI=true forbids skipping).
func short(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test (boots systemd): not in -short mode")
	}
}

// curl fetches a URL from inside the sandbox's network namespace, retrying while the
// server comes up.
func curl(t *testing.T, s *Sandbox, url string) string {
	t.Helper()
	var out []byte
	var err error
	for range 50 {
		out, err = s.Command(context.Background(), "curl", "-sS", "--fail-with-body", "-m", "5", url).CombinedOutput()
		if err == nil {
			return string(out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("curl %s: %v: %s", url, err, out)
	return ""
}

func TestBootBusJournal(t *testing.T) {
	short(t)
	hostTmp := t.TempDir() // host /tmp: must not be visible inside, nor touched
	if err := os.WriteFile(filepath.Join(hostTmp, "keep"), []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := New(t, Options{})

	if got := strings.TrimSpace(s.Run(t, "systemctl", "is-system-running")); got != "running" {
		t.Errorf("is-system-running = %q", got)
	}
	if got := strings.TrimSpace(s.Run(t, "hostname")); got != "rockon-sandbox" {
		t.Errorf("hostname = %q", got)
	}
	if out := s.Run(t, "busctl", "--system", "--no-pager", "list"); !strings.Contains(out, "org.freedesktop.systemd1") {
		t.Errorf("busctl list lacks systemd:\n%s", out)
	}
	if out := s.Run(t, "gdbus", "call", "--system", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus", "--method", "org.freedesktop.DBus.GetId"); !strings.HasPrefix(out, "('") {
		t.Errorf("gdbus GetId: %q", out)
	}

	// The system bus from the host process, as the daemon's and CLI's tests use it.
	conn, err := dbus.Connect(s.SystemBusAddress())
	if err != nil {
		t.Fatalf("connecting to %s: %v", s.SystemBusAddress(), err)
	}
	defer conn.Close()
	v, err := conn.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").GetProperty("org.freedesktop.systemd1.Manager.Virtualization")
	if err != nil {
		t.Fatalf("reading systemd's Virtualization over D-Bus: %v", err)
	}
	if v.Value() != "container-other" {
		t.Errorf("systemd sees virtualization %v, want container-other (container=rockon-sandbox)", v.Value())
	}

	// journald: a unit's output is found by unit name.
	s.Run(t, "systemd-run", "--unit=hello", "-p", "Type=oneshot", "--wait", "/bin/echo", "marker-from-hello-unit")
	// Both the unit's output and systemd's own messages about it, as on a real system.
	if out := s.Run(t, "journalctl", "-u", "hello", "--no-pager", "-o", "cat"); !strings.Contains(out, "marker-from-hello-unit") || !strings.Contains(out, "hello.service: Deactivated successfully") {
		t.Errorf("journalctl -u hello:\n%s", out)
	}

	// Private file systems: nothing written inside reaches the host.
	s.Run(t, "sh", "-c", "echo in >/tmp/sandbox-marker && echo in >/etc/rockon/sandbox-marker && echo in >/usr/local/sandbox-marker")
	for _, p := range []string{"/tmp/sandbox-marker", "/etc/rockon/sandbox-marker", "/usr/local/sandbox-marker"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s written inside the sandbox appeared on the host", p)
		}
		if b, err := os.ReadFile(s.HostPath(p)); err != nil || string(b) != "in\n" {
			t.Errorf("HostPath(%s): %q, %v", p, b, err)
		}
	}
	if out, err := s.Command(context.Background(), "ls", hostTmp).CombinedOutput(); err == nil {
		t.Errorf("the host's %s is visible inside: %s", hostTmp, out)
	}
	if b, err := os.ReadFile(filepath.Join(hostTmp, "keep")); err != nil || string(b) != "host" {
		t.Errorf("host temp file changed: %q %v", b, err)
	}

	// The whole tree can be walked: the sandboxes' own directories, whose overlay upper
	// layers cannot be entered through the overlay, are hidden inside.
	if out, err := s.Command(context.Background(), "find", "/var", "/etc", "/srv", "-xdev").CombinedOutput(); err != nil {
		t.Errorf("find /var /etc /srv inside the sandbox: %v\n%s", err, lastLines(string(out), 5))
	}

	// Programs built into the shared directory run inside, at the same path.
	dir := filepath.Join(SharedDir(), "bin-test-"+randomID())
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := buildPackages(dir, "./testimage"); err != nil {
		t.Fatal(err)
	}
	s.Run(t, filepath.Join(dir, "testimage"), "true")
}

func TestPodman(t *testing.T) {
	short(t)
	s := New(t, Options{})
	s.LoadTestImages(t, "podman")
	engineChecks(t, s, "podman")
}

func TestDocker(t *testing.T) {
	short(t)
	s := New(t, Options{Docker: true})
	if got := strings.TrimSpace(s.Run(t, "docker", "info", "--format", "{{.CgroupDriver}}")); got != "systemd" {
		t.Errorf("docker cgroup driver %q, want systemd (containers stay in the sandbox's cgroup tree)", got)
	}
	s.LoadTestImages(t, "docker")
	engineChecks(t, s, "docker")
}

// engineChecks: test images, published ports, names on a user network, a container as
// a unit with its output in the journal.
func engineChecks(t *testing.T, s *Sandbox, engine string) {
	id1 := strings.TrimSpace(s.Run(t, engine, "image", "inspect", "--format", "{{.Id}}", TestImage+":1"))
	id2 := strings.TrimSpace(s.Run(t, engine, "image", "inspect", "--format", "{{.Id}}", TestImage+":2"))
	if id1 == "" || id1 == id2 {
		t.Errorf("image IDs of :1 and :2: %q %q", id1, id2)
	}
	if err := s.Command(context.Background(), engine, "run", "--rm", TestImage+":broken").Run(); err == nil || exitStatus(err) != 1 {
		t.Errorf("%s run :broken: %v, want exit status 1", engine, err)
	}
	s.Run(t, engine, "run", "--rm", TestImage+":1", "true")

	s.Run(t, engine, "run", "-d", "--name", "web", "-p", "18080:8080", "-e", "GREETING=hi there", TestImage+":2")
	if got := curl(t, s, "http://127.0.0.1:18080/version"); got != "2\n" {
		t.Errorf("/version through the published port = %q", got)
	}
	if got := curl(t, s, "http://127.0.0.1:18080/env"); !strings.Contains(got, "GREETING=hi there\n") {
		t.Errorf("/env lacks GREETING:\n%s", got)
	}

	s.Run(t, engine, "network", "create", "rocknet")
	s.Run(t, engine, "run", "-d", "--name", "backend", "--network", "rocknet", TestImage+":1")
	s.Run(t, engine, "run", "-d", "--name", "frontend", "--network", "rocknet", "-p", "18081:8080", TestImage+":1")
	if got := curl(t, s, "http://127.0.0.1:18081/connect?addr=backend:8080"); got != "ok\n" {
		t.Errorf("frontend -> backend by name: %q", got)
	}

	// SIGTERM ends the program with status 0.
	s.Run(t, engine, "stop", "web")
	if got := strings.TrimSpace(s.Run(t, engine, "inspect", "--format", "{{.State.ExitCode}}", "web")); got != "0" {
		t.Errorf("exit code after %s stop: %s", engine, got)
	}

	// A container run in the foreground by a unit logs to the journal.
	s.Run(t, "systemd-run", "--unit=unit-web", "--", engine, "run", "--rm", "--name", "unit-web", "-p", "18082:8080", TestImage+":1")
	if got := curl(t, s, "http://127.0.0.1:18082/version"); got != "1\n" {
		t.Errorf("/version of the unit's container = %q", got)
	}
	if out := s.Run(t, "journalctl", "-u", "unit-web", "--no-pager", "-o", "cat"); !strings.Contains(out, "rockon-test: version 1 listening") {
		t.Errorf("journalctl -u unit-web lacks the container's output:\n%s", out)
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func exitStatus(err error) int {
	var ee interface{ ExitCode() int }
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

func TestReboot(t *testing.T) {
	short(t)
	s := New(t, Options{})
	s.LoadTestImages(t, "podman")
	unit := "[Unit]\nDescription=comes back after reboot\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
	if err := os.WriteFile(s.HostPath("/etc/systemd/system/marker.service"), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Run(t, "systemctl", "daemon-reload")
	s.Run(t, "systemctl", "enable", "--now", "marker.service")
	s.Run(t, "sh", "-c", "echo kept >/var/lib/rockon/state && echo kept >/srv/rockon/share && echo gone >/tmp/volatile && echo gone >/run/volatile")
	oldPID := s.PID

	s.Reboot(t)
	if s.PID == oldPID {
		t.Errorf("PID 1 is the same after reboot (%d)", s.PID)
	}
	if got := strings.TrimSpace(s.Run(t, "systemctl", "is-active", "marker.service")); got != "active" {
		t.Errorf("enabled unit after reboot: %s", got)
	}
	if got := s.Run(t, "cat", "/var/lib/rockon/state", "/srv/rockon/share"); got != "kept\nkept\n" {
		t.Errorf("persistent files after reboot: %q", got)
	}
	for _, p := range []string{"/tmp/volatile", "/run/volatile"} {
		if s.Command(context.Background(), "test", "-e", p).Run() == nil {
			t.Errorf("%s survived the reboot", p)
		}
	}
	s.Run(t, "podman", "image", "inspect", TestImage+":2")
}

func TestStopLeavesNothing(t *testing.T) {
	short(t)
	RequireRoot(t)
	s, err := Start(Options{Docker: true})
	if err != nil {
		t.Fatal(err)
	}
	dir, pidns, cgroups := s.Dir(), s.PIDNS, s.Cgroups
	if err := s.LoadImages(context.Background(), "docker"); err != nil {
		t.Error(err)
	}
	if err := s.LoadImages(context.Background(), "podman"); err != nil {
		t.Error(err)
	}
	for _, args := range [][]string{
		{"docker", "run", "-d", TestImage + ":1", "sleep"},
		{"podman", "run", "-d", TestImage + ":1", "sleep"},
		{"systemd-run", "--unit=stray", "sleep", "1000"},
	} {
		if out, err := s.Command(context.Background(), args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%v: %v %s", args, err, out)
		}
	}
	// A process started from outside systemd, detached into its own session.
	if err := s.Command(context.Background(), "setsid", "-f", "sleep", "1000").Run(); err != nil {
		t.Error(err)
	}
	if len(nsProcs(pidns)) < 8 {
		t.Errorf("expected systemd, dbus, journald, dockerd, containerd, shims, conmon, sleepers; found %s", describeProcs(nsProcs(pidns)))
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if left := nsProcs(pidns); len(left) > 0 {
		t.Errorf("processes left in the sandbox's PID namespace: %s", describeProcs(left))
	}
	for _, cg := range cgroups {
		if _, err := os.Stat(cg); err == nil {
			t.Errorf("cgroup %s left behind", cg)
		}
	}
	if _, err := os.Stat(dir); err == nil && os.Getenv("ROCKON_SANDBOX_KEEP") == "" {
		t.Errorf("sandbox directory %s left behind", dir)
	}
}

// Two sandboxes at once publish the same port without seeing each other.
func TestParallelSandboxesAreIsolated(t *testing.T) {
	short(t)
	a, b := New(t, Options{}), New(t, Options{})
	for i, s := range []*Sandbox{a, b} {
		s.LoadTestImages(t, "podman")
		s.Run(t, "podman", "run", "-d", "-p", "18080:8080", TestImage+":"+[]string{"1", "2"}[i])
	}
	if got := curl(t, a, "http://127.0.0.1:18080/version"); got != "1\n" {
		t.Errorf("sandbox a answers %q", got)
	}
	if got := curl(t, b, "http://127.0.0.1:18080/version"); got != "2\n" {
		t.Errorf("sandbox b answers %q", got)
	}
}

// VendorUnits: a unit installed where packages put theirs is found and enabled, survives a
// reboot, and the host's own vendor units stay out of reach.
func TestVendorUnits(t *testing.T) {
	short(t)
	s := New(t, Options{VendorUnits: true})
	if out, _ := s.Command(context.Background(), "systemctl", "cat", "systemd-tmpfiles-setup.service").CombinedOutput(); !strings.Contains(string(out), "No files found") {
		t.Errorf("the host's systemd-tmpfiles-setup.service is loadable in the sandbox:\n%s", out)
	}
	unit := "[Unit]\nDescription=vendor unit\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n"
	if err := os.WriteFile(s.HostPath("/usr/lib/systemd/system/vendor-marker.service"), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/usr/lib/systemd/system/vendor-marker.service"); err == nil {
		t.Error("the vendor unit appeared on the host")
	}
	s.Run(t, "systemctl", "daemon-reload")
	s.Run(t, "systemctl", "enable", "--now", "vendor-marker.service")
	s.Reboot(t)
	if got := strings.TrimSpace(s.Run(t, "systemctl", "is-active", "vendor-marker.service")); got != "active" {
		t.Errorf("enabled vendor unit after reboot: %s", got)
	}
}

// BenchmarkBootStop measures a sandbox's whole life: boot to "running", orderly stop,
// checks, removal of its directory.
func BenchmarkBootStop(b *testing.B) {
	RequireRoot(b)
	for _, docker := range []bool{false, true} {
		name := "systemd"
		if docker {
			name = "systemd+dockerd"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				s, err := Start(Options{Docker: docker})
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Stop(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadTestImages measures importing the three cached test image archives.
func BenchmarkLoadTestImages(b *testing.B) {
	s := New(b, Options{})
	if _, err := BuildTestImages(context.Background()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s.LoadTestImages(b, "podman")
		b.StopTimer()
		s.Run(b, "podman", "rmi", "-a", "-f")
		b.StartTimer()
	}
}

// A test sandbox whose process died is removed by the next one; one whose owner still
// holds its lock (booting, halting, rebooting) and one halted on purpose are not.
func TestRemoveStaleSandboxes(t *testing.T) {
	base := t.TempDir()
	t.Setenv("ROCKON_SANDBOX_BASE", base)
	write := func(name, state string) string {
		d := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Join(d, "overlay", "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, stateFile), []byte(state), 0o644); err != nil {
			t.Fatal(err)
		}
		// Every sandbox's owner creates its lock file first.
		if err := os.WriteFile(filepath.Join(d, ".lock"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return d
	}
	// PID 2^22+1 is above pid_max: never alive.
	dead := write("sb-dead", `{"pid": 4194305, "pidns": "pid:[1]"}`)
	locked := write("sb-locked", `{"pid": 4194305, "pidns": "pid:[1]"}`)
	halted := write("sb-halted", `{"pid": 0, "pidns": "pid:[1]"}`)
	other := write("demo", `{"pid": 4194305, "pidns": "pid:[1]"}`)
	// Its owner is removing it: the lock file is already unlinked, the rest not yet.
	removing := write("sb-removing", `{"pid": 4194305, "pidns": "pid:[1]"}`)
	if err := os.Remove(filepath.Join(removing, ".lock")); err != nil {
		t.Fatal(err)
	}
	lock, err := lockDir(locked)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()

	removeStaleSandboxes()
	if _, err := os.Stat(dead); err == nil {
		t.Error("the dead sandbox's directory was kept")
	}
	for _, d := range []string{locked, halted, other, removing} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s was removed", d)
		}
	}
	// A lock file made here would let the owner's rmdir fail "directory not empty".
	if _, err := os.Stat(filepath.Join(removing, ".lock")); err == nil {
		t.Error("the sweep created a lock file in a directory its owner is removing")
	}
	if _, err := lockDir(locked); err == nil {
		t.Error("a locked directory could be locked again")
	}
}
