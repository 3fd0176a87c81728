package hardening

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/unitgen"
)

// These tests feed hostile definitions and choices through the real entry
// points, catalog.Decode and unitgen.Compile (which validates the choices),
// and check that each is refused with the offending field named, or
// confined.

// container is one container of a test definition, in registry JSON.
type container map[string]any

// defJSON builds a one-rock-on registry file.
func defJSON(name string, containers map[string]container) []byte {
	top := map[string]any{name: map[string]any{
		"description": "d", "version": "1", "website": "https://example.org/",
		"containers": containers,
	}}
	b, err := json.Marshal(top)
	if err != nil {
		panic(err)
	}
	return b
}

// webContainer is a container with an env variable, a volume and a port.
func webContainer() container {
	return container{
		"image": "localhost/rockon-test", "tag": "1", "launch_order": 1,
		"ports":       map[string]any{"8080": map[string]any{"description": "p", "label": "p", "host_default": 18080, "protocol": "tcp"}},
		"volumes":     map[string]any{"/data": map[string]any{"description": "v", "label": "v"}},
		"environment": map[string]any{"V": map[string]any{"description": "e", "label": "e"}},
	}
}

func decodeOne(t *testing.T, data []byte) *catalog.RockOn {
	t.Helper()
	defs, err := catalog.Decode("test.json", data)
	if err != nil {
		t.Fatalf("decode: %v\n%s", err, data)
	}
	if len(defs) != 1 {
		t.Fatalf("decode: %d rock-ons", len(defs))
	}
	return defs[0]
}

func options() unitgen.Options {
	return unitgen.Options{Host: model.Host{Engine: unitgen.Podman, SharesRoot: "/srv/rockon/shares"},
		PathOwner: func(string) (int, int, error) { return 1000, 1000, nil },
		DockerGID: func() (int, error) { return 998, nil }}
}

func webChoices(v string) model.Choices {
	return model.Choices{Containers: map[string]model.ContainerChoices{"web": {
		Volumes: map[string]string{"/data": "/srv/rockon/data"},
		Env:     map[string]string{"V": v},
	}}}
}

// mustRefuse compiles and wants an error mentioning every word of want.
func mustRefuse(t *testing.T, def *catalog.RockOn, ch model.Choices, want ...string) {
	t.Helper()
	res, err := unitgen.Compile(def, ch, options())
	if err == nil {
		t.Fatalf("compiled, want a refusal naming %q; units:\n%s", want, unitText(res))
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal %q does not name %q", err, w)
		}
	}
}

func unitText(res *unitgen.Result) string {
	var b strings.Builder
	for _, f := range res.Units {
		fmt.Fprintf(&b, "== %s\n%s", f.Name, f.Content)
	}
	return b.String()
}

// TestValues_NULRefused, TestValues_InvalidUTF8Refused,
// TestValues_OverOneMegabyteRefused: values that cannot travel in an env
// file or a unit line are refused by validation, before the daemon writes
// anything (the daemon compiles before it writes; TestDaemon checks the
// same over D-Bus with the unit directory left empty).
func TestValues_NULRefused(t *testing.T) {
	def := decodeOne(t, defJSON("Vals", map[string]container{"web": webContainer()}))
	mustRefuse(t, def, webChoices("a\x00b"), `environment variable "V"`, "NUL")
}

func TestValues_InvalidUTF8Refused(t *testing.T) {
	def := decodeOne(t, defJSON("Vals", map[string]container{"web": webContainer()}))
	mustRefuse(t, def, webChoices("a\xffb"), `environment variable "V"`, "UTF-8")
}

func TestValues_OverOneMegabyteRefused(t *testing.T) {
	def := decodeOne(t, defJSON("Vals", map[string]container{"web": webContainer()}))
	mustRefuse(t, def, webChoices(strings.Repeat("x", 1<<20+1)), `environment variable "V"`, "longer than")
}

// TestNames_HostileRockOnNames: a rock-on name becomes a slug of
// [a-z0-9-] only, so every unit it yields is rockon-<slug>...: no path
// separator, no "..", no drop-in directory, never a system unit's name.
func TestNames_HostileRockOnNames(t *testing.T) {
	unitRE := regexp.MustCompile(`^rockon-[a-z0-9-]+\.(service|target)$`)
	for _, name := range []string{"../x", "a/b", "foo.service.d/x", "sshd", "dbus", "systemd-journald", "user@", "x@y", "@",
		"..", "rockon", "-", "multi-user.target", "a\\b", "a\nExecStartPre=/bin/sh"} {
		t.Run(name, func(t *testing.T) {
			data := defJSON(name, map[string]container{"web": webContainer()})
			defs, err := catalog.Decode("test.json", data)
			if err != nil {
				if !strings.Contains(err.Error(), "test.json") {
					t.Errorf("refusal does not name the file: %v", err)
				}
				return
			}
			res, err := unitgen.Compile(defs[0], webChoices("v"), options())
			if err != nil {
				return // refused: fine
			}
			if !unitRE.MatchString(res.Target) {
				t.Errorf("target %q", res.Target)
			}
			for _, f := range append(slices.Clone(res.Units), res.EnvFiles...) {
				if !unitRE.MatchString(f.Name) && !regexp.MustCompile(`^rockon-[a-z0-9-]+\.env$`).MatchString(f.Name) {
					t.Errorf("%q gives file %q", name, f.Name)
				}
			}
		})
	}
}

// TestNames_TooLongRefused: a name whose units would exceed systemd's
// 255-byte unit name limit is refused.
func TestNames_TooLongRefused(t *testing.T) {
	data := defJSON(strings.Repeat("a", 300), map[string]container{"web": webContainer()})
	defs, err := catalog.Decode("test.json", data)
	if err != nil {
		return
	}
	res, err := unitgen.Compile(defs[0], webChoices("v"), options())
	if err == nil {
		for _, f := range res.Units {
			if len(f.Name) > 255 {
				t.Fatalf("unit name of %d bytes compiled", len(f.Name))
			}
		}
		t.Fatalf("a 300-character name compiled to %s", res.Target)
	}
	if !strings.Contains(err.Error(), "slug") && !strings.Contains(err.Error(), "long") {
		t.Errorf("refusal does not say why: %v", err)
	}
}

// TestNames_HostileContainerNames: container names are engine object names
// and part of unit names: path separators, "..", '@' and spaces are refused
// at decode time, naming the container.
func TestNames_HostileContainerNames(t *testing.T) {
	for _, name := range []string{"../x", "a/b", "foo.service.d/x", "x@y", "@", "a b", "-x", ".x", "a\nb", "", strings.Repeat("c", 200)} {
		t.Run(name, func(t *testing.T) {
			_, err := catalog.Decode("test.json", defJSON("Names", map[string]container{name: webContainer()}))
			if err == nil {
				t.Fatalf("container name %q accepted", name)
			}
			if !strings.Contains(err.Error(), "containers") {
				t.Errorf("refusal does not name the containers field: %v", err)
			}
		})
	}
	// A system service's name stays a rockon unit.
	def := decodeOne(t, defJSON("Names", map[string]container{"sshd": webContainer()}))
	ch := webChoices("v")
	ch.Containers = map[string]model.ContainerChoices{"sshd": ch.Containers["web"]}
	res, err := unitgen.Compile(def, ch, options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Containers[0].Unit != "rockon-names-sshd.service" {
		t.Errorf("container sshd runs in %q", res.Containers[0].Unit)
	}
}

// TestNames_SlugCollisionsDetectable: different names can share a slug or
// unit names; unitgen says so through the unit names it returns, and the
// daemon refuses the second install (TestDaemon/SlugCollisionRefused).
func TestNames_SlugCollisionsDetectable(t *testing.T) {
	a := decodeOne(t, defJSON("Foo Bar", map[string]container{"web": webContainer()}))
	b := decodeOne(t, defJSON("foo-bar", map[string]container{"web": webContainer()}))
	if model.Slug(a.Name) != model.Slug(b.Name) {
		t.Fatalf("slugs differ: %q %q", model.Slug(a.Name), model.Slug(b.Name))
	}
}

// TestImages_HostileRefused: an image reference that could be read as an
// option, or carry a second word, is refused by the image check.
func TestImages_HostileRefused(t *testing.T) {
	for _, img := range []string{"-v", "--privileged", "-", "a b", "a;b", "a;rm -rf /", "a\nb", "a:tag", "A", "a//b", "a/-b", "a@sha256:00", " a"} {
		t.Run(img, func(t *testing.T) {
			c := webContainer()
			c["image"] = img
			_, err := catalog.Decode("test.json", defJSON("Img", map[string]container{"web": c}))
			if err == nil || !strings.Contains(err.Error(), "image") {
				t.Fatalf("image %q: err = %v, want a refusal naming image", img, err)
			}
		})
	}
	for _, tag := range []string{"-x", "a b", "a;b", ".x"} {
		c := webContainer()
		c["tag"] = tag
		if _, err := catalog.Decode("test.json", defJSON("Img", map[string]container{"web": c})); err == nil || !strings.Contains(err.Error(), "tag") {
			t.Errorf("tag %q: err = %v, want a refusal naming tag", tag, err)
		}
	}
}

// TestArgs_DashValuesNeverOptions: values beginning with '-' (an env value,
// a command argument of the definition) stay values: env values go to the
// env file, command arguments come after the image on the command line, so
// the engine never reads them as its options. TestUnitInjection checks
// what the container receives.
func TestArgs_DashValuesNeverOptions(t *testing.T) {
	c := webContainer()
	c["cmd_arguments"] = [][]string{{"--privileged", "-v=/:/host"}}
	def := decodeOne(t, defJSON("Dash", map[string]container{"web": c}))
	res, err := unitgen.Compile(def, webChoices("--privileged"), options())
	if err != nil {
		t.Fatal(err)
	}
	var svc string
	for _, f := range res.Units {
		if strings.HasSuffix(f.Name, "-web.service") {
			svc = string(f.Content)
		}
	}
	for _, line := range strings.Split(svc, "\n") {
		if !strings.HasPrefix(line, "ExecStart=") {
			continue
		}
		img := strings.Index(line, `"localhost/rockon-test:1"`)
		if img < 0 {
			t.Fatalf("no image in %s", line)
		}
		if i := strings.Index(line, `"--privileged"`); i >= 0 && i < img {
			t.Errorf("--privileged before the image: %s", line)
		}
		if strings.Contains(line[:img], "/:/host") {
			t.Errorf("host mount before the image: %s", line)
		}
	}
	for _, f := range res.EnvFiles {
		if !strings.Contains(string(f.Content), "\nV=--privileged\n") {
			t.Errorf("env file lacks the value:\n%s", f.Content)
		}
	}
}

// TestPaths_HostPathsRefused: host paths that are relative, hold "..", ':'
// or ',', or are or lie in system directories or are an engine socket.
// Symlinks are resolved by the daemon on disk (TestDaemon/SymlinkToEtc).
func TestPaths_HostPathsRefused(t *testing.T) {
	def := decodeOne(t, defJSON("Paths", map[string]container{"web": webContainer()}))
	for _, p := range []string{"rel/dir", "./x", "/srv/../etc", "/srv/a/..", "/srv/a:b", "/srv/a,b", "/srv/a:/etc", "/", "/etc", "/etc/ssh",
		"/proc", "/proc/1/root", "/sys", "/sys/kernel", "/dev", "/dev/sda", "/var/run/docker.sock", "/run/docker.sock",
		"/run/podman/podman.sock", "/var/lib/docker", "/var/lib/rockon", "/boot", "/srv//x", "/srv/x/"} {
		t.Run(p, func(t *testing.T) {
			ch := webChoices("v")
			ch.Containers["web"].Volumes["/data"] = p
			mustRefuse(t, def, ch, `volume "/data"`)
		})
	}
}

// TestDevices_OutsideDevRefused: a device path must be a clean path under
// /dev and not host memory; the daemon also wants a device node
// (TestDaemon/DeviceNotANodeRefused).
func TestDevices_OutsideDevRefused(t *testing.T) {
	c := webContainer()
	c["devices"] = map[string]any{"GPU": map[string]any{"description": "g", "label": "g"}}
	def := decodeOne(t, defJSON("Devs", map[string]container{"web": c}))
	for _, p := range []string{"/etc/passwd", "dev/null", "/dev/../etc/shadow", "/dev", "/dev/", "/dev/mem", "/dev/kmem", "/dev/port", "/srv/dev/x", "/dev/a:b"} {
		t.Run(p, func(t *testing.T) {
			ch := webChoices("v")
			w := ch.Containers["web"]
			w.Devices = map[string]string{"GPU": p}
			ch.Containers["web"] = w
			mustRefuse(t, def, ch, `device "GPU"`)
		})
	}
}

// TestPorts_InvalidRefused: host ports out of range, malformed container
// port keys and duplicates are refused. 0 is documented as "not
// published" and yields no -p (checked here); the metrics port and other
// host listeners are refused by the daemon (TestDaemon/MetricsPortRefused).
func TestPorts_InvalidRefused(t *testing.T) {
	c := webContainer()
	c["ports"] = map[string]any{
		"8080": map[string]any{"description": "p", "label": "p", "host_default": 18080, "protocol": "tcp"},
		"9090": map[string]any{"description": "p", "label": "p", "host_default": 19090, "protocol": "tcp"},
	}
	def := decodeOne(t, defJSON("Ports", map[string]container{"web": c}))
	for _, tc := range []struct {
		ports map[string]int
		want  string
	}{
		{map[string]int{"8080": 65536}, "65536"},
		{map[string]int{"8080": -1}, "-1"},
		{map[string]int{"80;x": 1}, `"80;x"`},
		{map[string]int{"8080;x": 1}, `"8080;x"`},
		{map[string]int{"0": 1}, `"0"`},
		{map[string]int{"65536": 1}, `"65536"`},
		{map[string]int{"-1": 1}, `"-1"`},
		{map[string]int{"8080": 5000, "9090": 5000}, "used twice"},
		{map[string]int{"9090": 18080}, "used twice"},
	} {
		t.Run(fmt.Sprint(tc.ports), func(t *testing.T) {
			ch := webChoices("v")
			w := ch.Containers["web"]
			w.Ports = tc.ports
			ch.Containers["web"] = w
			mustRefuse(t, def, ch, tc.want)
		})
	}
	// Duplicates inside the definition itself.
	dup := webContainer()
	dup["ports"] = map[string]any{
		"8080": map[string]any{"description": "p", "label": "p", "host_default": 18080, "protocol": "tcp"},
		"9090": map[string]any{"description": "p", "label": "p", "host_default": 18080, "protocol": "tcp"},
	}
	if d, err := catalog.Decode("test.json", defJSON("Dup", map[string]container{"web": dup})); err == nil {
		if _, err := unitgen.Compile(d[0], webChoices("v"), options()); err == nil {
			t.Error("a definition publishing host port 18080 twice compiled")
		}
	}
	for _, hp := range []any{0, -1, 65536, "80;x"} {
		bad := webContainer()
		bad["ports"] = map[string]any{"8080": map[string]any{"description": "p", "label": "p", "host_default": hp, "protocol": "tcp"}}
		if hp == 0 {
			// 0: not published by default, the user must choose one
			d, err := catalog.Decode("test.json", defJSON("Bad", map[string]container{"web": bad}))
			if err != nil {
				continue
			}
			res, err := unitgen.Compile(d[0], webChoices("v"), options())
			if err == nil && strings.Contains(unitText(res), `"-p" "0:`) {
				t.Errorf("host_default 0 published port 0:\n%s", unitText(res))
			}
			continue
		}
		if _, err := catalog.Decode("test.json", defJSON("Bad", map[string]container{"web": bad})); err == nil {
			t.Errorf("host_default %v accepted", hp)
		}
	}
	ch := webChoices("v")
	w := ch.Containers["web"]
	w.Ports = map[string]int{"8080": 0}
	ch.Containers["web"] = w
	res, err := unitgen.Compile(def, ch, options())
	if err != nil {
		t.Fatal(err)
	}
	if txt := unitText(res); strings.Contains(txt, ":8080/tcp") || strings.Contains(txt, `"0:`) {
		t.Errorf("port 0 published:\n%s", txt)
	}
}

// TestEnv_InvalidKeysRefused: an environment key that is not a variable
// name is refused, naming it.
func TestEnv_InvalidKeysRefused(t *testing.T) {
	for _, key := range []string{"A=B", "1X", "", "A B", "A\nB", "A-B", "$", "A;B"} {
		t.Run(key, func(t *testing.T) {
			c := webContainer()
			c["environment"] = map[string]any{key: map[string]any{"description": "e", "label": "e"}}
			defs, err := catalog.Decode("test.json", defJSON("Env", map[string]container{"web": c}))
			if err != nil {
				if !strings.Contains(err.Error(), "environment") {
					t.Errorf("refusal does not name the field: %v", err)
				}
				return
			}
			ch := webChoices("v")
			ch.Containers["web"].Env[key] = "v"
			delete(ch.Containers["web"].Env, "V")
			mustRefuse(t, defs[0], ch, "environment variable")
		})
	}
}

// TestConsent_RiskyOptsEverySpelling: every spelling of a risky option in
// a catalog definition needs consent; with it the definition compiles, and
// the daemon records the consent in state (TestDaemon/ConsentRecorded).
// --net=host needs none but is reported as a warning.
func TestConsent_RiskyOptsEverySpelling(t *testing.T) {
	for _, tc := range []struct {
		opts    [][]string
		consent string
	}{
		{[][]string{{"--privileged", ""}}, "privileged"},
		{[][]string{{"--privileged=true", ""}}, "privileged"},
		{[][]string{{"--cap-add=ALL", ""}}, "cap-add:ALL"},
		{[][]string{{"--cap-add", "ALL"}}, "cap-add:ALL"},
		{[][]string{{"--cap-add", "all"}}, "cap-add:ALL"},
		{[][]string{{"--cap-add", "SYS_ADMIN"}}, "cap-add:SYS_ADMIN"},
		{[][]string{{"--cap-add=CAP_SYS_ADMIN", ""}}, "cap-add:SYS_ADMIN"},
		{[][]string{{"--cap-add", "sys_admin"}}, "cap-add:SYS_ADMIN"},
		{[][]string{{"--pid=host", ""}}, "host-pid"},
		{[][]string{{"--pid", "host"}}, "host-pid"},
		{[][]string{{"--ipc=host", ""}}, "host-ipc"},
		{[][]string{{"--userns", "host"}}, "host-userns"},
		{[][]string{{"--security-opt", "seccomp=unconfined"}}, "unconfined"},
		{[][]string{{"--security-opt=apparmor=unconfined", ""}}, "unconfined"},
		{[][]string{{"--security-opt", "apparmor:unconfined"}}, "unconfined"},
		{[][]string{{"--device", "/dev/mem"}}, "host-devices"},
		{[][]string{{"--device=/dev/mem:/dev/mem", ""}}, "host-devices"},
		{[][]string{{"-v", "/var/run/docker.sock:/var/run/docker.sock"}}, "docker-socket"},
		{[][]string{{"-v=/run/docker.sock:/d.sock", ""}}, "docker-socket"},
		{[][]string{{"--volume", "/var/run/docker.sock:/x:ro"}}, "docker-socket"},
		{[][]string{{"--mount", "type=bind,src=/var/run/docker.sock,dst=/x"}}, "docker-socket"},
		{[][]string{{"--mount", "type=bind,Source=/var/run/docker.sock,dst=/x"}}, "docker-socket"},
		{[][]string{{"-v/var/run/docker.sock:/x", ""}}, "docker-socket"},
		{[][]string{{"-v", "/var/run/../run/docker.sock:/x"}}, "docker-socket"},
		{[][]string{{"-v", "/:/host"}}, "host-paths"},
		{[][]string{{"-v", "/etc:/etc"}}, "host-paths"},
		{[][]string{{"--volume=/proc:/host/proc:ro", ""}}, "host-paths"},
		{[][]string{{"-v=/var/lib/rockon:/x", ""}}, "host-paths"},
		{[][]string{{"--mount", "type=bind,source=/,target=/host"}}, "host-paths"},
		{[][]string{{"--env-file", "/etc/shadow"}}, "host-paths"},
		{[][]string{{"--cidfile=/etc/cron.d/x", ""}}, "host-paths"},
		{[][]string{{"--uts", "host"}}, "host-uts"},
		{[][]string{{"--cgroupns=host", ""}}, "host-cgroupns"},
		{[][]string{{"--device-cgroup-rule", "a *:* rwm"}}, "host-devices"},
		{[][]string{{"--device", "/dev/sda"}}, "host-devices"},
		{[][]string{{"--device=/dev/nvme0n1:/dev/x", ""}}, "host-devices"},
		{[][]string{{"--log-opt", "path=/etc/cron.d/x"}}, "host-paths"},
		{[][]string{{"-qv", "/:/h"}}, "host-paths"},
		{[][]string{{"-Pqv/usr:/h", ""}}, "host-paths"},
		{[][]string{{"-v", "/usr:/h"}}, "host-paths"},
		{[][]string{{"-v", "/root:/h"}}, "host-paths"},
		{[][]string{{"-v", "/var:/h"}}, "host-paths"},
		{[][]string{{"-v", "/var/lib:/h"}}, "host-paths"},
		{[][]string{{"-v", "/var/spool/cron:/h"}}, "host-paths"},
		{[][]string{{"-v", "/lib/systemd/system:/h"}}, "host-paths"},
		{[][]string{{"-v", "/home:/h"}}, "host-paths"},
		{[][]string{{"-v", "/opt:/h"}}, "host-paths"},
		{[][]string{{"-v", "/bin:/h"}}, "host-paths"},
		{[][]string{{"-v", "/mnt2/another-rockons-data:/h"}}, "host-paths"},
		{[][]string{{"--mount", `type=bind,"src=/",dst=/h`}}, "host-paths"},
		{[][]string{{"--mount", `"type=bind","source=/etc",dst=/h`}}, "host-paths"},
		{[][]string{{"--security-opt", "unmask=ALL"}}, "unconfined"},
		{[][]string{{"--security-opt", "seccomp=/etc/p.json"}}, "security-opt"},
		{[][]string{{"--security-opt", "label=type:spc_t"}}, "security-opt"},
		{[][]string{{"--security-opt", "no-new-privileges=false"}}, "security-opt"},
		{[][]string{{"--cap-add", "SYS_RESOURCE"}}, "cap-add:SYS_RESOURCE"},
		{[][]string{{"--cap-add", "LINUX_IMMUTABLE"}}, "cap-add:LINUX_IMMUTABLE"},
		{[][]string{{"--cap-add", "NET_ADMIN"}}, "cap-add:NET_ADMIN"},
		{[][]string{{"--cgroup-parent", "/"}}, "cgroup-parent"},
		{[][]string{{"--sysctl", "kernel.msgmax=1"}}, "sysctl"},
		{[][]string{{"--uidmap", "0:0:1"}}, "idmap"},
		{[][]string{{"--gpus", "all"}}, "host-devices"},
	} {
		t.Run(fmt.Sprint(tc.opts), func(t *testing.T) {
			c := webContainer()
			c["opts"] = tc.opts
			defs, err := catalog.Decode("test.json", defJSON("Risky", map[string]container{"web": c}))
			if err != nil {
				// refusing the definition outright is safe too
				t.Logf("refused at decode: %v", err)
				return
			}
			mustRefuse(t, defs[0], webChoices("v"), tc.consent)
			ch := webChoices("v")
			ch.Consent = []string{tc.consent}
			if _, err := unitgen.Compile(defs[0], ch, options()); err != nil {
				t.Errorf("with consent %q: %v", tc.consent, err)
			}
		})
	}
	// what needs no consent: an anonymous volume, a named volume, a
	// harmless short flag with its value attached
	for _, opts := range [][][]string{{{"-v", "/etc/openvpn"}}, {{"--mount", "type=volume,dst=/etc"}}, {{"--cap-add", "CHOWN"}}, {{"--sysctl", "net.ipv4.ip_forward=1"}}, {{"--security-opt", "no-new-privileges"}}, {{"-eFOO=/etc", ""}}, {{"--device", "/dev/net/tun"}}, {{"--device=/dev/dri/renderD128", ""}}, {{"--log-opt", "max-size=10m"}}} {
		c := webContainer()
		c["opts"] = opts
		if defs, err := catalog.Decode("test.json", defJSON("Fine", map[string]container{"web": c})); err == nil {
			if need := unitgen.RequiredConsent(defs[0]); len(need) > 0 {
				t.Errorf("%q needs consent %q", opts, need)
			}
		}
	}
	c := webContainer()
	c["opts"] = [][]string{{"--net=host", ""}}
	defs, err := catalog.Decode("test.json", defJSON("HostNet", map[string]container{"web": c}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := unitgen.Compile(defs[0], webChoices("v"), options())
	if err != nil {
		t.Fatalf("--net=host refused: %v", err)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "host") }) {
		t.Errorf("--net=host not reported: warnings %q", res.Warnings)
	}
	if got := unitgen.HostNetworkContainers(defs[0]); !slices.Equal(got, []string{"web"}) {
		t.Errorf("HostNetworkContainers = %q", got)
	}
}

// TestOpts_RefusedWhateverConsent: opts the engine would read differently
// from what they seem to say, that reach another rock-on's containers or
// data, or that rockon does not know, are refused naming the option even
// with every consent token granted.
func TestOpts_RefusedWhateverConsent(t *testing.T) {
	all := []string{"privileged", "host-paths", "host-pid", "host-ipc", "host-uts", "host-userns", "host-cgroupns",
		"unconfined", "security-opt", "host-devices", "docker-socket", "sysctl", "cgroup-parent", "idmap", "cap-add:ALL"}
	for _, tc := range []struct {
		opts [][]string
		why  string
	}{
		{[][]string{{"--privileged", "false"}}, `would take "false" as the image`},
		{[][]string{{"--privileged", "true"}}, `would take "true" as the image`},
		{[][]string{{"--read-only", "x"}}, "takes no separate value"},
		{[][]string{{"--net=host", "img"}}, "takes no separate value"},
		{[][]string{{"--volume", ""}}, "needs a value"},
		{[][]string{{"-qv", ""}}, "needs a value"},
		{[][]string{{"-xv", "/:/h"}}, "-x (in -xv) is not an engine option"},
		{[][]string{{"-v", ".:/h"}}, "not absolute"},
		{[][]string{{"-v", "./x:/h"}}, "not absolute"},
		{[][]string{{"-v", "~/x:/h"}}, "not absolute"},
		{[][]string{{"--mount", `type=bind,"src=.",dst=/h`}}, "not absolute"},
		{[][]string{{"-v", "data:/h"}}, `engine volume "data" by name`},
		{[][]string{{"--mount", "type=volume,src=x,dst=/x,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc"}}, "volume-opt"},
		{[][]string{{"--mount", "type=volume,dst=/x,volume-opt=device=/etc"}}, "volume-opt"},
		{[][]string{{"--mount", "type=bind,src=/mnt2/x,dst=/x,bind-propagation=rshared"}}, "propagate"},
		{[][]string{{"--mount", "type=devpts,dst=/x"}}, "type=devpts"},
		{[][]string{{"--pid", "container:other-rockon"}}, "not another container of this rock-on"},
		{[][]string{{"--network", "container:other-rockon"}}, "not another container of this rock-on"},
		{[][]string{{"--ipc=container:other-rockon", ""}}, "not another container of this rock-on"},
		{[][]string{{"--uts", "container:other-rockon"}}, "not another container of this rock-on"},
		{[][]string{{"--userns", "container:other-rockon"}}, "not another container of this rock-on"},
		{[][]string{{"--volumes-from", "other-rockon"}}, "not another container of this rock-on"},
		{[][]string{{"--link", "other-rockon:db"}}, "not another container of this rock-on"},
		{[][]string{{"--pid", "ns:/proc/1/ns/pid"}}, "by path"},
		{[][]string{{"--userns=ns:/proc/1/ns/user", ""}}, "by path"},
		{[][]string{{"--pod", "other"}}, "--pod is not an engine option"},
		{[][]string{{"--rootfs", ""}}, "--rootfs is not an engine option"},
		{[][]string{{"--runtime", "/tmp/x"}}, "--runtime is not an engine option"},
		{[][]string{{"--hooks-dir", "/tmp"}}, "--hooks-dir is not an engine option"},
		{[][]string{{"--replace", ""}}, "--replace is not an engine option"},
		{[][]string{{"-tv", "/mnt2/x:/x"}}, "mixes options rockon drops"},
	} {
		t.Run(fmt.Sprint(tc.opts), func(t *testing.T) {
			c := webContainer()
			c["opts"] = tc.opts
			defs, err := catalog.Decode("test.json", defJSON("Hostile", map[string]container{"web": c}))
			if err != nil {
				t.Logf("refused at decode: %v", err)
				return
			}
			ch := webChoices("v")
			ch.Consent = all
			_, err = unitgen.Compile(defs[0], ch, options())
			if err == nil || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("compile with every consent: %v; want a refusal with %q", err, tc.why)
			}
		})
	}
}

// TestJSON_CaseOnlyDuplicateKeysRefused: Go's decoder would match "IMAGE"
// to the image field and keep the last; rockon's decoder refuses keys that
// differ only by case.
func TestJSON_CaseOnlyDuplicateKeysRefused(t *testing.T) {
	for _, data := range []string{
		`{"X": {"description": "d", "version": "1", "website": "https://e.org/", "containers": {"web": {"image": "localhost/rockon-test", "IMAGE": "evil/image", "tag": "1", "launch_order": 1}}}}`,
		`{"X": {"description": "d", "version": "1", "website": "https://e.org/", "containers": {"web": {"image": "localhost/rockon-test", "tag": "1", "Tag": "2", "launch_order": 1}}}}`,
		`{"X": {"description": "d", "version": "1", "website": "https://e.org/", "Containers": {}, "containers": {"web": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1}}}}`,
		`{"X": {"description": "d", "version": "1", "website": "https://e.org/", "containers": {"web": {"image": "localhost/rockon-test", "image": "evil/image", "tag": "1", "launch_order": 1}}}}`,
		`{"X": {"description": "d", "version": "1", "website": "https://e.org/", "containers": {"web": {"image": "localhost/rockon-test", "tag": "1", "launch_order": 1, "environment": {"K": {"label": "a"}, "k": {"label": "b"}}}}}}`,
	} {
		defs, err := catalog.Decode("test.json", []byte(data))
		if err == nil {
			t.Errorf("accepted: %s -> image %q tag %q", data, defs[0].Containers[0].Image, defs[0].Containers[0].Tag)
		}
	}
}
