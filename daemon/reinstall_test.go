package daemon_test

import (
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rockon/rockon/sandbox"
)

// reinstallDef runs one image from the sandbox's stand-in Docker Hub.
const reinstallDef = `{
  "Reinstall Test": {
    "description": "A rock-on reinstalled to update it.",
    "version": "1.0",
    "website": "https://example.org/",
    "containers": {
      "reinstall-web": {
        "image": "rockontest/reinstall",
        "tag": "1",
        "launch_order": 1,
        "ports": {"8080": {"description": "Web.", "label": "Web", "host_default": 18130, "protocol": "tcp", "ui": true}}
      }
    }
  }
}`

func TestReinstallPullsPodman(t *testing.T) { testReinstallPulls(t, "podman") }
func TestReinstallPullsDocker(t *testing.T) { testReinstallPulls(t, "docker") }

// testReinstallPulls: an install pulls the image even when one is present,
// as Rockstor's does (a reinstall is how its users update); with the
// registry down, the install goes on with the local image and says so in
// the job's messages, the CLI's output and the journal.
func testReinstallPulls(t *testing.T, engine string) {
	e := setupWith(t, engine, setupOptions{registry: true})
	s := e.s
	s.PushTestImage(t, "1", "rockontest/reinstall:1")
	dir := s.HostPath("/srv/rockon/catalog")
	writeFile(t, filepath.Join(dir, "reinstall.json"), reinstallDef, 0o644)
	writeFile(t, filepath.Join(dir, "root.json"), `{"reinstall test": "reinstall.json"}`, 0o644)
	if _, err := e.c.RefreshCatalog(e.ctx()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var msgs []string
	watch := func(_ float64, m string) {
		mu.Lock()
		msgs = append(msgs, m)
		mu.Unlock()
	}
	warnings := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var w []string
		for _, m := range msgs {
			if strings.HasPrefix(m, "warning: ") {
				w = append(w, m)
			}
		}
		msgs = nil
		return w
	}
	version := func() string { return strings.TrimSpace(e.mustCurl("http://127.0.0.1:18130/version")) }

	// install installs with the registry up: no warning, and the
	// container runs the image version want
	install := func(step, want string) {
		t.Helper()
		if err := e.c.Install(e.ctx(), "Reinstall Test", "", true, watch); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got := version(); got != want {
			t.Fatalf("%s: version %q, want %s", step, got, want)
		}
		if w := warnings(); len(w) != 0 {
			t.Errorf("%s: warnings with the registry up: %q", step, w)
		}
	}

	install("first install", "1")

	// a newer image under the same tag: a reinstall runs it
	s.PushTestImage(t, "2", "rockontest/reinstall:1")
	if err := e.c.Uninstall(e.ctx(), "Reinstall Test", nil); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	install("reinstall (the image now under the tag)", "2")

	// the registry down: the local image is used, with a warning
	s.Run(t, "systemctl", "stop", "registry.service")
	if err := e.c.Uninstall(e.ctx(), "Reinstall Test", nil); err != nil {
		t.Fatalf("uninstall: %v", err)
	}
	if err := e.c.Install(e.ctx(), "Reinstall Test", "", true, watch); err != nil {
		t.Fatalf("install with the registry down: %v", err)
	}
	w := warnings()
	if len(w) != 1 || !strings.Contains(w[0], "image docker.io/rockontest/reinstall:1 from registry docker.io:") || !strings.Contains(w[0], "the local image") {
		t.Errorf("job warnings with the registry down: %q", w)
	}
	if got := version(); got != "2" {
		t.Errorf("with the registry down: version %q, want the local 2", got)
	}
	if j := s.Run(t, "journalctl", "--no-pager", "-o", "cat", "-u", "rockon.service"); !strings.Contains(j, "pull failed, local image kept") || !strings.Contains(j, "docker.io/rockontest/reinstall:1") {
		t.Errorf("no journal line for the kept image:\n%s", j)
	}
	// the CLI, as a user runs it
	rockon := filepath.Join(sandbox.Binaries(t), "rockon")
	s.Run(t, rockon, "uninstall", "Reinstall Test")
	out, err := s.Command(e.ctx(), rockon, "--no-color", "install", "--no-input", "Reinstall Test").CombinedOutput()
	if err != nil {
		t.Fatalf("rockon install with the registry down: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "warning: image docker.io/rockontest/reinstall:1 from registry docker.io:") {
		t.Errorf("rockon install does not show the warning:\n%s", out)
	}
	if got := version(); got != "2" {
		t.Errorf("after the CLI install: version %q, want 2", got)
	}
	s.Run(t, "systemctl", "start", "registry.service")
}
