package unitgen

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rockon/rockon/catalog"
)

// registryDir is the real catalog: ../shared/registry beside the
// repository (CI keeps shared/ next to the clone).
const registryDir = "../../shared/registry"

func loadRegistry(t testing.TB) []*catalog.RockOn {
	t.Helper()
	if _, err := os.Stat(registryDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("registry not found at %s: %v", registryDir, err)
		}
		t.Skipf("registry not found at %s: %v", registryDir, err)
	}
	cat, errs := catalog.LoadDir(registryDir)
	for _, err := range errs {
		t.Logf("catalog: %v", err)
	}
	defs := cat.All()
	if len(defs) != 89 {
		t.Fatalf("registry has %d rock-ons, want 89", len(defs))
	}
	return defs
}

// stubUnits stand in for units the generated ones depend on but that a
// verify directory does not have.
var stubUnits = map[string]string{
	"docker.service":        "[Unit]\nDescription=stub\n[Service]\nExecStart=/bin/true\n",
	"network-online.target": "[Unit]\nDescription=stub\n",
	"multi-user.target":     "[Unit]\nDescription=stub\n",
}

// TestCompileRegistryVerify compiles every registry rock-on with sample
// choices for both engines and runs systemd-analyze verify on all units.
func TestCompileRegistryVerify(t *testing.T) {
	defs := loadRegistry(t)
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatalf("systemd-analyze is needed: %v", err)
	}
	for _, engine := range []string{Docker, Podman} {
		t.Run(engine, func(t *testing.T) {
			dir := t.TempDir()
			results, err := CompileSamples(defs, engine, "")
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			var names []string
			for _, res := range results {
				for _, u := range res.Units {
					names = append(names, filepath.Join(dir, u.Name))
					if err := os.WriteFile(names[len(names)-1], u.Content, u.Mode); err != nil {
						t.Fatal(err)
					}
				}
			}
			for n, c := range stubUnits {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			verify(t, dir, names)
		})
	}
}

// verify runs systemd-analyze verify offline on the unit files; any output
// is an error.
func verify(t *testing.T, dir string, files []string) {
	t.Helper()
	for len(files) > 0 {
		n := min(len(files), 200)
		args := append([]string{"verify", "--man=no"}, files[:n]...)
		files = files[n:]
		cmd := exec.Command("systemd-analyze", args...)
		// The trailing ":" keeps the built-in search path after dir, for
		// sysinit.target and the other default dependencies.
		cmd.Env = append(os.Environ(), "SYSTEMD_UNIT_PATH="+dir+":")
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "" {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	}
}
