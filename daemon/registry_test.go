package daemon_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rockon/rockon/sandbox"
)

// hubDef names its images as Rockstor's catalog does: a Docker Hub
// repository without a registry host (and no tag: latest), another
// registry's host, and an official image (one component).
const hubDef = `{
  "Hub Test": {
    "description": "Images named as the catalog names them.",
    "version": "1.0",
    "website": "https://example.org/",
    "containers": {
      "hub-web": {
        "image": "rockontest/app",
        "launch_order": 1,
        "ports": {"8080": {"description": "Web.", "label": "Web", "host_default": 18110, "protocol": "tcp", "ui": true}}
      },
      "hub-api": {
        "image": "lscr.io/rockontest/api",
        "tag": "1",
        "launch_order": 2,
        "ports": {"8080": {"description": "API.", "label": "API", "host_default": 18111, "protocol": "tcp"}}
      },
      "hub-official": {
        "image": "rockontest",
        "tag": "1",
        "launch_order": 3
      }
    }
  }
}`

// faultDef is a one-container rock-on whose image pull fails in a given way.
// Container names are unique across a catalog: each gets its own.
func faultDef(i int, name, image, tag string) string {
	return fmt.Sprintf(`{%q: {"description": "A pull that fails.", "version": "1", "website": "https://example.org/",
  "containers": {"fault-%d": {"image": %q, "tag": %q, "launch_order": 1,
    "ports": {"8080": {"description": "Port.", "label": "Port", "host_default": 18120, "protocol": "tcp"}}}}}}`, name, i, image, tag)
}

// flakyDef is installed from sandbox.FlakyHost while that serves the
// registry, and updated while it fails; fullDef's image is pulled when the
// engine's storage is full.
const flakyDef = `{"Flaky": {"description": "A registry that fails later.", "version": "1", "website": "https://example.org/",
  "containers": {"flaky-web": {"image": "` + sandbox.FlakyHost + `/rockontest/flaky", "tag": "1", "launch_order": 1,
    "ports": {"8080": {"description": "Port.", "label": "Port", "host_default": 18130, "protocol": "tcp"}}}}}}`

const fullDef = `{"Disk Full": {"description": "A pull into a full disk.", "version": "1", "website": "https://example.org/",
  "containers": {"full-web": {"image": "rockontest/full", "tag": "1", "launch_order": 1,
    "ports": {"8080": {"description": "Port.", "label": "Port", "host_default": 18131, "protocol": "tcp"}}}}}}`

type fault struct {
	name, image, tag, ref, registry string
}

var faults = []fault{
	{"Unknown Repository", "rockontest/nothere", "1", "docker.io/rockontest/nothere:1", "docker.io"},
	{"Unknown Tag", "rockontest/app", "9", "docker.io/rockontest/app:9", "docker.io"},
	{"Unreachable Registry", "unreachable.rockon.test/rockontest/app", "1", "unreachable.rockon.test/rockontest/app:1", "unreachable.rockon.test"},
	{"Silent Registry", "silent.rockon.test/rockontest/app", "1", "silent.rockon.test/rockontest/app:1", "silent.rockon.test"},
	{"Unauthorized Registry", sandbox.FaultHost(sandbox.FaultUnauthorized) + "/rockontest/app", "1", sandbox.FaultHost(sandbox.FaultUnauthorized) + "/rockontest/app:1", sandbox.FaultHost(sandbox.FaultUnauthorized)},
	{"Failing Registry", sandbox.FaultHost(sandbox.FaultServerError) + "/rockontest/app", "1", sandbox.FaultHost(sandbox.FaultServerError) + "/rockontest/app:1", sandbox.FaultHost(sandbox.FaultServerError)},
	// the manifest is the pushed rockontest:1's; its blobs are cut off
	{"Cut Pull", sandbox.FaultHost(sandbox.FaultCut) + "/library/rockontest", "1", sandbox.FaultHost(sandbox.FaultCut) + "/library/rockontest:1", sandbox.FaultHost(sandbox.FaultCut)},
}

func TestDockerHubNamesPodman(t *testing.T) { testDockerHubNames(t, "podman") }
func TestDockerHubNamesDocker(t *testing.T) { testDockerHubNames(t, "docker") }

// testDockerHubNames: rockond, confined as rockon.service ships, installs
// rock-ons whose images are named like the catalog's from the sandbox's
// stand-in Docker Hub (over HTTPS); pulls that fail leave nothing behind
// and say which image and registry; a newer image pushed under the same
// tag is found by an update check without touching the local image, and
// an update then runs it.
func testDockerHubNames(t *testing.T, engine string) {
	e := setupWith(t, engine, setupOptions{registry: true, shipped: true, storageSize: "512m", settings: sandbox.Settings{
		"timeouts": {"pull": "45s", "fetch": "15s"},
	}})
	s := e.s
	if got := strings.TrimSpace(s.Run(t, "systemctl", "show", "--value", "-p", "ProtectSystem,NoNewPrivileges", "rockon.service")); got != "strict\nyes" {
		t.Fatalf("rockond does not run under the shipped confinement: %q", got)
	}
	s.PushTestImage(t, "1", "rockontest/app:latest")
	s.PushTestImage(t, "1", "lscr.io/rockontest/api:1")
	s.PushTestImage(t, "1", "rockontest:1")
	s.PushTestImage(t, "1", "rockontest/flaky:1")
	s.PushTestImage(t, "vol1", "rockontest/full:1")
	s.PushTestImage(t, "vol2", "rockontest/full:2")
	if engine == "podman" {
		// the pushes' sources share the layers: without them every byte is pulled
		args := []string{"rmi", "--force"}
		for _, v := range sandbox.TestImageVersions {
			args = append(args, sandbox.TestImage+":"+v)
		}
		s.Run(t, "podman", args...)
	}
	s.SetFlakyRegistry(t, sandbox.FaultNone)
	// a registry that accepts connections and never answers
	s.Run(t, "sh", "-c", "echo '127.0.0.2 silent.rockon.test' >>/etc/hosts")
	s.Run(t, "systemd-run", "--unit=silent-registry", "socat", "TCP-LISTEN:443,bind=127.0.0.2,fork,reuseaddr", "SYSTEM:sleep 3600")
	// registries answering 401, 500, or cutting a blob off mid-pull
	for i, f := range []string{sandbox.FaultUnauthorized, sandbox.FaultServerError, sandbox.FaultCut} {
		s.StartRegistryFault(t, f, fmt.Sprintf("127.0.0.%d", 3+i))
	}

	dir := s.HostPath("/srv/rockon/catalog")
	root := `{"hub test": "hub.json"`
	writeFile(t, filepath.Join(dir, "hub.json"), hubDef, 0o644)
	writeFile(t, filepath.Join(dir, "flaky.json"), flakyDef, 0o644)
	writeFile(t, filepath.Join(dir, "full.json"), fullDef, 0o644)
	root += `, "flaky": "flaky.json", "disk full": "full.json"`
	for i, f := range faults {
		file := fmt.Sprintf("fault%d.json", i)
		writeFile(t, filepath.Join(dir, file), faultDef(i, f.name, f.image, f.tag), 0o644)
		root += fmt.Sprintf(", %q: %q", strings.ToLower(f.name), file)
	}
	writeFile(t, filepath.Join(dir, "root.json"), root+"}", 0o644)
	if _, err := e.c.RefreshCatalog(e.ctx()); err != nil {
		t.Fatal(err)
	}

	if err := e.c.Install(e.ctx(), "Hub Test", "", true, nil); err != nil {
		t.Fatalf("install: %v", err)
	}
	for _, port := range []string{"18110", "18111"} {
		if got := strings.TrimSpace(e.mustCurl("http://127.0.0.1:" + port + "/version")); got != "1" {
			t.Fatalf("port %s: version %q, want 1", port, got)
		}
	}
	unit := s.Run(t, "cat", "/etc/systemd/system/rockon-hub-test-hub-web.service")
	if !strings.Contains(unit, `"docker.io/rockontest/app:latest"`) {
		t.Errorf("the web unit does not run the qualified name:\n%s", unit)
	}
	if !strings.Contains(s.Run(t, "cat", "/etc/systemd/system/rockon-hub-test-hub-official.service"), `"docker.io/library/rockontest:1"`) {
		t.Error("the official image is not run as docker.io/library/...")
	}

	// Faults: one error naming image and registry, nothing installed.
	for _, f := range faults {
		err := e.c.Install(e.ctx(), f.name, "", true, nil)
		t.Logf("install %s: %v", f.name, err)
		if err == nil {
			t.Errorf("install %s succeeded", f.name)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, "image "+f.ref+" from registry "+f.registry+":") || strings.Contains(msg, "\n") {
			t.Errorf("install %s: error %q does not name image %s and registry %s in one line", f.name, msg, f.ref, f.registry)
		}
		if _, err := e.c.Status(e.ctx(), f.name); err != nil {
			t.Errorf("status %s: %v", f.name, err)
		} else if p, _ := e.c.Status(e.ctx(), f.name); p.Installed {
			t.Errorf("%s is installed after a failed pull", f.name)
		}
		if out := s.Run(t, "sh", "-c", "ls /etc/systemd/system | grep -c rockon-"+strings.ReplaceAll(strings.ToLower(f.name), " ", "-")+" || true"); strings.TrimSpace(out) != "0" {
			t.Errorf("%s left unit files", f.name)
		}
	}
	if out := s.Run(t, engine, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(out, "fault-") {
		t.Errorf("a failed install left a container:\n%s", out)
	}
	testUpdateFaults(t, e)

	// A newer image under the same tag: found by the check, local image untouched.
	localID := func() string {
		return strings.TrimSpace(s.Run(t, engine, "image", "inspect", "--format", "{{.Id}}", "docker.io/rockontest/app:latest"))
	}
	before := localID()
	checks, err := e.c.CheckUpdates(e.ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if c.UpdateAvailable || c.Error != "" || c.CurrentDigest == "" || c.CurrentDigest != c.LatestDigest {
			t.Errorf("before a push: %+v", c)
		}
	}
	s.PushTestImage(t, "2", "rockontest/app:latest")
	checks, err = e.c.CheckUpdates(e.ctx(), []string{"Hub Test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 3 {
		t.Fatalf("checks: %+v", checks)
	}
	for _, c := range checks {
		want := c.Container == "hub-web"
		if c.UpdateAvailable != want || c.Error != "" || !strings.HasPrefix(c.LatestDigest, "sha256:") || !strings.HasPrefix(c.CurrentDigest, "sha256:") {
			t.Errorf("after a push to rockontest/app:latest: %+v", c)
		}
	}
	// the CLI, as a user runs it
	var cli []map[string]any
	out := s.Run(t, filepath.Join(sandbox.Binaries(t), "rockon"), "update", "--check", "--json", "Hub Test")
	if err := json.Unmarshal([]byte(out), &cli); err != nil || len(cli) != 3 {
		t.Fatalf("rockon update --check --json: %v\n%s", err, out)
	}
	for _, c := range cli {
		for _, k := range []string{"name", "container", "image", "current_digest", "latest_digest", "update_available"} {
			if _, ok := c[k]; !ok {
				t.Errorf("rockon update --check --json: no %q in %v", k, c)
			}
		}
		if c["container"] == "hub-web" && (c["update_available"] != true || c["image"] != "docker.io/rockontest/app:latest") {
			t.Errorf("rockon update --check --json: %v", c)
		}
	}
	if got := localID(); got != before {
		t.Errorf("the check changed the local image: %s -> %s", before, got)
	}
	if p, err := e.c.Status(e.ctx(), "Hub Test"); err != nil || !p.UpdateAvailable {
		t.Errorf("UpdateAvailable after the check: %v, %v", p.UpdateAvailable, err)
	}
	if m := e.mustCurl("http://127.0.0.1:9387/metrics"); !strings.Contains(m, `rockon_rockon_update_available{rockon="Hub Test"} 1`) {
		t.Errorf("metrics lack the update:\n%s", m)
	}
	if got := strings.TrimSpace(e.mustCurl("http://127.0.0.1:18110/version")); got != "1" {
		t.Errorf("the check changed what runs: version %q", got)
	}

	// An update while the registry is down: it fails naming image and
	// registry, the running version stays.
	s.Run(t, "systemctl", "stop", "registry.service")
	err = e.c.Update(e.ctx(), "Hub Test", nil)
	// the images are pulled at once: the first failure may be either registry's
	if err == nil || !(strings.Contains(err.Error(), "from registry docker.io:") || strings.Contains(err.Error(), "from registry lscr.io:")) {
		t.Errorf("update with the registry down: %v", err)
	}
	if got := strings.TrimSpace(e.mustCurl("http://127.0.0.1:18110/version")); got != "1" {
		t.Errorf("after a failed update: version %q", got)
	}
	s.Run(t, "systemctl", "start", "registry.service")

	if err := e.c.Update(e.ctx(), "Hub Test", nil); err != nil {
		t.Fatalf("update: %v", err)
	}
	if got := strings.TrimSpace(e.mustCurl("http://127.0.0.1:18110/version")); got != "2" {
		t.Errorf("after the update: version %q, want 2", got)
	}
	checks, err = e.c.CheckUpdates(e.ctx(), []string{"hub-test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checks {
		if c.UpdateAvailable || c.Error != "" {
			t.Errorf("after the update: %+v", c)
		}
	}

	// The timers as shipped, fired by systemd: the catalog refresh finds a
	// new definition; the automatic update updates Hub Test, opted in from
	// the CLI, and leaves Flaky, not opted in, on its version although its
	// registry has a newer one.
	installTimers(t, s)
	testTimers(t, e)
	// Uninstall removing images: the rock-on's images go, as Rockstor's
	// delete-rockon removes them.
	rockon := filepath.Join(sandbox.Binaries(t), "rockon")
	s.Run(t, rockon, "uninstall", "--remove-images", "Hub Test")
	for _, ref := range []string{"docker.io/rockontest/app:latest", "lscr.io/rockontest/api:1", "docker.io/library/rockontest:1"} {
		if out, err := s.Command(e.ctx(), engine, "image", "inspect", ref).CombinedOutput(); err == nil {
			t.Errorf("uninstall --remove-images left %s: %s", ref, out)
		}
	}
	if _, err := e.c.CheckUpdates(e.ctx(), []string{"Not Installed"}); err == nil {
		t.Error("CheckUpdates of an unknown rock-on succeeded")
	}
}

// testUpdateFaults: the rock-on Flaky, installed from sandbox.FlakyHost while
// it served the registry, is updated while that registry answers 401, 500,
// cuts a blob off, stalls one for ever (rockond's pull timeout ends it), and
// while the engine's storage is full; a rock-on installed into the full
// storage: each time one line naming the image and the registry, nothing
// installed or changed, the running version answers with the same image.
// Update checks under the registry faults say why per container. With space
// again the update goes through.
func testUpdateFaults(t *testing.T, e *env) {
	s, engine := e.s, e.engine
	ref := sandbox.FlakyHost + "/rockontest/flaky:1"
	if err := e.c.Install(e.ctx(), "Flaky", "", true, nil); err != nil {
		t.Fatalf("install Flaky: %v", err)
	}
	unit := "/etc/systemd/system/rockon-flaky-flaky-web.service"
	type snapshot struct{ version, container, local, recorded, unit string }
	snap := func() snapshot {
		t.Helper()
		p, err := e.c.Status(e.ctx(), "Flaky")
		if err != nil || len(p.Containers) != 1 {
			t.Fatalf("status Flaky: %v %+v", err, p.Containers)
		}
		return snapshot{
			version:   strings.TrimSpace(e.mustCurl("http://127.0.0.1:18130/version")),
			container: strings.TrimSpace(s.Run(t, engine, "container", "inspect", "--format", "{{.Image}}", "flaky-web")),
			local:     strings.TrimSpace(s.Run(t, engine, "image", "inspect", "--format", "{{.Id}}", ref)),
			recorded:  p.Containers[0].ImageID,
			unit:      s.Run(t, "cat", unit),
		}
	}
	before := snap()
	if before.version != "1" {
		t.Fatalf("Flaky runs version %q, want 1", before.version)
	}
	// failed checks that the update failed with one line naming the image,
	// the registry and want, and that nothing changed
	failed := func(what string, err error, want string) {
		t.Helper()
		t.Logf("update Flaky, %s: %v", what, err)
		if err == nil {
			t.Errorf("update Flaky, %s: succeeded", what)
		} else if msg := err.Error(); !strings.Contains(msg, "image "+ref+" from registry "+sandbox.FlakyHost+": ") ||
			!strings.Contains(msg, want) || strings.Contains(msg, "\n") {
			t.Errorf("update Flaky, %s: %q is not one line naming image %s, registry %s and %q", what, msg, ref, sandbox.FlakyHost, want)
		}
		if after := snap(); after != before {
			t.Errorf("update Flaky, %s: changed what runs:\nbefore %+v\nafter  %+v", what, before, after)
		}
		if p, err := e.c.Status(e.ctx(), "Flaky"); err != nil || p.State != "running" {
			t.Errorf("update Flaky, %s: state %q, %v", what, p.State, err)
		}
	}
	for _, f := range []struct{ fault, want, check string }{
		{sandbox.FaultUnauthorized, "", "unauthorized"},
		{sandbox.FaultServerError, "", "500"},
		{sandbox.FaultCut, "", ""},
		{sandbox.FaultStall, "timed out after 45s", "timed out after 15s"},
	} {
		s.SetFlakyRegistry(t, f.fault)
		failed(f.fault, e.c.Update(e.ctx(), "Flaky", nil), f.want)
		checks, err := e.c.CheckUpdates(e.ctx(), []string{"Flaky"})
		if err != nil || len(checks) != 1 {
			t.Errorf("check Flaky, %s: %v %+v", f.fault, err, checks)
			continue
		}
		c := checks[0]
		t.Logf("check Flaky, %s: %s", f.fault, c.Error)
		if f.fault == sandbox.FaultCut {
			// the manifest and the config blob a check reads are whole
			// up to the cut: whether skopeo meets it depends on sizes
			if c.Error == "" && (c.UpdateAvailable || c.LatestDigest != c.CurrentDigest) {
				t.Errorf("check Flaky, cut: %+v", c)
			}
		} else if !strings.Contains(c.Error, "image "+ref+" from registry "+sandbox.FlakyHost+": ") || !strings.Contains(c.Error, f.check) ||
			strings.Contains(c.Error, "\n") || c.UpdateAvailable {
			t.Errorf("check Flaky, %s: %+v: no one-line error naming image, registry and %q", f.fault, c, f.check)
		}
		if f.fault == sandbox.FaultUnauthorized {
			out := s.Run(t, filepath.Join(sandbox.Binaries(t), "rockon"), "--no-color", "update", "--check", "Flaky")
			if !strings.Contains(out, "unknown: image "+ref+" from registry "+sandbox.FlakyHost+": ") {
				t.Errorf("rockon update --check Flaky, 401:\n%s", out)
			}
		}
	}

	// Disk full: the engine's storage, a filesystem of its own, with 64 KiB
	// left; the registry has a newer image for Flaky (pushed registry to
	// registry, so that no engine has its layer).
	s.SetFlakyRegistry(t, sandbox.FaultNone)
	s.Run(t, "skopeo", "copy", "--quiet", "docker://docker.io/rockontest/full:2", "docker://docker.io/rockontest/flaky:1")
	storage := "/var/lib/containers"
	if engine == "docker" {
		storage = "/var/lib/docker"
	}
	free := s.FillStorage(t, storage, 64<<10)
	const full = "the engine's image storage is full (no space left on device)"
	failed("disk full", e.c.Update(e.ctx(), "Flaky", nil), full)
	err := e.c.Install(e.ctx(), "Disk Full", "", true, nil)
	t.Logf("install Disk Full: %v", err)
	if err == nil || !strings.Contains(err.Error(), "image docker.io/rockontest/full:1 from registry docker.io: "+full) || strings.Contains(err.Error(), "\n") {
		t.Errorf("install into a full disk: %v", err)
	}
	if p, err := e.c.Status(e.ctx(), "Disk Full"); err != nil || p.Installed {
		t.Errorf("Disk Full after a pull into a full disk: installed %v, %v", p.Installed, err)
	}
	if out := s.Run(t, "sh", "-c", "ls /etc/systemd/system | grep -c rockon-disk-full || true"); strings.TrimSpace(out) != "0" {
		t.Error("the install into a full disk left unit files")
	}
	free()
	if err := e.c.Update(e.ctx(), "Flaky", nil); err != nil {
		t.Fatalf("update Flaky with space again: %v", err)
	}
	if got := strings.TrimSpace(e.mustCurl("http://127.0.0.1:18130/version")); got != "vol2" {
		t.Errorf("Flaky after the update: version %q, want vol2", got)
	}
}

// testTimers: rockon-catalog-refresh.timer and rockon-auto-update.timer
// (installTimers) fired by systemd.
func testTimers(t *testing.T, e *env) {
	s := e.s
	rockon := filepath.Join(sandbox.Binaries(t), "rockon")

	// the refresh: a definition added to the catalog shows
	dir := s.HostPath("/srv/rockon/catalog")
	root, err := os.ReadFile(filepath.Join(dir, "root.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "added.json"), strings.ReplaceAll(strings.ReplaceAll(fullDef, "Disk Full", "Added Later"), "full-web", "added-web"), 0o644)
	writeFile(t, filepath.Join(dir, "root.json"), strings.TrimSuffix(strings.TrimSpace(string(root)), "}")+`, "added later": "added.json"}`, 0o644)
	if _, err := e.c.Status(e.ctx(), "Added Later"); err == nil {
		t.Fatal("the catalog has the new definition before any refresh")
	}
	out := fireTimer(t, s, "rockon-catalog-refresh")
	t.Logf("rockon-catalog-refresh.service: %s", out)
	if _, err := e.c.Status(e.ctx(), "Added Later"); err != nil {
		t.Errorf("after the refresh timer: %v", err)
	}

	// opting in: the CLI, the property as busctl reads it
	s.Run(t, rockon, "config", "Hub Test", "--auto-update", "on")
	autoProp := func(name string) string {
		t.Helper()
		obj := strings.Fields(s.Run(t, "busctl", "call", "org.rockon.rockon1", "/org/rockon/rockon1", "org.rockon.rockon1.Manager", "GetRockOn", "s", name))
		if len(obj) != 2 {
			t.Fatalf("GetRockOn %s: %v", name, obj)
		}
		return strings.TrimSpace(s.Run(t, "busctl", "get-property", "org.rockon.rockon1", strings.Trim(obj[1], `"`), "org.rockon.rockon1.RockOn", "AutoUpdate"))
	}
	if got := autoProp("Hub Test"); got != "b true" {
		t.Errorf("AutoUpdate of Hub Test after opting in: %q", got)
	}
	if got := autoProp("Flaky"); got != "b false" {
		t.Errorf("AutoUpdate of Flaky: %q", got)
	}
	var st struct {
		AutoUpdate *bool `json:"auto_update"`
	}
	if out := s.Run(t, rockon, "--json", "status", "Hub Test"); json.Unmarshal([]byte(out), &st) != nil || st.AutoUpdate == nil || !*st.AutoUpdate {
		t.Errorf("rockon --json status Hub Test: auto_update not true:\n%s", out)
	}
	// Flaky's registry gets a newer image (it runs vol2)
	s.Run(t, "skopeo", "copy", "--quiet", "docker://docker.io/rockontest/full:1", "docker://docker.io/rockontest/flaky:1")
	flaky := func() {
		t.Helper()
		if got := strings.TrimSpace(e.mustCurl("http://127.0.0.1:18130/version")); got != "vol2" {
			t.Errorf("Flaky, not opted in, runs version %q after the automatic update, want vol2", got)
		}
	}

	auto := func(want string) {
		t.Helper()
		out := fireTimer(t, s, "rockon-auto-update")
		t.Logf("rockon-auto-update.service: %s", out)
		if !strings.Contains(out, want) || strings.Count(strings.TrimSpace(out), "\n") != 0 || strings.Contains(out, "Flaky") {
			t.Errorf("rockon-auto-update.service printed %q, want one line with %q", out, want)
		}
		if j := s.Run(t, "journalctl", "--no-pager", "-o", "cat", "-u", "rockon.service"); !strings.Contains(j, want) {
			t.Errorf("no journal line %q from rockond", want)
		}
	}
	auto("auto-update Hub Test: current")
	s.PushTestImage(t, "broken", "rockontest/app:latest")
	auto("auto-update Hub Test: update failed, the previous version runs on")
	e.waitState("Hub Test", "running")
	if got := strings.TrimSpace(e.mustCurl("http://127.0.0.1:18110/version")); got != "2" {
		t.Errorf("after the rollback: version %q, want 2", got)
	}
	s.PushTestImage(t, "1", "rockontest/app:latest")
	auto("auto-update Hub Test: updated (docker.io/rockontest/app:latest sha256:")
	if got := strings.TrimSpace(e.mustCurl("http://127.0.0.1:18110/version")); got != "1" {
		t.Errorf("after the automatic update: version %q, want 1 (the image now under the tag)", got)
	}
	flaky()
	// opted out again: the property follows
	s.Run(t, rockon, "config", "Hub Test", "--auto-update", "off")
	if got := autoProp("Hub Test"); got != "b false" {
		t.Errorf("AutoUpdate of Hub Test after opting out: %q", got)
	}
}
