package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The engine follows what is installed when the configuration names none,
// keeps an earlier choice while it is installed, and falls back to podman
// (what the package recommends first) with a reason that says what to
// install.
func TestChooseEngine(t *testing.T) {
	for _, tc := range []struct {
		recorded  string
		installed []string
		want      string
		reason    string
	}{
		{"", []string{"podman"}, "podman", "the one installed"},
		{"", []string{"docker"}, "docker", "the one installed"},
		{"", []string{"docker", "podman"}, "podman", "podman, docker in that order"},
		{"docker", []string{"docker", "podman"}, "docker", "earlier start"},
		{"docker", []string{"podman"}, "podman", "the one installed"},
		{"garbage", []string{"docker"}, "docker", "the one installed"},
		{"", nil, "podman", "apt install podman"},
	} {
		name, reason := ChooseEngine(tc.recorded, func(e string) bool {
			for _, i := range tc.installed {
				if i == e {
					return true
				}
			}
			return false
		})
		if name != tc.want || !strings.Contains(reason, tc.reason) {
			t.Errorf("ChooseEngine(%q, %v) = %q, %q; want %q and a reason with %q", tc.recorded, tc.installed, name, reason, tc.want, tc.reason)
		}
	}
}

// A configured engine is kept as is; an unconfigured one is resolved with a
// binary, and a recorded choice is written once and read back.
func TestResolveAndRecordEngine(t *testing.T) {
	c := DefaultConfig()
	c.StateDir = t.TempDir()
	c.Engine = Engine{Name: "docker", Binary: "/opt/docker"}
	if why := c.ResolveEngine(); why != "" || c.Engine.Binary != "/opt/docker" {
		t.Errorf("configured engine changed: %+v (%q)", c.Engine, why)
	}
	c.Engine = Engine{}
	why := c.ResolveEngine()
	if why == "" || c.Engine.Binary != "/usr/bin/"+c.Engine.Name {
		t.Fatalf("unconfigured engine not resolved: %+v (%q)", c.Engine, why)
	}
	// Recording needs the binary to exist: point it at one that does.
	c.Engine.Binary = "/proc/self/exe"
	if err := c.RecordEngine(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(c.StateDir, EngineRecordFile))
	if err != nil || strings.TrimSpace(string(b)) != c.Engine.Name {
		t.Errorf("record = %q, %v; want %q", b, err, c.Engine.Name)
	}
	c.Engine.Binary = "/nonexistent/engine"
	os.Remove(filepath.Join(c.StateDir, EngineRecordFile))
	if err := c.RecordEngine(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(c.StateDir, EngineRecordFile)); err == nil {
		t.Error("an engine that is not installed was recorded")
	}
}
