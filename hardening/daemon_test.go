package hardening

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	godbus "github.com/godbus/dbus/v5"
	api "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
)

// The daemon tests run the real rockond as a systemd service in a sandbox,
// with the packaged D-Bus policy, a catalog served over loopback HTTP, and
// podman. The engine binary rockond is configured with is a link the tests
// can swap for a fault injector (missing, hung, failing).

const (
	hCatalogPort = "8701"
	// engineLink is the engine binary of the configuration: a link to
	// podman, or a fault-injecting script.
	engineLink = "/usr/local/bin/rockon-engine"
	secret     = "s3cr3t-Value-7f1c"
	metricsAt  = "127.0.0.1:9388"
)

// hardCatalog: rock-ons for each case. "Plain App Pa" with container
// "main" compiles to the same unit as "Plain App"'s container "pa-main".
var hardCatalog = map[string]string{
	"secret-app.json": `{"Secret App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"sa-web": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
   "ports": {"8080": {"description": "p", "label": "p", "host_default": 18100, "protocol": "tcp"}},
   "volumes": {"/data": {"description": "v", "label": "v"}},
   "environment": {"SECRET": {"description": "a password", "label": "Password"}}}}}}`,
	"plain-app.json": `{"Plain App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"pa-main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
   "ports": {"8080": {"description": "p", "label": "p", "host_default": 18101, "protocol": "tcp"}}}}}}`,
	"plain-app-pa.json": `{"Plain App Pa": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1}}}}`,
	"foreign-app.json": `{"Foreign App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"fa-main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1}}}}`,
	"dev-app.json": `{"Dev App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"da-main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
   "devices": {"GPU": {"description": "g", "label": "g"}},
   "environment": {"V": {"description": "v", "label": "v"}}}}}}`,
	"pull-app.json": `{"Pull App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"pl-main": {"image": "example.org/rockon/hang", "tag": "1", "launch_order": 1}}}}`,
	"publish-app.json": `{"Publish App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"pb-main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
   "opts": [["--publish", "9388:8080"]]}}}}`,
	"publish-app2.json": `{"Publish Two": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"pt-main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
   "opts": [["-p18100-18101:8080", ""]]}}}}`,
	"risky-app.json": `{"Risky App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"ra-main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
   "opts": [["--privileged", ""]]}}}}`,
}

type daemonEnv struct {
	t *testing.T
	s *sandbox.Sandbox
	c *api.Client
}

// hostWrite writes a file on the host.
var hostWrite = sandbox.WriteHost

func moduleRoot(t *testing.T) string {
	root, err := sandbox.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// startDaemon boots a sandbox with podman, the test images, the catalog
// and rockond; seed, when not nil, runs before rockond starts.
func startDaemon(t *testing.T, catalogFiles map[string]string, seed func(*sandbox.Sandbox)) *daemonEnv {
	return startDaemonEngine(t, "podman", catalogFiles, seed)
}

// startDaemonEngine is startDaemon with rockond configured for engine
// ("podman" or "docker"; docker also boots dockerd).
func startDaemonEngine(t *testing.T, engine string, catalogFiles map[string]string, seed func(*sandbox.Sandbox)) *daemonEnv {
	if testing.Short() {
		t.Skip("integration test (boots systemd, runs rockond): not in -short mode")
	}
	bin := filepath.Join(sandbox.Binaries(t), "rockond")
	s := sandbox.New(t, sandbox.Options{Docker: engine == "docker"})
	s.LoadTestImages(t, engine)
	e := &daemonEnv{t: t, s: s}
	dir := s.HostPath("/srv/rockon/catalog")
	var root []string
	var files []string
	for f := range catalogFiles {
		files = append(files, f)
	}
	sort.Strings(files)
	for _, f := range files {
		hostWrite(t, filepath.Join(dir, f), catalogFiles[f], 0o644)
		name := strings.SplitN(strings.TrimPrefix(catalogFiles[f], `{"`), `"`, 2)[0]
		root = append(root, fmt.Sprintf("%q: %q", name, f))
	}
	hostWrite(t, filepath.Join(dir, "root.json"), "{"+strings.Join(root, ",\n")+"}", 0o644)
	s.Run(t, "mkdir", "-p", "/srv/rockon/data")
	s.Run(t, "ln", "-sf", "/usr/bin/"+engine, engineLink)
	s.ServeCatalog(t, "/srv/rockon/catalog", hCatalogPort)
	r := sandbox.Rockond{Unit: sandbox.TestUnit(bin, resourceLines(t)), Config: sandbox.Config(engine, sandbox.Settings{
		"engine":    {"binary": engineLink},
		"metastore": sandbox.RemoteCatalog(hCatalogPort),
		"metrics":   {"listen": metricsAt},
		"timeouts":  {"pull": "3s"},
	})}
	if seed == nil {
		s.BootRockond(t, r)
	} else {
		s.InstallRockondForTest(t, r)
		seed(s)
		s.Run(t, "systemctl", "enable", "--now", "rockon.service")
	}
	e.connect()
	return e
}

func (e *daemonEnv) connect() {
	c, err := api.Dial(context.Background(), e.s.SystemBusAddress())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	e.c = c
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func (e *daemonEnv) waitState(t *testing.T, name string, states ...string) model.Properties {
	t.Helper()
	var p model.Properties
	var err error
	sandbox.WaitUntil(t, 90*time.Second, name+" in "+strings.Join(states, "/"), func() bool {
		p, err = e.c.Status(ctxFor(t, 10*time.Second), name)
		for _, s := range states {
			if err == nil && p.State == s {
				return true
			}
		}
		return false
	})
	return p
}

// snapshot is every file rockon owns or could touch, with a hash: the
// unit directory's rockon-* entries, env files and records.
func (e *daemonEnv) snapshot(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, pat := range []string{"/etc/systemd/system/rockon-*", "/etc/systemd/system/.*", "/var/lib/rockon/env/*", "/var/lib/rockon/env/.*",
		"/var/lib/rockon/*.toml", "/var/lib/rockon/.*"} {
		m, _ := filepath.Glob(e.s.HostPath(pat))
		for _, p := range m {
			st, err := os.Lstat(p)
			if err != nil || st.IsDir() {
				continue
			}
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			rel := strings.TrimPrefix(p, e.s.HostPath("/"))
			out[rel] = hex.EncodeToString(sum[:8])
		}
	}
	return out
}

func diffSnap(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, fmt.Sprintf("%s: %q -> %q", k, v, b[k]))
		}
	}
	for k, v := range b {
		if _, ok := a[k]; !ok {
			d = append(d, fmt.Sprintf("%s: new (%s)", k, v))
		}
	}
	sort.Strings(d)
	return d
}

// unchanged runs f and fails if any file rockon owns changed.
func (e *daemonEnv) unchanged(t *testing.T, what string, f func()) {
	t.Helper()
	before := e.snapshot(t)
	f()
	if d := diffSnap(before, e.snapshot(t)); len(d) > 0 {
		t.Errorf("%s changed files: %s", what, strings.Join(d, "; "))
	}
}

func (e *daemonEnv) mainPID(t *testing.T) string {
	return strings.TrimSpace(e.s.Run(t, "systemctl", "show", "--value", "-p", "MainPID", "rockon.service"))
}

// as runs a command inside the sandbox as user.
func (e *daemonEnv) as(user string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.s.Command(ctx, "setpriv", append([]string{"--reuid=" + user, "--regid=" + user, "--clear-groups"}, args...)...).CombinedOutput()
	return string(out), err
}

const secretChoices = `
[containers.sa-web.env]
SECRET = %q
[containers.sa-web.volumes]
"/data" = %q
`

func TestDaemon(t *testing.T) {
	e := startDaemon(t, hardCatalog, nil)
	ctx := ctxFor(t, 10*time.Minute)
	c := e.c
	if n, err := c.RefreshCatalog(ctx); err != nil || n != len(hardCatalog) {
		t.Fatalf("RefreshCatalog = %d, %v", n, err)
	}
	if err := c.Install(ctx, "Secret App", fmt.Sprintf(secretChoices, secret, "/srv/rockon/data"), true, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Install(ctx, "Plain App", "", false, nil); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, "Secret App", "running")
	e.s.Run(t, "useradd", "--no-create-home", "mallory")

	t.Run("DBus_UnprivilegedDeniedEveryMutatingMethod", func(t *testing.T) { testUnprivileged(t, e) })
	t.Run("DBus_UnprivilegedFlood", func(t *testing.T) { testUnprivilegedFlood(t, e) })
	t.Run("DBus_PolkitAbsentDenies", func(t *testing.T) {
		// polkit = true in the configuration, no polkitd on the bus
		out, err := e.as("mallory", "busctl", "--system", "call", api.BusName, api.ManagerPath, api.ManagerInterface, "Stop", "s", "Secret App")
		if err == nil || !strings.Contains(out, "AccessDenied") && !strings.Contains(out, "ccess denied") {
			t.Errorf("Stop without polkit: %v: %s", err, out)
		}
	})
	t.Run("DBus_WrongSignature", func(t *testing.T) {
		pid := e.mainPID(t)
		conn := c.Conn()
		obj := conn.Object(api.BusName, api.ManagerPath)
		for _, call := range []struct {
			method string
			args   []any
		}{
			{"Install", []any{uint32(1)}},
			{"Install", []any{"Plain App", "not a dict", true}},
			{"Stop", []any{[]string{"a"}}},
			{"ListRockOns", []any{"yes"}},
			{"ListStatuses", []any{"yes"}},
			{"GetRockOn", nil},
		} {
			err := obj.CallWithContext(ctx, api.ManagerInterface+"."+call.method, 0, call.args...).Err
			if err == nil {
				t.Errorf("%s%v: no error", call.method, call.args)
			}
		}
		e.stillServing(t, pid)
	})
	t.Run("DBus_UnknownMethod", func(t *testing.T) {
		pid := e.mainPID(t)
		obj := c.Conn().Object(api.BusName, api.ManagerPath)
		for _, m := range []string{api.ManagerInterface + ".Exec", api.ManagerInterface + ".install", "org.example.Nope.Install", api.RockOnInterface + ".Install"} {
			if err := obj.CallWithContext(ctx, m, 0, "Secret App").Err; err == nil {
				t.Errorf("%s: no error", m)
			}
		}
		out, err := e.as("mallory", "busctl", "--system", "call", api.BusName, api.ManagerPath, api.ManagerInterface, "Exec", "s", "/bin/sh")
		if err == nil {
			t.Errorf("unknown method as a user: %s", out)
		}
		e.stillServing(t, pid)
	})
	t.Run("DBus_TenMegabyteArgument", func(t *testing.T) {
		pid := e.mainPID(t)
		big := strings.Repeat("A", 10<<20)
		obj := c.Conn().Object(api.BusName, api.ManagerPath)
		for _, call := range []struct {
			method string
			args   []any
		}{
			{"GetRockOn", []any{big}},
			{"GetDefinition", []any{big}},
			{"Install", []any{big, map[string]godbus.Variant{}, map[string]godbus.Variant{}}},
			{"Install", []any{"Plain App Pa", map[string]godbus.Variant{"config": godbus.MakeVariant(big)}, map[string]godbus.Variant{}}},
			{"Reconfigure", []any{"Secret App", map[string]godbus.Variant{"containers": godbus.MakeVariant(map[string]map[string]godbus.Variant{
				"sa-web": {"env": godbus.MakeVariant(map[string]string{"SECRET": big})}})}}},
		} {
			var out any
			err := obj.CallWithContext(ctx, api.ManagerInterface+"."+call.method, 0, call.args...).Store(&out)
			if err == nil {
				t.Errorf("%s with 10 MB: no error (%v)", call.method, out)
			} else if len(err.Error()) > 64<<10 {
				t.Errorf("%s: the error echoes the argument (%d bytes)", call.method, len(err.Error()))
			}
		}
		e.stillServing(t, pid)
		if p := e.waitState(t, "Secret App", "running"); p.State != "running" {
			t.Errorf("Secret App %s", p.State)
		}
	})
	t.Run("DBus_SignalsCarryNoSecret", func(t *testing.T) {
		// an unprivileged user listening to every signal of the daemon
		// while root changes a secret and a change fails
		mctx, stopMonitor := context.WithCancel(context.Background())
		mon := e.s.Command(mctx, "setpriv", "--reuid=mallory", "--regid=mallory", "--clear-groups",
			"gdbus", "monitor", "--system", "--dest", api.BusName)
		var out strings.Builder
		mon.Stdout, mon.Stderr = &out, &out
		if err := mon.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		const second = "s3cr3t-Second-91ab"
		if err := c.Reconfigure(ctx, "Secret App", fmt.Sprintf(secretChoices, second, "/srv/rockon/data"), nil); err != nil {
			t.Fatal(err)
		}
		e.waitState(t, "Secret App", "running")
		// a change that fails in its job (the unit directory is read-only)
		e.s.Run(t, "mount", "--bind", "/etc/systemd/system", "/etc/systemd/system")
		e.s.Run(t, "mount", "-o", "remount,bind,ro", "/etc/systemd/system")
		if err := c.Reconfigure(ctx, "Secret App", fmt.Sprintf(secretChoices, second+"-x", "/srv/rockon/data"), nil); err == nil {
			t.Error("reconfigure on a read-only unit directory succeeded")
		}
		e.s.Run(t, "umount", "/etc/systemd/system")
		if err := c.Reconfigure(ctx, "Secret App", fmt.Sprintf(secretChoices, secret, "/srv/rockon/data"), nil); err != nil {
			t.Fatal(err)
		}
		e.waitState(t, "Secret App", "running")
		time.Sleep(500 * time.Millisecond)
		stopMonitor()
		_ = mon.Wait()
		got := out.String()
		if !strings.Contains(got, "JobRemoved") {
			t.Fatalf("the monitor saw no job signal:\n%.2000s", got)
		}
		for _, v := range []string{second, secret} {
			if strings.Contains(got, v) {
				t.Errorf("a signal carried the secret %q", v)
			}
		}
	})
	t.Run("Values_RefusedBeforeAnythingIsWritten", func(t *testing.T) {
		for _, cfg := range []string{
			"[containers.da-main.env]\nV = \"a\\u0000b\"\n",
			fmt.Sprintf("[containers.da-main.env]\nV = %q\n", strings.Repeat("x", 1<<20+1)),
			"[containers.da-main.env]\nV = \"line\\nExecStartPre=/bin/sh\"\n",
			"[containers.da-main.env]\nV = \"ok\"\n[containers.da-main.devices]\nGPU = \"/etc/passwd\"\n",
		} {
			e.unchanged(t, "a refused install", func() {
				err := c.Install(ctx, "Dev App", cfg, true, nil)
				if !errors.Is(err, model.ErrInvalidArgs) {
					t.Errorf("install with %.60q: %v, want InvalidArgs", cfg, err)
				}
			})
		}
	})
	t.Run("Names_SlugCollisionRefused", func(t *testing.T) {
		e.unchanged(t, "a colliding install", func() {
			err := c.Install(ctx, "Plain App Pa", "", true, nil)
			if err == nil {
				t.Error("Plain App Pa installed over Plain App's unit")
			}
			t.Logf("refused: %v", err)
		})
		if p, err := c.Status(ctx, "Plain App"); err != nil || !p.Installed {
			t.Errorf("Plain App after the collision: %+v %v", p, err)
		}
	})
	t.Run("Files_ForeignUnitNeverOverwritten", func(t *testing.T) {
		foreign := e.s.HostPath("/etc/systemd/system/rockon-foreign-app-fa-main.service")
		const content = "[Unit]\nDescription=not X-Rockon's: an administrator's unit\n[Service]\nExecStart=/bin/true\n"
		hostWrite(t, foreign, content, 0o644)
		e.unchanged(t, "an install over a foreign unit", func() {
			err := c.Install(ctx, "Foreign App", "", true, nil)
			if err == nil || !strings.Contains(err.Error(), "not rockon's") {
				t.Errorf("install over a foreign unit: %v", err)
			}
		})
		if got, _ := os.ReadFile(foreign); string(got) != content {
			t.Errorf("foreign unit now:\n%s", got)
		}
		// nor deleted when the daemon restarts and cleans orphans
		e.s.Run(t, "systemctl", "restart", "rockon.service")
		e.connect()
		c = e.c
		if got, _ := os.ReadFile(foreign); string(got) != content {
			t.Errorf("foreign unit after a restart:\n%s", got)
		}
		os.Remove(foreign)
	})
	t.Run("Paths_SymlinkToEtc", func(t *testing.T) {
		e.s.Run(t, "ln", "-sfn", "/etc", "/srv/rockon/evil")
		e.s.Run(t, "mkdir", "-p", "/srv/rockon/hop")
		e.s.Run(t, "ln", "-sfn", "/", "/srv/rockon/hop/root")
		e.s.Run(t, "ln", "-sfn", "/run/podman/podman.sock", "/srv/rockon/sock")
		for _, p := range []string{"/srv/rockon/evil", "/srv/rockon/evil/ssh", "/srv/rockon/hop/root/etc", "/srv/rockon/hop/root", "/srv/rockon/sock", "/srv/rockon/../../etc", "/tmp"} {
			e.unchanged(t, "a refused volume", func() {
				err := c.Reconfigure(ctx, "Secret App", fmt.Sprintf(secretChoices, secret, p), nil)
				if !errors.Is(err, model.ErrInvalidArgs) {
					t.Errorf("volume %s: %v, want InvalidArgs", p, err)
				}
			})
		}
	})
	t.Run("Devices_NotANodeRefused", func(t *testing.T) {
		e.s.Run(t, "touch", "/srv/rockon/fakedev")
		for _, p := range []string{"/dev/shm", "/dev/no-such-device", "/srv/rockon/fakedev", "/dev/../etc/passwd"} {
			e.unchanged(t, "a refused device", func() {
				err := c.Install(ctx, "Dev App", fmt.Sprintf("[containers.da-main.env]\nV = \"v\"\n[containers.da-main.devices]\nGPU = %q\n", p), false, nil)
				if !errors.Is(err, model.ErrInvalidArgs) {
					t.Errorf("device %s: %v, want InvalidArgs", p, err)
				}
			})
		}
	})
	t.Run("Ports_MetricsPortRefused", func(t *testing.T) {
		e.unchanged(t, "a refused port", func() {
			err := c.Reconfigure(ctx, "Plain App", "[containers.pa-main.ports]\n\"8080\" = 9388\n", nil)
			if !errors.Is(err, model.ErrPortInUse) {
				t.Errorf("the metrics port: %v, want PortInUse", err)
			}
			err = c.Reconfigure(ctx, "Plain App", "[containers.pa-main.ports]\n\"8080\" = 18100\n", nil)
			if !errors.Is(err, model.ErrPortInUse) {
				t.Errorf("Secret App's port: %v, want PortInUse", err)
			}
			// ports a definition publishes through its opts count too
			if err := c.Install(ctx, "Publish App", "", false, nil); !errors.Is(err, model.ErrPortInUse) {
				t.Errorf("opts publishing the metrics port: %v, want PortInUse", err)
			}
			if err := c.Install(ctx, "Publish Two", "", false, nil); !errors.Is(err, model.ErrPortInUse) {
				t.Errorf("opts publishing a range over Secret App's port: %v, want PortInUse", err)
			}
		})
	})
	t.Run("Consent_RequiredAndRecorded", func(t *testing.T) {
		e.unchanged(t, "an install without consent", func() {
			err := c.Install(ctx, "Risky App", "", false, nil)
			if !errors.Is(err, model.ErrInvalidArgs) || !strings.Contains(err.Error(), "privileged") {
				t.Errorf("privileged without consent: %v", err)
			}
		})
		if err := c.Install(ctx, "Risky App", "consent = [\"privileged\"]\n", false, nil); err != nil {
			t.Fatalf("with consent: %v", err)
		}
		rec, err := os.ReadFile(e.s.HostPath("/var/lib/rockon/risky-app.toml"))
		if err != nil || !strings.Contains(string(rec), "privileged") {
			t.Errorf("consent not in the record: %v\n%s", err, rec)
		}
		if err := c.Uninstall(ctx, "Risky App", nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("DBus_DisconnectMidInstall", func(t *testing.T) { testDisconnect(t, e) })
	t.Run("Fault_EngineMissing", func(t *testing.T) {
		e.s.Run(t, "rm", "-f", engineLink)
		defer e.s.Run(t, "ln", "-sf", "/usr/bin/podman", engineLink)
		err := e.refusedCleanly(t, "engine missing", "Dev App", devConfig)
		if err == nil || !strings.Contains(err.Error(), engineLink) {
			t.Errorf("the error does not name the missing engine %s: %v", engineLink, err)
		}
	})
	t.Run("Fault_EngineFailing", func(t *testing.T) {
		e.engineScript(t, "echo 'Error: injected failure' >&2; exit 125")
		defer e.s.Run(t, "ln", "-sf", "/usr/bin/podman", engineLink)
		e.refusedCleanly(t, "engine failing", "Dev App", devConfig)
	})
	t.Run("Fault_EngineHung", func(t *testing.T) {
		// image lookups answer "not here", pulls hang: the 3 s pull
		// timeout of the configuration must end the install
		e.engineScript(t, `case "$*" in
*inspect*) echo "Error: $4: image not known" >&2; exit 1;;
*pull*) exec sleep 600;;
esac
exec /usr/bin/podman "$@"`)
		defer e.s.Run(t, "ln", "-sf", "/usr/bin/podman", engineLink)
		err := e.refusedCleanly(t, "engine hung", "Pull App", "")
		if err != nil && !strings.Contains(err.Error(), "timed out") {
			t.Errorf("error does not say it timed out: %v", err)
		}
		if out, _ := e.s.Command(ctx, "pgrep", "-f", "sleep 600").Output(); strings.TrimSpace(string(out)) != "" {
			t.Errorf("the hung pull is still running: %s", out)
		}
	})
	t.Run("Fault_UnitDirReadOnly", func(t *testing.T) {
		e.s.Run(t, "mount", "--bind", "/etc/systemd/system", "/etc/systemd/system")
		e.s.Run(t, "mount", "-o", "remount,bind,ro", "/etc/systemd/system")
		defer e.s.Run(t, "umount", "/etc/systemd/system")
		e.faultKeepsOld(t, "read-only unit directory", fmt.Sprintf(secretChoices, "new-value", "/srv/rockon/data"))
	})
	t.Run("Fault_DiskFull", func(t *testing.T) {
		for _, dir := range []string{"/var/lib/rockon/env", "/etc/systemd/system"} {
			t.Run(filepath.Base(dir), func(t *testing.T) {
				e.fillDir(t, dir)
				defer e.s.Run(t, "umount", dir)
				e.faultKeepsOld(t, "full "+dir, fmt.Sprintf(secretChoices, strings.Repeat("n", 30000), "/srv/rockon/data"))
			})
		}
	})
	t.Run("Fault_CorruptStateFile", func(t *testing.T) { testCorruptState(t, e) })
	// failures above left errors in properties: still no secret
	t.Run("DBus_NoSecretAfterFailures", func(t *testing.T) { testUnprivileged(t, e) })
	t.Run("DBus_PolkitGrantDeny", func(t *testing.T) { testPolkit(t, e) })
	if t.Failed() {
		t.Log(e.s.Run(t, "journalctl", "--no-pager", "-o", "cat", "-u", "rockon.service", "-n", "80"))
	}
}

// stillServing checks that the same rockond process answers.
func (e *daemonEnv) stillServing(t *testing.T, pid string) {
	t.Helper()
	if got := e.mainPID(t); got != pid {
		t.Errorf("rockond restarted: pid %s -> %s", pid, got)
	}
	if l, err := e.c.List(ctxFor(t, time.Minute), true); err != nil || len(l) < 2 {
		t.Errorf("List after the bad calls: %v, %v", l, err)
	}
}

type introNode struct {
	Interfaces []struct {
		Name    string `xml:"name,attr"`
		Methods []struct {
			Name string `xml:"name,attr"`
			Args []struct {
				Type      string `xml:"type,attr"`
				Direction string `xml:"direction,attr"`
			} `xml:"arg"`
		} `xml:"method"`
		Properties []struct {
			Name string `xml:"name,attr"`
		} `xml:"property"`
	} `xml:"interface"`
}

// readOnly are the methods open to every caller.
var readOnly = map[string]bool{
	"ListRockOns": true, "ListStatuses": true, "GetRockOn": true, "GetDefinition": true, "GetConsent": true, "GetPortUse": true, "ListShares": true, "GetManagedObjects": true,
	"Introspect": true, "Get": true, "GetAll": true, "Ping": true, "GetMachineId": true,
	"Diagnose": true, // doctor: open to every caller like the other reads
}

// testUnprivileged calls every method of every rockon object as a second
// user: each mutating one is AccessDenied and changes nothing; the read
// methods and all properties show no secret value.
func testUnprivileged(t *testing.T, e *daemonEnv) {
	objects := []string{api.ManagerPath, string(api.RockOnPath("secret-app")), string(api.RockOnPath("plain-app"))}
	argFor := map[string]string{"s": "Secret App", "b": "false", "a{sv}": "0", "u": "0", "as": "0", "a{ss}": "0", "o": "/", "i": "0", "t": "0", "x": "0", "d": "0"}
	before := e.snapshot(t)
	var mutating, reads int
	for _, path := range objects {
		xmlText, err := e.as("mallory", "busctl", "--system", "--xml-interface", "introspect", api.BusName, path)
		if err != nil {
			t.Fatalf("introspect %s as mallory: %v: %s", path, err, xmlText)
		}
		var node introNode
		if err := xml.Unmarshal([]byte(xmlText), &node); err != nil {
			t.Fatalf("introspection of %s: %v", path, err)
		}
		for _, in := range node.Interfaces {
			if strings.HasPrefix(in.Name, "org.freedesktop.DBus.") && in.Name != "org.freedesktop.DBus.ObjectManager" {
				continue
			}
			for _, m := range in.Methods {
				sig, args := "", []string{}
				for _, a := range m.Args {
					if a.Direction == "out" {
						continue
					}
					v, ok := argFor[a.Type]
					if !ok {
						t.Errorf("%s.%s: argument type %s: the test does not know how to call it", in.Name, m.Name, a.Type)
						continue
					}
					sig += a.Type
					args = append(args, v)
				}
				call := []string{"busctl", "--system", "call", api.BusName, path, in.Name, m.Name}
				if sig != "" {
					call = append(call, append([]string{sig}, args...)...)
				}
				out, err := e.as("mallory", call...)
				if readOnly[m.Name] {
					reads++
					if strings.Contains(out, secret) {
						t.Errorf("%s %s.%s shows the secret to an unprivileged user", path, in.Name, m.Name)
					}
					continue
				}
				mutating++
				if err == nil || !strings.Contains(out, "AccessDenied") && !strings.Contains(out, "ccess denied") {
					t.Errorf("unprivileged %s %s.%s: %v: %s", path, in.Name, m.Name, err, out)
				}
			}
			for _, p := range in.Properties {
				out, _ := e.as("mallory", "busctl", "--system", "get-property", api.BusName, path, in.Name, p.Name)
				if strings.Contains(out, secret) {
					t.Errorf("property %s.%s of %s shows the secret", in.Name, p.Name, path)
				}
			}
		}
	}
	// the bus-wide views too
	for _, call := range [][]string{
		{"busctl", "--system", "call", api.BusName, api.ManagerPath, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"},
		{"gdbus", "introspect", "--system", "--dest", api.BusName, "--object-path", "/", "--recurse", "--only-properties"},
	} {
		if out, _ := e.as("mallory", call...); strings.Contains(out, secret) {
			t.Errorf("%s shows the secret", strings.Join(call, " "))
		}
	}
	if mutating < 8 || reads < 3 {
		t.Errorf("only %d mutating and %d read methods found: introspection incomplete", mutating, reads)
	}
	t.Logf("%d mutating methods denied, %d read methods without secrets", mutating, reads)
	if d := diffSnap(before, e.snapshot(t)); len(d) > 0 {
		t.Errorf("unprivileged calls changed files: %s", d)
	}
	if p, _ := e.c.Status(ctxFor(t, time.Minute), "Secret App"); p.State != "running" {
		t.Errorf("Secret App %s after the unprivileged calls", p.State)
	}
}

// testDisconnect starts installs on a connection that closes at once:
// each must end installed completely (units as recorded) or not at all.
func testDisconnect(t *testing.T, e *daemonEnv) {
	ctx := ctxFor(t, 5*time.Minute)
	for i, delay := range []time.Duration{0, 5 * time.Millisecond, 50 * time.Millisecond, 300 * time.Millisecond} {
		conn, err := godbus.Connect(e.s.SystemBusAddress())
		if err != nil {
			t.Fatal(err)
		}
		call := conn.Object(api.BusName, api.ManagerPath).Go(api.ManagerInterface+".Install", 0, nil, "Dev App",
			map[string]godbus.Variant{"config": godbus.MakeVariant("[containers.da-main.env]\nV = \"v\"\n")},
			map[string]godbus.Variant{"start": godbus.MakeVariant(true)})
		time.Sleep(delay)
		conn.Close()
		_ = call
		// wait for the job to end: neither installing nor busy
		var p model.Properties
		sandbox.WaitUntil(t, 2*time.Minute, "the orphaned install to end", func() bool {
			p, err = e.c.Status(ctx, "Dev App")
			return err == nil && p.State != "installing" && p.State != "starting"
		})
		units, _ := filepath.Glob(e.s.HostPath("/etc/systemd/system/rockon-dev-app*"))
		rec, recErr := os.ReadFile(e.s.HostPath("/var/lib/rockon/dev-app.toml"))
		t.Logf("round %d (closed after %s): installed=%v state=%s units=%d", i, delay, p.Installed, p.State, len(units))
		if !p.Installed {
			if len(units) > 0 || recErr == nil {
				t.Errorf("round %d: not installed but left units %v / record", i, units)
			}
			continue
		}
		if len(units) != 2 || recErr != nil || !strings.Contains(string(rec), "installed") {
			t.Errorf("round %d: half-installed: units %v, record %v", i, units, recErr)
		}
		if err := e.c.Uninstall(ctx, "Dev App", nil); err != nil {
			t.Fatal(err)
		}
	}
}

// engineScript makes the configured engine a shell script.
func (e *daemonEnv) engineScript(t *testing.T, body string) {
	t.Helper()
	e.s.Run(t, "rm", "-f", engineLink)
	e.s.Write(t, engineLink, "#!/bin/sh\n"+body+"\n", 0o755)
}

// refusedCleanly installs Dev App under a broken engine: the install must
// fail with an error, leave no file behind, and the daemon keep serving.
const devConfig = "[containers.da-main.env]\nV = \"v\"\n"

func (e *daemonEnv) refusedCleanly(t *testing.T, what, app, cfg string) error {
	t.Helper()
	ctx := ctxFor(t, 3*time.Minute)
	pid := e.mainPID(t)
	var err error
	e.unchanged(t, "an install with the "+what, func() {
		err = e.c.Install(ctx, app, cfg, true, nil)
		if err == nil {
			t.Errorf("%s: install succeeded", what)
		}
	})
	t.Logf("%s: %v", what, err)
	if p, err := e.c.Status(ctx, app); err != nil || p.Installed {
		t.Errorf("%s: Dev App after the failed install: %+v %v", what, p, err)
	}
	e.stillServing(t, pid)
	return err
}

// faultKeepsOld reconfigures Secret App while a fault is in place: it must
// fail, and every file, the record and the running container stay as they
// were, with no temporary file left.
func (e *daemonEnv) faultKeepsOld(t *testing.T, what, cfg string) {
	t.Helper()
	ctx := ctxFor(t, 3*time.Minute)
	recPath := "var/lib/rockon/secret-app.toml"
	before := e.snapshot(t)
	if err := e.c.Reconfigure(ctx, "Secret App", cfg, nil); err == nil {
		t.Errorf("%s: reconfigure succeeded", what)
	} else {
		t.Logf("%s: %v", what, err)
	}
	after := e.snapshot(t)
	// the record may note the failure; its choices must be the old ones
	delete(before, recPath)
	delete(after, recPath)
	if d := diffSnap(before, after); len(d) > 0 {
		t.Errorf("%s changed files: %s", what, strings.Join(d, "; "))
	}
	if cfg, err := e.c.Config(ctx, "Secret App"); err != nil || !strings.Contains(cfg, secret) {
		t.Errorf("%s: recorded choices now %v:\n%s", what, err, cfg)
	}
	e.waitState(t, "Secret App", "running")
	if got := e.s.HTTPGet(t, "http://127.0.0.1:18100/env"); !strings.Contains(got, "SECRET="+secret+"\n") {
		t.Errorf("%s: the container's env changed:\n%s", what, got)
	}
}

// fillDir mounts a small tmpfs over dir with dir's files in it and fills
// it up.
func (e *daemonEnv) fillDir(t *testing.T, dir string) {
	t.Helper()
	tmp := "/run/fill-" + filepath.Base(dir)
	e.s.Run(t, "cp", "-a", dir+"/.", tmp+"/")
	e.s.Run(t, "mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", dir)
	e.s.Run(t, "cp", "-a", tmp+"/.", dir+"/")
	// fill to the last block (dd ends with ENOSPC)
	_, _ = e.s.Command(context.Background(), "dd", "if=/dev/zero", "of="+dir+"/.filler", "bs=4k").CombinedOutput()
	_, _ = e.s.Command(context.Background(), "dd", "if=/dev/zero", "of="+dir+"/.filler2", "bs=1").CombinedOutput()
	e.s.Run(t, "rm", "-rf", tmp)
}

// testCorruptState: an empty and a garbage record are reported, their
// rock-on's units are not deleted, and other rock-ons are unaffected.
func testCorruptState(t *testing.T, e *daemonEnv) {
	recPath := e.s.HostPath("/var/lib/rockon/plain-app.toml")
	good, err := os.ReadFile(recPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "this is ][ not toml\x00\xff", "schema = 99\n"} {
		units, _ := filepath.Glob(e.s.HostPath("/etc/systemd/system/rockon-plain-app*"))
		e.s.Run(t, "systemctl", "stop", "rockon.service")
		hostWrite(t, recPath, bad, 0o600)
		e.s.Run(t, "systemctl", "start", "rockon.service")
		e.connect()
		ctx := ctxFor(t, time.Minute)
		if p, err := e.c.Status(ctx, "Secret App"); err != nil || !p.Installed {
			t.Errorf("record %.20q: Secret App %+v %v", bad, p, err)
		}
		e.waitState(t, "Secret App", "running")
		after, _ := filepath.Glob(e.s.HostPath("/etc/systemd/system/rockon-plain-app*"))
		if len(after) != len(units) || len(units) == 0 {
			t.Errorf("record %.20q: Plain App's units %v -> %v", bad, units, after)
		}
		journal := e.s.Run(t, "journalctl", "--no-pager", "-o", "cat", "-u", "rockon.service", "-n", "40")
		if !strings.Contains(journal, "plain-app.toml") {
			t.Errorf("record %.20q: not reported in the journal:\n%s", bad, journal)
		}
		if got, _ := os.ReadFile(recPath); string(got) != bad {
			if m, _ := filepath.Glob(recPath + ".broken-*"); len(m) == 0 {
				t.Errorf("record %.20q: neither kept nor quarantined", bad)
			}
		}
		os.Remove(recPath)
		m, _ := filepath.Glob(recPath + ".broken-*")
		for _, f := range m {
			os.Remove(f)
		}
	}
	e.s.Run(t, "systemctl", "stop", "rockon.service")
	hostWrite(t, recPath, string(good), 0o600)
	e.s.Run(t, "systemctl", "start", "rockon.service")
	e.connect()
	if p, err := e.c.Status(ctxFor(t, time.Minute), "Plain App"); err != nil || !p.Installed {
		t.Errorf("Plain App with its record back: %+v %v", p, err)
	}
}

// testPolkit: with Debian's polkitd on the bus and a rule granting the
// manage action to one user, that user may change rock-ons, others and
// other actions are denied; polkit failing means denied again.
func testPolkit(t *testing.T, e *daemonEnv) {
	s := e.s
	s.StartPolkit(t, filepath.Join(moduleRoot(t), "packaging/polkit/org.rockon.rockon1.policy"), `polkit.addRule(function(action, subject) {
	if (action.id == "org.rockon.rockon1.manage" && subject.user == "grantee") {
		return polkit.Result.YES;
	}
});
`)
	s.Run(t, "useradd", "--no-create-home", "grantee")
	call := func(user, method string, args ...string) (string, error) {
		return e.as(user, append([]string{"gdbus", "call", "--system", "--dest", api.BusName, "--object-path", api.ManagerPath,
			"--method", api.ManagerInterface + "." + method}, args...)...)
	}
	const denied = "org.rockon.rockon1.Error.AccessDenied"
	e.unchanged(t, "denied calls", func() {
		if out, err := call("mallory", "Start", "Plain App"); err == nil || !strings.Contains(out, denied) {
			t.Errorf("user without a rule: %v: %s", err, out)
		}
		if out, err := call("grantee", "RefreshCatalog"); err == nil || !strings.Contains(out, denied) {
			t.Errorf("granted user, action not granted: %v: %s", err, out)
		}
	})
	if out, err := call("grantee", "Start", "Plain App"); err != nil || !strings.Contains(out, api.JobPathPrefix) {
		t.Fatalf("granted user: %v: %s", err, out)
	}
	e.waitState(t, "Plain App", "running")
	// polkit failing: bus activation starts a polkitd that cannot start
	hostWrite(t, s.HostPath("/etc/systemd/system/polkit.service"), `[Unit]
Description=Authorization Manager (test, broken)
[Service]
Type=dbus
BusName=org.freedesktop.PolicyKit1
ExecStart=/bin/sh -c 'exit 1'
`, 0o644)
	s.Run(t, "systemctl", "daemon-reload")
	s.Run(t, "systemctl", "stop", "polkit.service")
	if out, err := call("grantee", "Stop", "Plain App"); err == nil || !strings.Contains(out, denied) {
		diag, _ := s.Command(context.Background(), "sh", "-c", "busctl --system status org.freedesktop.PolicyKit1 2>&1 | head -5; systemctl status polkit.service 2>&1 | head; ls /usr/share/dbus-1/system-services; ps aux | grep -i polkit").CombinedOutput()
		t.Errorf("granted user, polkit failing: %v: %s\n%s", err, out, diag)
	}
	e.waitState(t, "Plain App", "running", "stopped")
	if err := e.c.Stop(ctxFor(t, time.Minute), "Plain App", nil); err != nil {
		t.Fatal(err)
	}
}
