package hardening

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rockon/rockon/model"
	"github.com/rockon/rockon/sandbox"
	"github.com/rockon/rockon/unitgen"
)

// TestConsent_VisibleOffline: before anything is installed, `rockon
// validate` and `rockon compile` (text and --json) tell which consent a
// definition needs, and validate reports options refused whatever the
// consent as errors naming them.
func TestConsent_VisibleOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the rockon binary: not in -short mode")
	}
	rockon := filepath.Join(sandbox.Binaries(t), "rockon")
	dir := t.TempDir()
	risky := webContainer()
	risky["opts"] = [][]string{{"-qv", "/usr:/h"}, {"--cap-add", "SYS_RESOURCE"}, {"--security-opt", "unmask=ALL"}}
	if err := os.WriteFile(filepath.Join(dir, "risky.json"), defJSON("Risky", map[string]container{"web": risky}), 0o644); err != nil {
		t.Fatal(err)
	}
	hostile := webContainer()
	hostile["opts"] = [][]string{{"--privileged", "false"}, {"--pid", "container:other"}}
	if err := os.WriteFile(filepath.Join(dir, "hostile.json"), defJSON("Hostile", map[string]container{"web": hostile}), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"cap-add:SYS_RESOURCE", "host-paths", "unconfined"}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(rockon, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "ROCKON_CONFIG="+filepath.Join(dir, "none.toml"), "NO_COLOR=1")
		out, err := cmd.Output()
		return string(out), err
	}

	out, err := run("validate", "risky.json")
	if err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	for _, tok := range want {
		if !strings.Contains(out, unitgen.ConsentText(tok)) {
			t.Errorf("validate does not list %q:\n%s", tok, out)
		}
	}
	out, err = run("--json", "validate", "risky.json")
	var v struct {
		Consent []struct{ Tokens []string } `json:"consent"`
	}
	if err != nil || json.Unmarshal([]byte(out), &v) != nil || len(v.Consent) != 1 || !slices.Equal(v.Consent[0].Tokens, want) {
		t.Errorf("validate --json: %v %+v\n%s", err, v, out)
	}
	out, err = run("--json", "compile", "--catalog", "risky.json", "--sample", "Risky", "--out", filepath.Join(dir, "out"))
	var c []struct{ Consent []string }
	if err != nil || json.Unmarshal([]byte(out), &c) != nil || len(c) != 1 || !slices.Equal(c[0].Consent, want) {
		t.Errorf("compile --json: %v %+v\n%s", err, c, out)
	}
	out, err = run("validate", "hostile.json")
	if err == nil || !strings.Contains(out, `--privileged takes no separate value`) || !strings.Contains(out, `"other" is not another container of this rock-on`) {
		t.Errorf("validate of a hostile definition: %v\n%s", err, out)
	}
}

// TestNames_SyslogIdentifierPrefixed: a container named after a system
// service cannot log as it: its output is tagged rockon-NAME.
func TestNames_SyslogIdentifierPrefixed(t *testing.T) {
	c := webContainer()
	def := decodeOne(t, defJSON("Sneaky", map[string]container{"sshd": c}))
	ch := webChoices("v")
	ch.Containers = map[string]model.ContainerChoices{"sshd": ch.Containers["web"]}
	for _, engine := range []string{unitgen.Podman, unitgen.Docker} {
		opt := options()
		opt.Engine = engine
		res, err := unitgen.Compile(def, ch, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range res.Units {
			for line := range strings.Lines(string(u.Content)) {
				if strings.HasPrefix(line, "SyslogIdentifier=") && strings.TrimSpace(line) != "SyslogIdentifier=rockon-sshd" {
					t.Errorf("%s %s: %s", engine, u.Name, line)
				}
			}
			if strings.HasSuffix(u.Name, ".service") && !strings.Contains(string(u.Content), "SyslogIdentifier=rockon-sshd\n") {
				t.Errorf("%s %s has no SyslogIdentifier=rockon-sshd", engine, u.Name)
			}
		}
	}
}
