package daemon_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rockon/rockon/model"
)

// The device is /dev/net (holding the node tun), a directory of device
// nodes standing in for /dev/dri, which a test machine may not have.
const volumeChoices = `
[containers.vt-main.volumes]
"/data" = "/srv/rockon/vdata"
[containers.vt-main.devices]
GPU = "/dev/net"
`

func TestImageVolumesKeptPodman(t *testing.T) { testImageVolumesKept(t, "podman") }
func TestImageVolumesKeptDocker(t *testing.T) { testImageVolumesKept(t, "docker") }

// testImageVolumesKept: files written in an image's declared VOLUMEs (one
// nested under a mapped path, one not mapped) survive stop/start, restart,
// a reboot, a reconfigure, an update to a new image, and an uninstall
// followed by a new install; an uninstall with purge removes the volumes
// and says which.
func testImageVolumesKept(t *testing.T, engine string) {
	e := setup(t, engine)
	dir := e.s.HostPath("/srv/rockon/catalog")
	writeFile(t, filepath.Join(dir, "root.json"), `{"volume test": "volume-test.json"}`, 0o644)
	// Volume Test runs localhost/rockon-test:voldata, an image that
	// declares the VOLUMEs sandbox.TestImageVolumes (/data/db, nested under
	// the mapped /data, and /state, not mapped), like mongo's /data/db and
	// /data/configdb under UniFi's /data.
	writeFile(t, filepath.Join(dir, "volume-test.json"), testDefinition(t, "volume-test.json"), 0o644)
	if _, err := e.c.RefreshCatalog(e.ctx()); err != nil {
		t.Fatal(err)
	}
	e.s.Run(t, "mkdir", "-p", "/srv/rockon/vdata")
	e.s.Run(t, engine, "tag", "localhost/rockon-test:vol1", "localhost/rockon-test:voldata")
	if err := e.c.Install(e.ctx(), "Volume Test", volumeChoices, true, nil); err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:18097"
	e.mustCurl(base + "/write?path=/data/db/kept&data=db")
	e.mustCurl(base + "/write?path=/state/kept&data=state")
	e.mustCurl(base + "/write?path=/data/top&data=top")
	check := func(after string) {
		t.Helper()
		for file, want := range map[string]string{"/data/db/kept": "db", "/state/kept": "state", "/data/top": "top"} {
			if got := e.body(base + "/file?path=" + file); got != want {
				t.Fatalf("after %s: %s = %q, want %q", after, file, got, want)
			}
		}
	}
	// the engine passed the directory's node: reading it fails, but not
	// with "no such file" (the container's own /dev has no net/tun)
	if out, _ := e.s.Command(e.ctx(), "curl", "-sS", "--max-time", "5", base+"/file?path=/dev/net/tun").CombinedOutput(); strings.Contains(string(out), "no such file") || !strings.Contains(string(out), "/dev/net/tun") {
		t.Errorf("/dev/net/tun in the container: %q", out)
	}
	volumes := []string{"rockon-volume-test-vt-main-data-db", "rockon-volume-test-vt-main-state"}
	for _, v := range volumes {
		if got := e.s.Run(t, engine, "volume", "inspect", "--format", `{{index .Labels "org.rockon.rockon"}}`, v); strings.TrimSpace(got) != "volume-test" {
			t.Errorf("volume %s label = %q", v, got)
		}
	}

	if err := e.c.Stop(e.ctx(), "Volume Test", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Start(e.ctx(), "Volume Test", nil); err != nil {
		t.Fatal(err)
	}
	check("stop and start")
	if err := e.c.Restart(e.ctx(), "Volume Test", nil); err != nil {
		t.Fatal(err)
	}
	check("restart")
	// the container itself killed: systemd restarts it
	e.s.Run(t, engine, "kill", "--signal", "KILL", "vt-main")
	e.waitState("Volume Test", "degraded", "starting")
	e.waitState("Volume Test", "running")
	check("a kill")

	e.s.Reboot(t)
	e.connect()
	e.waitState("Volume Test", "running")
	check("a reboot")

	// a new port, and a network the user adds (Rockstor's rocknets):
	// created, joined in addition to the default one, ports still published
	if err := e.c.Reconfigure(e.ctx(), "Volume Test", "[containers.vt-main]\nnetworks = [\"rt-extra\"]\n"+volumeChoices+"[containers.vt-main.ports]\n\"8080\" = 18098\n", nil); err != nil {
		t.Fatal(err)
	}
	base = "http://127.0.0.1:18098"
	check("reconfigure")
	defaultNet := map[string]string{"podman": "podman", "docker": "bridge"}[engine]
	nets := e.s.Run(t, engine, "container", "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", "vt-main")
	if f := strings.Fields(nets); len(f) != 2 || !slices.Contains(f, "rt-extra") || !slices.Contains(f, defaultNet) {
		t.Errorf("networks after reconfigure --network rt-extra: %q, want rt-extra and %s", nets, defaultNet)
	}

	e.s.Run(t, engine, "tag", "localhost/rockon-test:vol2", "localhost/rockon-test:voldata")
	if err := e.c.Update(e.ctx(), "Volume Test", nil); err != nil {
		t.Fatal(err)
	}
	if got := e.body(base + "/version"); strings.TrimSpace(got) != "vol2" {
		t.Fatalf("version after update = %q", got)
	}
	check("update")

	// uninstall keeps them: a new install finds the data again
	if err := e.c.Uninstall(e.ctx(), "Volume Test", nil); err != nil {
		t.Fatal(err)
	}
	for _, v := range volumes {
		e.s.Run(t, engine, "volume", "inspect", v)
	}
	// the network the user added went with the last rock-on using it
	if out, err := e.s.Command(e.ctx(), engine, "network", "inspect", "rt-extra").CombinedOutput(); err == nil {
		t.Errorf("rt-extra left after uninstall: %s", out)
	}
	if err := e.c.Install(e.ctx(), "Volume Test", volumeChoices, true, nil); err != nil {
		t.Fatal(err)
	}
	base = "http://127.0.0.1:18097"
	check("uninstall and install")

	// restarts as with --restart=unless-stopped: a clean exit too, with
	// no start limit; status shows the restart and the exit status
	unit := "rockon-volume-test-vt-main.service"
	show := e.s.Run(t, "systemctl", "show", "-p", "Restart", "-p", "StartLimitIntervalUSec", "-p", "StartLimitBurst", unit)
	for _, want := range []string{"Restart=always\n", "StartLimitIntervalUSec=0\n"} {
		if !strings.Contains(show, want) {
			t.Errorf("%s: %q lacks %q", unit, show, want)
		}
	}
	before := e.waitState("Volume Test", "running").Containers[0].Restarts
	e.mustCurl(base + "/crash?code=0")
	p := e.waitRestarted("Volume Test", before)
	if ct := p.Containers[0]; ct.Restarts != before+1 || ct.ExitCode != 0 {
		t.Errorf("after a clean exit: restarts %d (before %d), exit code %d; want one restart, exit code 0", ct.Restarts, before, ct.ExitCode)
	}
	check("a clean exit")
	e.mustCurl(base + "/crash?code=7")
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if p = e.waitState("Volume Test", "running"); p.Containers[0].Restarts > before+1 {
			break
		}
	}
	if ct := p.Containers[0]; ct.Restarts != before+2 || ct.ExitCode != 7 {
		t.Errorf("after exit 7: restarts %d (before %d), exit code %d; want two restarts, exit code 7", ct.Restarts, before, ct.ExitCode)
		t.Log(e.s.Run(t, "journalctl", "--no-pager", "-u", "rockon.service", "-n", "40"))
	}
	// a memory limit chosen at reconfigure holds the app's own process:
	// it runs inside the container's unit (podman) or slice (docker)
	if err := e.c.Reconfigure(e.ctx(), "Volume Test", "[containers.vt-main]\nnetworks = [\"rt-extra\"]\nmemory = \"128M\"\n"+volumeChoices+"[containers.vt-main.ports]\n\"8080\" = 18098\n", nil); err != nil {
		t.Fatal(err)
	}
	base = "http://127.0.0.1:18098"
	check("a memory limit")
	pid := strings.TrimSpace(e.s.Run(t, engine, "container", "inspect", "--format", "{{.State.Pid}}", "vt-main"))
	cg := e.s.Run(t, "cat", "/proc/"+pid+"/cgroup")
	holder := map[string]string{"podman": "/rockon-volume-test-vt-main.service/", "docker": "/rockon-volume_test__vt_main.slice/"}[engine]
	if !strings.Contains(cg, holder) {
		t.Errorf("the app (pid %s) is in cgroup %q, not under %s", pid, cg, holder)
	}
	holderUnit := strings.Trim(holder, "/")
	if got := e.s.Run(t, "systemctl", "show", "-p", "MemoryMax", holderUnit); got != "MemoryMax=134217728\n" {
		t.Errorf("%s: %q", holder, got)
	}
	// The app going over it is killed: the engine writes the limit into
	// the container's own cgroup, which holds it also where the sandbox's
	// systemd has no memory controller of its own (a cgroup v1 host).
	testOOM(t, e, base)

	// a rock-on the user stopped stays stopped, past the restart delay
	e.mustCurl(base + "/version")
	if err := e.c.Stop(e.ctx(), "Volume Test", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(15 * time.Second) // RestartSec=10
	if p := e.waitState("Volume Test", "stopped"); p.Containers[0].State != "stopped" {
		t.Errorf("stopped rock-on: %+v", p.Containers[0])
	}

	var msgs []string
	if err := e.c.Purge(e.ctx(), "Volume Test", func(_ float64, m string) { msgs = append(msgs, m) }); err != nil {
		t.Fatal(err)
	}
	for _, v := range volumes {
		if out, err := e.s.Command(e.ctx(), engine, "volume", "inspect", v).CombinedOutput(); err == nil {
			t.Errorf("volume %s is still there after purge: %s", v, out)
		}
		if !strings.Contains(strings.Join(msgs, "\n"), "removed volume "+v) {
			t.Errorf("purge did not say it removed %s: %q", v, msgs)
		}
	}
	// the mapped host directory is the user's: kept
	if got := e.s.Run(t, "cat", "/srv/rockon/vdata/top"); got != "top" {
		t.Errorf("host directory after purge: %q", got)
	}
	if err := e.c.Purge(e.ctx(), "Volume Test", nil); !errors.Is(err, model.ErrNotInstalled) {
		t.Errorf("purge of a removed rock-on: %v", err)
	}
}

// body is mustCurl's answer without curl's messages about the retries
// before it (mustCurl returns curl's combined output).
func (e *env) body(url string) string {
	e.t.Helper()
	e.mustCurl(url)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := e.s.Command(ctx, "curl", "-sS", "--fail", "--max-time", "5", url).Output()
	if err != nil {
		e.t.Fatalf("curl %s: %v", url, err)
	}
	return string(out)
}

// testOOM: the app allocating over its 128M limit is killed (exit 137) and
// restarted.
func testOOM(t *testing.T, e *env, base string) {
	t.Helper()
	before := e.waitState("Volume Test", "running").Containers[0].Restarts
	if out, err := e.s.Command(e.ctx(), "curl", "-sS", "--max-time", "60", base+"/alloc?mb=512").CombinedOutput(); err == nil {
		t.Errorf("the app allocated 512 MiB under a 128M limit: %s", out)
	}
	p := e.waitRestarted("Volume Test", before)
	if ct := p.Containers[0]; ct.Restarts != before+1 || ct.ExitCode != 137 {
		t.Errorf("after the allocation: restarts %d (before %d), exit code %d; want a restart after exit 137 (killed)", ct.Restarts, before, ct.ExitCode)
	}
}

// waitRestarted waits (90 s at most) until the rock-on's first container
// is running again after more than before restarts, and returns its
// properties then (or the last ones seen).
func (e *env) waitRestarted(name string, before uint32) model.Properties {
	var p model.Properties
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if p = e.waitState(name, "running"); p.Containers[0].Restarts > before {
			break
		}
	}
	return p
}
