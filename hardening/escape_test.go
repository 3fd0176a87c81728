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
	e := startDaemonEngine(t, engine, files, "", nil)
	ctx := ctxFor(t, 20*time.Minute)
	if n, err := e.c.RefreshCatalog(ctx); err != nil || n != len(files) {
		t.Fatalf("RefreshCatalog = %d, %v", n, err)
	}
	rockon := filepath.Join(sandbox.Binaries(t), "rockon")
	// the victim: a container of something else, holding a secret
	e.s.Run(t, engine, "run", "-d", "--name", "esc-victim", "--net=host", "-e", "PORT=18556",
		"-e", "VICTIM_SECRET="+victimSecret, "localhost/rockon-test:1")
	waitUntil(t, time.Minute, "the victim container", func() bool {
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
	waitUntil(t, time.Minute, "the control container", func() bool {
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
