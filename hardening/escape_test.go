package hardening

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
)

// escapeCase is one way a catalog definition reached the host (found by a
// red-team pass, then closed): its opts, and how the test shows that the
// engine, given those words as they are, really lets the container reach
// the host: a file the container writes that lands at a host path, or what
// it reads.
type escapeCase struct {
	name string
	opts [][]string
	// write: the container writes a token to this path; it lands at
	// host (a path inside the sandbox).
	write, host string
	// get: a path of the test program's HTTP API whose answer contains
	// want (another container's secret, the attacker's image version).
	get, want string
	// why: what rockon's refusal names.
	why string
}

const victimSecret = "victim-Secret-5d2e"

var escapeCases = []escapeCase{
	{name: "SystemDirUsr", opts: [][]string{{"-v", "/usr:/h"}}, write: "/h/rockon-escape", host: "/usr/rockon-escape", why: "host-paths"},
	{name: "SystemDirVarLib", opts: [][]string{{"-v", "/var/lib:/h"}}, write: "/h/rockon-escape", host: "/var/lib/rockon-escape", why: "host-paths"},
	{name: "SystemDirVarSpoolCron", opts: [][]string{{"-v", "/var/spool/cron:/h"}}, why: "host-paths"},
	{name: "SystemDirRoot", opts: [][]string{{"-v", "/root:/h"}}, write: "/h/rockon-escape", host: "/root/rockon-escape", why: "host-paths"},
	{name: "SystemDirUnits", opts: [][]string{{"-v", "/lib/systemd/system:/h"}}, why: "host-paths"},
	{name: "SystemDirHomeOptBin", opts: [][]string{{"-v", "/home:/h1"}, {"-v", "/opt:/h2"}, {"-v", "/bin:/h3"}, {"-v", "/var:/h4"}}, why: "host-paths"},
	{name: "FlagCluster", opts: [][]string{{"-qv", "/:/h"}}, write: "/h/etc/rockon-escape", host: "/etc/rockon-escape", why: "host-paths"},
	{name: "FlagClusterAttached", opts: [][]string{{"-Pqv/:/h", ""}}, write: "/h/etc/rockon-escape", host: "/etc/rockon-escape", why: "host-paths"},
	{name: "RelativeSource", opts: [][]string{{"-v", ".:/h"}}, write: "/h/etc/rockon-escape", host: "/etc/rockon-escape", why: "is not absolute"},
	{name: "MountQuotedCSV", opts: [][]string{{"--mount", `type=bind,"src=/",dst=/h`}}, write: "/h/etc/rockon-escape", host: "/etc/rockon-escape", why: "host-paths"},
	{name: "MountVolumeOpt", opts: [][]string{{"--mount", "type=volume,src=rockon-escape-vol,dst=/h,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc"}},
		write: "/h/rockon-escape", host: "/etc/rockon-escape", why: "volume-opt"},
	{name: "NamedVolume", opts: [][]string{{"-v", "rockon-escape-vol:/h"}}, why: "by name"},
	{name: "Unmask", opts: [][]string{{"--security-opt", "unmask=ALL"}}, why: "unconfined"},
	{name: "PidOfAnotherContainer", opts: [][]string{{"--pid", "container:esc-victim"}}, get: "/file?path=/proc/1/environ", want: victimSecret, why: "not another container of this rock-on"},
	{name: "NetworkOfAnotherContainer", opts: [][]string{{"--network", "container:esc-victim"}}, why: "not another container of this rock-on"},
	{name: "IpcUtsUsernsOfAnotherContainer", opts: [][]string{{"--ipc", "container:esc-victim"}, {"--uts", "container:esc-victim"}, {"--userns", "container:esc-victim"}}, why: "not another container of this rock-on"},
	{name: "VolumesFromAnotherContainer", opts: [][]string{{"--volumes-from", "esc-victim"}}, why: "not another container of this rock-on"},
	{name: "Pod", opts: [][]string{{"--pod", "esc-victim"}}, why: "--pod is not an engine option"},
	{name: "BooleanGivenAValue", opts: [][]string{{"--read-only", "localhost/rockon-test:2"}}, get: "/version", want: "2", why: "as the image"},
	{name: "BooleanGivenFalse", opts: [][]string{{"--privileged", "false"}}, why: "as the image"},
	{name: "CapsBeyondDefault", opts: [][]string{{"--cap-add", "SYS_RESOURCE"}, {"--cap-add", "LINUX_IMMUTABLE"}}, why: "--consent cap-add:LINUX_IMMUTABLE --consent cap-add:SYS_RESOURCE"},
	{name: "SecurityOpts", opts: [][]string{{"--security-opt", "label=type:spc_t"}, {"--security-opt", "no-new-privileges=false"}}, why: "security-opt"},
	{name: "CgroupParentSysctlIDMap", opts: [][]string{{"--cgroup-parent", "/"}, {"--sysctl", "kernel.shm_rmid_forced=1"}, {"--uidmap", "0:0:1"}}, why: "--consent cgroup-parent --consent idmap --consent sysctl"},
	{name: "Gpus", opts: [][]string{{"--gpus", "all"}}, why: "host-devices"},
}

func escapeDef(i int, c escapeCase) (file, name, content string) {
	name = fmt.Sprintf("Escape %02d %s", i, c.name)
	opts, _ := json.Marshal(c.opts)
	content = fmt.Sprintf(`{%q: {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"esc%02d-main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1, "opts": %s}}}}`, name, i, opts)
	return fmt.Sprintf("escape-%02d.json", i), name, content
}

func pairWords(opts [][]string) []string {
	var w []string
	for _, p := range opts {
		w = append(w, p[0])
		if p[1] != "" {
			w = append(w, p[1])
		}
	}
	return w
}

// TestEscape_ConfirmedCasesPodman and ...Docker: every confirmed way a
// catalog definition reached the host. First the control: the engine runs
// the opts' words as they are and the container does write (or read) the
// host, which shows the case is real on this engine. Then `rockon install
// NAME --no-input` (no consent) through the real daemon: refused naming the
// option or the consent it needs, no container or unit created, and the
// host file the control wrote is not written again.
func TestEscape_ConfirmedCasesPodman(t *testing.T) { testEscapes(t, "podman") }
func TestEscape_ConfirmedCasesDocker(t *testing.T) { testEscapes(t, "docker") }

func testEscapes(t *testing.T, engine string) {
	files := map[string]string{}
	for i, c := range escapeCases {
		f, _, content := escapeDef(i, c)
		files[f] = content
	}
	files["sym-app.json"] = `{"Sym App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"sym-main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
   "ports": {"8080": {"description": "p", "label": "p", "host_default": 18120, "protocol": "tcp"}},
   "volumes": {"/data": {"description": "v", "label": "v"}},
   "environment": {"SECRET": {"description": "a password", "label": "Password"}}}}}}`
	files["taken-app.json"] = `{"Taken App": {"description": "d", "version": "1", "website": "https://example.org/",
 "containers": {"taken-main": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1}}}}`
	e := startDaemonEngine(t, engine, files, nil)
	ctx := ctxFor(t, 20*time.Minute)
	if n, err := e.c.RefreshCatalog(ctx); err != nil || n != len(files) {
		t.Fatalf("RefreshCatalog = %d, %v", n, err)
	}
	rockon := filepath.Join(sandbox.Binaries(t), "rockon")
	// the victim: a container of something else, holding a secret
	e.s.Run(t, engine, "run", "-d", "--name", "esc-victim", "--net=host", "-e", "PORT=18556",
		"-e", "VICTIM_SECRET="+victimSecret, "localhost/rockon-test:1")
	sandbox.WaitUntil(t, time.Minute, "the victim container", func() bool {
		out, err := e.s.Command(ctx, "curl", "-sf", "http://127.0.0.1:18556/").Output()
		return err == nil && strings.HasPrefix(string(out), "ok")
	})
	controls := 0
	for i, c := range escapeCases {
		t.Run(c.name, func(t *testing.T) {
			if c.write != "" || c.get != "" {
				controlEscape(t, e, engine, c)
				controls++
			}
			_, name, _ := escapeDef(i, c)
			out, err := e.s.Command(ctx, rockon, "install", name, "--no-input").CombinedOutput()
			if err == nil {
				t.Fatalf("rockon install %q --no-input succeeded:\n%s", name, out)
			}
			if !strings.Contains(string(out), c.why) {
				t.Errorf("refusal does not name %q:\n%s", c.why, out)
			}
			ctr := fmt.Sprintf("esc%02d-main", i)
			if ps := e.s.Run(t, engine, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(ps, ctr) {
				t.Errorf("container %s created: %s", ctr, ps)
			}
			if m, _ := filepath.Glob(e.s.HostPath(fmt.Sprintf("/etc/systemd/system/rockon-escape-%02d*", i))); len(m) > 0 {
				t.Errorf("units written: %q", m)
			}
			if c.host != "" {
				if _, err := os.Stat(e.s.HostPath(c.host)); err == nil {
					t.Errorf("%s exists after the refused install", c.host)
				}
			}
		})
	}
	if controls < 8 {
		t.Errorf("only %d control runs escaped", controls)
	}
	t.Run("VolumeSymlinkedAfterInstall", func(t *testing.T) { testVolumeSymlinked(t, e, engine) })
	t.Run("EnvChangeRestartsContainer", func(t *testing.T) { testEnvChange(t, e) })
	t.Run("ForeignContainerNameRefused", func(t *testing.T) { testForeignName(t, e, engine) })
}

const symChoices = `
[containers.sym-main.env]
SECRET = %q
[containers.sym-main.volumes]
"/data" = "/srv/rockon/share/sub"
`

// testVolumeSymlinked: a local user who owns a share replaces the
// directory a rock-on's volume points at with a symlink to /etc after the
// install; the container crashes and systemd restarts it. The start is
// refused (the unit's volume check), the container does not run, /etc gets
// nothing, and the rock-on's LastError says why.
func testVolumeSymlinked(t *testing.T, e *daemonEnv, engine string) {
	ctx := ctxFor(t, 5*time.Minute)
	e.s.Run(t, "sh", "-c", "id mallory || useradd --no-create-home mallory")
	e.s.Run(t, "mkdir", "-p", "/srv/rockon/share/sub")
	e.s.Run(t, "chown", "mallory", "/srv/rockon/share")
	if err := e.c.Install(ctx, "Sym App", fmt.Sprintf(symChoices, "one"), true, nil); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, "Sym App", "running")
	base := "http://127.0.0.1:18120"
	e.s.HTTPGet(t, base+"/write?path=/data/before&data=x")
	if _, err := os.Stat(e.s.HostPath("/srv/rockon/share/sub/before")); err != nil {
		t.Fatalf("the volume does not work before the swap: %v", err)
	}
	if out, err := e.as("mallory", "sh", "-c", "mv /srv/rockon/share/sub /srv/rockon/share/sub.old && ln -s /etc /srv/rockon/share/sub"); err != nil {
		t.Fatalf("swapping the directory for a symlink as the share's owner: %v %s", err, out)
	}
	e.s.Run(t, engine, "kill", "sym-main") // a crash: systemd restarts the unit
	var p model.Properties
	sandbox.WaitUntil(t, 2*time.Minute, "the refused restart in LastError", func() bool {
		var err error
		p, err = e.c.Status(ctx, "Sym App")
		return err == nil && strings.Contains(p.LastError, "resolves to /etc")
	})
	t.Logf("state %s, LastError %q", p.State, p.LastError)
	if p.State == "running" {
		t.Errorf("state %s after the refused start", p.State)
	}
	if ps := e.s.Run(t, engine, "ps", "--format", "{{.Names}}"); strings.Contains(ps, "sym-main") {
		t.Errorf("the container runs with /etc as its volume: %s", ps)
	}
	if out, err := e.s.Command(ctx, "curl", "-sf", base+"/write?path=/data/escaped&data=x").CombinedOutput(); err == nil {
		t.Errorf("the container answered: %s", out)
	}
	if _, err := os.Stat(e.s.HostPath("/etc/escaped")); err == nil {
		t.Error("/etc/escaped written")
	}
	// the owner puts the directory back: the rock-on starts again
	e.s.Run(t, "sh", "-c", "rm /srv/rockon/share/sub && mv /srv/rockon/share/sub.old /srv/rockon/share/sub")
	if err := e.c.Start(ctx, "Sym App", nil); err != nil {
		t.Fatalf("start after the directory is back: %v", err)
	}
	e.waitState(t, "Sym App", "running")
}

// testEnvChange: reconfiguring only an environment value restarts the
// container, which then has the new value (a rotated password is live).
func testEnvChange(t *testing.T, e *daemonEnv) {
	ctx := ctxFor(t, 5*time.Minute)
	e.waitState(t, "Sym App", "running")
	if err := e.c.Reconfigure(ctx, "Sym App", fmt.Sprintf(symChoices, "two"), nil); err != nil {
		t.Fatal(err)
	}
	e.waitState(t, "Sym App", "running")
	if env := e.s.HTTPGet(t, "http://127.0.0.1:18120/env"); !strings.Contains(env, "SECRET=two\n") {
		t.Errorf("the container's environment after the change:\n%s", env)
	}
}

// testForeignName: a container of that name exists that rockon did not
// make: the install is refused naming it, and that container is untouched.
func testForeignName(t *testing.T, e *daemonEnv, engine string) {
	ctx := ctxFor(t, 5*time.Minute)
	id := strings.TrimSpace(e.s.Run(t, engine, "run", "-d", "--name", "taken-main", "localhost/rockon-test:1", "sleep"))
	err := e.c.Install(ctx, "Taken App", "", true, nil)
	if err == nil || !strings.Contains(err.Error(), `container name "taken-main" is taken by a container rockon does not own`) {
		t.Errorf("install over a foreign container: %v", err)
	}
	if got := strings.TrimSpace(e.s.Run(t, engine, "inspect", "--format", "{{.Id}} {{.State.Running}}", "taken-main")); got != id+" true" {
		t.Errorf("the foreign container is now %q, was %s running", got, id)
	}
	if l, err := e.c.List(ctx, true); err == nil {
		for _, s := range l {
			if s.Name == "Taken App" {
				t.Errorf("Taken App is installed: %+v", s)
			}
		}
	}
}

// controlEscape runs the case's opts with the engine as they are (from /,
// the working directory of a unit) and checks that the container reaches
// the host.
func controlEscape(t *testing.T, e *daemonEnv, engine string, c escapeCase) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const port = "18555"
	argv := append([]string{engine, "run", "-d", "--name", "esc-control", "--net=host", "-e", "PORT=" + port}, pairWords(c.opts)...)
	argv = append(argv, "localhost/rockon-test:1")
	cmd := e.s.Command(ctx, "sh", append([]string{"-c", `cd / && exec "$@"`, "sh"}, argv...)...)
	defer func() {
		_ = e.s.Command(context.Background(), engine, "rm", "-f", "esc-control").Run()
		_ = e.s.Command(context.Background(), engine, "volume", "rm", "-f", "rockon-escape-vol").Run()
		if c.host != "" {
			_ = os.Remove(e.s.HostPath(c.host))
		}
	}()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("control %q: %v\n%s", argv, err, out)
	}
	base := "http://127.0.0.1:" + port
	sandbox.WaitUntil(t, time.Minute, "the control container", func() bool {
		out, err := e.s.Command(ctx, "curl", "-sf", base+"/").Output()
		return err == nil && strings.HasPrefix(string(out), "ok")
	})
	if c.write != "" {
		token := "escaped-" + c.name
		out, err := e.s.Command(ctx, "curl", "-sf", base+"/write?path="+c.write+"&data="+token).CombinedOutput()
		if err != nil {
			t.Fatalf("control write: %v %s", err, out)
		}
		if got, err := os.ReadFile(e.s.HostPath(c.host)); err != nil || string(got) != token {
			t.Fatalf("control: the container's write did not reach %s (%q, %v): the case is not shown", c.host, got, err)
		}
	}
	if c.get != "" {
		out, err := e.s.Command(ctx, "curl", "-sf", base+c.get).Output()
		if err != nil || !strings.Contains(string(out), c.want) {
			t.Fatalf("control %s: %q, %v; want %q: the case is not shown", c.get, out, err, c.want)
		}
	}
}
