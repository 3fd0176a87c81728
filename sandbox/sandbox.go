// Package sandbox boots a real systemd (as PID 1, with a system D-Bus and journald, and
// dockerd on demand) inside private namespaces, for tests and demos on machines whose PID 1
// is not systemd. Everything the sandbox writes lands in its own directory: /etc, /var,
// /usr, /srv, /root, /home and /opt are overlays whose upper layers live there, /run, /tmp
// and /var/tmp are tmpfs, and the network is a private namespace with only loopback (plus
// whatever bridges podman and docker create in it). The host's files, processes and network
// stay as they were.
//
// Environment: ROCKON_SANDBOX_BASE (default /var/lib/rockon-sandbox) holds the sandboxes'
// directories; ROCKON_SANDBOX_KEEP=1 keeps a test's sandbox directory after it ends;
// ROCKON_SANDBOX_RUN tags directory and cgroup names (sb-RUN-*, rockon-sandbox-RUN-*).
package sandbox

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

//go:embed boot.sh
var bootScript []byte

// Options chooses what a sandbox runs.
type Options struct {
	// Docker starts dockerd (docker.service) at boot, and again after each Reboot.
	Docker bool
	// VendorUnits puts a private, persistent and initially empty /usr/lib/systemd/system
	// in systemd's unit path, for tests that install packages shipping units. (Without
	// it, the host's vendor units are visible there but not in the unit path.)
	VendorUnits bool
	// Registry runs a container registry (Debian's docker-registry) inside the sandbox,
	// over HTTPS on 127.0.0.1:443, standing in for Docker Hub and the other RegistryHosts:
	// their names resolve to it and its certificate is trusted system-wide. See
	// PushTestImage.
	Registry bool
	// StorageSize, when set ("600m"), puts /var/lib/containers and /var/lib/docker each
	// on a tmpfs of that size, a filesystem of their own that a test can fill (see
	// FillStorage); their content does not survive Reboot.
	StorageSize string
	// Dir is the sandbox's persistent directory. Empty: a fresh directory under the base
	// directory, removed when the sandbox stops (unless ROCKON_SANDBOX_KEEP=1).
	Dir string
}

// Sandbox is a running (or stopped) systemd in private namespaces.
type Sandbox struct {
	opt    Options
	dir    string
	owned  bool     // dir was made by the sandbox and is removed with it
	tied   bool     // killed when this process dies
	nsFile *os.File // the PID namespace, held open while booted by this process
	lock   *os.File // flock on dir/.lock while this process owns the sandbox
	id     string
	boots  int

	// State of the current boot; PID is 0 when stopped.
	PID     int           `json:"pid"` // host PID of the sandbox's systemd
	PIDNS   string        `json:"pidns"`
	Cgroups []string      `json:"cgroups"`
	Docker  bool          `json:"docker"`
	Vendor  bool          `json:"vendor_units"`
	Reg     bool          `json:"registry"`
	done    chan struct{} // closed when the unshare process has been reaped (nil if not ours)
}

const (
	stateFile   = "sandbox.json"
	consoleFile = "console.log"
	bootTimeout = 90 * time.Second
)

// BaseDir is where sandbox directories and the shared directory live on the host. It must
// not be under /tmp, /run or /var/tmp, which are private inside a sandbox.
func BaseDir() string {
	if d := os.Getenv("ROCKON_SANDBOX_BASE"); d != "" {
		return d
	}
	return "/var/lib/rockon-sandbox"
}

// runTag is ROCKON_SANDBOX_RUN followed by a dash, or empty: the test command sets it so
// that the directories and cgroups (hence processes) of its sandboxes can be told apart
// from those of anything else running on the machine.
func runTag() string {
	r := os.Getenv("ROCKON_SANDBOX_RUN")
	if r == "" || strings.ContainsAny(r, "/ \n") {
		return ""
	}
	return r + "-"
}

// SharedDir is a host directory visible at the same path inside every sandbox, live: test
// binaries and test image archives are put there.
func SharedDir() string { return filepath.Join(BaseDir(), "shared") }

// New boots a sandbox for a test and stops it (checking nothing is left) when the test
// ends. It skips the test in -short mode and when not root, unless CI=true, where not
// being root fails the test instead.
func New(t testing.TB, opt Options) *Sandbox {
	t.Helper()
	RequireRoot(t)
	s, err := start(opt, true)
	if err != nil {
		t.Fatalf("booting sandbox: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() && s.PID != 0 {
			out, _ := s.Command(context.Background(), "journalctl", "--no-pager", "-n", "60", "-o", "short-monotonic").CombinedOutput()
			t.Logf("sandbox %s: last journal lines:\n%s", s.dir, out)
		}
		if t.Failed() && os.Getenv("ROCKON_SANDBOX_KEEP") == "" && s.owned {
			t.Logf("set ROCKON_SANDBOX_KEEP=1 to keep the sandbox directory for inspection")
		}
		if err := s.Stop(); err != nil {
			t.Errorf("stopping sandbox: %v", err)
		}
	})
	return s
}

// RequireRoot skips an integration test in -short mode (the unit test pass) and when the
// process is not root; when not root and CI=true it fails instead: integration tests must
// never be skipped in CI.
func RequireRoot(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test (boots systemd): not in -short mode")
	}
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("integration test needs root (CI=true: not skipping)")
	}
	t.Skip("integration test needs root: it boots systemd in private namespaces")
}

// Start boots a sandbox that outlives the calling process (for the CLI); Stop undoes it.
func Start(opt Options) (*Sandbox, error) { return start(opt, false) }

// start boots a sandbox; a tied one dies with the calling process, so that a test binary
// killed by its timeout leaves no systemd behind.
func start(opt Options, tied bool) (*Sandbox, error) {
	s := &Sandbox{opt: opt, dir: opt.Dir, id: randomID(), tied: tied}
	if s.dir == "" {
		if err := os.MkdirAll(BaseDir(), 0o700); err != nil {
			return nil, err
		}
		removeStaleSandboxes()
		d, err := os.MkdirTemp(BaseDir(), "sb-"+runTag())
		if err != nil {
			return nil, err
		}
		s.dir, s.owned = d, true
	} else {
		abs, err := filepath.Abs(s.dir)
		if err != nil {
			return nil, err
		}
		s.dir = abs
		if err := os.MkdirAll(s.dir, 0o700); err != nil {
			return nil, err
		}
	}
	if err := checkOutsidePrivate(s.dir); err != nil {
		return nil, err
	}
	// Held as long as this process owns the sandbox: removeStaleSandboxes in other
	// processes leaves locked directories alone (also while it halts and reboots).
	lock, err := lockDir(s.dir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	if err := s.boot(); err != nil {
		s.lock.Close()
		if s.owned && os.Getenv("ROCKON_SANDBOX_KEEP") == "" {
			os.RemoveAll(s.dir)
		}
		return nil, err
	}
	return s, nil
}

// removeStaleSandboxes removes the directories (and cgroups) of test sandboxes whose
// process died without cleaning up (a test binary killed by its timeout). Sandboxes that
// are booting (no state yet), running, or halted on purpose (kept) are left alone.
func removeStaleSandboxes() {
	dirs, _ := filepath.Glob(filepath.Join(BaseDir(), "sb-*"))
	for _, d := range dirs {
		// Never creates the lock file: its owner unlinks .lock while removing the
		// directory (still holding the flock on the unlinked inode), and a fresh .lock
		// made here would lock fine and leave the owner's rmdir "directory not empty".
		lock, err := openLock(d, 0)
		if err != nil {
			continue // owned by a live process, or being removed by its owner
		}
		b, err := os.ReadFile(filepath.Join(d, stateFile))
		s := &Sandbox{}
		if err != nil || json.Unmarshal(b, s) != nil || s.PID == 0 || s.alive() {
			lock.Close()
			continue
		}
		if len(nsProcs(s.PIDNS)) > 0 || len(cgroupProcs(s.Cgroups)) > 0 {
			continue
		}
		_ = removeCgroups(s.Cgroups)
		_ = removeDir(d)
		lock.Close()
	}
}

// lockDir takes an exclusive, non-blocking flock on dir/.lock; closing the file (or the
// process ending) releases it.
func lockDir(dir string) (*os.File, error) {
	return openLock(dir, os.O_CREATE)
}

// openLock is lockDir with the open flags' creation part chosen by the caller.
func openLock(dir string, create int) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), create|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("sandbox directory %s is in use by another process: %w", dir, err)
	}
	return f, nil
}

// Attach returns the sandbox running from dir (started by another process, e.g. the CLI).
func Attach(dir string) (*Sandbox, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(abs, stateFile))
	if err != nil {
		return nil, fmt.Errorf("no sandbox state in %s: %w", abs, err)
	}
	s := &Sandbox{dir: abs}
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("reading %s: %w", stateFile, err)
	}
	s.opt = Options{Docker: s.Docker, VendorUnits: s.Vendor, Registry: s.Reg, Dir: abs}
	s.id = randomID()
	if s.PID != 0 && !s.alive() {
		s.PID = 0
	}
	return s, nil
}

// Dir is the sandbox's persistent directory on the host.
func (s *Sandbox) Dir() string { return s.dir }

func checkOutsidePrivate(dir string) error {
	for _, p := range []string{"/tmp", "/run", "/var/tmp"} {
		if dir == p || strings.HasPrefix(dir, p+"/") {
			return fmt.Errorf("sandbox directory %s must not be under %s (private inside the sandbox)", dir, p)
		}
	}
	return nil
}

func randomID() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// hardLimit returns the process's hard limit for resource r, capped: podman's default
// ulimits for containers must not exceed what its callers may set.
func hardLimit(r int, fallback uint64) uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(r, &l); err != nil || l.Max == 0 || l.Max > 1<<20 {
		return fallback
	}
	return l.Max
}

func (s *Sandbox) boot() error {
	s.boots++
	script := filepath.Join(s.dir, "boot.sh")
	if err := os.WriteFile(script, bootScript, 0o755); err != nil {
		return err
	}
	if err := os.MkdirAll(SharedDir(), 0o755); err != nil {
		return err
	}
	if s.opt.Registry {
		if err := s.prepareRegistry(); err != nil {
			return fmt.Errorf("preparing the registry: %w", err)
		}
	}
	cgroups, err := makeCgroups(fmt.Sprintf("rockon-sandbox-%s%s-%d", runTag(), s.id, s.boots))
	if err != nil {
		return err
	}
	console, err := os.OpenFile(filepath.Join(s.dir, consoleFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		removeCgroups(cgroups)
		return err
	}
	defer console.Close()
	fmt.Fprintf(console, "---- boot %d at %s\n", s.boots, time.Now().UTC().Format(time.RFC3339))
	flag := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	// RLIMIT_NPROC is 6 on linux/amd64; syscall does not name it.
	const rlimitNproc = 6
	args := []string{"--fork", "--pid", "--mount", "--uts", "--ipc", "--net", "--mount-proc"}
	if s.tied {
		// unshare is killed when this process dies, and then kills PID 1, which takes
		// the whole PID namespace with it.
		args = append(args, "--kill-child=SIGKILL")
	}
	cmd := exec.Command("unshare", append(args, "/bin/bash", script)...)
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"container=rockon-sandbox",
		"SANDBOX_DIR=" + s.dir,
		"SANDBOX_SHARED=" + SharedDir(),
		"SANDBOX_CGROUPS=" + strings.Join(cgroups, "\n"),
		"SANDBOX_DOCKER=" + flag(s.opt.Docker),
		"SANDBOX_VENDOR_UNITS=" + flag(s.opt.VendorUnits),
		"SANDBOX_REGISTRY=" + flag(s.opt.Registry),
		"SANDBOX_STORAGE_SIZE=" + s.opt.StorageSize,
		"SANDBOX_NOFILE=" + strconv.FormatUint(hardLimit(syscall.RLIMIT_NOFILE, 65536), 10),
		"SANDBOX_NPROC=" + strconv.FormatUint(hardLimit(rlimitNproc, 65536), 10),
	}
	cmd.Stdout, cmd.Stderr = console, console
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if s.tied {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	// The parent-death signal follows the thread that forked, not the process: start
	// and wait on one locked thread that lives as long as the sandbox.
	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return // the locked thread ends with this goroutine
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		removeCgroups(cgroups)
		return fmt.Errorf("starting unshare: %w", err)
	}
	s.done, s.Cgroups, s.Docker, s.Vendor, s.Reg = done, cgroups, s.opt.Docker, s.opt.VendorUnits, s.opt.Registry

	fail := func(err error) error {
		tail := consoleTail(filepath.Join(s.dir, consoleFile), 30)
		_ = s.halt()
		return fmt.Errorf("%w\nconsole (%s):\n%s", err, filepath.Join(s.dir, consoleFile), tail)
	}
	deadline := time.Now().Add(bootTimeout)
	for s.PID == 0 || !isSystemd(s.PID) {
		select {
		case <-done:
			return fail(errors.New("sandbox exited during boot"))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fail(errors.New("systemd did not start"))
		}
		if s.PID == 0 {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", cmd.Process.Pid, cmd.Process.Pid)); err == nil {
				if f := strings.Fields(string(b)); len(f) > 0 {
					s.PID, _ = strconv.Atoi(f[0])
				}
			}
		}
	}
	ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", s.PID))
	if err != nil {
		return fail(err)
	}
	// Holding the namespace open keeps its inode number from being given to another
	// sandbox's namespace before halt has checked that no process is left in it.
	if s.nsFile, err = os.Open(fmt.Sprintf("/proc/%d/ns/pid", s.PID)); err != nil {
		return fail(err)
	}
	s.PIDNS = ns
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	// systemctl cannot connect until systemd has made its private socket; --wait does
	// not retry that part.
	var out []byte
	for {
		out, err = s.Command(ctx, "systemctl", "is-system-running", "--wait").CombinedOutput()
		if !strings.Contains(string(out), "Failed to connect to bus") || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if state := strings.TrimSpace(string(out)); err != nil || state != "running" {
		failed, _ := s.Command(context.Background(), "systemctl", "--failed", "--no-legend").CombinedOutput()
		return fail(fmt.Errorf("system state %q (%v); failed units:\n%s", state, err, failed))
	}
	if s.opt.Docker {
		if out, err := s.Command(ctx, "docker", "info", "--format", "{{.ServerVersion}} {{.CgroupDriver}}").CombinedOutput(); err != nil {
			return fail(fmt.Errorf("dockerd is not answering: %v: %s", err, out))
		}
	}
	return s.saveState()
}

func (s *Sandbox) saveState() error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.dir, stateFile), b, 0o644)
}

func isSystemd(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && filepath.Base(exe) == "systemd"
}

// alive reports whether the sandbox's PID 1 still runs (and is the one booted).
func (s *Sandbox) alive() bool {
	if s.PID == 0 {
		return false
	}
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", s.PID))
	return err == nil && l == s.PIDNS
}

func consoleTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// halt shuts the sandbox down: an orderly `systemctl exit` first (units are stopped,
// dockerd stops its containers), SIGKILL of PID 1 (which takes every process of the PID
// namespace with it) when that does not end in time. It then checks that no process is
// left and removes the sandbox's cgroups.
func (s *Sandbox) halt() error {
	if s.alive() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := s.Command(ctx, "systemctl", "--no-block", "exit").Run()
		cancel()
		if err == nil {
			s.waitGone(60 * time.Second)
		}
		if s.alive() {
			_ = syscall.Kill(s.PID, syscall.SIGKILL)
			s.waitGone(15 * time.Second)
		}
	}
	var errs []error
	if s.alive() {
		errs = append(errs, fmt.Errorf("sandbox systemd (pid %d) survived SIGKILL", s.PID))
	}
	var left []int
	for range 100 {
		left = append(nsProcs(s.PIDNS), cgroupProcs(s.Cgroups)...)
		if len(left) == 0 || s.PIDNS == "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) > 0 && s.PIDNS != "" {
		errs = append(errs, fmt.Errorf("processes left after the sandbox stopped: %s", describeProcs(left)))
	}
	if s.nsFile != nil {
		s.nsFile.Close()
		s.nsFile = nil
	}
	if err := removeCgroups(s.Cgroups); err != nil {
		errs = append(errs, err)
	}
	s.PID, s.Cgroups = 0, nil
	if err := s.saveState(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Sandbox) waitGone(d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if s.done != nil {
			select {
			case <-s.done:
				return
			case <-time.After(50 * time.Millisecond):
			}
		} else if !s.alive() {
			return
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// Stop halts the sandbox and removes its directory when the sandbox made it (unless
// ROCKON_SANDBOX_KEEP=1).
func (s *Sandbox) Stop() error {
	err := s.halt()
	if err == nil && s.owned && os.Getenv("ROCKON_SANDBOX_KEEP") == "" {
		if rerr := removeDir(s.dir); rerr != nil {
			err = rerr
		}
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
	return err
}

// removeDir deletes a sandbox directory, refusing when anything is still mounted below it.
func removeDir(dir string) error {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(mi)) {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			return fmt.Errorf("not removing %s: %s is mounted", dir, f[4])
		}
	}
	return os.RemoveAll(dir)
}

// Reboot stops the sandbox in order and boots it again; the persistent directory is kept,
// so units enabled for multi-user.target start again. PID, SystemBusAddress and HostPath
// change: ask for them again after a reboot.
func (s *Sandbox) Reboot(t testing.TB) {
	t.Helper()
	if err := s.halt(); err != nil {
		t.Fatalf("reboot: stopping: %v", err)
	}
	if err := s.boot(); err != nil {
		t.Fatalf("reboot: booting: %v", err)
	}
}

// Boot starts a stopped sandbox again (for the CLI; tests use Reboot).
func (s *Sandbox) Boot() error {
	if s.alive() {
		return errors.New("sandbox is running")
	}
	return s.boot()
}

// Halt stops the sandbox but keeps its directory (for the CLI).
func (s *Sandbox) Halt() error { return s.halt() }

// Command prepares a command that runs inside the sandbox (all its namespaces, its root
// and, when visible there, the caller's working directory). Cancelling ctx kills it.
func (s *Sandbox) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	wd, err := os.Getwd()
	if err != nil || checkOutsidePrivate(wd) != nil {
		wd = "/"
	}
	argv := append([]string{"-t", strconv.Itoa(s.PID), "-m", "-u", "-i", "-n", "-p", "--root", "--wd=" + wd, "--", name}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", argv...)
	cmd.Env = []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=/root", "LANG=C.UTF-8", "SYSTEMD_PAGER=", "PAGER=cat", "SYSTEMD_COLORS=0", "TERM=dumb",
	}
	// nsenter forks to enter the PID namespace: kill the whole process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// Run runs a command inside the sandbox and returns its standard output; the test fails
// with the command's output when it fails or takes longer than 5 minutes.
func (s *Sandbox) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	cmd := s.Command(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("in sandbox: %s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// SystemBusAddress is the address of the sandbox's system bus, usable from the host
// (e.g. godbus's dbus.Connect). It changes with each boot.
func (s *Sandbox) SystemBusAddress() string {
	return "unix:path=" + s.HostPath("/run/dbus/system_bus_socket")
}

// HostPath returns where path p inside the sandbox can be reached from the host. While
// the sandbox runs that is through its PID 1's root (it changes with each boot); when
// stopped, files the sandbox wrote are found in its persistent directory.
func (s *Sandbox) HostPath(p string) string {
	p = filepath.Clean("/" + p)
	if s.alive() {
		return fmt.Sprintf("/proc/%d/root%s", s.PID, p)
	}
	for _, st := range []string{"/var/lib/containers", "/var/lib/docker"} {
		if p == st || strings.HasPrefix(p, st+"/") {
			return filepath.Join(s.dir, "storage", filepath.Base(st), strings.TrimPrefix(p, st))
		}
	}
	top, rest, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return filepath.Join(s.dir, "overlay", top, "upper", rest)
}
