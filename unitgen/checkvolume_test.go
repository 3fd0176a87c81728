package unitgen

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rockon/rockon/model"
)

// TestCheckVolumeDir: on a real file system, a directory in a root passes;
// one that became a symlink out of the roots, into a system directory, or
// through a symlinked parent, does not; a root given with a trailing slash
// counts, a sibling with the same prefix does not.
func TestCheckVolumeDir(t *testing.T) {
	base := t.TempDir()
	shares := filepath.Join(base, "mnt2")
	other := filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(shares, "media", "films"), other, filepath.Join(base, "srv", "a"), filepath.Join(base, "srvx")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, at string) {
		if err := os.Symlink(target, at); err != nil {
			t.Fatal(err)
		}
	}
	link("/etc", filepath.Join(shares, "media", "etc-link"))
	link(other, filepath.Join(shares, "media", "out-link"))
	link(filepath.Join(shares, "media", "films"), filepath.Join(shares, "media", "in-link"))
	link("/", filepath.Join(shares, "rootlink"))
	roots := []string{filepath.Join(base, "srv") + "/"}
	for p, want := range map[string]string{
		filepath.Join(shares, "media", "films"):    "",
		filepath.Join(shares, "media", "in-link"):  "",
		filepath.Join(base, "srv", "a"):            "",
		filepath.Join(shares, "media", "etc-link"): "resolves to /etc",
		filepath.Join(shares, "media", "out-link"): "outside the allowed roots",
		filepath.Join(shares, "rootlink", "etc"):   "resolves to /etc",
		filepath.Join(shares, "rootlink", "usr"):   "outside the allowed roots",
		filepath.Join(base, "srvx"):                "outside the allowed roots",
		filepath.Join(shares, "media", "missing"):  "does not exist",
	} {
		err := CheckVolumeDir(p, shares, roots)
		switch {
		case want == "" && err != nil:
			t.Errorf("CheckVolumeDir(%s) = %v", p, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("CheckVolumeDir(%s) = %v, want an error with %q", p, err, want)
		}
	}
}

// TestVolumeCheckInUnits: with Options.VolumeCheck, every container with
// volumes runs the check before anything else at each start; without it,
// or without volumes, there is none.
func TestVolumeCheckInUnits(t *testing.T) {
	def := testDef()
	opt := Options{Host: model.Host{Engine: Podman, AllowedRoots: []string{"/srv"}}, VolumeCheck: "/usr/libexec/rockon/rockond",
		PathOwner: func(string) (int, int, error) { return 1, 1, nil }, DockerGID: func() (int, error) { return 2, nil }}
	for _, engine := range []string{Podman, Docker} {
		opt.Engine = engine
		_, models, err := compile(def, testChoices(), opt)
		if err != nil {
			t.Fatal(err)
		}
		for name, u := range models {
			text := string(u.bytes())
			has := strings.Contains(text, `ExecStartPre="/usr/libexec/rockon/rockond" "check-volumes" "--shares-root" "/mnt2" "--allowed-root" "/srv" "--"`)
			if want := strings.Contains(text, `"-v" "/mnt2/`) || strings.Contains(text, `"-v" "/srv/`); has != want {
				t.Errorf("%s %s: volume check %v, want %v:\n%s", engine, name, has, want, text)
			}
			if has && strings.Index(text, "check-volumes") > strings.Index(text, "ExecStart=") && strings.Contains(text, "ExecStart=") {
				t.Errorf("%s %s: the check comes after ExecStart", engine, name)
			}
		}
	}
}
