// Package packaging holds the files that make rockon a Debian/RPM package
// (nfpm.yaml, maintainer scripts, D-Bus and polkit policy) and the tests
// that build the packages, check them with lintian and systemd-analyze, and
// install the .deb into a sandboxed systemd.
package packaging

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	rdbus "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/sandbox"
)

// built is the output of one `make deb rpm` per test binary.
var (
	buildOnce sync.Once
	built     struct {
		dir, deb, rpm string
		err           error
	}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// requireTools skips (or, with CI=true, fails) when a tool the test needs is
// not installed; scripts/ci-deps.sh installs them all.
func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed (CI=true: not skipping)", tool)
			}
			t.Skipf("%s is not installed (scripts/ci-deps.sh installs it)", tool)
		}
	}
}

// buildPackages runs the repository's `make deb rpm` into a temporary
// directory and returns the package files. The directory is under the
// sandboxes' shared directory when that can be made (root), so the
// sandbox sees the .deb at the same path.
func buildPackages(t *testing.T) (deb, rpm string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the packages (a minute or more): not in -short mode")
	}
	requireTools(t, "make", "go", "git")
	buildOnce.Do(func() {
		parent := os.TempDir()
		if os.Geteuid() == 0 {
			if err := os.MkdirAll(sandbox.SharedDir(), 0o755); err == nil {
				parent = sandbox.SharedDir()
			}
		}
		dir, err := os.MkdirTemp(parent, "packaging-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		if err := os.Chmod(dir, 0o755); err != nil {
			built.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", "-C", "..",
			"BIN="+filepath.Join(dir, "bin"), "STAGE="+filepath.Join(dir, "stage"), "DESTDIR="+filepath.Join(dir, "dist"),
			"deb", "rpm")
		out, err := cmd.CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("make deb rpm: %v\n%s", err, out)
			return
		}
		debs, _ := filepath.Glob(filepath.Join(dir, "dist", "rockon_*.deb"))
		rpms, _ := filepath.Glob(filepath.Join(dir, "dist", "rockon-*.rpm"))
		if len(debs) != 1 || len(rpms) != 1 {
			built.err = fmt.Errorf("make deb rpm made %v and %v, want one of each\n%s", debs, rpms, out)
			return
		}
		built.deb, built.rpm = debs[0], rpms[0]
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.deb, built.rpm
}

// allowedLintian are the lintian warnings (and worse-than-info tags) the
// .deb is known to have, each with the reason it stays; README.md lists
// them too. Any other warning or any error fails the test.
var allowedLintian = map[string]string{
	// The binaries are position-independent executables built by Go's
	// own linker without cgo: they need the dynamic loader for relocation
	// but no shared library, so they have no NEEDED entry, which lintian
	// reads as a shared object that forgot its dependencies.
	"shared-library-lacks-prerequisites": "Go PIE binaries without cgo need no shared library",
	// /etc/rockon/rockond.toml may hold the metrics endpoint's password
	// hashes: root-only, like other configuration files with secrets.
	"non-standard-file-perm": "rockond.toml may hold password hashes: 0600",
}

func TestDebLintian(t *testing.T) {
	requireTools(t, "lintian")
	deb, _ := buildPackages(t)
	lint := exec.Command("lintian", "--tag-display-limit", "0", deb)
	// lintian leaves mldbm-elf-* files behind in $TMPDIR; keep them out of the host's /tmp.
	lint.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	out, err := lint.CombinedOutput()
	t.Logf("lintian %s:\n%s", filepath.Base(deb), out)
	tagLine := regexp.MustCompile(`^([EWIPXO]): rockon(?: [a-z]+)?: ([a-z0-9+.-]+)`)
	var found int
	for line := range strings.Lines(string(out)) {
		m := tagLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		found++
		switch m[1] {
		case "E":
			t.Errorf("lintian error: %s", strings.TrimSpace(line))
		case "W":
			if _, ok := allowedLintian[m[2]]; !ok {
				t.Errorf("lintian warning not listed (fix it or list it with a reason): %s", strings.TrimSpace(line))
			}
		}
	}
	// lintian exits 2 on a broken invocation, 1 when tags at the fail-on
	// level (error by default) were found.
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("lintian did not run: %v", err)
	}
	if err != nil && !t.Failed() {
		t.Errorf("lintian failed but no error tag was recognised (found %d tags)", found)
	}
}

// debContents returns the package's file list (paths without the leading
// "."), its control fields and its conffiles.
func debContents(t *testing.T, deb string) (files map[string]string, control, conffiles string) {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "--contents", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --contents: %v", err)
	}
	files = map[string]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) < 6 {
			continue
		}
		files[strings.TrimPrefix(f[5], ".")] = f[0]
	}
	c, err := exec.Command("dpkg-deb", "--field", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb --field: %v", err)
	}
	ctl := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "--control", deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --control: %v: %s", err, out)
	}
	cf, err := os.ReadFile(filepath.Join(ctl, "conffiles"))
	if err != nil {
		t.Fatalf("no conffiles: %v", err)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		st, err := os.Stat(filepath.Join(ctl, s))
		if err != nil || st.Mode().Perm() != 0o755 {
			t.Errorf("maintainer script %s: %v, mode %v, want 0755", s, err, st)
		}
	}
	return files, string(c), string(cf)
}

func TestDebContents(t *testing.T) {
	requireTools(t, "dpkg-deb")
	deb, rpm := buildPackages(t)
	files, control, conffiles := debContents(t, deb)
	want := map[string]string{
		"/usr/bin/rockon":                                              "-rwxr-xr-x",
		"/usr/libexec/rockon/rockond":                                  "-rwxr-xr-x",
		"/lib/systemd/system/rockon.service":                           "-rw-r--r--",
		"/lib/systemd/system/rockon-catalog-refresh.service":           "-rw-r--r--",
		"/lib/systemd/system/rockon-catalog-refresh.timer":             "-rw-r--r--",
		"/lib/systemd/system/rockon-auto-update.service":               "-rw-r--r--",
		"/lib/systemd/system/rockon-auto-update.timer":                 "-rw-r--r--",
		"/usr/share/dbus-1/system.d/org.rockon.rockon1.conf":           "-rw-r--r--",
		"/usr/share/dbus-1/system-services/org.rockon.rockon1.service": "-rw-r--r--",
		"/usr/share/polkit-1/actions/org.rockon.rockon1.policy":        "-rw-r--r--",
		"/etc/rockon/rockond.toml":                                     "-rw-------",
		"/usr/share/man/man1/rockon.1.gz":                              "-rw-r--r--",
		"/usr/share/man/man8/rockond.8.gz":                             "-rw-r--r--",
		"/usr/share/man/man5/rockond.toml.5.gz":                        "-rw-r--r--",
		"/usr/share/bash-completion/completions/rockon":                "-rw-r--r--",
		"/usr/share/zsh/vendor-completions/_rockon":                    "-rw-r--r--",
		"/usr/share/doc/rockon/copyright":                              "-rw-r--r--",
		"/usr/share/doc/rockon/examples/rockon.rules.yml":              "-rw-r--r--",
		"/usr/share/doc/rockon/changelog.gz":                           "-rw-r--r--",
	}
	for p, mode := range want {
		if got, ok := files[p]; !ok {
			t.Errorf("%s is not in the package", p)
		} else if got != mode {
			t.Errorf("%s has mode %s, want %s", p, got, mode)
		}
	}
	for p, mode := range files {
		if _, ok := want[p]; !ok && !strings.HasPrefix(mode, "d") {
			t.Errorf("unexpected file %s in the package", p)
		}
	}
	if strings.TrimSpace(conffiles) != "/etc/rockon/rockond.toml" {
		t.Errorf("conffiles = %q, want /etc/rockon/rockond.toml only", conffiles)
	}
	for _, f := range []string{"Package: rockon", "Architecture: ", "Depends: ", "Maintainer: ", "Description: "} {
		if !strings.Contains(control, f) {
			t.Errorf("control has no %q:\n%s", f, control)
		}
	}
	// Native package: its version (from git) has no Debian revision.
	v := regexp.MustCompile(`(?m)^Version: (\S+)$`).FindStringSubmatch(control)
	if v == nil || !regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`).MatchString(v[1]) {
		t.Errorf("version %v is not a native Debian version starting with a digit", v)
	}
	// The man page and completions come from the CLI and must not be empty.
	stage := filepath.Join(built.dir, "stage")
	for _, f := range []string{"rockon.1.gz", "rockond.8.gz", "rockond.toml.5.gz", "rockon.bash", "_rockon"} {
		if st, err := os.Stat(filepath.Join(stage, f)); err != nil || st.Size() < 100 {
			t.Errorf("generated %s: %v (size %v)", f, err, st)
		}
	}
	if st, err := os.Stat(rpm); err != nil || st.Size() == 0 {
		t.Errorf("rpm %s: %v", rpm, err)
	}
}

// TestRPMContents reads the .rpm with rpm itself: files, config files,
// dependencies (in rpm's own syntax) and scriptlets.
func TestRPMContents(t *testing.T) {
	requireTools(t, "rpm")
	_, rpm := buildPackages(t)
	query := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("rpm", append([]string{"-qp"}, append(args, rpm)...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm -qp %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	files := strings.Fields(query("-l"))
	for _, f := range []string{"/usr/bin/rockon", "/usr/libexec/rockon/rockond", "/usr/lib/systemd/system/rockon.service",
		"/usr/share/dbus-1/system.d/org.rockon.rockon1.conf", "/usr/share/dbus-1/system-services/org.rockon.rockon1.service",
		"/usr/share/polkit-1/actions/org.rockon.rockon1.policy", "/etc/rockon/rockond.toml", "/usr/share/man/man1/rockon.1.gz"} {
		if !slices.Contains(files, f) {
			t.Errorf("%s is not in the rpm (files: %v)", f, files)
		}
	}
	if slices.Contains(files, "/lib/systemd/system/rockon.service") {
		t.Error("the rpm has the unit under /lib (Debian's place)")
	}
	if got := strings.TrimSpace(query("--configfiles")); got != "/etc/rockon/rockond.toml" {
		t.Errorf("config files = %q", got)
	}
	if req := query("-R"); strings.Contains(req, "|") {
		t.Errorf("rpm requirements use Debian's alternatives syntax:\n%s", req)
	}
	scripts := query("--scripts")
	for _, s := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet"} {
		if !strings.Contains(scripts, s) {
			t.Errorf("no %s in the rpm:\n%s", s, scripts)
		}
	}
}

// TestUnitVerify runs systemd-analyze verify on rockon.service as shipped,
// with only ExecStart= pointing at the freshly built daemon (the installed
// path does not exist on the build machine; the sandbox test verifies the
// installed unit unchanged).
func TestUnitVerify(t *testing.T) {
	requireTools(t, "systemd-analyze")
	buildPackages(t)
	unit, err := os.ReadFile("../rockon.service")
	if err != nil {
		t.Fatal(err)
	}
	const exec_ = "ExecStart=/usr/libexec/rockon/rockond"
	if !bytes.Contains(unit, []byte(exec_+"\n")) {
		t.Fatalf("rockon.service has no %q line", exec_)
	}
	unit = bytes.Replace(unit, []byte(exec_), []byte("ExecStart="+filepath.Join(built.dir, "bin", "rockond")), 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "rockon.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	// the timers and their services, calling the built client
	paths := []string{path}
	for _, u := range timerUnits {
		b, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.ReplaceAll(b, []byte("ExecStart=/usr/bin/rockon "), []byte("ExecStart="+filepath.Join(built.dir, "bin", "rockon")+" "))
		p := filepath.Join(dir, u)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command("systemd-analyze", append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// timerUnits are the timers the package ships and their services.
var timerUnits = []string{"rockon-catalog-refresh.service", "rockon-catalog-refresh.timer", "rockon-auto-update.service", "rockon-auto-update.timer"}

// TestMaintainerScriptsSyntax checks the scripts parse as POSIX sh (dash is
// /bin/sh on Debian).
func TestMaintainerScriptsSyntax(t *testing.T) {
	requireTools(t, "dash")
	scripts, _ := filepath.Glob("scripts/*")
	rpm, _ := filepath.Glob("scripts/rpm/*")
	scripts = append(scripts, rpm...)
	for _, s := range scripts {
		if st, err := os.Stat(s); err != nil || st.IsDir() {
			continue
		}
		if out, err := exec.Command("dash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", s, err, out)
		}
	}
}

// fileList lists what the sandbox has written into its private layers (the
// overlays' upper directories and its /lib/systemd/system), as paths inside
// the sandbox: files and symbolic links, and directories that do not exist
// on the host below. Trees whose churn is not the package's are left out:
// dpkg's and apt's own records, logs, caches, the engines' storage, and
// /srv/rockon where the rock-on's data lives.
func fileList(t *testing.T, s *sandbox.Sandbox) map[string]bool {
	t.Helper()
	skip := []string{"/var/lib/dpkg", "/var/lib/apt", "/var/cache", "/var/log",
		"/var/lib/docker", "/var/lib/containers", "/srv/rockon", "/etc/ld.so.cache"}
	m := map[string]bool{}
	walk := func(root, inside string) {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			in := filepath.Join(inside, rel)
			for _, x := range skip {
				if in == x || strings.HasPrefix(in, x+"/") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
			}
			switch {
			case d.Type()&fs.ModeCharDevice != 0:
				// an overlay whiteout: a deleted file
			case d.IsDir():
				if _, err := os.Lstat(in); err != nil && p != root {
					m[in] = true
				}
			default:
				m[in] = true
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("listing %s: %v", root, err)
		}
	}
	for _, d := range []string{"etc", "srv", "root", "home", "usr", "opt", "var"} {
		walk(filepath.Join(s.Dir(), "overlay", d, "upper"), "/"+d)
	}
	walk(filepath.Join(s.Dir(), "vendor-units"), "/lib/systemd/system")
	return m
}

// testDefinition is a one-container rock-on running the test image, with a
// published port and a volume under /srv/rockon (the user's data).
const testDefinition = `{
  "Package Test": {
    "description": "A rock-on for the packaging test.",
    "version": "1",
    "website": "https://example.org/",
    "containers": {
      "pkgtest-web": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 1,
        "ports": {
          "8080": {"description": "Web port.", "label": "Web [e.g. 18480]", "host_default": 18480, "protocol": "tcp", "ui": true}
        },
        "volumes": {
          "/data": {"description": "Data.", "label": "Data [e.g. pkgtest-data]"}
        }
      }
    }
  }
}
`

// testDefinition2 has two linked containers (rockon creates a network for
// the link): the web one must reach the other by name.
const testDefinition2 = `{
  "Package Test Two": {
    "description": "A second rock-on for the packaging test.",
    "version": "1",
    "website": "https://example.org/",
    "container_links": {
      "pkgtest2-db": [{"name": "pkgtest2-link", "source_container": "pkgtest2-web"}]
    },
    "containers": {
      "pkgtest2-db": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 1
      },
      "pkgtest2-web": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 2,
        "ports": {
          "8080": {"description": "Web port.", "label": "Web [e.g. 18482]", "host_default": 18482, "protocol": "tcp", "ui": true}
        }
      }
    }
  }
}
`

// TestDebInSandbox installs the .deb into a sandboxed systemd (its /usr,
// /etc and /var are overlays: the host's files and dpkg database stay
// untouched) and follows the package's life: install, bus activation, a
// rock-on installed and running, remove, purge.
//
// Each variant has one engine installed, as a Debian host where apt picked
// one alternative of "Recommends: podman | docker.io": the other engine's
// client is removed from the sandbox's /usr. The configuration stays as
// shipped: rockond chooses the installed engine itself, `rockon doctor`
// passes and a rock-on installs and answers.
func TestDebInSandbox(t *testing.T) { debLifecycle(t, "docker") }

func TestDebInSandboxPodman(t *testing.T) { debLifecycle(t, "podman") }

func debLifecycle(t *testing.T, engine string) {
	requireTools(t, "dpkg-deb", "unshare", "nsenter")
	sandbox.RequireRoot(t)
	deb, _ := buildPackages(t)
	s := sandbox.New(t, sandbox.Options{Docker: engine == "docker", VendorUnits: true})
	s.LoadTestImages(t, engine)
	// A policy-rc.d that forbids starting services (build machines made
	// from container images have one) would keep postinst from starting
	// the daemon, as it should; this test wants a normal host. /usr is the
	// sandbox's overlay: the host keeps its file.
	s.Run(t, "rm", "-f", "/usr/sbin/policy-rc.d")
	only := map[string]string{"docker": "podman", "podman": "docker"}[engine]
	s.Run(t, "rm", "-f", "/usr/bin/"+only)
	before := fileList(t, s)

	// The catalog: no network in the sandbox, so a local definition.
	s.Run(t, "mkdir", "-p", "/etc/rockon/rockons.d", "/srv/rockon/pkgtest-data")
	for name, def := range map[string]string{"pkgtest.json": testDefinition, "pkgtest2.json": testDefinition2} {
		if err := os.WriteFile(s.HostPath("/etc/rockon/rockons.d/"+name), []byte(def), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	t.Logf("dpkg -i:\n%s", s.Run(t, "dpkg", "-i", deb))
	if got := strings.TrimSpace(s.Run(t, "systemctl", "is-enabled", "rockon.service")); got != "enabled" {
		t.Errorf("rockon.service is %q after install, want enabled", got)
	}
	waitActive(t, s, "rockon.service")

	// The unit as installed, with its real binary and man page, on the
	// sandbox's unit path (the one its systemd was started with).
	verify := s.Command(context.Background(), "systemd-analyze", append([]string{"verify", "rockon.service"}, timerUnits...)...)
	verify.Env = append(verify.Env, unitPathOf(t, s))
	if out, err := verify.CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify rockon.service and the timers (installed): %v\n%s", err, out)
	}
	// the catalog refresh timer on and armed, the automatic update off
	for u, want := range map[string]string{"rockon-catalog-refresh.timer": "enabled\nactive", "rockon-auto-update.timer": "disabled\ninactive"} {
		out, _ := s.Command(context.Background(), "sh", "-c", "systemctl is-enabled "+u+"; systemctl is-active "+u).CombinedOutput()
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s after install: %q, want %q", u, got, want)
		}
	}
	sec, _ := s.Command(context.Background(), "systemd-analyze", "security", "--no-pager", "rockon.service").CombinedOutput()
	t.Logf("systemd-analyze security rockon.service:\n%s", sec)
	if !regexp.MustCompile(`Overall exposure level for rockon\.service: [0-9.]+`).Match(sec) {
		t.Errorf("systemd-analyze security gave no exposure level:\n%s", sec)
	}

	// No engine configured: rockond took the installed one and said so.
	if j := s.Run(t, "journalctl", "-u", "rockon.service", "--no-pager", "-o", "cat"); !strings.Contains(j, "engine not configured: using "+engine) {
		t.Errorf("the journal does not say that rockond chose %s:\n%s", engine, j)
	}

	// Bus activation: the CLI's first call starts the stopped daemon.
	s.Run(t, "systemctl", "stop", "rockon.service")
	if got := state(s, "rockon.service"); got != "inactive" {
		t.Fatalf("rockon.service is %q after stop", got)
	}
	list := s.Run(t, "rockon", "--no-color", "list")
	if !strings.Contains(list, "Package Test") {
		t.Errorf("rockon list (bus-activated) does not show the test rock-on:\n%s", list)
	}
	if got := state(s, "rockon.service"); got != "active" {
		t.Errorf("rockon.service is %q after a bus call, want active (activated)", got)
	}

	// A rock-on installs and runs.
	out := s.Run(t, "rockon", "--no-color", "install", "--no-input",
		"--port", "8080=18480", "--volume", "/data=/srv/rockon/pkgtest-data", "Package Test")
	t.Logf("rockon install:\n%s", out)
	body := waitHTTP(t, s, "http://127.0.0.1:18480/write?path=/data/kept&data=user-data")
	t.Logf("write through the rock-on: %s", body)
	kept := s.HostPath("/srv/rockon/pkgtest-data/kept")
	if b, err := os.ReadFile(kept); err != nil || string(b) != "user-data" {
		t.Fatalf("the rock-on did not write its volume: %q, %v", b, err)
	}
	// The doctor finds nothing to fix (the remote catalog cannot be
	// reached from the sandbox: a warning, not a failure).
	doctor(t, s, 0, "ok     engine", "ok     storage", "ok     shares-root", "ok     bus-policy", "ok     polkit", "ok     metrics", "ok     rockon:Package Test")

	// A second rock-on, on its own network with a linked container,
	// installed and uninstalled: rockond removes containers, networks and
	// units under its confinement.
	before2 := generatedUnits(t, s)
	t.Logf("rockon install (second):\n%s", s.Run(t, "rockon", "--no-color", "install", "--no-input", "--port", "8080=18482", "Package Test Two"))
	waitHTTP(t, s, "http://127.0.0.1:18482/connect?addr=pkgtest2-db:8080")
	t.Logf("rockon uninstall:\n%s", s.Run(t, "rockon", "--no-color", "uninstall", "Package Test Two"))
	if after2 := generatedUnits(t, s); !slices.Equal(before2, after2) {
		t.Errorf("uninstall left units: before %v, after %v", before2, after2)
	}
	if out := s.Run(t, engine, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, "pkgtest2") {
		t.Errorf("uninstall left containers:\n%s", out)
	}
	if out := s.Run(t, engine, "network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "pkgtest2") || strings.Contains(out, "package-test-two") {
		t.Errorf("uninstall left networks:\n%s", out)
	}

	units := generatedUnits(t, s)
	if len(units) == 0 {
		t.Fatal("no generated unit with an X-Rockon key in /etc/systemd/system")
	}

	// The bus policy: anyone may call, only root may own the name or set
	// properties.
	nobody := []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}
	asNobody := func(args ...string) (string, error) {
		out, err := s.Command(context.Background(), nobody[0], append(nobody[1:], args...)...).CombinedOutput()
		return string(out), err
	}
	if out, err := asNobody("busctl", "--system", "call", rdbus.BusName, rdbus.ManagerPath, rdbus.ManagerInterface, "ListRockOns", "b", "false"); err != nil || !strings.Contains(out, "Package Test") {
		t.Errorf("an unprivileged caller cannot list rock-ons: %v\n%s", err, out)
	}
	if out, err := asNobody("dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus.RequestName", "string:"+rdbus.BusName, "uint32:0"); err == nil || !strings.Contains(out, "AccessDenied") {
		t.Errorf("an unprivileged process could ask for the daemon's bus name: %v\n%s", err, out)
	}
	if out, err := asNobody("busctl", "--system", "set-property", rdbus.BusName, rdbus.ManagerPath, rdbus.ManagerInterface, "Version", "s", "x"); err == nil || !strings.Contains(out, "denied") {
		t.Errorf("the bus let an unprivileged caller set a property: %v\n%s", err, out)
	}

	// Upgrade: the new package restarts the daemon, the rock-on runs on.
	pid := mainPID(t, s)
	t.Logf("dpkg -i (upgrade):\n%s", s.Run(t, "dpkg", "-i", upgradeDeb(t)))
	waitActive(t, s, "rockon.service")
	if got := mainPID(t, s); got == pid {
		t.Errorf("the upgrade did not restart rockond (MainPID %s before and after)", pid)
	}
	waitHTTP(t, s, "http://127.0.0.1:18480/version")
	if list := s.Run(t, "rockon", "--no-color", "list", "--installed"); !strings.Contains(list, "Package Test") {
		t.Errorf("after the upgrade the rock-on is not listed as installed:\n%s", list)
	}

	// Boot: the enabled daemon and rock-on come back.
	s.Reboot(t)
	waitActive(t, s, "rockon.service")
	waitHTTP(t, s, "http://127.0.0.1:18480/version")
	kept = s.HostPath("/srv/rockon/pkgtest-data/kept")

	// Remove: the daemon stops, the rock-on's data stays.
	t.Logf("apt-get remove:\n%s", s.Run(t, "apt-get", "remove", "-y", "rockon"))
	if got := state(s, "rockon.service"); got == "active" || got == "activating" {
		t.Errorf("rockon.service is %q after remove", got)
	}
	if out, err := s.Command(context.Background(), "pgrep", "-x", "rockond").CombinedOutput(); err == nil {
		t.Errorf("rockond still runs after remove: %s", out)
	}
	if b, err := os.ReadFile(kept); err != nil || string(b) != "user-data" {
		t.Errorf("remove lost the rock-on's data: %q, %v", b, err)
	}
	if _, err := os.Stat(s.HostPath("/etc/rockon/rockond.toml")); err != nil {
		t.Errorf("remove deleted the configuration: %v", err)
	}
	for _, l := range []string{"multi-user.target.wants/rockon.service", "dbus-org.rockon.rockon1.service"} {
		if _, err := os.Lstat(s.HostPath("/etc/systemd/system/" + l)); err == nil {
			t.Errorf("remove left the enablement link %s", l)
		}
	}

	// Reinstall after remove: enabled and started again, the rock-on still
	// known; then removed again.
	s.Run(t, "dpkg", "-i", deb)
	waitActive(t, s, "rockon.service")
	if got := strings.TrimSpace(s.Run(t, "systemctl", "is-enabled", "rockon.service")); got != "enabled" {
		t.Errorf("rockon.service is %q after a reinstall, want enabled", got)
	}
	if list := s.Run(t, "rockon", "--no-color", "list", "--installed"); !strings.Contains(list, "Package Test") {
		t.Errorf("after remove and reinstall the rock-on is not listed as installed:\n%s", list)
	}
	s.Run(t, "apt-get", "remove", "-y", "rockon")

	// Purge: nothing of rockon's is left, the user's data is.
	t.Logf("dpkg --purge:\n%s", s.Run(t, "dpkg", "--purge", "rockon"))
	if b, err := os.ReadFile(kept); err != nil || string(b) != "user-data" {
		t.Errorf("purge lost the rock-on's data: %q, %v", b, err)
	}
	after := fileList(t, s)
	var left []string
	for p := range after {
		if !before[p] {
			left = append(left, p)
		}
	}
	slices.Sort(left)
	if len(left) > 0 {
		t.Errorf("files left after purge that were not there before the install:\n%s", strings.Join(left, "\n"))
	}
	for _, u := range units {
		if _, err := os.Lstat(s.HostPath("/etc/systemd/system/" + u)); err == nil {
			t.Errorf("generated unit %s left after purge", u)
		}
	}
	if out, err := s.Command(context.Background(), engine, "ps", "--format", "{{.Names}}").CombinedOutput(); err != nil || strings.Contains(string(out), "pkgtest") {
		t.Errorf("the rock-on's container still runs after purge (%v): %s", err, out)
	}
}

// doctor runs `rockon doctor` (and its --json form) in s, and checks the
// exit code and that the output has each of want.
func doctor(t *testing.T, s *sandbox.Sandbox, code int, want ...string) string {
	t.Helper()
	cmd := s.Command(context.Background(), "rockon", "--no-color", "doctor")
	out, err := cmd.CombinedOutput()
	t.Logf("rockon doctor:\n%s", out)
	if got := cmd.ProcessState.ExitCode(); got != code {
		t.Errorf("rockon doctor exited with %d (%v), want %d", got, err, code)
	}
	// Columns are aligned with spaces: compare words.
	words := strings.Join(strings.Fields(string(out)), " ")
	for _, w := range want {
		if !strings.Contains(words, strings.Join(strings.Fields(w), " ")) {
			t.Errorf("rockon doctor does not say %q", w)
		}
	}
	js := s.Command(context.Background(), "rockon", "doctor", "--json")
	jout, _ := js.Output()
	var res struct {
		OK     bool `json:"ok"`
		Checks []struct{ Name, Status, Fix string }
	}
	if err := json.Unmarshal(jout, &res); err != nil || res.OK != (code == 0) || len(res.Checks) == 0 || js.ProcessState.ExitCode() != code {
		t.Errorf("rockon doctor --json: ok %v, exit %d, %v:\n%s", res.OK, js.ProcessState.ExitCode(), err, jout)
	}
	for _, c := range res.Checks {
		if c.Status != "ok" && c.Fix == "" {
			t.Errorf("check %s is %s and says no fix", c.Name, c.Status)
		}
	}
	return string(out)
}

// With no engine installed, or the shares root missing, `rockon doctor`
// fails naming the problem and the fix; once fixed, it passes.
func TestDebDoctorNamesProblems(t *testing.T) {
	requireTools(t, "dpkg-deb", "unshare", "nsenter")
	sandbox.RequireRoot(t)
	deb, _ := buildPackages(t)
	s := sandbox.New(t, sandbox.Options{VendorUnits: true})
	s.Run(t, "rm", "-f", "/usr/sbin/policy-rc.d", "/usr/bin/podman", "/usr/bin/docker")
	t.Logf("dpkg -i:\n%s", s.Run(t, "dpkg", "-i", deb))
	waitActive(t, s, "rockon.service")
	doctor(t, s, 1, "fail   engine", "podman is not installed", "fix: apt install podman")

	// /srv is a mount point of the sandbox and cannot go: a shares root
	// that does not exist is configured instead.
	s.Run(t, "sed", "-i", `s|^shares_root = "/srv"$|shares_root = "/srv/shares"|`, "/etc/rockon/rockond.toml")
	s.Run(t, "systemctl", "restart", "rockon.service")
	waitActive(t, s, "rockon.service")
	doctor(t, s, 1, "fail   shares-root", "/srv/shares: does not exist", "fix: mkdir -p /srv/shares")
	s.Run(t, "mkdir", "-p", "/srv/shares")
	doctor(t, s, 1, "ok     shares-root")
}

// mainPID is rockon.service's main process ID.
func mainPID(t *testing.T, s *sandbox.Sandbox) string {
	t.Helper()
	pid := strings.TrimSpace(s.Run(t, "systemctl", "show", "--value", "-p", "MainPID", "rockon.service"))
	if pid == "" || pid == "0" {
		t.Fatalf("rockon.service has no main process (%q)", pid)
	}
	return pid
}

// upgradeDeb builds the same package with a higher version (the binaries
// are already built).
func upgradeDeb(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "--field", built.deb, "Version").Output()
	if err != nil {
		t.Fatal(err)
	}
	v := strings.TrimSpace(string(out)) + "+upgrade"
	dir := filepath.Join(built.dir, "upgrade")
	cmd := exec.Command("make", "-C", "..", "VERSION="+v,
		"BIN="+filepath.Join(built.dir, "bin"), "STAGE="+filepath.Join(built.dir, "stage"), "DESTDIR="+dir, "deb")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make deb (upgrade): %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "rockon_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("upgrade package: %v", debs)
	}
	return debs[0]
}

// unitPathOf returns SYSTEMD_UNIT_PATH=... as the sandbox's systemd has it.
func unitPathOf(t *testing.T, s *sandbox.Sandbox) string {
	t.Helper()
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", s.PID))
	if err != nil {
		t.Fatal(err)
	}
	for kv := range strings.SplitSeq(string(env), "\x00") {
		if strings.HasPrefix(kv, "SYSTEMD_UNIT_PATH=") {
			return kv
		}
	}
	t.Fatal("the sandbox's systemd has no SYSTEMD_UNIT_PATH")
	return ""
}

// state is systemctl is-active's answer (it exits non-zero for most).
func state(s *sandbox.Sandbox, unit string) string {
	out, _ := s.Command(context.Background(), "systemctl", "is-active", unit).Output()
	return strings.TrimSpace(string(out))
}

func waitActive(t *testing.T, s *sandbox.Sandbox, unit string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := state(s, unit)
		if st == "active" {
			return
		}
		if time.Now().After(deadline) || st == "failed" {
			out, _ := s.Command(context.Background(), "journalctl", "--no-pager", "-u", unit, "-n", "50").CombinedOutput()
			status, _ := s.Command(context.Background(), "systemctl", "status", "--no-pager", unit).CombinedOutput()
			links, _ := s.Command(context.Background(), "find", "/etc/systemd/system", "-name", "*rockon*", "-printf", "%p -> %l\n").CombinedOutput()
			t.Fatalf("%s is %q, want active\n%s\n%s\nlinks:\n%s", unit, st, out, status, links)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func waitHTTP(t *testing.T, s *sandbox.Sandbox, url string) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := s.Command(context.Background(), "curl", "-fsS", "--max-time", "5", url).CombinedOutput()
		if err == nil {
			return string(out)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer: %v: %s", url, err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// generatedUnits lists the files rockond wrote into /etc/systemd/system.
func generatedUnits(t *testing.T, s *sandbox.Sandbox) []string {
	t.Helper()
	entries, err := os.ReadDir(s.HostPath("/etc/systemd/system"))
	if err != nil {
		t.Fatal(err)
	}
	var units []string
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(s.HostPath("/etc/systemd/system/" + e.Name()))
		if err == nil && regexp.MustCompile(`(?m)^X-Rockon`).Match(b) {
			units = append(units, e.Name())
		}
	}
	return units
}

// notHardening are the [Service] keys of rockon.service that describe the
// daemon rather than confine it; every other key is applied to the probes.
var notHardening = map[string]bool{
	"Type": true, "NotifyAccess": true, "BusName": true, "ExecStart": true, "Restart": true,
	"RestartSec": true, "WatchdogSec": true, "TimeoutStopSec": true, "StateDirectory": true,
	"StateDirectoryMode": true, "ConfigurationDirectory": true, "ConfigurationDirectoryMode": true,
}

// hardeningLines returns rockon.service's confinement: its [Service] lines
// but the ones that describe the daemon, exactly as written (repeated keys
// merge in a unit file, not on systemd-run's command line).
func hardeningLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../rockon.service")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	section := ""
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]":
			k, _, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("rockon.service: unexpected line %q", line)
			}
			if !notHardening[k] {
				lines = append(lines, line)
			}
		}
	}
	if len(lines) < 20 {
		t.Fatalf("only %d hardening settings found in rockon.service", len(lines))
	}
	return lines
}

// suidLayer is a root filesystem tar with what image layers commonly hold
// and a confined unpacker could get wrong: a setuid root program, a file
// owned by another user, a directory and a symbolic link.
func suidLayer(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body string) {
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "bin/su-like", Typeflag: tar.TypeReg, Mode: 0o4755}, "#!/bin/false\n")
	add(&tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1000, Gid: 1000}, "")
	add(&tar.Header{Name: "data/owned", Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1000}, "x")
	add(&tar.Header{Name: "link", Typeflag: tar.TypeSymlink, Linkname: "bin/su-like"}, "")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEngineWorkUnderUnitHardening runs what rockond asks of docker and
// podman (the engine.Engine command lines: pull, inspect, tag, rm --force of
// a running container, network rm, image rm) confined exactly as
// rockon.service confines the daemon, through systemd-run in the sandbox.
// podman does its storage work in the caller's context, so this is where a
// too-tight option (RestrictSUIDSGID=, a missing capability or system call,
// a read-only path) would break installs.
func TestEngineWorkUnderUnitHardening(t *testing.T) {
	requireTools(t, "unshare", "nsenter")
	sandbox.RequireRoot(t)
	hardening := strings.Join(hardeningLines(t), "\n")
	s := sandbox.New(t, sandbox.Options{Docker: true})
	ctx := context.Background()

	// Each command runs as a oneshot unit with the daemon's [Service]
	// confinement lines, written to the sandbox's /run/systemd/system.
	probes := 0
	confined := func(engine string, args ...string) (string, error) {
		probes++
		unit := fmt.Sprintf("rockon-probe-%d.service", probes)
		text := fmt.Sprintf("[Service]\nType=oneshot\nExecStart=/usr/bin/%s %s\n%s\n", engine, strings.Join(args, " "), hardening)
		if err := os.WriteFile(s.HostPath("/run/systemd/system/"+unit), []byte(text), 0o644); err != nil {
			return "", err
		}
		if out, err := s.Command(ctx, "systemctl", "daemon-reload").CombinedOutput(); err != nil {
			return string(out), err
		}
		_, err := s.Command(ctx, "systemctl", "start", unit).CombinedOutput()
		out, _ := s.Command(ctx, "journalctl", "--no-pager", "-o", "cat", "-u", unit).CombinedOutput()
		return string(out), err
	}
	mustConfined := func(t *testing.T, engine string, args ...string) string {
		t.Helper()
		out, err := confined(engine, args...)
		if err != nil {
			t.Fatalf("confined %s %s: %v\n%s", engine, strings.Join(args, " "), err, out)
		}
		return out
	}

	// The image: imported outside, saved as an archive, removed; the
	// confined pull unpacks it again.
	if err := os.WriteFile(s.HostPath("/srv/rockon/probe-rootfs.tar"), suidLayer(t), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, engine := range []string{"podman", "docker"} {
		t.Run(engine, func(t *testing.T) {
			s.LoadTestImages(t, engine)
			img := "localhost/rockon-probe:1"
			archive := "/srv/rockon/probe-" + engine + ".tar"
			s.Run(t, engine, "import", "--change", `ENTRYPOINT ["/bin/su-like"]`, "/srv/rockon/probe-rootfs.tar", img)
			s.Run(t, engine, "save", "-o", archive, img)
			s.Run(t, engine, "image", "rm", img)

			if engine == "podman" {
				// podman unpacks the layer itself, under the confinement;
				// the archive names the image.
				mustConfined(t, engine, "pull", "--", "docker-archive:"+archive)
			} else {
				// docker pull only asks dockerd; load goes the same way.
				mustConfined(t, engine, "load", "-i", archive)
			}
			id := strings.TrimSpace(mustConfined(t, engine, "image", "inspect", "--format", "{{.Id}}", "--", img))
			if id == "" {
				t.Fatal("no image ID")
			}
			mustConfined(t, engine, "tag", img, "localhost/rockon-probe:tagged")

			if engine == "podman" {
				// What the confined unpacking wrote: modes and owners kept.
				checkProbeFiles(t, s.HostPath("/var/lib/containers/storage/overlay"))
			}

			// A container on its own network with a published port, stopped
			// as its unit would stop it (rockond stops a rock-on's units
			// before it removes containers), then removed confined.
			s.Run(t, engine, "network", "create", "rockon-probe-net")
			s.Run(t, engine, "run", "-d", "--name", "rockon-probe-run", "--network", "rockon-probe-net",
				"-p", "127.0.0.1:18490:8080", "--entrypoint", "/rockon-test", sandbox.TestImage+":1")
			s.Run(t, engine, "stop", "rockon-probe-run")
			mustConfined(t, engine, "rm", "--force", "--", "rockon-probe-run")
			mustConfined(t, engine, "network", "rm", "--", "rockon-probe-net")
			mustConfined(t, engine, "image", "rm", "--", "localhost/rockon-probe:tagged", img)
			if out, err := s.Command(ctx, engine, "ps", "-a", "--format", "{{.Names}}").Output(); err != nil || strings.Contains(string(out), "rockon-probe") {
				t.Errorf("containers left: %v %s", err, out)
			}
		})
	}
}

// checkProbeFiles finds the probe layer's files in podman's storage (dir is
// its overlay directory, as the host sees it) and checks that the confined
// unpacking kept the setuid bit, the owner and the symbolic link.
func checkProbeFiles(t *testing.T, dir string) {
	t.Helper()
	one := func(rel string) (fs.FileInfo, *syscall.Stat_t) {
		m, _ := filepath.Glob(filepath.Join(dir, "*", "diff", rel))
		if len(m) != 1 {
			t.Fatalf("%s: found %v in the storage, want one", rel, m)
		}
		fi, err := os.Lstat(m[0])
		if err != nil {
			t.Fatal(err)
		}
		return fi, fi.Sys().(*syscall.Stat_t)
	}
	if fi, _ := one("bin/su-like"); fi.Mode()&fs.ModeSetuid == 0 {
		t.Errorf("setuid bit lost on bin/su-like: %v", fi.Mode())
	}
	if fi, st := one("data/owned"); st.Uid != 1000 || st.Gid != 1000 || fi.Mode().Perm() != 0o640 {
		t.Errorf("data/owned: %d:%d %v, want 1000:1000 -rw-r-----", st.Uid, st.Gid, fi.Mode())
	}
	if fi, _ := one("link"); fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("link: %v, want a symbolic link", fi.Mode())
	}
}

// TestPolicyFilesMatchTheAPI checks the polkit actions and the bus policy
// against the names the daemon uses (package dbus): an action the daemon
// checks but polkit does not know is always denied, an interface the bus
// policy leaves out is unreachable for users.
func TestPolicyFilesMatchTheAPI(t *testing.T) {
	b, err := os.ReadFile("polkit/org.rockon.rockon1.policy")
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Actions []struct {
			ID       string `xml:"id,attr"`
			Defaults struct {
				Any      string `xml:"allow_any"`
				Inactive string `xml:"allow_inactive"`
				Active   string `xml:"allow_active"`
			} `xml:"defaults"`
		} `xml:"action"`
	}
	if err := xml.Unmarshal(b, &policy); err != nil {
		t.Fatalf("polkit policy: %v", err)
	}
	var ids []string
	for _, a := range policy.Actions {
		ids = append(ids, a.ID)
		if _, ok := rdbus.Actions[a.ID]; !ok {
			t.Errorf("polkit action %s is not one the daemon checks", a.ID)
		}
		if a.ID == rdbus.ActionManage && (a.Defaults.Any != "auth_admin_keep" || a.Defaults.Inactive != "auth_admin_keep" || a.Defaults.Active != "auth_admin_keep") {
			t.Errorf("%s defaults = %+v, want auth_admin_keep everywhere", a.ID, a.Defaults)
		}
	}
	for id := range rdbus.Actions {
		if !slices.Contains(ids, id) {
			t.Errorf("the daemon checks polkit action %s, which the policy file does not define", id)
		}
	}

	b, err = os.ReadFile("dbus/org.rockon.rockon1.conf")
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Policies []struct {
			User    string `xml:"user,attr"`
			Context string `xml:"context,attr"`
			Allow   []struct {
				Own       string `xml:"own,attr"`
				Dest      string `xml:"send_destination,attr"`
				Interface string `xml:"send_interface,attr"`
				Member    string `xml:"send_member,attr"`
			} `xml:"allow"`
		} `xml:"policy"`
	}
	if err := xml.Unmarshal(b, &conf); err != nil {
		t.Fatalf("bus policy: %v", err)
	}
	reachable := map[string]bool{}
	for _, p := range conf.Policies {
		for _, a := range p.Allow {
			if a.Own != "" && (p.User != "root" || a.Own != rdbus.BusName) {
				t.Errorf("policy (user %q, context %q) lets someone own %q", p.User, p.Context, a.Own)
			}
			if p.Context == "default" {
				if a.Dest != rdbus.BusName {
					t.Errorf("default policy allows sending to %q", a.Dest)
				}
				if a.Interface == "" {
					t.Errorf("default policy allows every interface of %s", a.Dest)
				}
				if a.Interface == "org.freedesktop.DBus.Properties" && a.Member != "Get" && a.Member != "GetAll" {
					t.Errorf("default policy allows Properties.%s", a.Member)
				}
				reachable[a.Interface] = true
			}
		}
	}
	for _, iface := range []string{rdbus.ManagerInterface, rdbus.RockOnInterface, rdbus.JobInterface} {
		if !reachable[iface] {
			t.Errorf("users cannot reach %s", iface)
		}
	}
}

// TestCopyrightCoversModules checks that every Go module linked into the
// binaries has a paragraph in the package's copyright file.
func TestCopyrightCoversModules(t *testing.T) {
	buildPackages(t)
	copyright, err := os.ReadFile("copyright")
	if err != nil {
		t.Fatal(err)
	}
	// The Files: fields, with their continuation lines.
	var files []string
	inFiles := false
	for line := range strings.Lines(string(copyright)) {
		switch {
		case strings.HasPrefix(line, "Files:"):
			inFiles = true
			files = append(files, strings.Fields(strings.TrimPrefix(line, "Files:"))...)
		case inFiles && strings.HasPrefix(line, " "):
			files = append(files, strings.Fields(line)...)
		default:
			inFiles = false
		}
	}
	for _, bin := range []string{"rockon", "rockond"} {
		out, err := exec.Command("go", "version", "-m", filepath.Join(built.dir, "bin", bin)).Output()
		if err != nil {
			t.Fatalf("go version -m %s: %v", bin, err)
		}
		for line := range strings.Lines(string(out)) {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "dep" && !slices.Contains(files, f[1]) {
				t.Errorf("%s links %s, which packaging/copyright does not cover", bin, f[1])
			}
		}
	}
}
