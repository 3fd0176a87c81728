package daemon_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	api "github.com/rockon/rockon/dbus"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
)

// catalogPort is where the test catalog is served inside the sandbox
// (the sandbox has its own network namespace, so any port is free).
const catalogPort = "8700"

const testChoices = `
[containers.rt-web.ports]
"8080" = %d
[containers.rt-web.volumes]
"/data" = "/srv/rockon/data"
[containers.rt-web.env]
GREETING = %q
[containers.rt-api.ports]
"8080" = 18081
`

type env struct {
	t      *testing.T
	s      *sandbox.Sandbox
	engine string
	c      *api.Client
}

// writeFile writes a file on the host.
var writeFile = sandbox.WriteHost

// setup boots a sandbox with the engine, the test images, a catalog served
// over loopback HTTP inside it, and rockond running as rockon.service.
func setup(t *testing.T, engine string) *env { return setupWith(t, engine, setupOptions{}) }

// setupOptions vary the test bed.
type setupOptions struct {
	// registry: the sandbox's registry stands in for Docker Hub and others
	// (sandbox.Options.Registry).
	registry bool
	// shipped: rockond runs under the repository's rockon.service, with
	// only ExecStart pointed at the test binary: the confinement as shipped.
	shipped bool
	// settings are added to rockond.toml's.
	settings sandbox.Settings
	// storageSize puts the engines' storage on a tmpfs of this size
	// (sandbox.Options.StorageSize).
	storageSize string
}

// config is rockond.toml's settings: the catalog served on port, metrics on, and o's.
func (o setupOptions) config(port string) sandbox.Settings {
	c := sandbox.Settings{"metastore": sandbox.RemoteCatalog(port), "metrics": {"listen": "127.0.0.1:9387"}}
	maps.Copy(c, o.settings)
	return c
}

func setupWith(t *testing.T, engine string, opt setupOptions) *env {
	if testing.Short() {
		t.Skip("integration test (boots systemd, runs containers): not in -short mode")
	}
	bin := filepath.Join(sandbox.Binaries(t), "rockond")
	if os.Getenv("ROCKON_RACE_DAEMON") != "" {
		bin = raceDaemon(t)
	}
	s := sandbox.New(t, sandbox.Options{Docker: engine == "docker", Registry: opt.registry, StorageSize: opt.storageSize})
	if os.Getenv("ROCKON_RACE_DAEMON") != "" {
		t.Cleanup(func() {
			out, _ := s.Command(context.Background(), "journalctl", "--no-pager", "-o", "cat", "-u", "rockon.service").CombinedOutput()
			if strings.Contains(string(out), "DATA RACE") {
				t.Errorf("the race detector fired in rockond:\n%s", out)
			}
		})
	}
	s.LoadTestImages(t, engine)
	e := &env{t: t, s: s, engine: engine}
	e.setCatalog("1")
	s.Run(t, "mkdir", "-p", "/srv/rockon/data")
	s.ServeCatalog(t, "/srv/rockon/catalog", catalogPort)
	unit := sandbox.TestUnit(bin, "WatchdogSec=60s")
	if opt.shipped {
		var err error
		if unit, err = sandbox.ShippedUnit(bin + " --config /etc/rockon/rockond.toml"); err != nil {
			t.Fatal(err)
		}
	}
	s.BootRockond(t, sandbox.Rockond{Unit: unit, Config: sandbox.Config(engine, opt.config(catalogPort))})
	e.connect()
	// the daemon refreshes in the background after start-up; be sure
	if _, err := e.c.RefreshCatalog(e.ctx()); err != nil {
		t.Fatal(err)
	}
	return e
}

var raceOnce sync.Once
var raceBin string
var raceErr error

// raceDaemon builds rockond with the race detector (ROCKON_RACE_DAEMON=1):
// the daemon then reports data races it meets under the tests' real load.
func raceDaemon(t *testing.T) string {
	raceOnce.Do(func() {
		// beside the ordinary binaries: removed with them
		raceBin = filepath.Join(sandbox.Binaries(t), "rockond-race")
		cmd := exec.Command("go", "build", "-race", "-o", raceBin, "./cmd/rockond")
		cmd.Dir = moduleRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			raceErr = fmt.Errorf("go build -race: %v\n%s", err, out)
		}
	})
	if raceErr != nil {
		t.Fatal(raceErr)
	}
	return raceBin
}

func moduleRoot(t *testing.T) string {
	root, err := sandbox.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func (e *env) connect() {
	t := e.t
	c, err := api.Dial(context.Background(), e.s.SystemBusAddress())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.c = c
}

// setCatalog writes the served catalog with the given test image tag:
// rockon-test.json (two containers of the tag, its %[1]s), other-test.json
// and latest-test.json (whatever localhost/rockon-test:latest is: an update
// looks for a newer image under the same tag).
func (e *env) setCatalog(tag string) {
	dir := e.s.HostPath("/srv/rockon/catalog")
	writeFile(e.t, filepath.Join(dir, "root.json"), `{"rockon test": "rockon-test.json", "other test": "other-test.json", "latest test": "latest-test.json"}`, 0o644)
	writeFile(e.t, filepath.Join(dir, "latest-test.json"), testDefinition(e.t, "latest-test.json"), 0o644)
	writeFile(e.t, filepath.Join(dir, "rockon-test.json"), fmt.Sprintf(testDefinition(e.t, "rockon-test.json"), tag), 0o644)
	writeFile(e.t, filepath.Join(dir, "other-test.json"), testDefinition(e.t, "other-test.json"), 0o644)
}

// testDefinition returns the test definition file testdata/catalog/name.
func testDefinition(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "catalog", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	e.t.Cleanup(cancel)
	return ctx
}

// waitState waits until the rock-on reaches one of the states.
func (e *env) waitState(name string, states ...string) model.Properties {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var p model.Properties
	var err error
	for time.Now().Before(deadline) {
		p, err = e.c.Status(e.ctx(), name)
		if err == nil {
			for _, s := range states {
				if p.State == s {
					return p
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.t.Fatalf("%s: state %q (err %v), want one of %v; containers %+v", name, p.State, err, states, p.Containers)
	return p
}

// waitJournal waits until rockond's journal has a line containing want.
func (e *env) waitJournal(want string) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		out, _ := e.s.Command(e.ctx(), "journalctl", "--no-pager", "-o", "cat", "-u", "rockon.service").CombinedOutput()
		if strings.Contains(string(out), want) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("rockond's journal lacks %q:\n%s", want, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// journalHas says whether rockond's journal has a line containing want.
func (e *env) journalHas(want string) bool {
	out, _ := e.s.Command(e.ctx(), "journalctl", "--no-pager", "-o", "cat", "-u", "rockon.service").CombinedOutput()
	return strings.Contains(string(out), want)
}

// curl fetches a URL inside the sandbox.
func (e *env) curl(url string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := e.s.Command(ctx, "curl", "-sS", "--fail", "--max-time", "5", "--retry", "10", "--retry-delay", "1", "--retry-connrefused", url).CombinedOutput()
	return string(out), err
}

// mustCurl fetches a URL that must answer. A unit is active once its
// container runs, a moment before the program in it listens (and docker's
// proxy then resets connections), so failures are retried for a while.
func (e *env) mustCurl(url string) string {
	e.t.Helper()
	var out string
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if out, err = e.curl(url); err == nil {
			return out
		}
	}
	e.t.Fatalf("curl %s: %v: %s", url, err, out)
	return ""
}

func TestLifecyclePodman(t *testing.T) { testLifecycle(t, "podman") }
func TestLifecycleDocker(t *testing.T) { testLifecycle(t, "docker") }

func testLifecycle(t *testing.T, engine string) {
	e := setup(t, engine)
	c := e.c
	// one context for the whole sequence, which takes minutes on a busy
	// machine (e.ctx's three are for one call)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	n, err := c.RefreshCatalog(ctx)
	if err != nil || n != 3 {
		t.Fatalf("RefreshCatalog = %d, %v; want 3 entries", n, err)
	}
	list, err := c.List(ctx, false)
	if err != nil || len(list) != 3 || list[2].Name != "Rockon Test" || list[2].Installed {
		t.Fatalf("List = %+v, %v", list, err)
	}

	// install both; Other Test is left off
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = c.Install(ctx, "Rockon Test", fmt.Sprintf(testChoices, 18080, "hello"), true, nil)
	}()
	go func() { defer wg.Done(); errs[1] = c.Install(ctx, "Other Test", "", false, nil) }()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("install: %v", err)
	}
	if err := c.Install(ctx, "Rockon Test", "", true, nil); !errors.Is(err, model.ErrAlreadyInstalled) {
		t.Fatalf("second install: %v, want AlreadyInstalled", err)
	}
	if err := c.Install(ctx, "No Such", "", true, nil); !errors.Is(err, model.ErrNoSuchRockOn) {
		t.Fatalf("install unknown: %v, want NoSuchRockOn", err)
	}

	p := e.waitState("Rockon Test", "running")
	if !p.Installed || p.DesiredState != "on" || len(p.Containers) != 2 || p.UIURL != "http://localhost:18080/ui" {
		t.Fatalf("status after install: %+v", p)
	}
	for _, ct := range p.Containers {
		if ct.State != "running" || ct.ImageID == "" {
			t.Fatalf("container %+v not running", ct)
		}
	}
	if o := e.waitState("Other Test", "stopped"); o.DesiredState != "off" {
		t.Fatalf("Other Test: %+v", o)
	}
	if got := e.mustCurl("http://127.0.0.1:18080/env"); !strings.Contains(got, "GREETING=hello\n") {
		t.Fatalf("env of rt-web:\n%s", got)
	}
	e.mustCurl("http://127.0.0.1:18081/")
	e.mustCurl("http://127.0.0.1:18080/write?path=/data/keep&data=precious")

	// the metrics endpoint reflects the same systemd-driven view
	scrape := e.mustCurl("http://127.0.0.1:9387/metrics")
	for _, want := range []string{
		`rockon_rockon_state{rockon="Rockon Test",state="running"} 1`,
		`rockon_rockon_state{rockon="Other Test",state="stopped"} 1`,
		`rockon_rockon_desired_running{rockon="Rockon Test"} 1`,
		`rockon_operations_total{operation="install",result="success"} 2`,
	} {
		if !strings.Contains(scrape, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// a busy rock-on refuses a second change
	done := make(chan error, 1)
	go func() { done <- c.Restart(ctx, "Rockon Test", nil) }()
	time.Sleep(300 * time.Millisecond)
	if err := c.Stop(ctx, "Rockon Test", nil); !errors.Is(err, model.ErrBusy) {
		t.Errorf("stop during restart: %v, want Busy", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("restart: %v", err)
	}
	e.waitState("Rockon Test", "running")

	// clients nobody here wrote
	intro := e.s.Run(t, "busctl", "introspect", "org.rockon.rockon1", "/org/rockon/rockon1")
	for _, m := range []string{".Install", ".ListRockOns", ".Reconfigure", ".JobRemoved"} {
		if !strings.Contains(intro, m) {
			t.Errorf("busctl introspect lacks %s:\n%s", m, intro)
		}
	}
	obj := string(api.RockOnPath("rockon-test"))
	if got := e.s.Run(t, "busctl", "get-property", "org.rockon.rockon1", obj, "org.rockon.rockon1.RockOn", "State"); strings.TrimSpace(got) != `s "running"` {
		t.Errorf("busctl get-property State = %q", got)
	}
	if got := e.s.Run(t, "busctl", "get-property", "org.rockon.rockon1", "/org/rockon/rockon1", "org.rockon.rockon1.Manager", "Installed"); strings.TrimSpace(got) != "u 2" {
		t.Errorf("busctl get-property Manager Installed = %q", got)
	}
	if got := e.s.Run(t, "gdbus", "call", "--system", "--dest", "org.rockon.rockon1", "--object-path", "/org/rockon/rockon1",
		"--method", "org.rockon.rockon1.Manager.ListRockOns", "true"); !strings.Contains(got, "'Rockon Test'") {
		t.Errorf("gdbus ListRockOns: %s", got)
	}
	// the flat status of all, as gdbus decodes it from the reply's own signature
	if got := e.s.Run(t, "gdbus", "call", "--system", "--dest", "org.rockon.rockon1", "--object-path", "/org/rockon/rockon1",
		"--method", "org.rockon.rockon1.Manager.ListStatuses", "true"); !regexp.MustCompile(
		`\('Rockon Test', 'rockon-test', '[^']+', true, 'on', 'running', (uint32 )?2, (uint32 )?2, 'http://localhost:18080/[^']*', (objectpath )?'/org/rockon/rockon1/rockon/rockon_2dtest'\)`).MatchString(got) {
		t.Errorf("gdbus ListStatuses: %s", got)
	}

	// kill one container: degraded, then systemd restarts it
	e.s.Run(t, engine, "kill", "--signal", "KILL", "rt-api")
	e.waitState("Rockon Test", "degraded", "starting")
	p = e.waitState("Rockon Test", "running")
	for _, ct := range p.Containers {
		if ct.Name == "rt-api" && ct.Restarts == 0 {
			t.Errorf("rt-api restarts = 0 after a kill: %+v", ct)
		}
	}

	e.waitState("Rockon Test", "running")

	// the engine's own event stream: followed again when its client
	// dies; a container's death shows in LastError while systemd
	// restarts it (a start that succeeded does not wait for it)
	pid := strings.TrimSpace(e.s.Run(t, "systemctl", "show", "--property", "MainPID", "--value", "rockon.service"))
	e.s.Run(t, "pkill", "--parent", pid, "--full", "^(/usr/bin/"+engine+" events |journalctl --follow )")
	e.waitJournal("container engine's event stream ended")
	// a crash before the new client listens is systemd's alone: crash
	// again until the engine's word arrives
	for i := 0; !e.journalHas(`msg="container died" container=rt-web exit_status=3`); i++ {
		if i == 5 {
			t.Fatal("rockond does not follow the engine's events again after its client died")
		}
		e.waitState("Rockon Test", "running")
		e.mustCurl("http://127.0.0.1:18080/crash")
		for k := 0; k < 50 && !e.journalHas(`msg="container died" container=rt-web exit_status=3`); k++ {
			time.Sleep(200 * time.Millisecond)
		}
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		p, err := c.Status(ctx, "Rockon Test")
		if err == nil && strings.Contains(p.LastError, "container rt-web exited with status 3") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no LastError for the crash: %+v, %v", p, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// an unprivileged user may read but not change
	e.s.Run(t, "useradd", "--no-create-home", "rtuser")
	unpriv := func(args ...string) (string, error) {
		cmd := e.s.Command(ctx, "setpriv", append([]string{"--reuid=rtuser", "--regid=rtuser", "--clear-groups", "busctl", "--system"}, args...)...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := unpriv("call", "org.rockon.rockon1", "/org/rockon/rockon1", "org.rockon.rockon1.Manager", "ListRockOns", "b", "false"); err != nil {
		t.Errorf("unprivileged list: %v: %s", err, out)
	}
	for _, call := range [][]string{{"Stop", "s", "Rockon Test"}, {"Uninstall", "s", "Rockon Test"}, {"Start", "s", "Other Test"},
		{"Install", "sa{sv}a{sv}", "Rockon Test", "0", "0"}} {
		out, err := unpriv(append([]string{"call", "org.rockon.rockon1", "/org/rockon/rockon1", "org.rockon.rockon1.Manager"}, call...)...)
		if err == nil || !strings.Contains(out, "AccessDenied") && !strings.Contains(out, "ccess denied") {
			t.Errorf("unprivileged %s: %v: %s", call[0], err, out)
		}
	}
	e.waitState("Rockon Test", "running")
	e.waitState("Other Test", "stopped")

	// stop, then reboot: on stays on, off stays off
	if err := c.Stop(ctx, "Rockon Test", nil); err != nil {
		t.Fatal(err)
	}
	e.waitState("Rockon Test", "stopped")
	if err := c.Start(ctx, "Other Test", nil); err != nil {
		t.Fatal(err)
	}
	e.waitState("Other Test", "running")
	if out, err := e.curl("http://127.0.0.1:18080/"); err == nil {
		t.Fatalf("stopped rock-on still answers: %s", out)
	}
	e.s.Reboot(t)
	e.connect()
	c = e.c
	e.waitState("Other Test", "running")
	e.waitState("Rockon Test", "stopped")
	e.mustCurl("http://127.0.0.1:18090/")
	if err := c.Start(ctx, "Rockon Test", nil); err != nil {
		t.Fatal(err)
	}
	e.waitState("Rockon Test", "running")

	// reconfigure a port and an env value
	if err := c.Reconfigure(ctx, "Rockon Test", fmt.Sprintf(testChoices, 18082, "bye"), nil); err != nil {
		t.Fatalf("reconfigure: %v", err)
	}
	e.waitState("Rockon Test", "running")
	if got := e.mustCurl("http://127.0.0.1:18082/env"); !strings.Contains(got, "GREETING=bye\n") {
		t.Fatalf("env after reconfigure:\n%s", got)
	}
	if err := c.Reconfigure(ctx, "Rockon Test", fmt.Sprintf(testChoices, 18090, "x"), nil); !errors.Is(err, model.ErrPortInUse) {
		t.Fatalf("reconfigure onto Other Test's port: %v, want PortInUse", err)
	}

	// update to :2, then a broken :broken rolls back
	e.setCatalog("2")
	if _, err := c.RefreshCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "Rockon Test", nil); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got := e.mustCurl("http://127.0.0.1:18082/version"); strings.TrimSpace(got) != "2" {
		t.Fatalf("version after update = %q", got)
	}
	e.setCatalog("broken")
	if _, err := c.RefreshCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Update(ctx, "Rockon Test", nil); !errors.Is(err, model.ErrFailed) {
		t.Fatalf("update to broken: %v, want Failed", err)
	}
	p = e.waitState("Rockon Test", "running")
	if got := e.mustCurl("http://127.0.0.1:18082/version"); strings.TrimSpace(got) != "2" {
		t.Fatalf("version after rollback = %q", got)
	}
	for _, ct := range p.Containers {
		if !strings.HasSuffix(ct.Image, ":2") {
			t.Errorf("after rollback %s runs %s", ct.Name, ct.Image)
		}
	}

	// uninstall: nothing left but the data
	for _, n := range []string{"Rockon Test", "Other Test"} {
		if err := c.Uninstall(ctx, n, nil); err != nil {
			t.Fatalf("uninstall %s: %v", n, err)
		}
	}
	if l, _ := c.List(ctx, true); len(l) != 0 {
		t.Fatalf("installed after uninstall: %+v", l)
	}
	e.checkClean()
	if got, err := os.ReadFile(e.s.HostPath("/srv/rockon/data/keep")); err != nil || string(got) != "precious" {
		t.Fatalf("data volume after uninstall: %q, %v", got, err)
	}
	e.checkSharedNetworks()
}

// netDef is a one-container rock-on on a network its opts name, as
// AdGuard Home's --net=adguard-home.
const netDef = `{
  "%[1]s": {
    "description": "A test app on a named network.",
    "version": "1.0",
    "website": "https://example.org/",
    "containers": {
      "%[2]s": {
        "image": "localhost/rockon-test",
        "tag": "1",
        "launch_order": 1,
        "opts": [["--net=%[3]s", ""]]
      }
    }
  }
}`

// checkSharedNetworks: a network a definition's opts name is the
// administrator's (AdGuard Home's adguard-home): the install is refused
// while it is missing, naming it and how to make it, leaving nothing
// behind; once made, rock-ons join it; uninstalling them never removes it.
func (e *env) checkSharedNetworks() {
	t, c, ctx := e.t, e.c, e.ctx()
	dir := e.s.HostPath("/srv/rockon/catalog")
	writeFile(t, filepath.Join(dir, "root.json"), `{"net one": "net-one.json", "net two": "net-two.json"}`, 0o644)
	writeFile(t, filepath.Join(dir, "net-one.json"), fmt.Sprintf(netDef, "Net One", "n1-main", "rt-admin"), 0o644)
	writeFile(t, filepath.Join(dir, "net-two.json"), fmt.Sprintf(netDef, "Net Two", "n2-main", "rt-admin"), 0o644)
	if _, err := c.RefreshCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	exists := func(n string) bool {
		_, err := e.s.Command(ctx, e.engine, "network", "inspect", "--", n).CombinedOutput()
		return err == nil
	}
	err := c.Install(ctx, "Net One", "", true, nil)
	if !errors.Is(err, model.ErrInvalidArgs) || !strings.Contains(err.Error(), `network "rt-admin" does not exist`) || !strings.Contains(err.Error(), e.engine+" network create") {
		t.Fatalf("install naming a missing network: %v", err)
	}
	if exists("rt-admin") {
		t.Fatal("a refused install created the administrator's network")
	}
	e.checkClean()
	e.s.Run(t, e.engine, "network", "create", "rt-admin")
	for _, n := range []string{"Net One", "Net Two"} {
		if err := c.Install(ctx, n, "", true, nil); err != nil {
			t.Fatalf("install %s: %v", n, err)
		}
	}
	for _, ct := range []string{"n1-main", "n2-main"} {
		if got := e.s.Run(t, e.engine, "container", "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", ct); !strings.Contains(got, "rt-admin") {
			t.Errorf("%s networks: %q, want rt-admin", ct, got)
		}
	}
	for _, n := range []string{"Net One", "Net Two"} {
		if err := c.Uninstall(ctx, n, nil); err != nil {
			t.Fatalf("uninstall %s: %v", n, err)
		}
	}
	if !exists("rt-admin") {
		t.Error("rt-admin, the administrator's, was removed")
	}
	e.s.Run(t, e.engine, "network", "rm", "rt-admin")
	e.checkClean()
}

// checkClean fails if any unit, env file, container or network of a
// rock-on is left.
func (e *env) checkClean() {
	t := e.t
	t.Helper()
	units, _ := filepath.Glob(e.s.HostPath("/etc/systemd/system/rockon-*"))
	envs, _ := filepath.Glob(e.s.HostPath("/var/lib/rockon/env/*"))
	recs, _ := filepath.Glob(e.s.HostPath("/var/lib/rockon/*.toml"))
	if len(units)+len(envs)+len(recs) > 0 {
		t.Errorf("left behind: units %v, env files %v, records %v", units, envs, recs)
	}
	if out := e.s.Run(t, e.engine, "ps", "--all", "--format", "{{.Names}}"); strings.TrimSpace(out) != "" {
		t.Errorf("containers left: %s", out)
	}
	if out := e.s.Run(t, e.engine, "network", "ls", "--format", "{{.Name}}"); strings.Contains(out, "rockon-") {
		t.Errorf("networks left: %s", out)
	}
	if out := e.s.Run(t, "systemctl", "list-units", "--all", "--plain", "--no-legend", "rockon-rockon*", "rockon-other*"); strings.TrimSpace(out) != "" {
		t.Errorf("units still loaded: %s", out)
		for _, f := range strings.Fields(out) {
			if strings.HasSuffix(f, ".slice") || strings.HasSuffix(f, ".service") {
				t.Log(e.s.Run(t, "systemctl", "status", "--no-pager", f))
				t.Log(e.s.Run(t, "systemctl", "show", "-p", "LoadState,FragmentPath,ConsistsOf,RequiredBy,WantedBy,BoundBy,TriggeredBy,Requires,Wants,After,Before,ActiveEnterTimestamp", f))
			}
		}
	}
}

// TestCrashRecovery kills the daemon with SIGKILL at random points of
// installs, reconfigurations and uninstalls; after each restart the
// rock-on must be either fully installed (units as recorded) or fully
// absent, with no orphan unit, env file or container.
func TestCrashRecovery(t *testing.T) { testCrashRecovery(t, "podman", 50) }

// TestCrashRecoveryDocker is the same with docker, fewer rounds.
func TestCrashRecoveryDocker(t *testing.T) { testCrashRecovery(t, "docker", 20) }

func testCrashRecovery(t *testing.T, engine string, rounds int) {
	e := setup(t, engine)
	ctx := e.ctx()
	if _, err := e.c.RefreshCatalog(ctx); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	if s := os.Getenv("ROCKON_CRASH_ROUNDS"); s != "" {
		fmt.Sscan(s, &rounds)
	}
	var installed, absent int
	for i := 0; i < rounds; i++ {
		ctx := e.ctx() // each round its own time: the whole run grows with the machine's load
		l, err := e.c.List(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		op := "install"
		if len(l) > 0 {
			op = "uninstall"
			if rng.IntN(3) == 0 {
				op = "reconfigure"
			}
		}
		opCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
		done := make(chan error, 1)
		go func() {
			switch op {
			case "install":
				done <- e.c.Install(opCtx, "Rockon Test", fmt.Sprintf(testChoices, 18080, "hi"), true, nil)
			case "reconfigure":
				done <- e.c.Reconfigure(opCtx, "Rockon Test", fmt.Sprintf(testChoices, 18080, fmt.Sprint("round", i)), nil)
			default:
				done <- e.c.Uninstall(opCtx, "Rockon Test", nil)
			}
		}()
		// most of an install or uninstall happens in its first second
		// (images are local); the start that follows takes a few more
		var delay time.Duration
		switch r := rng.IntN(20); {
		case r < 12:
			delay = time.Duration(rng.IntN(400)) * time.Millisecond
		case r < 17:
			delay = time.Duration(rng.IntN(1500)) * time.Millisecond
		default:
			delay = time.Duration(rng.IntN(5000)) * time.Millisecond
		}
		time.Sleep(delay)
		pid := e.s.Run(t, "systemctl", "show", "--value", "-p", "MainPID", "rockon.service")
		e.s.Run(t, "systemctl", "kill", "--signal=SIGKILL", "rockon.service")
		<-done
		cancel()
		// systemd must have seen the death before a start means anything
		for e.s.Run(t, "systemctl", "show", "--value", "-p", "MainPID", "rockon.service") == pid {
			time.Sleep(50 * time.Millisecond)
		}
		e.s.Run(t, "systemctl", "start", "rockon.service")
		state := e.checkConsistent()
		t.Logf("round %d: %s killed after %s: %s", i+1, op, delay, state)
		if state == "installed" {
			installed++
		} else {
			absent++
		}
	}
	journal := e.s.Run(t, "journalctl", "--no-pager", "-o", "cat", "-u", "rockon.service")
	rolledBack := strings.Count(journal, "rolling back an interrupted install")
	finished := strings.Count(journal, "finishing an interrupted uninstall")
	finished += strings.Count(journal, "rolling back an interrupted update")
	t.Logf("%d rounds: %d ended installed, %d ended absent; recovery rolled back %d installs and finished or rolled back %d uninstalls and reconfigurations",
		rounds, installed, absent, rolledBack, finished)
	if installed == 0 || absent == 0 || rolledBack+finished == 0 {
		t.Errorf("the kills never landed mid-operation: timing of the test is off")
	}
}

// checkConsistent checks that the rock-on is either fully installed or
// fully absent, and says which.
func (e *env) checkConsistent() string {
	t := e.t
	t.Helper()
	ctx := e.ctx()
	p, err := e.c.Status(ctx, "Rockon Test")
	if err != nil {
		t.Fatalf("status after restart: %v", err)
	}
	var units []string
	all, _ := filepath.Glob(e.s.HostPath("/etc/systemd/system/rockon-rockon-test*"))
	slices, _ := filepath.Glob(e.s.HostPath("/etc/systemd/system/rockon-rockon_test__*"))
	all = append(all, slices...)
	for _, u := range all {
		// docker's containers also have a slice each; the target and
		// the two services are what both engines have
		if !strings.HasSuffix(u, ".slice") {
			units = append(units, u)
		}
	}
	envs, _ := filepath.Glob(e.s.HostPath("/var/lib/rockon/env/*"))
	recs, _ := filepath.Glob(e.s.HostPath("/var/lib/rockon/*.toml"))
	temps, _ := filepath.Glob(e.s.HostPath("/etc/systemd/system/.*rockon-tmp*"))
	envTemps, _ := filepath.Glob(e.s.HostPath("/var/lib/rockon/env/.*rockon-tmp*"))
	temps = append(temps, envTemps...)
	if len(temps) > 0 {
		t.Errorf("temporary files left: %v", temps)
	}
	if !p.Installed {
		e.checkClean()
		if t.Failed() {
			t.FailNow()
		}
		return "absent"
	}
	if p.State == "installing" || p.State == "uninstalling" || len(units) != 3 || len(envs) != 1 || len(recs) != 1 {
		t.Fatalf("half-installed: state %s, units %v, env files %v, records %v", p.State, units, envs, recs)
	}
	var rec struct {
		Phase string
		Units []struct{ Name, SHA256 string }
	}
	if _, err := toml.DecodeFile(recs[0], &rec); err != nil || rec.Phase != "installed" || len(rec.Units) != len(all) {
		t.Fatalf("record after recovery: %v: %+v", err, rec)
	}
	for _, u := range rec.Units {
		data, err := os.ReadFile(e.s.HostPath("/etc/systemd/system/" + u.Name))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != u.SHA256 {
			t.Fatalf("unit %s differs from the record after recovery", u.Name)
		}
	}
	if out := e.s.Run(t, "systemd-analyze", "verify", "/etc/systemd/system/rockon-rockon-test.target"); strings.Contains(out, "rror") {
		t.Fatalf("units do not verify: %s", out)
	}
	return "installed"
}

// TestPolkit: with a real polkitd, an action a rule grants is allowed to an
// unprivileged user and one it does not grant is refused.
func TestPolkit(t *testing.T) {
	e := setup(t, "podman")
	s := e.s
	s.StartPolkit(t, filepath.Join(moduleRoot(t), "packaging/polkit/org.rockon.rockon1.policy"), `polkit.addRule(function(action, subject) {
	if (action.id == "org.rockon.rockon1.manage" && subject.user == "rtgrant") {
		return polkit.Result.YES;
	}
});
`)
	s.Run(t, "useradd", "--no-create-home", "rtgrant")
	s.Run(t, "useradd", "--no-create-home", "rtother")
	ctx := e.ctx()
	// gdbus prints the D-Bus error name
	as := func(user, method string, args ...string) (string, error) {
		argv := append([]string{"--reuid=" + user, "--regid=" + user, "--clear-groups", "gdbus", "call", "--system",
			"--dest", "org.rockon.rockon1", "--object-path", "/org/rockon/rockon1", "--method", "org.rockon.rockon1.Manager." + method}, args...)
		out, err := s.Command(ctx, "setpriv", argv...).CombinedOutput()
		return string(out), err
	}
	const denied = "org.rockon.rockon1.Error.AccessDenied"
	if out, err := as("rtother", "Install", "Other Test", "{}", "{}"); err == nil || !strings.Contains(out, denied) {
		t.Fatalf("ungranted user: %v: %s", err, out)
	}
	if out, err := as("rtgrant", "RefreshCatalog"); err == nil || !strings.Contains(out, denied) {
		t.Fatalf("granted user, action not granted: %v: %s", err, out)
	}
	if l, _ := e.c.List(ctx, true); len(l) != 0 {
		t.Fatalf("installed after refusals: %+v", l)
	}
	// the structured form of the choices, as a gdbus user writes it
	choices := `{"containers": <{"ot-main": {"ports": <{"8080": uint32 18091}>}}>}`
	if out, err := as("rtgrant", "Install", "Other Test", choices, "{}"); err != nil || !strings.Contains(out, "/org/rockon/rockon1/job/") {
		t.Fatalf("granted user: %v: %s", err, out)
	}
	e.waitState("Other Test", "running")
	e.mustCurl("http://127.0.0.1:18091/")
	if err := e.c.Uninstall(ctx, "Other Test", nil); err != nil {
		t.Fatal(err)
	}
}

// TestRegenerate: at start the daemon rewrites a unit that differs from what
// its record compiles to (an edit, an upgrade of the generator), leaves
// alone a file that is not rockon's, and a clean stop exits 0.
func TestRegenerate(t *testing.T) {
	e := setup(t, "podman")
	ctx := e.ctx()
	if err := e.c.Install(ctx, "Other Test", "", true, nil); err != nil {
		t.Fatal(err)
	}
	// systemctl status tells what the daemon is doing
	var status string
	for i := 0; i < 50 && !strings.Contains(status, "1 rock-ons installed, 1 running"); i++ {
		time.Sleep(100 * time.Millisecond)
		status = e.s.Run(t, "systemctl", "show", "--value", "-p", "StatusText", "rockon.service")
	}
	if !strings.Contains(status, "1 rock-ons installed, 1 running") {
		t.Errorf("StatusText = %q", status)
	}
	unit := e.s.HostPath("/etc/systemd/system/rockon-other-test-ot-main.service")
	orig, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, unit, string(orig)+"\n# edited by hand\n", 0o644)
	// a file with a rockon-like name but no ownership marker
	foreign := e.s.HostPath("/etc/systemd/system/rockon-foreign.service")
	writeFile(t, foreign, "[Service]\nExecStart=/bin/true\n", 0o644)

	e.s.Run(t, "systemctl", "stop", "rockon.service")
	if got := e.s.Run(t, "systemctl", "show", "--value", "-p", "Result,ExecMainStatus", "rockon.service"); got != "success\n0\n" {
		t.Errorf("after a clean stop: Result, ExecMainStatus = %q", got)
	}
	e.s.Run(t, "systemctl", "start", "rockon.service")
	if got, err := os.ReadFile(unit); err != nil || string(got) != string(orig) {
		t.Errorf("unit not regenerated: %v\n%s", err, got)
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("a file rockon does not own was touched: %v", err)
	}
	e.waitState("Other Test", "running")

	// a corrupt record is moved aside and its units are left alone
	writeFile(t, e.s.HostPath("/var/lib/rockon/other-test.toml"), "schema = 1\nname = [broken\n", 0o600)
	e.s.Run(t, "systemctl", "restart", "rockon.service")
	if broken, _ := filepath.Glob(e.s.HostPath("/var/lib/rockon/other-test.toml.broken-*")); len(broken) != 1 {
		t.Errorf("corrupt record not moved aside: %v", broken)
	}
	if got, err := os.ReadFile(unit); err != nil || string(got) != string(orig) {
		t.Errorf("unit of the corrupt record touched: %v", err)
	}
	if out := e.s.Run(t, "systemctl", "is-active", "rockon-other-test-ot-main.service"); strings.TrimSpace(out) != "active" {
		t.Errorf("container of the corrupt record: %s", out)
	}

	// the bus restarting takes the daemon's connection: it exits and
	// systemd starts it again on the new bus
	pid := e.s.Run(t, "systemctl", "show", "--value", "-p", "MainPID", "rockon.service")
	e.s.Run(t, "systemctl", "restart", "dbus.service")
	deadline := time.Now().Add(30 * time.Second)
	for e.s.Run(t, "systemctl", "show", "--value", "-p", "MainPID", "rockon.service") == pid && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	e.s.Run(t, "systemctl", "start", "rockon.service")
	e.connect()
	if _, err := e.c.List(ctx, false); err != nil {
		t.Errorf("after the bus restarted: %v", err)
	}
}

// TestUpdateSameTag: an update finds a new image under the same tag and
// restarts onto it; when that image is broken the tag is put back on the
// image that worked.
func TestUpdateSameTag(t *testing.T) {
	e := setup(t, "podman")
	ctx := e.ctx()
	id := func(ref string) string {
		return strings.TrimSpace(e.s.Run(t, "podman", "image", "inspect", "--format", "{{.Id}}", ref))
	}
	e.s.Run(t, "podman", "tag", "localhost/rockon-test:1", "localhost/rockon-test:latest")
	if err := e.c.Install(ctx, "Latest Test", "", true, nil); err != nil {
		t.Fatal(err)
	}
	if got := e.mustCurl("http://127.0.0.1:18095/version"); strings.TrimSpace(got) != "1" {
		t.Fatalf("version = %q", got)
	}
	e.s.Run(t, "podman", "tag", "localhost/rockon-test:broken", "localhost/rockon-test:latest")
	if err := e.c.Update(ctx, "Latest Test", nil); !errors.Is(err, model.ErrFailed) {
		t.Fatalf("update onto a broken image: %v, want Failed", err)
	}
	if got, want := id("localhost/rockon-test:latest"), id("localhost/rockon-test:1"); got != want {
		t.Errorf("after rollback :latest is %s, want the working image %s", got, want)
	}
	e.waitState("Latest Test", "running")
	if got := e.mustCurl("http://127.0.0.1:18095/version"); strings.TrimSpace(got) != "1" {
		t.Fatalf("version after rollback = %q", got)
	}
	e.s.Run(t, "podman", "tag", "localhost/rockon-test:2", "localhost/rockon-test:latest")
	if err := e.c.Update(ctx, "Latest Test", nil); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got := e.mustCurl("http://127.0.0.1:18095/version"); strings.TrimSpace(got) != "2" {
		t.Fatalf("version after update = %q", got)
	}
	p, err := e.c.Status(ctx, "Latest Test")
	if err != nil || len(p.Containers) != 1 || p.Containers[0].ImageID != id("localhost/rockon-test:2") {
		t.Fatalf("status after update: %+v, %v", p, err)
	}
}
